"""Checkpoints load on torch's weights-only unpickler: mmengine's own load, anything else is
refused."""

import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

from mmseg_dilated.utils import UnsafeCheckpointError, safe_load


def _runner_like_checkpoint():
    """What mmengine's Runner.save_checkpoint writes: weights, optimizer, schedulers, message
    hub."""
    hub = MessageHub.get_instance('test_checkpoint')
    for i in range(3):
        hub.update_scalar('train/loss', np.float64(1.0 / (i + 1)))
        hub.update_scalar('train/lr', 0.01)
    hub.update_info('iter', 3)
    model = torch.nn.Conv2d(3, 4, 3)
    optim = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model(torch.randn(1, 3, 5, 5)).sum().backward()
    optim.step()
    return dict(
        meta=dict(
            epoch=0,
            iter=3,
            seed=np.int64(7),
            mmengine_version='0.10.7',
            dataset_meta=dict(classes=('a', 'b'), palette=[[0, 0, 0], [1, 1, 1]]),
        ),
        state_dict=model.state_dict(),
        optimizer=optim.state_dict(),
        message_hub=hub.state_dict(),
    )


class _Planted:
    """Runs a command when unpickled: what a malicious checkpoint carries."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def test_runner_checkpoint_needs_the_allow_list(tmp_path):
    path = tmp_path / 'ckpt.pth'
    torch.save(_runner_like_checkpoint(), path)
    # The problem being fixed: plain torch.load on torch >= 2.6 refuses mmengine's checkpoints.
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    loaded = _load_checkpoint(str(path), map_location='cpu')
    assert isinstance(loaded['message_hub']['log_scalars']['train/loss'], HistoryBuffer)
    buf = loaded['message_hub']['log_scalars']['train/loss']
    assert buf.mean() == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    assert buf.min() == pytest.approx(1 / 3)
    assert loaded['meta']['seed'] == 7
    torch.testing.assert_close(
        loaded['state_dict']['weight'],
        _runner_like_checkpoint()['state_dict']['weight'].new_tensor(
            loaded['state_dict']['weight']
        ),
    )


def test_local_loader_is_the_safe_one():
    # Ours, under mmengine's own names (mmengine's tests look its loaders up by name).
    for path, name in (
        ('work/iter_4.pth', 'load_from_local'),
        ('https://x/y.pth', 'load_from_http'),
    ):
        loader = CheckpointLoader._get_checkpoint_loader(path)
        assert loader.__name__ == name
        assert loader.__module__ == 'mmseg_dilated.host_patches'


def test_planted_object_is_refused_and_does_not_run(tmp_path):
    marker = tmp_path / 'pwned'
    ckpt = _runner_like_checkpoint()
    ckpt['meta']['note'] = _Planted(marker)
    path = tmp_path / 'evil.pth'
    torch.save(ckpt, path)
    with pytest.raises(UnsafeCheckpointError, match='Refused to load checkpoint') as err:
        _load_checkpoint(str(path), map_location='cpu')
    assert 'system' in str(err.value)
    assert not marker.exists()


def test_getattr_is_not_a_way_out(tmp_path):
    """A pickle that calls getattr on an allowed object to reach anything else is refused."""

    class _Escape:
        def __reduce__(self):
            return (getattr, (HistoryBuffer, '__init__'))

    path = tmp_path / 'escape.pth'
    torch.save({'x': _Escape()}, path)
    with pytest.raises(UnsafeCheckpointError, match='only the statistics methods'):
        safe_load(str(path))


def test_missing_checkpoint_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothere.pth'):
        _load_checkpoint(str(tmp_path / 'nothere.pth'))


def test_corrupt_checkpoint_is_reported(tmp_path):
    path = tmp_path / 'corrupt.pth'
    path.write_bytes(b'not a checkpoint at all')
    with pytest.raises(Exception) as err:
        _load_checkpoint(str(path))
    assert 'corrupt.pth' in str(err.value)


def test_load_state_dict_file_unwraps(tmp_path):
    from mmseg_dilated.utils.checkpoint import NotAStateDictError, load_state_dict_file

    weight, bias = torch.randn(4, 3, 3, 3), torch.randn(4)
    plain = {'conv.weight': weight, 'conv.bias': bias}
    layouts = {
        'plain.pth': plain,
        'state_dict.pth': {'state_dict': plain, 'meta': {'epoch': 1}},
        # DataParallel's prefix inside a 'model' entry, as some training scripts save it
        'model.pth': {'model': {'module.conv.weight': weight, 'module.conv.bias': bias}},
    }
    for name, obj in layouts.items():
        torch.save(obj, tmp_path / name)
        loaded = load_state_dict_file(tmp_path / name)
        assert list(loaded) == ['conv.weight', 'conv.bias'], name
        assert torch.equal(loaded['conv.weight'], weight) and torch.equal(loaded['conv.bias'], bias)
    torch.save([weight], tmp_path / 'list.pth')
    with pytest.raises(NotAStateDictError, match=r'list\.pth: expected a state dict, found a list'):
        load_state_dict_file(tmp_path / 'list.pth')
