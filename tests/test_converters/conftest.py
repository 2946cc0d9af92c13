import mmengine.runner.checkpoint as mmengine_checkpoint
import pytest


@pytest.fixture
def strict_pretrained(monkeypatch):
    """Make mmengine's loader (used by init_cfg=Pretrained) strict and record key differences.

    mmengine itself only warns, and never about missing ``num_batches_tracked``.
    """
    diffs = []
    real = mmengine_checkpoint.load_state_dict

    def strict_load(module, state_dict, strict=False, logger=None):
        diffs.append(set(module.state_dict()) ^ set(state_dict))
        return real(module, state_dict, strict=True, logger=logger)

    monkeypatch.setattr(mmengine_checkpoint, 'load_state_dict', strict_load)
    return diffs
