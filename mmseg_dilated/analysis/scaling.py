"""How inference cost grows with the image: latency and peak memory against image size, for
whole-image inference and mmseg's sliding-window inference.

Both modes run through the segmentor's own ``inference`` (what mmseg's test loop calls), eager, on
a random normalised image: ``test_cfg`` is set to ``dict(mode='whole')`` or ``dict(mode='slide',
crop_size=..., stride=...)``. The slide crop is the config's training crop (``crop_size``, else
the data preprocessor's ``size``); the stride is the config's ``test_cfg.stride`` where it has one,
else two thirds of the crop, rounded, as mmseg's own sliding configs have it (Cityscapes: crop
512x1024, stride 341x683). A crop larger than the image runs once on the whole image.

Per image size and mode: latency (median of ``repeats`` calls after one warm-up), in ms per
megapixel; the resident-set increase at the peak of one call (:class:`~.memory.PeakRSS`, in a
fresh process with glibc's fixed mmap threshold, as the training memory); and the peak of live
tensors the call created (:class:`~.memory.TensorPeakTracker`: activations and logits, the figure
a GPU's caching allocator would have to hold beyond the weights).
"""

import statistics
from typing import List, Optional, Sequence, Tuple

import torch

__all__ = [
    'SCALING_SIZES',
    'slide_settings',
    'measure_scaling',
    'run_scaling_worker',
    'plot_scaling',
    'scaling_study',
]

SCALING_SIZES = ((256, 256), (512, 512), (1024, 1024), (1024, 2048))


def _pair(value) -> Tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, (int, float)) else tuple(map(int, value))


def slide_settings(cfg) -> Tuple[Tuple[int, int], Tuple[int, int]]:
    """``(crop_size, stride)`` of a config's sliding-window inference (module docstring)."""
    test_cfg = cfg.model.get('test_cfg') or {}
    crop = (
        test_cfg.get('crop_size')
        or cfg.get('crop_size')
        or (cfg.model.get('data_preprocessor') or {}).get('size')
    )
    if crop is None:
        raise ValueError(
            'the config has no crop_size (top level, model.test_cfg or the data '
            'preprocessor size); give the slide crop explicitly'
        )
    crop = _pair(crop)
    stride = (
        _pair(test_cfg['stride'])
        if test_cfg.get('stride')
        else tuple(int(round(c * 2 / 3)) for c in crop)
    )
    return crop, stride


def _num_crops(size, crop, stride) -> int:
    # mmseg's EncoderDecoder.slide_inference grid
    return (max(size[0] - crop[0] + stride[0] - 1, 0) // stride[0] + 1) * (
        max(size[1] - crop[1] + stride[1] - 1, 0) // stride[1] + 1
    )


def measure_scaling(
    config: str,
    sizes: Sequence[Sequence[int]] = SCALING_SIZES,
    modes: Sequence[str] = ('whole', 'slide'),
    repeats: int = 3,
    crop_size: Optional[Sequence[int]] = None,
    stride: Optional[Sequence[int]] = None,
) -> List[dict]:
    """Latency and peak memory of ``segmentor.inference`` per size and mode, in THIS process
    (meant for a fresh one: :func:`run_scaling_worker`).

    Returns:
        list[dict]: Per (size, mode): ``height``, ``width``, ``mode``, ``crops``,
        ``latency_ms``, ``ms_per_mpix``, ``peak_rss_mib``, ``tensor_peak_mib``.
    """
    from mmengine.config import ConfigDict

    from mmseg_dilated.apis.model_builder import build_segmentor

    from .memory import PeakRSS, TensorPeakTracker
    from .timing import time_once

    torch.manual_seed(0)
    model = build_segmentor(config)
    crop, slide_stride = slide_settings(model.cfg)
    crop, slide_stride = _pair(crop_size or crop), _pair(stride or slide_stride)
    static = list(model.parameters()) + list(model.buffers())
    rows = []
    for height, width in sizes:
        x = torch.randn(1, 3, height, width, generator=torch.Generator().manual_seed(0))
        for mode in modes:
            if mode not in ('whole', 'slide'):
                raise ValueError(f"unknown mode {mode!r}; valid: 'whole', 'slide'")
            model.test_cfg = ConfigDict(mode=mode, crop_size=crop, stride=slide_stride)

            def run():
                meta = dict(
                    img_shape=(height, width), ori_shape=(height, width), pad_shape=(height, width)
                )
                return model.inference(x, [meta])

            with torch.inference_mode():
                run()
                times = [time_once(run) for _ in range(repeats)]
                with PeakRSS() as rss:
                    run()
                with TensorPeakTracker(static + [x]) as tracker:
                    run()
            latency = statistics.median(times)
            rows.append(
                dict(
                    height=height,
                    width=width,
                    mode=mode,
                    crops=_num_crops((height, width), crop, slide_stride) if mode == 'slide' else 1,
                    crop_size=list(crop),
                    stride=list(slide_stride),
                    latency_ms=latency * 1e3,
                    ms_per_mpix=latency * 1e3 / (height * width / 1e6),
                    peak_rss_mib=rss.mib,
                    rss_method=rss.method,
                    tensor_peak_mib=tracker.peak / 2**20,
                )
            )
    return rows


def run_scaling_worker(
    config: str,
    sizes: Sequence[Sequence[int]] = SCALING_SIZES,
    modes: Sequence[str] = ('whole', 'slide'),
    repeats: int = 3,
    threads: Optional[int] = None,
) -> List[dict]:
    """:func:`measure_scaling` in a fresh interpreter with glibc's fixed mmap threshold."""
    from .fresh_process import run_in_fresh_process

    args = dict(config=config, sizes=[list(s) for s in sizes], modes=list(modes), repeats=repeats)
    return run_in_fresh_process(
        'mmseg_dilated.analysis.scaling',
        'measure_scaling',
        args,
        threads,
        f'the scaling worker for {config}',
    )


def plot_scaling(results: Sequence[dict], path: str) -> str:
    """Draw ms per megapixel and peak memory against megapixels, one line per model and mode.

    Args:
        results (Sequence[dict]): ``dict(label=..., rows=measure_scaling(...))`` per model.
        path (str): The PNG to write.
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, (ax_time, ax_mem) = plt.subplots(1, 2, figsize=(12, 4.5))
    for result in results:
        for mode, style in (('whole', '-o'), ('slide', '--s')):
            rows = [r for r in result['rows'] if r['mode'] == mode]
            if not rows:
                continue
            mpix = [r['height'] * r['width'] / 1e6 for r in rows]
            label = f'{result["label"]}, {mode}'
            ax_time.plot(mpix, [r['ms_per_mpix'] for r in rows], style, label=label)
            ax_mem.plot(mpix, [r['peak_rss_mib'] for r in rows], style, label=label)
    for ax, ylabel in (
        (ax_time, 'latency (ms per megapixel)'),
        (ax_mem, 'peak inference memory, +RSS (MiB)'),
    ):
        ax.set_xscale('log', base=2)
        ax.set_xlabel('image size (megapixels)')
        ax.set_ylabel(ylabel)
        ax.grid(True, which='both', alpha=0.3)
    ax_mem.set_yscale('log', base=2)
    ax_time.legend(fontsize=8)
    fig.suptitle(f'CPU inference cost against image size ({torch.get_num_threads()} threads)')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def scaling_study(
    specs: Sequence[str],
    sizes: Sequence[Sequence[int]] = SCALING_SIZES,
    repeats: int = 3,
    threads: Optional[int] = None,
    progress=None,
) -> List[dict]:
    """The scaling study of ``mmseg-dilated benchmark --scaling``: per named model (or config
    path), :func:`run_scaling_worker`'s rows in a fresh process, with the model's name and label."""
    from .benchmark.specs import config_of, model_label

    say = progress or (lambda msg: None)
    results = []
    for spec in specs:
        say(f'scaling study of {model_label(spec)} ...')
        rows = run_scaling_worker(config_of(spec), sizes, repeats=repeats, threads=threads)
        results.append(dict(name=spec, label=model_label(spec), rows=rows))
    return results
