"""Plot training curves (loss, and validation mIoU) from a work dir's mmengine scalar logs.

mmengine's LocalVisBackend writes ``WORK_DIR/<timestamp>/vis_data/scalars.json``, one JSON record
per logged step (training records carry ``loss``; validation records carry ``mIoU``). This reads
all runs in the work dir in time order (a resumed run continues the curve) and saves one PNG.

    mmseg-dilated plot-curves work_dirs/context_toy --out curves.png
"""

import argparse
import glob
import json
import os.path as osp

from mmseg_dilated.cli.errors import exit_on_error


def load_scalars(work_dir):
    """(train_steps, losses, val_steps, mious) from every run under ``work_dir``."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(
            f'no */vis_data/scalars.json under {work_dir}: is it the --work-dir of a training run?'
        )
    train, val = {}, {}
    for path in files:
        last_train_step = 0
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if 'loss' in rec:
                    last_train_step = rec['step']
                    train[rec['step']] = rec['loss']
                if 'mIoU' in rec:
                    # validation records count val iterations; place them at the training step
                    val[last_train_step] = rec['mIoU']
    return (
        sorted(train),
        [train[k] for k in sorted(train)],
        sorted(val),
        [val[k] for k in sorted(val)],
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dir')
    parser.add_argument('--out', default=None, help='PNG path (default: WORK_DIR/curves.png)')
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    with exit_on_error():
        steps, losses, val_steps, mious = load_scalars(args.work_dir)
    fig, (ax_loss, ax_miou) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(steps, losses, linewidth=1)
    ax_loss.set(xlabel='iteration', ylabel='training loss', title='loss')
    ax_miou.plot(val_steps, mious, marker='o')
    ax_miou.set(xlabel='iteration', ylabel='mIoU (%)', title='validation mIoU')
    for ax in (ax_loss, ax_miou):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    out = args.out or osp.join(args.work_dir, 'curves.png')
    fig.savefig(out, dpi=100)
    print(f'curves: {len(steps)} training points, {len(val_steps)} validation points -> {out}')


if __name__ == '__main__':
    main()
