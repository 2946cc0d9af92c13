"""The benchmark pages under docs/en/benchmarks/ are written by ``mmseg-dilated benchmark
--markdown PAGE``: each names the command that wrote it, that command parses, writes that very
page, and the page's tables are the form the report renders (a hand-edited page fails here)."""

import glob
import os.path as osp
import re
import shlex

import pytest

from mmseg_dilated.cli.benchmark import parse_args

from _helpers import REPO

PAGES = sorted(glob.glob(osp.join(REPO, 'docs', 'en', 'benchmarks', 'cpu_*.md')))


def test_there_are_generated_pages():
    assert [osp.basename(p) for p in PAGES] == ['cpu_models.md', 'cpu_paths.md', 'cpu_scaling.md']


@pytest.mark.parametrize('page', PAGES, ids=osp.basename)
def test_each_page_was_written_by_the_command_it_names(page):
    with open(page) as f:
        lines = f.read().splitlines()
    assert lines[1:5] == [
        '',
        'Written by the command itself; run it again to regenerate this page:',
        '',
        '```bash',
    ]
    command = shlex.split(lines[5])
    assert command[:2] == ['mmseg-dilated', 'benchmark'] and lines[6] == '```'
    args = parse_args(command[2:])
    assert args.markdown == osp.relpath(page, REPO)  # it writes this page, from the repo root
    assert lines[0] == f'# {args.title}'
    assert re.fullmatch(r'- date: \d{4}-\d\d-\d\d', lines[8])
    assert lines[9].startswith('- CPU: ') and re.fullmatch(
        r'- code: commit [0-9a-f]{7,}', lines[10]
    )
    assert any(re.match(r'\| Model +\| ', line) for line in lines)  # a table as the report renders
    if args.check:
        assert 'Targets (`--check`):' in lines


def test_the_recorded_command_reads_back_as_given(tmp_path, monkeypatch, capsys):
    """A title with spaces is quoted in the page, so the page's command line parses to the same
    arguments (joined with plain spaces it would not)."""
    from mmseg_dilated.cli import benchmark

    page = tmp_path / 'page.md'
    argv = ['--scaling', '--markdown', str(page), '--title', 'CPU benchmark: a title']
    args = parse_args(argv)
    monkeypatch.setattr('mmseg_dilated.deploy.inference_paths.cpu_flags', lambda: ['avx2'])
    benchmark._write(args, '| Model | x |', args.title)
    assert f'wrote {page}' in capsys.readouterr().out
    lines = page.read_text().splitlines()
    assert lines[0] == '# CPU benchmark: a title'
    assert shlex.split(lines[5])[2:] == argv


def test_the_guide_names_the_commands_the_pages_were_written_by():
    with open(osp.join(REPO, 'docs', 'en', 'benchmarks', 'cpu.md')) as f:
        guide = f.read()
    (block,) = re.findall(r'```bash\n(.*?)```', guide, flags=re.S)
    in_guide = [shlex.split(cmd) for cmd in block.replace('\\\n', ' ').splitlines() if cmd.strip()]
    recorded = []
    for page in PAGES:
        with open(page) as f:
            recorded.append(shlex.split(f.read().splitlines()[5]))
    assert sorted(in_guide) == sorted(recorded)
