"""mmseg 1.2.2's own tools and inference APIs on our configs (the README's table of mmseg clients):
each one that works is run here on a checkpoint of the tiny config. Training and testing through
mmseg's tools are in test_train_test_e2e.py."""

import math
import os.path as osp
import re

import numpy as np
import pytest
from PIL import Image

from mmseg_dilated.apis import mmseg_tool

from _helpers import REPO, TINY_CONFIG, assert_ok, run_tool

TRAIN = osp.join(REPO, 'tools', 'train.py')
IMAGE = osp.join('data', 'context_tiny', 'JPEGImages', 'val_00000.jpg')


@pytest.fixture(scope='module')
def trained(tmp_path_factory, python):
    cwd = tmp_path_factory.mktemp('clients')
    assert_ok(run_tool([python, TRAIN, TINY_CONFIG, '--work-dir', 'work'], cwd), 'training')
    return cwd


def test_print_config(trained, python):
    out = assert_ok(
        run_tool([python, mmseg_tool('misc/print_config.py'), TINY_CONFIG], trained),
        'print_config.py',
    )
    assert "type='ContextHead'" in out and "type='ContextShapesDataset'" in out


def test_test_out_then_confusion_matrix(trained, python):
    assert_ok(
        run_tool(
            [
                python,
                mmseg_tool('test.py'),
                TINY_CONFIG,
                'work/iter_4.pth',
                '--out',
                'preds',
                '--work-dir',
                'eval',
            ],
            trained,
        ),
        'test.py --out',
    )
    preds = sorted((trained / 'preds').glob('*.png'))
    assert [p.name for p in preds] == ['val_00000.png', 'val_00001.png', 'val_00002.png']
    for pred in preds:
        label = np.array(
            Image.open(trained / 'data' / 'context_tiny' / 'SegmentationClass' / pred.name)
        )
        values = np.array(Image.open(pred))
        assert values.shape == label.shape and values.max() < 4
    assert_ok(
        run_tool(
            [python, mmseg_tool('analysis_tools/confusion_matrix.py'), TINY_CONFIG, 'preds', 'cm'],
            trained,
        ),
        'confusion_matrix.py',
    )
    assert (trained / 'cm' / 'confusion_matrix.png').stat().st_size > 0


def test_analyze_logs_with_the_analysis_extra(trained, python):
    logs = sorted((trained / 'work').glob('*/vis_data/2*.json'))
    assert len(logs) == 1
    out = assert_ok(
        run_tool(
            [
                python,
                mmseg_tool('analysis_tools/analyze_logs.py'),
                str(logs[0]),
                '--keys',
                'loss',
                '--out',
                'loss.png',
            ],
            trained,
        ),
        'analyze_logs.py',
    )
    assert 'save curve to: loss.png' in out
    assert Image.open(trained / 'loss.png').size[0] > 0


def test_benchmark_on_a_test_set_of_200_images(trained, python):
    # mmseg's benchmark.py times images 6-200 of the test set: fewer than 200 images give nan.
    (trained / 'bench200.py').write_text(
        f'_base_ = [{TINY_CONFIG!r}]\n'
        "test_dataloader = dict(dataset=dict(data_root='data/bench200', num_val=200))\n"
    )
    out = assert_ok(
        run_tool(
            [python, mmseg_tool('analysis_tools/benchmark.py'), 'bench200.py', 'work/iter_4.pth'],
            trained,
        ),
        'benchmark.py',
    )
    fps = float(re.search(r'Average fps of 1 evaluations: ([0-9.naif]+)', out).group(1))
    assert math.isfinite(fps) and fps > 0, out[-2000:]


def test_our_browse_dataset_draws_every_training_sample(trained, python):
    out = assert_ok(
        run_tool(
            [
                python,
                '-m',
                'mmseg_dilated',
                'browse-dataset',
                TINY_CONFIG,
                '--output-dir',
                'browse',
            ],
            trained,
        ),
        'browse-dataset',
    )
    drawn = sorted((trained / 'browse').glob('*.png'))
    assert [p.name for p in drawn] == [f'train_{i:05d}.png' for i in range(8)]
    assert '8 samples of the train split' in out
    # the val pipeline only resizes: each drawing has its image's size
    assert_ok(
        run_tool(
            [
                python,
                '-m',
                'mmseg_dilated',
                'browse-dataset',
                TINY_CONFIG,
                '--split',
                'val',
                '--max-samples',
                '2',
                '--output-dir',
                'browse_val',
            ],
            trained,
        ),
        'browse val',
    )
    drawn = sorted((trained / 'browse_val').glob('*.png'))
    assert [p.name for p in drawn] == ['val_00000.png', 'val_00001.png']
    source = Image.open(trained / 'data' / 'context_tiny' / 'JPEGImages' / 'val_00000.jpg')
    assert Image.open(drawn[0]).size == source.size


def test_inference_apis_agree(trained, monkeypatch):
    monkeypatch.chdir(trained)
    from mmseg.apis import MMSegInferencer, inference_model, init_model, show_result_pyplot

    model = init_model(TINY_CONFIG, 'work/iter_4.pth', device='cpu')
    result = inference_model(model, IMAGE)
    pred = result.pred_sem_seg.data[0].numpy()
    width, height = Image.open(IMAGE).size
    assert pred.shape == (height, width)
    # the inferencer reaches the same labels through its own pipeline and preprocessing
    inferencer = MMSegInferencer(model=TINY_CONFIG, weights='work/iter_4.pth', device='cpu')
    assert np.array_equal(inferencer(IMAGE)['predictions'], pred)
    show_result_pyplot(model, IMAGE, result, show=False, out_file='overlay.png')
    assert Image.open('overlay.png').size == (width, height)
