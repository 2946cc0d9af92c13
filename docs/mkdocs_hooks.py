"""MkDocs hook: links from a page to repository files outside ``docs/en`` (configs, tools, tests).

The pages are written to read on GitHub too, where ``[README](../../../configs/aspp/README.md)``
opens the repository file. The site has no copy of those files, and MkDocs's strict mode would fail
on such a link. So before a page is rendered each of them is checked: a link to a file that exists
in the repository becomes its text and the file's path in code (or, with ``repo_url`` set in
mkdocs.yml, a link to the file there); a link to a file that does not exist is a warning, which
fails ``mkdocs build --strict`` as MkDocs's own broken links do.
"""

import logging
import os.path as osp
import re

log = logging.getLogger('mkdocs.hooks.repository_links')

_FENCE = re.compile(r'^(```|~~~)', re.M)
_LINK = re.compile(r'(?<!!)\[([^\]\n]+)\]\(([^)\s]+)\)')


def _rewrite(text, page_dir, docs_dir, repo_root, repo_url, where):
    def replace(match):
        label, target = match.group(1), match.group(2)
        if re.match(r'^[a-z][\w+.-]*:', target) or target.startswith(('#', '/')):
            return match.group(0)
        path = target.split('#', 1)[0]
        full = osp.normpath(osp.join(page_dir, path))
        if not path or full == docs_dir or full.startswith(docs_dir + osp.sep):
            return match.group(0)  # a page of the site: MkDocs checks it
        if not full.startswith(repo_root + osp.sep):
            log.warning(f"Doc file '{where}' links to '{target}', which is outside the repository")
            return match.group(0)
        rel = osp.relpath(full, repo_root)
        if not osp.exists(full):
            log.warning(f"Doc file '{where}' links to '{target}': no file {rel} in the repository")
            return match.group(0)
        if repo_url:
            return f'[{label}]({repo_url.rstrip("/")}/blob/main/{rel})'
        return label if rel in label else f'{label} (`{rel}`)'

    return _LINK.sub(replace, text)


def on_page_markdown(markdown, page, config, files):
    docs_dir = osp.normpath(config['docs_dir'])
    repo_root = osp.dirname(osp.normpath(config['config_file_path']))
    page_dir = osp.dirname(osp.normpath(page.file.abs_src_path))
    parts = _FENCE.split(markdown)
    # split keeps the fence markers: text, marker, code, marker, text, ...; rewrite the text only
    out, in_code = [], False
    for i, part in enumerate(parts):
        if i % 2 == 1:  # a fence marker
            out.append(part)
            in_code = not in_code
            continue
        out.append(
            part
            if in_code
            else _rewrite(
                part, page_dir, docs_dir, repo_root, config.get('repo_url'), page.file.src_uri
            )
        )
    return ''.join(out)
