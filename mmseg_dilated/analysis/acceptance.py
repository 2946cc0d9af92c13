"""The acceptance run of a machine (``tools/gpu_acceptance.sh``): does this install work on its
GPU, do the shipped GPU configs fit it, and how fast are the inference paths there.

Three steps, each one function, and one Markdown table of all three (:func:`markdown`):

1. :func:`environment`: torch's CUDA build, cuDNN, the device, and mmcv's compiled ops run on a
   tensor of the device (``mmcv.ops.nms``, compared with the same call on CPU).
2. :func:`dry_runs`: :func:`~.dry_run.dry_run` of each config, with and without AMP (AMP only on
   CUDA: mmengine's ``AmpOptimWrapper`` needs it). The synthesised data of one dataset is written
   once and shared by every config that reads it.
3. :func:`inference_paths`: every model of the benchmark (``MODEL_SPECS``, mmseg's DeepLabV3
   R-50-D8 among them) on the paths the device runs: eager fp32 (as mmseg runs it), fused (BN
   folded, channels_last), fp16 and bf16 autocast, and ONNX through onnxruntime's CUDA provider
   when it is installed; each path's logits against eager fp32 (largest difference relative to
   the largest logit, argmax agreement) and its latency against DeepLabV3 R-50-D8's eager latency
   measured in the same run. Latencies are ``torch.utils.benchmark.Timer`` medians (it
   synchronises CUDA).

On CPU the same steps run on tiny inputs (``tiny=True``): the tiny test config for the dry runs,
64x64 inputs for the inference paths, so that the suite runs the whole script in well under a
minute and it cannot rot. Nothing of a CPU run stands for a GPU's figures.
"""

import copy
import os.path as osp
import tempfile
import time
from typing import List, Optional, Sequence

import numpy as np
import torch

__all__ = [
    'gpu_configs',
    'environment',
    'dry_runs',
    'inference_paths',
    'markdown',
]


def gpu_configs() -> List[str]:
    """The shipped GPU recipes (``mmseg_dilated::REL`` names): every config in a method folder
    whose training data is not the bundled ContextShapes (those train on CPU)."""
    from ..apis.launch import iter_loader_datasets
    from ..utils.config_scope import list_configs, load_config

    names = []
    for rel in list_configs():
        if '/' not in rel:
            continue  # the root: the CPU toys and short aliases of folder configs
        cfg = load_config(f'mmseg_dilated::{rel}')
        kinds = {ds.get('type') for _, ds in iter_loader_datasets(cfg, ('train_dataloader',))}
        if 'ContextShapesDataset' not in kinds:
            names.append(f'mmseg_dilated::{rel}')
    return names


def environment(device: str) -> dict:
    """torch, CUDA, cuDNN, the device, mmcv and its compiled ops on ``device``."""
    import mmcv
    import mmengine
    import mmseg
    from mmcv.ops import get_compiler_version, get_compiling_cuda_version, nms

    info = dict(
        torch=torch.__version__,
        torch_cuda=torch.version.cuda,
        cuda_available=torch.cuda.is_available(),
        cudnn=torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        device=torch.cuda.get_device_name(0) if device == 'cuda' else 'CPU',
        capability='.'.join(map(str, torch.cuda.get_device_capability(0)))
        if device == 'cuda'
        else None,
        memory_gib=torch.cuda.get_device_properties(0).total_memory / 2**30
        if device == 'cuda'
        else None,
        mmcv=mmcv.__version__,
        mmcv_cuda=get_compiling_cuda_version(),
        mmcv_compiler=get_compiler_version(),
        mmengine=mmengine.__version__,
        mmseg=mmseg.__version__,
    )
    gen = torch.Generator().manual_seed(0)
    corner = torch.rand(200, 2, generator=gen) * 100
    boxes = torch.cat([corner, corner + torch.rand(200, 2, generator=gen) * 50 + 1], 1)
    scores = torch.rand(200, generator=gen)
    try:
        _, on_cpu = nms(boxes, scores, 0.5)
        _, on_device = nms(boxes.to(device), scores.to(device), 0.5)
        same = torch.equal(on_cpu, on_device.cpu())
        info['mmcv_ops'] = (
            f'nms on {device}: {"ok, as on CPU" if same else "DIFFERS from CPU"} '
            f'({len(on_device)} of 200 boxes kept)'
        )
        info['mmcv_ops_ok'] = same
    except Exception as err:  # mmcv built without CUDA ops: the error says so
        info['mmcv_ops'] = f'nms on {device} failed: {type(err).__name__}: {err}'
        info['mmcv_ops_ok'] = False
    return info


def dry_runs(
    configs: Sequence[str],
    device: str,
    iters: int,
    warmup: int,
    options: Sequence[str] = (),
    budget_s: Optional[float] = None,
    say=print,
) -> List[dict]:
    """One :func:`~.dry_run.dry_run` per config and precision (fp32, and AMP on CUDA); a config
    that fails is a row with its error, not the end of the run. After ``budget_s`` seconds no new
    dry run starts (the rows left say so), which bounds the acceptance run's time."""
    from .dry_run import dry_run

    rows = []
    data_dir = tempfile.mkdtemp(prefix='mmseg-dilated-acceptance-data-')
    deadline = None if budget_s is None else time.monotonic() + budget_s
    for config in configs:
        for amp in (False, True):
            row = dict(config=config, amp=amp)
            if amp and device != 'cuda':
                row['skipped'] = "AMP needs CUDA (mmengine's AmpOptimWrapper)"
                rows.append(row)
                continue
            if deadline is not None and time.monotonic() > deadline:
                row['skipped'] = f'not run: the {budget_s:.0f} s budget of the dry runs was spent'
                rows.append(row)
                continue
            say(f'dry run: {config}{" --amp" if amp else ""}')
            try:
                report = dry_run(
                    config,
                    options,
                    iters=iters,
                    warmup=warmup,
                    amp=amp,
                    estimate=False,
                    data_cache=data_dir,
                    say=say,
                )
                row['report'] = report
            except Exception as err:
                row['error'] = f'{type(err).__name__}: {str(err).strip().splitlines()[-1]}'
            rows.append(row)
    return rows


def _paths(device: str) -> List[str]:
    from mmseg_dilated.deploy.inference_paths import bf16_available

    paths = ['eager', 'fused']
    if device == 'cuda':
        paths.append('fp16')
    if device == 'cuda' and bf16_available('cuda') or device == 'cpu':
        paths.append('bf16')
    if device == 'cuda':
        try:
            import onnxruntime

            if 'CUDAExecutionProvider' in onnxruntime.get_available_providers():
                paths.append('onnx-cuda')
        except ImportError:
            pass
    return paths


def _callable(segmentor, path: str, x: torch.Tensor, workdir: str):
    from mmseg_dilated.deploy.inference_paths import apply_inference_path

    from .cost import TensorForward

    if path == 'eager':
        net = TensorForward(copy.deepcopy(segmentor)).eval()
        return lambda: net(x)
    if path in ('fused', 'bf16', 'fp16'):
        dtype = {'bf16': torch.bfloat16, 'fp16': torch.float16}.get(path)
        applied = apply_inference_path(
            copy.deepcopy(segmentor), 'fused' if path == 'fused' else 'bf16', dtype=dtype
        )
        net = TensorForward(applied).eval()
        nhwc = x.contiguous(memory_format=torch.channels_last)
        return lambda: net(nhwc)
    # onnx-cuda: the fused network exported once, run by onnxruntime's CUDA provider
    import onnxruntime as ort
    from mmcv.cnn import fuse_conv_bn

    from mmseg_dilated.deploy.onnx_export import export_graph

    file = osp.join(workdir, f'{id(segmentor)}.onnx')
    cpu_net = TensorForward(fuse_conv_bn(copy.deepcopy(segmentor).cpu())).eval()
    export_graph(cpu_net, x.cpu(), file, input_name='input', output_name='logits')
    session = ort.InferenceSession(file, providers=['CUDAExecutionProvider'])
    feed = {'input': x.cpu().numpy()}
    return lambda: torch.from_numpy(session.run(None, feed)[0])


def _logits(out) -> np.ndarray:
    while isinstance(out, (list, tuple)):
        out = out[-1]
    return out.detach().float().cpu().numpy()


def inference_paths(
    device: str,
    size: int,
    repeats: int,
    models: Optional[Sequence[str]] = None,
    budget_s: Optional[float] = None,
    say=print,
) -> dict:
    """Latency, parity with eager fp32, and ratio to DeepLabV3 R-50-D8 of every model and path.

    Args:
        device (str): 'cuda' or 'cpu'.
        size (int): Square input side.
        repeats (int): Timed calls per model and path (the median is reported).
        models (Sequence[str], optional): Names of ``MODEL_SPECS``. Default: every default model.
        budget_s (float, optional): No new model starts after this many seconds (the reference,
            measured first, always runs). Default: None.
    """
    from torch.utils.benchmark import Timer

    from .benchmark.paths import agreement
    from .benchmark.specs import DEFAULT_MODELS, REFERENCE, build_model, model_label

    models = [REFERENCE] + [m for m in (models or DEFAULT_MODELS) if m != REFERENCE]
    deadline = None if budget_s is None else time.monotonic() + budget_s
    paths = _paths(device)
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0)).to(device)
    rows, skipped = [], []
    with tempfile.TemporaryDirectory() as workdir, torch.no_grad():
        for name in models:
            if deadline is not None and time.monotonic() > deadline:
                skipped.append(name)
                continue
            say(f'inference: {model_label(name)}')
            segmentor = build_model(name).to(device)
            reference = None
            for path in paths:
                fn = _callable(segmentor, path, x, workdir)
                fn()  # warm-up: cuDNN's algorithm choice, lazy initialisation
                out = _logits(fn())
                reference = out if path == 'eager' else reference
                seconds = Timer('fn()', globals=dict(fn=fn)).timeit(repeats).median
                rows.append(
                    dict(model=name, label=model_label(name), path=path, latency_ms=seconds * 1e3)
                    | agreement(reference, out)
                )
            del segmentor
            if device == 'cuda':
                torch.cuda.empty_cache()
    base = next(r['latency_ms'] for r in rows if r['model'] == REFERENCE and r['path'] == 'eager')
    for row in rows:
        row['vs_deeplabv3'] = row['latency_ms'] / base
    return dict(device=device, size=size, repeats=repeats, paths=paths, rows=rows, skipped=skipped)


def _mib(value) -> str:
    return '-' if value is None else f'{value / 1024:.2f}'


def markdown(env: dict, runs: Sequence[dict], inference: dict, command: str) -> str:
    """One Markdown page: the environment, the dry runs, the inference paths."""
    lines = [
        f'# Acceptance run on {env["device"]}',
        '',
        f'Written by `{command}`.',
        '',
    ]
    if env['device'] == 'CPU':
        lines += [
            'CPU mode, on tiny inputs: it proves that the steps run; not measured on a GPU, and '
            'none of these figures stands for a GPU.',
            '',
        ]
    lines += [
        '| Environment | |',
        '| --- | --- |',
    ]
    for key in (
        'device',
        'capability',
        'memory_gib',
        'torch',
        'torch_cuda',
        'cudnn',
        'mmcv',
        'mmcv_cuda',
        'mmcv_ops',
        'mmengine',
        'mmseg',
    ):
        value = env.get(key)
        value = f'{value:.1f}' if isinstance(value, float) else value
        lines.append(f'| {key} | {value if value is not None else "-"} |')
    lines += [
        '',
        '| Config | AMP | Fits | Train peak (GiB) | Val peak (GiB) | Capacity (GiB) '
        '| Step (s/iter) | Loader (s/batch per worker) | Data-bound | Projected (h) |',
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ]
    for row in runs:
        name = row['config'].replace('mmseg_dilated::', '')
        amp = 'yes' if row['amp'] else 'no'
        if 'report' not in row:
            why = row.get('skipped') or row.get('error')
            lines.append(f'| {name} | {amp} | {why} | | | | | | | |')
            continue
        r = row['report']
        total = r['projection']['total_s']
        lines.append(
            f'| {name} | {amp} | {"yes" if r["verdict"]["fits"] else "NO"} '
            f'| {_mib(r["memory"]["train_needed_mib"])} | {_mib(r["memory"]["val_needed_mib"])} '
            f'| {_mib(r["device"]["capacity_mib"])} | {r["time"]["step_s"]:.3f} '
            f'| {r["time"]["loader_per_worker_s"]:.3f} '
            f'| {"yes" if r["time"]["data_bound"] else "no"} '
            f'| {"-" if total is None else f"{total / 3600:.1f}"} |'
        )
    lines += [
        '',
        f'Inference, 1x3x{inference["size"]}x{inference["size"]}, median of {inference["repeats"]}'
        f' calls, on {inference["device"]}:',
        '',
        '| Model | Path | Latency (ms) | vs DeepLabV3 R-50-D8 eager (x) | Max diff / max logit '
        '| Argmax agreement |',
        '| --- | --- | --- | --- | --- | --- |',
    ]
    if inference.get('skipped'):
        lines.insert(len(lines) - 4, f'Not run (time budget): {", ".join(inference["skipped"])}.')
    for row in inference['rows']:
        agree = '-' if row['argmax_agreement'] is None else f'{row["argmax_agreement"]:.2%}'
        lines.append(
            f'| {row["label"]} | {row["path"]} | {row["latency_ms"]:.2f} '
            f'| {row["vs_deeplabv3"]:.2f} | {row["relative_diff"]:.1e} | {agree} |'
        )
    return '\n'.join(lines) + '\n'
