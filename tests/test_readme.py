"""The README is true command by command: every repository path its shell blocks name exists, and
converter commands (README and config headers) write where the configs read."""

import functools
import os.path as osp
import re

import pytest
from mmengine.config import Config

from _helpers import REPO

README = open(osp.join(REPO, 'README.md')).read()
SHELL_BLOCKS = re.findall(r'```bash\n(.*?)```', README, re.S)
# repository paths as they appear in commands: configs/..., tools/..., tests/...
REPO_PATH = re.compile(r'(?<![\w/.$-])((?:configs|tools|tests)/[\w./-]*\w)')
CONVERT = re.compile(r'tools/model_converters/(drn2mmseg|vgg2mmseg)\.py \S+ (\S+)')


def test_shell_blocks_were_found():
    assert len(SHELL_BLOCKS) >= 8


@pytest.mark.parametrize('path', sorted({p for b in SHELL_BLOCKS for p in REPO_PATH.findall(b)}))
def test_every_repository_path_in_a_command_exists(path):
    assert osp.exists(osp.join(REPO, path)), f'the README names {path}, which does not exist'


def _pretrained_paths(node):
    if isinstance(node, dict):
        if node.get('type') == 'Pretrained' and node.get('checkpoint'):
            yield node['checkpoint']
        for value in node.values():
            yield from _pretrained_paths(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _pretrained_paths(value)


@functools.lru_cache(maxsize=None)
def _configs_with_weights():
    import glob

    found = []
    for path in sorted(glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)):
        if '_base_' in path:
            continue
        weights = set(_pretrained_paths(Config.fromfile(path).model.to_dict()))
        if weights:
            found.append((osp.relpath(path, REPO), frozenset(weights)))
    return tuple(found)


@pytest.mark.parametrize('config, weights', _configs_with_weights())
def test_config_headers_convert_to_where_the_config_reads(config, weights):
    """Each config with pretrained weights names, at its top or its model base's, the converter
    command that writes exactly the file it reads."""
    cfg = Config.fromfile(osp.join(REPO, config))
    text = cfg.text  # the config and every base it inherits, as mmengine read them
    written = {dst for _, dst in CONVERT.findall(text)}
    assert weights <= written, (config, weights, written)


def test_readme_converters_write_where_the_configs_read():
    written = {dst for block in SHELL_BLOCKS for _, dst in CONVERT.findall(block)}
    read = set().union(*(w for _, w in _configs_with_weights()))
    assert written and written <= read, (written, read)
