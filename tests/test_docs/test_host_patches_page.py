"""The page "What import mmseg_dilated changes" lists exactly the patches of
``mmseg_dilated.host_patches.PATCHES``, row for row, and has a section for each."""

import os.path as osp
import re

from mmseg_dilated import host_patches

from _helpers import REPO

PAGE = osp.join(REPO, 'docs', 'en', 'advanced_guides', 'host_patches.md')
START, END = '<!-- PATCHES table: start -->\n', '<!-- PATCHES table: end -->'
HEADERS = {'name': 'Patch', 'target': 'What it replaces', 'why': 'Why', 'switch': 'Turn off'}


def render_patches_table(patches=host_patches.PATCHES) -> str:
    """PATCHES as the page's Markdown table: one column per field of ``Patch``."""
    fields = host_patches.Patch._fields
    lines = [
        '| ' + ' | '.join(HEADERS.get(f, f.replace('_', ' ').capitalize()) for f in fields) + ' |',
        '| ' + ' | '.join('---' for _ in fields) + ' |',
    ]
    for patch in patches:
        cells = []
        for field, value in zip(fields, patch):
            if field == 'name':
                value = f'`{value}`'
            elif field == 'switch':
                value = f'`{value}`' if value else 'cannot be turned off'
            cells.append(str(value).replace('|', '\\|'))
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def _page():
    with open(PAGE, encoding='utf-8') as f:
        return f.read()


def test_the_page_table_is_patches_rendered():
    text = _page()
    assert START in text and END in text, 'the page lost its table markers'
    table = text[text.index(START) + len(START) : text.index(END)]
    expected = render_patches_table()
    assert table == expected, f'update the table of {PAGE} to:\n{expected}'


def test_every_patch_has_a_section():
    headings = [h.lower() for h in re.findall(r'^## (.+)$', _page(), re.M)]
    for patch in host_patches.PATCHES:
        words = patch.name.replace('_', ' ')
        assert any(h.startswith(words) for h in headings), (patch.name, headings)


def test_the_renderer_follows_the_table():
    """A patch added to the table shows up in the rendering (so the page test cannot pass on a
    stale copy of the table)."""
    extra = host_patches.Patch('new_patch', 'mmseg.x', 'because', 'ENV=0')
    table = render_patches_table(host_patches.PATCHES + (extra,))
    assert table.count('\n') == len(host_patches.PATCHES) + 3
    assert '| `new_patch` | mmseg.x | because | `ENV=0` |' in table
