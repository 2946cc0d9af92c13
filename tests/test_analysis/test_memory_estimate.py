"""Peak-memory scaling from one measured step, against cases worked by hand."""

import pytest

from mmseg_dilated.analysis.memory_estimate import estimate_train_memory, fixed_memory_mib

# 262,144 fp32 parameters are exactly 1 MiB of weights.
ONE_MIB_OF_PARAMS = 2**20 // 4


def test_fixed_memory_counts_weights_gradients_and_optimizer_buffers():
    assert fixed_memory_mib(ONE_MIB_OF_PARAMS) == 3.0  # weight + gradient + SGD momentum
    assert fixed_memory_mib(ONE_MIB_OF_PARAMS, optimizer_buffers=2) == 4.0  # Adam: m and v
    assert fixed_memory_mib(ONE_MIB_OF_PARAMS, bytes_per_param=2, optimizer_buffers=0) == 1.0


def test_hand_worked_scaling():
    # 103 MiB measured at 2 x 512x512 with 3 MiB fixed: 100 MiB grow with the pixels. 4 crops of
    # 512x1024 are 4x the pixels: 3 + 4 * 100 = 403 MiB.
    assert estimate_train_memory(103, ONE_MIB_OF_PARAMS, 4, (512, 1024)) == 403.0
    # Half the pixels of the measurement (1 crop): 3 + 50.
    assert estimate_train_memory(103, ONE_MIB_OF_PARAMS, 1, (512, 512)) == 53.0
    # The measured setting gives back the measurement.
    assert estimate_train_memory(103, ONE_MIB_OF_PARAMS, 2, (512, 512)) == 103.0
    # Another measured setting: 1 x 256x256 is an eighth of 2 x 512x512.
    assert (
        estimate_train_memory(
            103,
            ONE_MIB_OF_PARAMS,
            2,
            (512, 512),
            measured_batch_size=1,
            measured_crop_size=(256, 256),
        )
        == 3 + 100 * 8
    )


def test_drn_d_105_at_the_authors_crop():
    # README benchmark: DRN-D-105 + basic context, 54.33 M parameters, 4275 MiB at 2 x 512x512.
    # By hand: fixed = 54.33e6 * 4 B * 3 / 2**20 = 621.76 MiB; (4275 - 621.76) * (2 * 840 * 840) /
    # (2 * 512 * 512) = 3653.24 * 2.69165 = 9833.2 MiB; total 10455.0 MiB.
    assert estimate_train_memory(4275, 54_330_000, 2, (840, 840)) == pytest.approx(10455.0, abs=0.1)


def test_errors_name_the_bad_value():
    with pytest.raises(ValueError, match=r'below the memory of the weights.*\(3 MiB\)'):
        estimate_train_memory(2, ONE_MIB_OF_PARAMS, 2, (512, 512))
    with pytest.raises(ValueError, match='batch_size must be a positive int, got 0'):
        estimate_train_memory(103, ONE_MIB_OF_PARAMS, 0, (512, 512))
    with pytest.raises(ValueError, match=r'crop_size must be \(height, width\)'):
        estimate_train_memory(103, ONE_MIB_OF_PARAMS, 2, (512,))
