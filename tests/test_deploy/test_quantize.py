"""int8 static quantization (mmseg_dilated.deploy.quantize): the written model is QDQ with
per-channel int8 weights and follows the fp32 model; calibration images come from the training
set through the test pipeline; export-onnx --int8 --eval writes, checks and evaluates it."""

import os.path as osp

import mmcv
import numpy as np
import onnx
import pytest
from deploy_models import model_config, random_bn_checkpoint
from onnx import numpy_helper

from mmseg_dilated.deploy import (
    build_for_export,
    calibration_images,
    export_onnx,
    quantize_onnx_int8,
    run_onnx,
)

from _helpers import REPO, TINY_CONFIG, assert_ok, run_tool, tiny_config_at


@pytest.fixture
def tiny_data(tmp_path):
    """The tiny config with its data generated under tmp_path (8 training images, 64 x 64)."""
    from mmseg_dilated.datasets.context_shapes import generate_context_shapes

    cfg = tiny_config_at(tmp_path / 'data')
    leaf = cfg.train_dataloader.dataset
    generate_context_shapes(
        leaf.data_root, num_train=leaf.num_train, num_val=leaf.num_val, image_size=leaf.image_size
    )
    return cfg


def test_calibration_images_are_training_images_through_the_test_pipeline(tiny_data):
    images = calibration_images(tiny_data, num_images=3)
    root = tiny_data.train_dataloader.dataset.data_root
    with open(osp.join(root, 'ImageSets', 'Segmentation', 'train.txt')) as f:
        names = f.read().split()
    assert len(names) == 8 and len(images) == 3
    # evenly spaced through the 8: the first, the middle (3.5 rounds to 4), the last
    for name, image in zip([names[0], names[4], names[7]], images):
        bgr = mmcv.imread(osp.join(root, 'JPEGImages', name + '.jpg'))  # what mmseg loads
        bgr = mmcv.imrescale(bgr, (128, 128))  # the test pipeline's Resize (keep_ratio) of 64 px
        assert image.shape == (1, 3, 128, 128) and image.dtype == np.float32
        assert np.array_equal(image[0], bgr.transpose(2, 0, 1).astype(np.float32))
    resized = calibration_images(tiny_data, num_images=1, shape=(32, 48))[0]
    assert resized.shape == (1, 3, 32, 48)
    with pytest.raises(ValueError, match='num_images must be at least 1, got 0'):
        calibration_images(tiny_data, num_images=0)


def test_int8_model_is_qdq_per_channel_and_follows_fp32(tiny_data, tmp_path):
    cfg = model_config({})
    module, _ = build_for_export(cfg, random_bn_checkpoint(cfg, tmp_path / 'w.pth'))
    fp32, int8 = str(tmp_path / 'fp32.onnx'), str(tmp_path / 'int8.onnx')
    export_onnx(module, fp32, (64, 64), dynamic=True)
    calibration = calibration_images(tiny_data, num_images=8)
    assert quantize_onnx_int8(fp32, int8, calibration) == int8

    graph = onnx.load(int8).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    convs = [node for node in graph.node if node.op_type == 'Conv']
    fp32_convs = [n for n in onnx.load(fp32).graph.node if n.op_type == 'Conv']
    assert len(convs) == len(fp32_convs) > 5
    for conv in convs:
        # activations and weights both enter through DequantizeLinear (QDQ format)
        data, weight = (producer[name] for name in conv.input[:2])
        assert data.op_type == weight.op_type == 'DequantizeLinear'
        q_weight, scale = inits[weight.input[0]], inits[weight.input[1]]
        assert q_weight.dtype == np.int8
        assert scale.shape == (q_weight.shape[0],)  # one scale per output channel
    # an untrained model's logits are small and close together (here up to about 0.1), so 8-bit
    # steps move them by a large fraction (measured: max error 25-50% of the largest logit), yet
    # int8 follows fp32: the logits correlate at 0.99 and 98-99% of the labels agree
    for image in calibration[:3]:
        ref, out = run_onnx(fp32, image), run_onnx(int8, image)
        corr = np.corrcoef(out.ravel(), ref.ravel())[0, 1]
        agree = (out.argmax(1) == ref.argmax(1)).mean()
        assert corr >= 0.98
        assert agree >= 0.95

    with pytest.raises(ValueError, match='no images'):
        quantize_onnx_int8(fp32, str(tmp_path / 'none.onnx'), [])


@pytest.mark.slow
def test_export_command_int8_and_eval(tmp_path, python):
    ckpt = random_bn_checkpoint(model_config({}), tmp_path / 'w.pth')
    out = assert_ok(
        run_tool(
            [
                python,
                osp.join(REPO, 'tools', 'deployment', 'export_onnx.py'),
                TINY_CONFIG,
                ckpt,
                '--shape',
                '64',
                '64',
                '--dynamic',
                '--out',
                'tiny.onnx',
                '--int8',
                '--calib-images',
                '4',
                '--eval',
            ],
            tmp_path,
        ),
        'export_onnx.py --int8 --eval',
    )
    assert 'quantized tiny_int8.onnx (int8, calibrated on 4 training images)' in out
    assert osp.isfile(tmp_path / 'tiny_int8.onnx')
    mious = {}
    for name, path in (('fp32', 'tiny.onnx'), ('int8', 'tiny_int8.onnx')):
        line = [ln for ln in out.splitlines() if ln.startswith(f'{name} {path}: mIoU ')]
        assert len(line) == 1, out[-3000:]
        mious[name] = float(line[0].split()[3])
    # the fp32 graph evaluates as mmseg's test loop does on the same weights
    test = assert_ok(
        run_tool([python, osp.join(REPO, 'tools', 'test.py'), TINY_CONFIG, ckpt], tmp_path),
        'tools/test.py',
    )
    import re

    assert float(re.findall(r'mIoU: ([\d.]+)', test)[-1]) == pytest.approx(mious['fp32'], abs=0.01)
