"""The documentation site builds in MkDocs's strict mode: a broken link, a missing anchor, a page
left out of nav, or a link to a repository file that does not exist fails the build.

The planted cases build a small site with the project's own hook (docs/mkdocs_hooks.py) and check
that each kind of breakage fails, so the real build passing means something.
"""

import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest

from _helpers import REPO

HOOK = osp.join(REPO, 'docs', 'mkdocs_hooks.py')


def build(config_dir, site_dir):
    """``mkdocs build --strict`` of ``config_dir/mkdocs.yml`` into ``site_dir``."""
    env = dict(os.environ, NO_MKDOCS_2_WARNING='1')
    return subprocess.run(
        [sys.executable, '-m', 'mkdocs', 'build', '--strict', '-d', str(site_dir)],
        cwd=str(config_dir),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )


def test_the_site_builds_in_strict_mode(tmp_path):
    proc = build(REPO, tmp_path / 'site')
    assert proc.returncode == 0, proc.stdout[-6000:]
    import yaml

    with open(osp.join(REPO, 'mkdocs.yml')) as f:
        nav = yaml.safe_load(f)['nav']

    def pages(node):
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            for value in node.values():
                yield from pages(value)
        else:
            for value in node:
                yield from pages(value)

    listed = list(pages(nav))
    assert len(listed) >= 12, listed
    for page in listed:  # every page of nav was rendered
        html = 'index.html' if page == 'index.md' else osp.join(page[: -len('.md')], 'index.html')
        assert (tmp_path / 'site' / html).is_file(), page


def _site(tmp_path, page, extra_files=()):
    (tmp_path / 'docs' / 'en').mkdir(parents=True)
    (tmp_path / 'docs' / 'en' / 'index.md').write_text(textwrap.dedent(page))
    (tmp_path / 'docs' / 'en' / 'other.md').write_text('# Other\n\n## A section\n')
    for rel in extra_files:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text('x = 1\n')
    with open(osp.join(REPO, 'mkdocs.yml')) as f:
        config = f.read()
    head = config[: config.index('\nnav:') + 1].replace('  - docs/mkdocs_hooks.py', f'  - {HOOK}')
    (tmp_path / 'mkdocs.yml').write_text(head + 'nav:\n  - index.md\n  - other.md\n')
    return tmp_path


def test_a_good_small_site_builds_and_repository_links_become_paths(tmp_path):
    root = _site(
        tmp_path,
        """\
        # Home

        [the other page](other.md#a-section) and [a config](../../configs/a.py).

        ```bash
        [not a link](../../configs/missing.py)
        ```
        """,
        extra_files=['configs/a.py'],
    )
    proc = build(root, tmp_path / 'site')
    assert proc.returncode == 0, proc.stdout
    html = (tmp_path / 'site' / 'index.html').read_text()
    assert 'a config (<code>configs/a.py</code>)' in html


@pytest.mark.parametrize(
    'link, complaint',
    [
        ('[gone](missing.md)', "contains a link 'missing.md'"),
        ('[anchor](other.md#no-such-section)', "does not contain an anchor '#no-such-section'"),
        ('[config](../../configs/missing.py)', 'no file configs/missing.py in the repository'),
    ],
)
def test_each_kind_of_breakage_fails_the_build(tmp_path, link, complaint):
    root = _site(tmp_path, f'# Home\n\n{link}\n')
    proc = build(root, tmp_path / 'site')
    assert proc.returncode != 0, proc.stdout
    assert complaint in proc.stdout, proc.stdout


def test_a_page_left_out_of_nav_fails_the_build(tmp_path):
    root = _site(tmp_path, '# Home\n')
    (root / 'docs' / 'en' / 'orphan.md').write_text('# Orphan\n')
    proc = build(root, tmp_path / 'site')
    assert proc.returncode != 0 and 'orphan.md' in proc.stdout, proc.stdout
