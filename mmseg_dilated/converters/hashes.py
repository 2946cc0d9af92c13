"""SHA-256 of the published weights the converters read, and the check the converters make.

torch hub names a published file ``NAME-<first hex digits of its SHA-256>.EXT`` and
``torch.hub.load_state_dict_from_url(..., check_hash=True)`` compares that prefix with the file it
downloaded. The DRN authors' ImageNet files follow the convention (``drn_d_22-4bd2f8ea.pth`` in
fyu/drn ``drn.py``'s ``model_urls``), and so do torchvision's VGG-16 and ResNet files. Their
authors' host is gone (fyu/drn#45: ``http://dl.yf.io/drn/`` no longer answers; ucbdrive/dla#27), so
users fetch copies from web archives and other people's mirrors, and a truncated or substituted
copy would otherwise be converted without a word. :func:`verify_weight_file` checks a file before
conversion:

* a file named in :data:`PUBLISHED` with a full digest is checked against its size and full SHA-256;
* any other file whose name follows the convention is checked against the prefix in its name;
* a file whose name carries no digest is hashed and looked up by content, which names the
  published file it is, if any (nothing is refused: a user's own weights have no digest to meet).

A mismatch raises :class:`WeightHashError` naming the expected and actual digest and where copies
of the published file were found. ``--no-check-hash`` on the converters skips the check, for a
user's own file that happens to carry a name of this form.

Full digests are recorded only where they are established from evidence outside this repository
(several independent records of the same file agree on digest and size); for the DRN files only
the prefix in the authors' names is known, and the table says so (``sha256`` is the prefix).
"""

import hashlib
import os
import os.path as osp
import re
from collections import namedtuple
from typing import Optional

from ..utils.errors import UserError

__all__ = [
    'PublishedWeight',
    'PUBLISHED',
    'WeightHashError',
    'HashCheck',
    'sha256_file',
    'hash_prefix_in_name',
    'find_published',
    'verify_weight_file',
    'describe_check',
]

# torch hub's convention: at least 8 hex digits of the SHA-256 between the last '-' and the
# extension (torch.hub.HASH_REGEX accepts any number; the files we know carry 8 or 10).
_HASH_IN_NAME = re.compile(r'-([0-9a-f]{8,64})\.[A-Za-z0-9]+$')

PublishedWeight = namedtuple(
    'PublishedWeight', 'name sha256 size model converter published copies aliases'
)
PublishedWeight.__doc__ = """One published weight file.

Args:
    name (str): The file name as published.
    sha256 (str): The full SHA-256 (64 hex digits) where it is established, else the prefix in
        the name (8 hex digits): then only the prefix can be checked.
    size (int | None): Size in bytes where established, else None.
    model (str): What the weights are.
    converter (str): The command that reads it.
    published (str): Where the file was published (URL or URLs, with the code that names it).
    copies (str): Where copies can be found now.
    aliases (tuple[str]): Other names the same file was published under.
"""

_YF = 'http://dl.yf.io/drn/'
_PRINCETON = 'https://tigress-web.princeton.edu/~fy/drn/models/'
_TV = 'https://download.pytorch.org/models/'
_DRN_COPIES = (
    "the authors' host no longer answers (fyu/drn#45); look for {url} in a web archive "
    '(https://web.archive.org/web/*/{url}) or in a mirror; any copy whose SHA-256 starts with '
    '{prefix} is this file'
)
_TV_COPIES = 'torchvision still serves {url} (torchvision.models, weights enum)'


def _drn(name, model, aliases=(), removed=False):
    prefix = _HASH_IN_NAME.search(name).group(1)
    published = f'{_PRINCETON}{name} (fyu/drn drn.py, 2017-09 to 2019-07), then {_YF}{name}'
    if removed:
        published += ' (DRN-C files later removed there, PeterWang512/FALdetector#6)'
    return PublishedWeight(
        name,
        prefix,
        None,
        model,
        'drn2mmseg',
        published,
        _DRN_COPIES.format(url=_YF + name, prefix=prefix),
        tuple(aliases),
    )


def _tv(name, sha256, size, model, converter):
    return PublishedWeight(
        name, sha256, size, model, converter, _TV + name, _TV_COPIES.format(url=_TV + name), ()
    )


PUBLISHED = (
    # The DRN authors' ImageNet checkpoints, fyu/drn drn.py `model_urls`. Full digests unknown.
    _drn('drn_c_26-ddedf421.pth', 'DRN-C-26, ImageNet', ['drn26-ddedf421.pth'], removed=True),
    _drn('drn_c_42-9d336e8c.pth', 'DRN-C-42, ImageNet', ['drn42-9d336e8c.pth'], removed=True),
    _drn('drn_c_58-0a53a92c.pth', 'DRN-C-58, ImageNet', ['drn58-0a53a92c.pth'], removed=True),
    _drn('drn_d_22-4bd2f8ea.pth', 'DRN-D-22, ImageNet'),
    _drn('drn_d_38-eebb45f0.pth', 'DRN-D-38, ImageNet'),
    _drn('drn_d_54-0e0534ff.pth', 'DRN-D-54, ImageNet'),
    _drn('drn_d_105-12b40979.pth', 'DRN-D-105, ImageNet'),
    # DRN-A starts from torchvision's ResNet (fyu/drn drn.py names resnet50-19c8e357.pth).
    _tv(
        'resnet18-5c106cde.pth',
        '5c106cde386e87d4033832f2996f5493238eda96ccf559d1d62760c4de0613f8',
        46827520,
        'ResNet-18, ImageNet (torchvision, first release) -> DRN-A-18',
        'drn2mmseg',
    ),
    _tv(
        'resnet34-333f7ec4.pth',
        '333f7ec4c6338da2cbed37f1fc0445f9624f1355633fa1d7eab79a91084c6cef',
        87306240,
        'ResNet-34, ImageNet (torchvision, first release) -> DRN-A-34',
        'drn2mmseg',
    ),
    _tv(
        'resnet50-19c8e357.pth',
        '19c8e3572231adff6824a2da93fd67b5986919a2e65f8b6007eab4edee220097',
        102502400,
        'ResNet-50, ImageNet (torchvision, first release; fyu/drn drn_a_50) -> DRN-A-50',
        'drn2mmseg',
    ),
    _tv(
        'resnet18-f37072fd.pth',
        'f37072fd47e89c5e827621c5baffa7500819f7896bbacec160b1a16c560e07ec',
        46830571,
        'ResNet-18, ImageNet (torchvision IMAGENET1K_V1) -> DRN-A-18',
        'drn2mmseg',
    ),
    _tv(
        'resnet34-b627a593.pth',
        'b627a593bcbe140c234610266fe4f8ae95ea42fc881d091c9b6052e6b1d0590f',
        87319819,
        'ResNet-34, ImageNet (torchvision IMAGENET1K_V1) -> DRN-A-34',
        'drn2mmseg',
    ),
    _tv(
        'resnet50-0676ba61.pth',
        '0676ba61b6795bbe1773cffd859882e5e297624d384b6993f7c9e683e722fb8a',
        102530333,
        'ResNet-50, ImageNet (torchvision IMAGENET1K_V1) -> DRN-A-50',
        'drn2mmseg',
    ),
    # torchvision's VGG-16 files (the VGG-16 that fyu/dilation's front end starts from).
    _tv(
        'vgg16-397923af.pth',
        '397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0',
        553433881,
        'VGG-16, ImageNet (torchvision IMAGENET1K_V1)',
        'vgg2mmseg',
    ),
    _tv(
        'vgg16_bn-6c64b313.pth',
        '6c64b3138f2f4fcb3bcc4cafde11619c4f440eb1631787e93a682fd88305888a',
        553507836,
        'VGG-16-BN, ImageNet (torchvision IMAGENET1K_V1)',
        'vgg2mmseg',
    ),
    _tv(
        'vgg16_features-amdegroot-88682ab5.pth',
        '88682ab5',
        None,
        'VGG-16 features (torchvision IMAGENET1K_FEATURES; classifier is NaN: use --no-fc)',
        'vgg2mmseg --no-fc',
    ),
)

_BY_NAME = {n: w for w in PUBLISHED for n in (w.name,) + w.aliases}


class WeightHashError(UserError, ValueError):
    """A weight file's SHA-256 or size is not that of the published file it is named after."""


HashCheck = namedtuple('HashCheck', 'path sha256 size status published')
HashCheck.__doc__ = """What :func:`verify_weight_file` found.

Args:
    path (str): The file.
    sha256 (str): Its full SHA-256.
    size (int): Its size in bytes.
    status (str): 'full' (full digest and size of a published file met), 'prefix' (the digest
        prefix in the name met), 'identified' (no digest in the name, but its SHA-256 is that of
        a published file), 'unknown' (no digest to check against).
    published (PublishedWeight | None): The published file it is, where known.
"""


def sha256_file(path: str, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file, read in chunks (the VGG files are 550 MB)."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def hash_prefix_in_name(path: str) -> Optional[str]:
    """The SHA-256 prefix a file name carries by torch hub's convention, or None.

    ``drn_d_22-4bd2f8ea.pth`` -> ``'4bd2f8ea'``; ``drn_d_22_mmseg.pth`` -> None.
    """
    match = _HASH_IN_NAME.search(osp.basename(path))
    return match.group(1) if match else None


def find_published(name_or_digest: str) -> Optional[PublishedWeight]:
    """The published file of this name (or alias), or whose SHA-256 this full digest is."""
    if name_or_digest in _BY_NAME:
        return _BY_NAME[name_or_digest]
    if re.fullmatch(r'[0-9a-f]{64}', name_or_digest):
        for weight in PUBLISHED:
            if name_or_digest.startswith(weight.sha256):
                return weight
    return None


def _mismatch(path, expected, against, actual, size, weight, prefix):
    if weight is not None:
        expected_size = f', published size {weight.size} bytes' if weight.size else ''
        where = f'Where copies are: {weight.copies}. Published at {weight.published}.'
        what = f'the published {weight.name}'
    else:
        expected_size = ''
        where = (
            f"Download it again from where you found it: a correct copy's SHA-256 starts with "
            f'{prefix}.'
        )
        what = 'the file this name stands for'
    return WeightHashError(
        f'{path}: SHA-256 mismatch: expected {expected} ({against}), actual {actual} '
        f'({size} bytes{expected_size}). The file is truncated, corrupt or not {what}. {where} '
        'If this is a file of your own that carries such a name, pass --no-check-hash.'
    )


def verify_weight_file(path: str) -> HashCheck:
    """Check a weight file against the digest its name or :data:`PUBLISHED` promises.

    Raises:
        WeightHashError: The file's size or SHA-256 is not the one its name promises.
    """
    path = os.fspath(path)
    name = osp.basename(path)
    weight = _BY_NAME.get(name)
    prefix = hash_prefix_in_name(name)
    size = osp.getsize(path)
    actual = sha256_file(path)
    if weight is not None and len(weight.sha256) == 64:
        if actual != weight.sha256 or (weight.size is not None and size != weight.size):
            against = f'the published digest of {weight.name}'
            raise _mismatch(path, weight.sha256, against, actual, size, weight, prefix)
        return HashCheck(path, actual, size, 'full', weight)
    if prefix is not None:
        if not actual.startswith(prefix):
            against = "the prefix in its name, torch hub's NAME-<sha256 prefix>.pth convention"
            raise _mismatch(path, prefix, against, actual, size, weight, prefix)
        return HashCheck(path, actual, size, 'prefix', weight or find_published(actual))
    found = find_published(actual)
    return HashCheck(path, actual, size, 'identified' if found else 'unknown', found)


def describe_check(check: HashCheck) -> str:
    """One line for the converters' output."""
    if check.status == 'full':
        return f'SHA-256 {check.sha256} and size are those of the published {check.published.name}'
    if check.status == 'prefix':
        known = f' ({check.published.name})' if check.published else ''
        return f'SHA-256 {check.sha256} starts with the prefix in its name{known}'
    if check.status == 'identified':
        how = 'is' if len(check.published.sha256) == 64 else 'starts with the prefix of'
        return f'SHA-256 {check.sha256} {how} the published {check.published.name}'
    return f'SHA-256 {check.sha256}: no digest to check against (not a published file we know)'
