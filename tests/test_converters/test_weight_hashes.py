"""Weights a user can verify: the converters check a source against the SHA-256 prefix in its
name (torch hub's ``NAME-<hash>.pth`` convention, as in fyu/drn drn.py's ``drn_d_22-4bd2f8ea.pth``)
and against the published size and digest where they are known. Every digest here is computed
with hashlib from the bytes on disk, not taken from the code under test."""

import hashlib
import re

import pytest
import torch

from mmseg_dilated.cli import drn2mmseg, vgg2mmseg
from mmseg_dilated.converters.hashes import (
    PUBLISHED,
    WeightHashError,
    find_published,
    hash_prefix_in_name,
    verify_weight_file,
)
from mmseg_dilated.models.backbones import DRN


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def fake_drn(tmp_path):
    """A small DRN-D-22 checkpoint in the authors' layout, named as torch hub names a file: by
    the first 8 hex digits of its own SHA-256."""
    torch.manual_seed(0)
    tmp = tmp_path / 'tmp.pth'
    torch.save(DRN(arch='D', depth=22, base_channels=2).state_dict(), tmp)
    digest = sha256(tmp)
    path = tmp_path / f'drn_d_22-{digest[:8]}.pth'
    tmp.rename(path)
    return path, digest


def test_correct_file_converts_and_records_its_digest(fake_drn, tmp_path, capsys):
    src, digest = fake_drn
    dst = tmp_path / 'out.pth'
    drn2mmseg.main([str(src), str(dst)])
    out = capsys.readouterr().out
    assert f'SHA-256 {digest} starts with the prefix in its name' in out
    meta = torch.load(dst, weights_only=True)['meta']
    assert meta['source_sha256'] == digest
    check = verify_weight_file(src)
    assert (check.status, check.sha256, check.size) == ('prefix', digest, src.stat().st_size)


def test_truncated_file_is_refused_with_both_digests(fake_drn, tmp_path):
    src, digest = fake_drn
    cut = tmp_path / 'cut' / src.name  # a download that stopped half-way, same name
    cut.parent.mkdir()
    data = src.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    dst = tmp_path / 'out.pth'
    with pytest.raises(SystemExit) as exc:
        drn2mmseg.main([str(cut), str(dst)])
    msg = str(exc.value)
    assert msg.startswith(f'error: {cut}: SHA-256 mismatch: expected {digest[:8]} ')
    assert f'actual {sha256(cut)} ({len(data) // 2} bytes)' in msg
    assert 'truncated, corrupt' in msg and '--no-check-hash' in msg
    assert not dst.exists()


def test_renamed_file_is_refused_unless_no_check_hash(fake_drn, tmp_path, capsys):
    """A file of one's own under a published name: refused with the published file's digest and
    where its copies are; --no-check-hash converts it."""
    src, digest = fake_drn
    renamed = tmp_path / 'drn_d_22-4bd2f8ea.pth'
    renamed.write_bytes(src.read_bytes())
    dst = tmp_path / 'out.pth'
    with pytest.raises(SystemExit) as exc:
        drn2mmseg.main([str(renamed), str(dst)])
    msg = str(exc.value)
    assert 'expected 4bd2f8ea (the prefix in its name' in msg
    assert f'actual {digest}' in msg
    assert 'not the published drn_d_22-4bd2f8ea.pth' in msg
    assert 'http://dl.yf.io/drn/drn_d_22-4bd2f8ea.pth' in msg  # where it was published
    assert 'web archive' in msg
    assert not dst.exists()

    drn2mmseg.main([str(renamed), str(dst), '--no-check-hash'])
    assert 'DRN-D-22' in capsys.readouterr().out
    assert torch.load(dst, weights_only=True)['meta']['source_sha256'] is None


def test_full_digest_and_size_of_a_published_file(tmp_path):
    """Where the full digest is known (torchvision's VGG-16), a file of that name must have it
    and the published size; the message names the full expected digest."""
    fake = tmp_path / 'vgg16-397923af.pth'
    fake.write_bytes(b'\x80not the published vgg16')
    with pytest.raises(WeightHashError) as exc:
        verify_weight_file(fake)
    msg = str(exc.value)
    expected = '397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0'
    assert f'expected {expected} (the published digest of vgg16-397923af.pth)' in msg
    assert f'actual {sha256(fake)} ({fake.stat().st_size} bytes, published size 553433881' in msg
    assert 'https://download.pytorch.org/models/vgg16-397923af.pth' in msg


def test_vgg2mmseg_refuses_and_no_check_hash_skips(tmp_path):
    src = tmp_path / 'vgg16-397923af.pth'
    src.write_bytes(b'PK\x03\x04 truncated')
    with pytest.raises(SystemExit) as exc:
        vgg2mmseg.main([str(src), str(tmp_path / 'out.pth')])
    assert 'SHA-256 mismatch' in str(exc.value)
    # unchecked, the file goes on to the loader, which names the file and the real problem: an
    # error exit, no traceback
    with pytest.raises(SystemExit) as exc:
        vgg2mmseg.main([str(src), str(tmp_path / 'out.pth'), '--no-check-hash'])
    assert str(exc.value).startswith(f'error: Checkpoint {src} could not be read: ')
    assert 'truncated or corrupt' in str(exc.value)
    assert not (tmp_path / 'out.pth').exists()


def test_file_without_digest_in_name_is_hashed_not_refused(fake_drn, tmp_path, capsys):
    src, digest = fake_drn
    mine = tmp_path / 'my_drn.pth'
    mine.write_bytes(src.read_bytes())
    drn2mmseg.main([str(mine), str(tmp_path / 'out.pth')])
    assert f'SHA-256 {digest}: no digest to check against' in capsys.readouterr().out
    assert verify_weight_file(mine).status == 'unknown'


@pytest.mark.parametrize(
    'name,prefix',
    [
        ('drn_d_22-4bd2f8ea.pth', '4bd2f8ea'),
        ('/a/b/vgg16_features-amdegroot-88682ab5.pth', '88682ab5'),
        ('shufflenetv2_x1-5666bf0f80.pth', '5666bf0f80'),
        ('drn_d_22_mmseg.pth', None),
        ('iter_20000.pth', None),
        ('model-v2.pth', None),
        ('x-1234567.pth', None),  # 7 digits: not the convention
    ],
)
def test_hash_prefix_in_name(name, prefix):
    assert hash_prefix_in_name(name) == prefix


def test_table_is_consistent_with_the_published_names():
    """Each published name carries the start of the digest recorded for it (the table cannot
    record a digest that contradicts the authors' own file name); full digests come with sizes."""
    assert len(PUBLISHED) == 16
    names = [n for w in PUBLISHED for n in (w.name,) + w.aliases]
    assert len(names) == len(set(names))
    drn = {w.name for w in PUBLISHED if w.name.startswith('drn_')}
    assert drn == {
        'drn_c_26-ddedf421.pth',
        'drn_c_42-9d336e8c.pth',
        'drn_c_58-0a53a92c.pth',
        'drn_d_22-4bd2f8ea.pth',
        'drn_d_38-eebb45f0.pth',
        'drn_d_54-0e0534ff.pth',
        'drn_d_105-12b40979.pth',
    }  # fyu/drn drn.py model_urls
    for weight in PUBLISHED:
        for name in (weight.name,) + weight.aliases:
            assert weight.sha256.startswith(hash_prefix_in_name(name)), name
        assert re.fullmatch(r'[0-9a-f]{8}|[0-9a-f]{64}', weight.sha256), weight.name
        assert (len(weight.sha256) == 64) == (weight.size is not None), weight.name
        assert find_published(weight.name) is weight
        assert weight.converter.split()[0] in ('drn2mmseg', 'vgg2mmseg')
