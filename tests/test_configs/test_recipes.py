"""The recipe tables in the docs are the configs' recipes: every row's "Ours" is the value the
config resolves to, and a row whose "Ours" differs from its "Reference" says so.

A recipe table is a Markdown table with the columns ``| Setting | Config key | Reference | Ours |
Source |`` under a line ``Configs: [name](path.py), ...`` that names the configs it describes. In
a row, ``Config key`` is a path into the config, read by :func:`resolve`:

* ``a.b`` dict keys, ``[0]`` a list index, ``['a.b']`` a key with dots in it;
* ``[Type]`` the one element of a list whose ``type`` is ``Type`` (a pipeline's transform, a
  scheduler), ``[*]`` every element (``pipeline[*].type``: the transforms in order).

``Ours`` and ``Reference`` hold a Python literal in backticks (``Reference`` may hold prose when
the source has no value in the config's units). Where both are literals and differ, ``Setting`` must
end in "(differs)". The reference values are transcribed from the sources named in the row, so an
edit to a config that leaves its stated source fails here, and an edit to a table that moves it away
from its source shows as a "(differs)" row.

The DRN authors' classifier init (fyu/drn ``segment.py``: ``normal_(0, sqrt(2 / n))``,
``n = k * k * classes``) is checked separately on the built heads, against that formula.
"""

import ast
import copy
import glob
import math
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.model import revert_sync_batchnorm
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

from mmseg_dilated.utils import load_config

from _helpers import REPO

CONFIG_DIR = osp.join(REPO, 'configs')
HEADER = ['Setting', 'Config key', 'Reference', 'Ours', 'Source']
# The documents holding recipe tables: each family's README and the recipes guide.
DOCUMENTS = sorted(glob.glob(osp.join(CONFIG_DIR, '*', 'README.md'))) + [
    osp.join(REPO, 'docs', 'en', 'advanced_guides', 'recipes.md')
]
# Raise these when a table or a row is added: the test must not pass by reading nothing.
EXPECTED_TABLES = 19
EXPECTED_CHECKS = 564
# {algo}_{backbone}_{gpus}xb{batch}...: the recipe's GPUs and batch per GPU, from the file name.
GPUS_X_BATCH = re.compile(r'_(\d+)xb(\d+)[-_]')
_TOKEN = re.compile(r"\.?(\w+)|\[(\*|\d+|'[^']*'|[A-Za-z_][\w:]*)\]")
_LITERAL = re.compile(r'^`([^`]+)`$')


def rel(path):
    return osp.relpath(path, CONFIG_DIR)


def _cells(line):
    return [c.strip() for c in line.strip().strip('|').split('|')]


def read_tables(path):
    """[(configs, rows, first line number)] of every recipe table in a Markdown file."""
    lines = open(path).read().splitlines()
    tables = []
    for i, line in enumerate(lines):
        if not line.startswith('|') or _cells(line) != HEADER:
            continue
        scope = next(
            (lines[j] for j in range(i - 1, -1, -1) if lines[j].startswith('Configs:')), None
        )
        assert scope is not None, f'{path}:{i + 1}: a recipe table needs a "Configs:" line above it'
        configs = [
            osp.normpath(osp.join(osp.dirname(path), target))
            for target in re.findall(r'\]\(([^)]+\.py)\)', scope)
        ]
        assert configs, f'{path}:{i + 1}: its "Configs:" line links no config'
        rows = []
        for j in range(i + 2, len(lines)):
            if not lines[j].startswith('|'):
                break
            cells = _cells(lines[j])
            assert len(cells) == len(HEADER), f'{path}:{j + 1}: {len(cells)} cells'
            rows.append((j + 1, dict(zip(HEADER, cells))))
        tables.append((configs, rows, i + 1))
    return tables


def literal(cell):
    """The cell's Python literal, or None when it holds prose."""
    match = _LITERAL.match(cell)
    if not match:
        return None
    try:
        return ('value', ast.literal_eval(match.group(1)))
    except (ValueError, SyntaxError):
        return None


def resolve(cfg, key):
    """The value at ``key`` (module docstring) in a loaded config."""
    assert _TOKEN.sub('', key) == '', f'cannot parse config key {key!r}'
    values, spread = [cfg], False
    for name, selector in _TOKEN.findall(key):
        out = []
        for node in values:
            if name:
                assert isinstance(node, (dict, Config)) and name in node, f'{key}: no {name!r}'
                out.append(node[name])
            elif selector == '*':
                out.extend(node)
                spread = True
            elif selector.isdigit():
                out.append(node[int(selector)])
            elif selector.startswith("'"):
                assert selector[1:-1] in node, f'{key}: no {selector}'
                out.append(node[selector[1:-1]])
            else:
                found = [t for t in node if isinstance(t, dict) and t.get('type') == selector]
                assert len(found) == 1, f'{key}: {len(found)} elements of type {selector}'
                out.append(found[0])
        values = out
    return values if spread else values[0]


def plain(value):
    """ConfigDicts as dicts and tuples as lists, so a table's literal compares with either."""
    if isinstance(value, (dict, ConfigDict)):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def same(a, b):
    a, b = plain(a), plain(b)
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, (int, float))
            and isinstance(b, (int, float))
            and not isinstance(a, bool)
            and math.isclose(a, b, rel_tol=1e-3)
        )
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


_CACHE = {}


def config(path):
    if path not in _CACHE:
        _CACHE[path] = load_config(path)
    return _CACHE[path]


def check_table(path, configs, rows):
    """(number of values compared, [problems]) for one table."""
    checks, problems = 0, []
    for line, row in rows:
        where = f'{rel(path) if path.startswith(CONFIG_DIR) else osp.relpath(path, REPO)}:{line}'
        ours, reference = literal(row['Ours']), literal(row['Reference'])
        if ours is None:
            problems.append(f'{where}: "Ours" must be a literal in backticks, got {row["Ours"]!r}')
            continue
        if reference is not None and not same(ours[1], reference[1]):
            if not row['Setting'].endswith('(differs)'):
                problems.append(
                    f'{where}: {row["Setting"]!r}: ours {row["Ours"]} is not the reference '
                    f'{row["Reference"]}; end the setting with "(differs)" and say why'
                )
        key = _LITERAL.match(row['Config key'])
        if not key:
            problems.append(f'{where}: the config key must be in backticks')
            continue
        for cfg_path in configs:
            try:
                value = resolve(config(cfg_path), key.group(1))
            except AssertionError as exc:
                problems.append(f'{where}: {rel(cfg_path)}: {exc}')
                continue
            checks += 1
            if not same(value, ours[1]):
                problems.append(
                    f'{where}: {rel(cfg_path)}: {key.group(1)} is {plain(value)!r}, the table '
                    f'says {ours[1]!r} (reference {row["Reference"]}, {row["Source"]})'
                )
    return checks, problems


ALL_TABLES = [(path, *table) for path in DOCUMENTS for table in read_tables(path)]


def gpu_configs():
    """Every shipped config but the bundled-data CPU ones (``*_context-shapes-*``) and the
    short-name aliases of the root, read from the file names (no config is parsed here)."""
    return [
        path
        for path in sorted(glob.glob(osp.join(CONFIG_DIR, '**', '*.py'), recursive=True))
        if '_base_' not in path and '/' in rel(path) and '_context-shapes-' not in path
    ]


def test_recipe_table_count():
    """Tables and rows as written (no config parsed): each row is one value per config named."""
    assert len(ALL_TABLES) == EXPECTED_TABLES, [(rel(p), n) for p, _, _, n in ALL_TABLES]
    total = sum(len(configs) * len(rows) for _, configs, rows, _ in ALL_TABLES)
    assert total == EXPECTED_CHECKS, total
    for path, configs, rows, line in ALL_TABLES:
        assert rows, f'{path}:{line}: an empty recipe table'
        for cfg_path in configs:
            assert osp.isfile(cfg_path), f'{path}:{line}: links a missing config {cfg_path}'


def _table_id(table):
    path, _, _, line = table
    where = rel(path) if path.startswith(CONFIG_DIR) else osp.relpath(path, REPO)
    return f'{where}:{line}'


@pytest.mark.parametrize('table', ALL_TABLES, ids=_table_id)
def test_recipe_table_matches_its_configs(table):
    path, configs, rows, _ = table
    checks, problems = check_table(path, configs, rows)
    assert not problems, '\n'.join(problems)
    # every row resolved in every config it names
    assert checks == len(configs) * len(rows)


def test_every_gpu_config_has_a_recipe_table():
    described = {c for _, configs, _, _ in ALL_TABLES for c in configs}
    missing = [rel(p) for p in gpu_configs() if p not in described]
    assert not missing, f'GPU configs without a recipe table: {missing}'
    # the file names tell the CPU configs: the bundled data's dataset
    for path in gpu_configs():
        assert config(path).train_dataloader.dataset.get('type') != 'ContextShapesDataset', path
    # aspp 5, context 8, fcn_drn 4, hdc 2, multiscale 1, pspnet 1, staged 3
    assert len(gpu_configs()) == 24


@pytest.mark.parametrize('path', gpu_configs(), ids=rel)
def test_auto_scale_lr_is_the_recipes_effective_batch(path):
    """base_batch_size is GPUs x batch per GPU of the recipe the name states; off by default."""
    cfg = config(path)
    gpus, per_gpu = map(int, GPUS_X_BATCH.search(osp.basename(path)).groups())
    assert cfg.train_dataloader.batch_size == per_gpu
    assert plain(cfg.auto_scale_lr) == dict(enable=False, base_batch_size=gpus * per_gpu)


def test_a_drifted_config_fails_its_table(tmp_path):
    """A leaf that changes a tabled value (weight decay 1e-4 -> 5e-4) is caught, naming the row."""
    target = osp.join(CONFIG_DIR, 'fcn_drn', 'fcn_drn-d-22_8xb4-23k_cityscapes-896x896.py')
    drifted = tmp_path / 'drifted.py'
    drifted.write_text(
        f"_base_ = ['{target}']\noptim_wrapper = dict(optimizer=dict(weight_decay=5e-4))\n"
    )
    (path, configs, rows, _) = next(t for t in ALL_TABLES if target in t[1])
    _CACHE[str(drifted)] = Config.fromfile(str(drifted))
    checks, problems = check_table(path, [str(drifted)], rows)
    assert checks == len(rows)
    assert len(problems) == 1 and 'weight_decay is 0.0005, the table says 0.0001' in problems[0]


def test_an_undeclared_difference_is_flagged():
    """A row whose ours is not its reference must say "(differs)"."""
    target = osp.join(CONFIG_DIR, 'fcn_drn', 'fcn_drn-d-22_8xb4-23k_cityscapes-896x896.py')
    row = {
        'Setting': 'learning rate',
        'Config key': '`optim_wrapper.optimizer.lr`',
        'Reference': '`0.02`',
        'Ours': '`0.01`',
        'Source': 'a planted row',
    }
    checks, problems = check_table(osp.join(CONFIG_DIR, 'README.md'), [target], [(1, row)])
    assert checks == 1 and len(problems) == 1
    assert 'end the setting with "(differs)"' in problems[0]
    row['Setting'] = 'learning rate (differs)'
    assert check_table(osp.join(CONFIG_DIR, 'README.md'), [target], [(1, row)]) == (1, [])


# Configs whose 1x1 classifier is DRNSeg's: FCNHead with no convs on DRN, and ContextHead's input
# classifier on DRN (the bundled-data CPU configs keep mmseg's N(0, 0.01), as their headers say).
def drnseg_classifiers():
    """Parsed when the tests run, not at collection."""
    found = []
    for path in gpu_configs():
        model = config(path).model
        head = model.decode_head
        if model.backbone.type == 'DRN' and (
            (head.type == 'FCNHead' and head.num_convs == 0) or head.type == 'ContextHead'
        ):
            found.append(path)
    return found


def test_classifiers_start_as_drnseg():
    """Every built DRNSeg-style classifier has DRNSeg's init: weights N(0, 2 / classes) (1x1
    kernel), bias 0, no dropout before it, the loss averaged over the valid pixels."""
    paths = drnseg_classifiers()
    # fcn_drn x4, staged stage 1-3 (VOC), context on DRN x6 (C-26, D-22, D-38, D-105, focal,
    # VOC), multi-scale VOC, HDC D-38
    assert len(paths) == 15, [rel(p) for p in paths]
    for path in paths:
        check_drnseg_classifier(path)


def check_drnseg_classifier(path):
    register_all_modules()
    cfg = config(path).model.decode_head
    head = revert_sync_batchnorm(MODELS.build(copy.deepcopy(cfg)))
    torch.manual_seed(0)
    head.init_weights()
    conv = head.classifier.conv if cfg.type == 'ContextHead' else head.conv_seg
    n = conv.kernel_size[0] * conv.kernel_size[1] * conv.out_channels
    weights = conv.weight.detach().flatten()
    # the sample std of 512 x C weights is within 5% of the population's
    std = weights.std().item()
    assert std == pytest.approx(math.sqrt(2.0 / n), rel=0.05), (rel(path), std)
    assert abs(weights.mean().item()) < 0.1 * math.sqrt(2.0 / n), rel(path)
    assert torch.count_nonzero(conv.bias) == 0, rel(path)
    assert head.dropout is None, rel(path)
    losses = cfg.loss_decode if isinstance(cfg.loss_decode, list) else [cfg.loss_decode]
    assert all(loss.avg_non_ignore for loss in losses), rel(path)
