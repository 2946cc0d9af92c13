"""Errors a new user meets in the first hour name the problem and the fix (not a raw traceback, not
a misleading message)."""

import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmseg_dilated.apis.launch import check_pretrained_paths
from mmseg_dilated.utils import safe_load

from _helpers import REPO, run_script, run_tool


def test_a_file_that_is_no_checkpoint_is_called_so(tmp_path):
    text = tmp_path / 'notes.txt'
    text.write_text('not weights\n')
    with pytest.raises(
        RuntimeError,
        match=r'notes.txt could not be read: it is not a torch '
        r'checkpoint.*neither a zip archive nor a pickle',
    ):
        safe_load(str(text))
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(RuntimeError, match='the file is empty'):
        safe_load(str(empty))


@pytest.mark.parametrize(
    'config, expected',
    [
        (
            'aspp/aspp_drn-c-26_8xb4-23k_cityscapes-896x896.py',
            'drn2mmseg drn_c_26-ddedf421.pth pretrain/drn_c_26_mmseg.pth',
        ),
        (
            'context/context-basic_drn-d-105_8xb2-92k_cityscapes-840x840.py',
            'drn2mmseg drn_d_105-12b40979.pth pretrain/drn_d_105_mmseg.pth',
        ),
    ],
)
def test_missing_weights_name_the_variants_own_release(tmp_path, monkeypatch, config, expected):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as err:
        check_pretrained_paths(Config.fromfile(osp.join(REPO, 'configs', config)))
    assert expected in str(err.value)


def test_converter_names_a_missing_source_and_creates_the_output_folder(
    tmp_path, monkeypatch, python
):
    proc = run_tool(
        [
            python,
            osp.join(REPO, 'tools', 'model_converters', 'drn2mmseg.py'),
            'missing.pth',
            'out.pth',
        ],
        tmp_path,
        timeout=120,
    )
    assert proc.returncode != 0 and 'Traceback' not in proc.stdout
    assert 'error: missing.pth does not exist.' in proc.stdout
    from mmseg_dilated.models.backbones import DRN

    model = DRN(arch='D', depth=22)
    # the authors' layout: layer0..layer8 of the reference tree, ours is the same for DRN-D
    torch.save({k: v for k, v in model.state_dict().items()}, tmp_path / 'drn_d_22.pth')
    out = tmp_path / 'pretrain' / 'nested' / 'drn_d_22_mmseg.pth'
    run_script(
        monkeypatch,
        osp.join(REPO, 'tools', 'model_converters', 'drn2mmseg.py'),
        tmp_path / 'drn_d_22.pth',
        out,
    )
    assert out.is_file()


def test_class_weights_without_data_says_how_to_prepare_it(tmp_path, python):
    proc = run_tool(
        [
            python,
            osp.join(REPO, 'tools', 'analysis', 'class_weights.py'),
            osp.join(REPO, 'configs', 'context_voc.py'),
        ],
        tmp_path,
        timeout=120,
    )
    assert proc.returncode != 0 and 'Traceback' not in proc.stdout
    assert 'The dataset this config needs is not prepared' in proc.stdout
    assert 'voc_aug.py' in proc.stdout
