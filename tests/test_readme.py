"""The README and the docs are true command by command.

Every shell block of README.md and docs/en/**.md is read: each repository path it names exists,
each ``mmseg-dilated`` subcommand and each script under tools/ it runs exists and takes the
options the block gives it, each ``-m`` module imports, each config named by scope resolves, and the
converter commands (in the docs and in the config headers) write where the configs read.
"""

import contextlib
import functools
import glob
import importlib
import importlib.util
import io
import os.path as osp
import re

import pytest
from mmengine.config import Config

from _helpers import REPO

DOC_FILES = ['README.md'] + sorted(
    osp.relpath(p, REPO)
    for p in glob.glob(osp.join(REPO, 'docs', 'en', '**', '*.md'), recursive=True)
)
_FENCE = re.compile(r'^```(bash|shell|sh)\n(.*?)^```', re.S | re.M)
_PY_FENCE = re.compile(r'^```python\n(.*?)^```', re.S | re.M)
# repository paths as they appear in commands: configs/..., tools/..., tests/..., docs/...
REPO_PATH = re.compile(r'(?<![\w/.$:-])((?:configs|tools|tests|docs)/[\w./-]*\w)')
CONVERT = re.compile(
    r'(?:tools/model_converters/|mmseg-dilated )(drn2mmseg|vgg2mmseg)(?:\.py)? \S+ (\S+)'
)
SCOPED = re.compile(r'mmseg_dilated::([\w./-]+\.py)')
MMSEG_SCOPED = re.compile(r'mmseg::([\w./-]+\.py)')
OPTION = re.compile(r'(?<![\w-])(--[a-z][\w-]*)')
SUBCOMMAND = re.compile(r'(?<![\w/-])mmseg-dilated +([a-z][\w-]*)')
TOOL_SCRIPT = re.compile(r'(?<![\w/.$-])(tools/[\w/-]+\.py)')
MODULE = re.compile(r'(?<!\S)-m +([\w.]+)')


def _read(rel):
    with open(osp.join(REPO, rel), encoding='utf-8') as f:
        return f.read()


def _commands(block):
    """The command lines of a shell block: continuations joined, comments dropped."""
    block = block.replace('\\\n', ' ')
    lines = []
    for line in block.splitlines():
        line = re.sub(r'(^|\s)#.*$', '', line).strip()
        if line:
            lines.append(line)
    return lines


def _blocks():
    found = []
    for rel in DOC_FILES:
        text = _read(rel)
        for m in _FENCE.finditer(text):
            lineno = text.count('\n', 0, m.start()) + 1
            found.append((f'{rel}:{lineno}', m.group(2)))
    return found


BLOCKS = _blocks()
COMMAND_LINES = [(where, line) for where, block in BLOCKS for line in _commands(block)]


def test_every_page_was_read_and_has_commands():
    pages = {where.split(':')[0] for where, _ in BLOCKS}
    # README, get started, five user guides and the benchmark page at least run commands.
    assert {'README.md', 'docs/en/get_started.md', 'docs/en/benchmarks/cpu.md'} <= pages, pages
    assert len(BLOCKS) >= 25, len(BLOCKS)


@pytest.mark.parametrize(
    'where, path',
    sorted({(w, p) for w, line in COMMAND_LINES for p in REPO_PATH.findall(line)}),
)
def test_every_repository_path_in_a_command_exists(where, path):
    assert osp.exists(osp.join(REPO, path)), f'{where} names {path}, which does not exist'


@pytest.mark.parametrize(
    'where, name',
    sorted(
        {(w, n) for w, line in COMMAND_LINES for n in SCOPED.findall(line)}
        | {
            (f'{rel} (python)', n)
            for rel in DOC_FILES
            for block in _PY_FENCE.findall(_read(rel))
            for n in SCOPED.findall(block)
        }
    ),
)
def test_every_config_named_by_scope_is_shipped(where, name):
    assert osp.isfile(osp.join(REPO, 'configs', name)), f'{where}: mmseg_dilated::{name}'


def test_every_mmseg_base_a_python_block_names_is_mmsegs():
    import mmseg

    names = {
        n
        for rel in DOC_FILES
        for block in _PY_FENCE.findall(_read(rel))
        for n in MMSEG_SCOPED.findall(block)
    }
    assert names, 'no mmseg:: base found in the python blocks'
    root = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs')
    missing = sorted(n for n in names if not osp.isfile(osp.join(root, n)))
    assert not missing, f'mmseg 1.2.2 has no such config: {missing}'


@functools.lru_cache(maxsize=None)
def _help(module):
    """The -h text of a command of ours (``mmseg_dilated.cli.<module>``), run in this process."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        importlib.import_module(f'mmseg_dilated.cli.{module}').main(['-h'])
    return out.getvalue()


@functools.lru_cache(maxsize=None)
def _mmseg_tool_options(tool):
    """Options of mmseg's tools/<tool>.py: our train and test pass it what they do not read."""
    from mmseg_dilated.apis import mmseg_tool

    with open(mmseg_tool(tool), encoding='utf-8') as f:
        return set(re.findall(r"add_argument\(\s*'(--[\w-]+)'", f.read()))


def _command_module(line):
    """(what, cli module) for a command line that runs one of our commands, else None."""
    from mmseg_dilated.cli import COMMANDS

    m = SUBCOMMAND.search(line)
    if m:
        assert m.group(1) in COMMANDS, f'mmseg-dilated has no command {m.group(1)!r}'
        return f'mmseg-dilated {m.group(1)}', COMMANDS[m.group(1)][0]
    m = TOOL_SCRIPT.search(line)
    if m and osp.isfile(osp.join(REPO, m.group(1))):
        wrapped = re.search(r'from mmseg_dilated\.cli\.(\w+) import main', _read(m.group(1)))
        assert wrapped, f'{m.group(1)} is not a wrapper of a command of mmseg_dilated.cli'
        return m.group(1), wrapped.group(1)
    m = MODULE.search(line)
    if m and m.group(1).startswith('mmseg_dilated.cli.'):
        return m.group(1), m.group(1).rsplit('.', 1)[1]
    return None


OUR_COMMANDS = sorted(
    {
        (w, line)
        for w, line in COMMAND_LINES
        if SUBCOMMAND.search(line)
        or MODULE.search(line)
        or (TOOL_SCRIPT.search(line) and TOOL_SCRIPT.search(line).group(1).endswith('.py'))
    }
)


def test_the_commands_were_found():
    subcommands = {
        SUBCOMMAND.search(line).group(1) for _, line in OUR_COMMANDS if SUBCOMMAND.search(line)
    }
    assert {'train', 'test', 'model-zoo', 'check-dataset', 'browse-dataset'} <= subcommands
    assert len(OUR_COMMANDS) >= 40, len(OUR_COMMANDS)


def _unknown_options(line):
    """The options a command line gives one of our commands that the command does not take."""
    found = _command_module(line)
    if found is None:  # a script that is not ours (mmseg's tools under $MMSEG/.mim/tools)
        return []
    what, module = found
    assert importlib.util.find_spec(f'mmseg_dilated.cli.{module}'), what
    known = set(OPTION.findall(_help(module)))
    if module in ('train', 'test'):
        known |= _mmseg_tool_options(f'{module}.py')
    # the options after the command's own name (environment and interpreter come before it)
    tail = line[line.index(what.split()[-1]) :]
    return sorted(set(OPTION.findall(tail)) - known)


@pytest.mark.parametrize('where, line', OUR_COMMANDS)
def test_every_command_exists_and_takes_its_options(where, line):
    unknown = _unknown_options(line)
    assert not unknown, f'{where}: the command does not take {unknown}:\n  {line}'


def test_the_command_checks_catch_what_they_are_for():
    assert _unknown_options('python tools/test.py C K --tta --infer-path fused --frobnicate') == [
        '--frobnicate'
    ]
    assert _unknown_options('mmseg-dilated benchmark --check --no-memory --plot x.png') == []
    assert _unknown_options('python -m mmseg_dilated.cli.demo I C K --out o.png --nope') == [
        '--nope'
    ]
    with pytest.raises(AssertionError, match="no command 'frobnicate'"):
        _unknown_options('mmseg-dilated frobnicate --help')
    assert REPO_PATH.findall('python tools/x.py configs/a.py $MMSEG/.mim/tools/y.py') == [
        'tools/x.py',
        'configs/a.py',
    ]
    assert CONVERT.findall('mmseg-dilated drn2mmseg a.pth pretrain/b.pth') == [
        ('drn2mmseg', 'pretrain/b.pth')
    ]


@pytest.mark.parametrize(
    'where, module',
    sorted({(w, m) for w, line in COMMAND_LINES for m in MODULE.findall(line)}),
)
def test_every_python_module_a_command_runs_exists(where, module):
    assert importlib.util.find_spec(module), f'{where}: python -m {module}'


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
    """(config, the weights it reads, the text of it and of every base it inherits), each config
    read once (mmengine's Config takes about a second a config)."""
    found = []
    for path in sorted(glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)):
        if '_base_' in path:
            continue
        cfg = Config.fromfile(path)
        weights = set(_pretrained_paths(cfg.model.to_dict()))
        if weights:
            found.append((osp.relpath(path, REPO), frozenset(weights), cfg.text))
    return tuple(found)


@pytest.mark.parametrize(
    'config, weights', [(config, weights) for config, weights, _ in _configs_with_weights()]
)
def test_config_headers_convert_to_where_the_config_reads(config, weights):
    """Each config with pretrained weights names, at its top or its model base's, the converter
    command that writes exactly the file it reads."""
    text = {c: t for c, _, t in _configs_with_weights()}[config]
    written = {dst for _, dst in CONVERT.findall(text)}
    assert weights <= written, (config, weights, written)


def test_doc_converters_write_where_the_configs_read():
    written = {dst for _, line in COMMAND_LINES for _, dst in CONVERT.findall(line)}
    read = set().union(*(w for _, w, _ in _configs_with_weights()))
    assert written and written <= read, (written, read)
