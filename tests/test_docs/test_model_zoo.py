"""The model zoo page is what ``mmseg-dilated model-zoo`` writes from the configs' metafiles, and
published and measured figures stay in their own columns."""

import glob
import os.path as osp
import textwrap

import pytest
import yaml

from mmseg_dilated.cli import main as cli_main
from mmseg_dilated.cli.model_zoo import MetafileError, read_metafile, render_model_zoo

from _helpers import REPO

PAGE = osp.join(REPO, 'docs', 'en', 'model_zoo.md')
CONFIGS = osp.join(REPO, 'configs')
COLUMNS = ['Config', 'Architecture', 'Training data', 'Resources', 'Published', 'Measured', 'W']


def _rows(page):
    """{config path: {column: cell}} of the page's model tables."""
    rows = {}
    for line in page.splitlines():
        if line.startswith('| `configs/'):
            cells = [c.strip() for c in line.strip('|').split(' | ')]
            assert len(cells) == len(COLUMNS), line
            rows[cells[0].strip('`')] = dict(zip(COLUMNS, cells))
    return rows


def _metafile_models():
    models = []
    for path in sorted(glob.glob(osp.join(CONFIGS, '*', 'metafile.yaml'))):
        with open(path) as f:
            models += yaml.safe_load(f)['Models']
    return models


def test_the_page_is_what_the_command_writes():
    with open(PAGE, encoding='utf-8') as f:
        page = f.read()
    assert page == render_model_zoo(CONFIGS), (
        'docs/en/model_zoo.md is stale: run mmseg-dilated model-zoo --output docs/en/model_zoo.md'
    )


def test_every_model_of_every_metafile_has_one_row():
    with open(PAGE, encoding='utf-8') as f:
        rows = _rows(f.read())
    models = _metafile_models()
    assert len(models) >= 30, len(models)
    assert sorted(rows) == sorted(m['Config'] for m in models)
    for config in rows:
        assert osp.isfile(osp.join(REPO, config)), config


def test_measured_and_published_figures_never_mix():
    with open(PAGE, encoding='utf-8') as f:
        rows = _rows(f.read())
    measured = published = 0
    for model in _metafile_models():
        row = rows[model['Config']]
        for result in model.get('Results') or []:
            for value in result['Metrics'].values():
                assert str(value) in row['Measured'], (model['Name'], row)
                measured += 1
        for entry in (model.get('Metadata') or {}).get('Published') or []:
            assert entry['Source'] in row['Published'] and entry['Source'] not in row['Measured']
            published += 1
        if not model.get('Results'):
            assert row['Measured'] == '-', (model['Name'], row['Measured'])
    assert measured >= 4 and published >= 4, (measured, published)


def _write_metafile(tmp_path, text):
    folder = tmp_path / 'method'
    folder.mkdir()
    (folder / 'metafile.yaml').write_text(textwrap.dedent(text))
    return str(tmp_path)


METAFILE = """\
Collections:
- Name: Method
  Paper:
    Title: A paper
    URL: https://example.org/paper
  README: configs/method/README.md
# Collection note.
Models:
- Name: one
  In Collection: Method
  # Published with 70.1 mIoU (source, l. 3).
  Config: configs/method/one.py
  Metadata:
    Batch Size: 16
    Architecture: [A, B]
    Training Resources: 4x GPUs
  Weights: null
- Name: two
  In Collection: Method
  Config: configs/method/two.py
  Metadata:
    Published:
    - Source: paper Table 2
      Dataset: VOC
      Split: val
      mIoU: 72.1
  Results:
  - Task: Semantic Segmentation
    Dataset: VOC
    Metrics:
      mIoU: 65.4
  Weights: https://example.org/two.pth
"""


def test_a_metafile_rendered_cell_by_cell(tmp_path):
    page = render_model_zoo(_write_metafile(tmp_path, METAFILE))
    rows = _rows(page)
    assert rows['configs/method/one.py']['Published'] == 'Published with 70.1 mIoU (source, l. 3).'
    assert rows['configs/method/one.py']['Architecture'] == 'A + B'
    assert rows['configs/method/one.py']['Resources'] == '4x GPUs, batch 16'
    assert rows['configs/method/one.py']['Measured'] == '-'
    assert rows['configs/method/two.py']['Published'] == 'mIoU 72.1 (VOC; split val; paper Table 2)'
    assert rows['configs/method/two.py']['Measured'] == 'mIoU 65.4 (VOC)'
    assert rows['configs/method/two.py']['W'] == '[download](https://example.org/two.pth)'
    assert '## Method\n\nPaper: [A paper](https://example.org/paper)' in page
    assert 'Collection note.' in page


def test_comments_belong_to_the_entry_they_sit_in(tmp_path):
    meta = read_metafile(osp.join(_write_metafile(tmp_path, METAFILE), 'method', 'metafile.yaml'))
    assert [m['Published'] for m in meta['Models']] == [
        'Published with 70.1 mIoU (source, l. 3).',
        '',
    ]
    assert meta['Collections'][0]['Note'] == 'Collection note.'


def test_the_command_writes_the_page(tmp_path, capsys):
    configs = _write_metafile(tmp_path, METAFILE)
    out = tmp_path / 'zoo.md'
    cli_main(['model-zoo', '--configs', configs, '--output', str(out)])
    assert out.read_text() == render_model_zoo(configs)
    assert f'wrote {out}' in capsys.readouterr().out


def test_bad_metafiles_are_named(tmp_path):
    configs = _write_metafile(tmp_path, 'Collections: []\n')
    with pytest.raises(MetafileError, match=r'metafile\.yaml: no Models'):
        render_model_zoo(configs)
    with pytest.raises(FileNotFoundError, match='no \\*/metafile.yaml under'):
        render_model_zoo(str(tmp_path / 'method'))
