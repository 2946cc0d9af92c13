"""Dry-run a config: will it fit this machine, can the data loader keep up, how long will it take.

    mmseg-dilated dry-run CONFIG [--gpus N] [--iters K] [--warmup W] [--amp] [--scale-lr]
        [--max-memory SIZE] [--no-estimate] [--json PATH] [--cfg-options k=v ...]
    python tools/dry_run.py CONFIG ...                (in a checkout: the same)

Builds the run through mmengine's Runner (the config's model, optimizer wrapper, hooks and
pipeline; the real data if it is prepared, else samples synthesised in the dataset's format),
trains K iterations after W warm-up ones and one validation batch, on CUDA when present, else CPU,
and prints memory, speed, the projected wall-clock and a verdict. Exit status 1 when the run does
not fit (the report lists the changes that would make it fit). What is measured and how:
``mmseg_dilated/analysis/dry_run.py``; docs/en/user_guides/dry_run.md.
"""

import argparse
import json
import sys

from prettytable import PrettyTable

from mmseg_dilated.cli.errors import exit_on_error


def parse_args(argv=None):
    from mmseg_dilated.analysis.dry_run import DEFAULT_ITERS, DEFAULT_WARMUP

    p = argparse.ArgumentParser(
        description='Dry-run a config: memory against the device, s/iter of the step and the '
        'data loader, projected wall-clock, fits / does not fit'
    )
    p.add_argument('config', help='config file, or mmseg_dilated::NAME')
    p.add_argument(
        '--gpus',
        type=int,
        help="GPUs of the run: keeps the recipe's effective batch by gradient accumulation, as "
        "train --gpus does (default: the recipe's own count)",
    )
    p.add_argument(
        '--scale-lr',
        action='store_true',
        help='with --gpus: scale the learning rate linearly with the batch instead (as train)',
    )
    p.add_argument(
        '--iters', type=int, default=DEFAULT_ITERS, help=f'measured iterations ({DEFAULT_ITERS})'
    )
    p.add_argument(
        '--warmup',
        type=int,
        default=DEFAULT_WARMUP,
        help=f'iterations before the measurement ({DEFAULT_WARMUP})',
    )
    p.add_argument('--amp', action='store_true', help='mixed precision, as train --amp (CUDA)')
    p.add_argument(
        '--max-memory',
        metavar='SIZE',
        help="memory budget per device, e.g. 12G, 800M (default: the device's)",
    )
    p.add_argument(
        '--no-estimate',
        action='store_true',
        help="skip memory_estimate's figure (one more training step on CPU)",
    )
    p.add_argument('--json', metavar='PATH', help='also write the report as JSON')
    p.add_argument('--markdown', action='store_true', help='print the table as Markdown')
    p.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='override settings in the config, as key=value pairs (mmengine DictAction syntax)',
    )
    return p.parse_args(argv)


def _mib(value) -> str:
    if value is None:
        return '-'
    return f'{value / 1024:.2f} GiB' if value >= 1024 else f'{value:.0f} MiB'


def _seconds(value) -> str:
    if value is None:
        return '-'
    if value >= 3600:
        return f'{value / 3600:.1f} h'
    return f'{value / 60:.1f} min' if value >= 60 else f'{value:.3f} s'


def rows(report) -> list:
    """(item, value) rows of the report's table."""
    run, dev, mem, t, proj = (
        report['run'],
        report['device'],
        report['memory'],
        report['time'],
        report['projection'],
    )
    out = [
        ('Config', run['config']),
        (
            'Device',
            f'{dev["name"]} ({dev["torch_threads"]} torch threads'
            + (
                f'; load average {dev["load_average"]:.1f} on {dev["cpus"]} CPUs at the start)'
                if dev.get('load_average') is not None
                else ')'
            )
            + ('; not measured on a GPU' if dev['type'] == 'cpu' else ''),
        ),
        (
            'Run',
            f'{run["gpus"]} GPU(s) x {run["batch_per_gpu"]} x {run["accumulation"]} accumulated ='
            f' effective batch {run["effective_batch"]}'
            + (f" (recipe's {run['recipe_batch']})" if run['recipe_batch'] else '')
            + (f'; lr {run["lr"]:g}' if run['lr'] is not None else '')
            + ('; AMP' if run['amp'] else ''),
        ),
        (
            'Data',
            '; '.join(report['data']['notes'])
            or "the config's own (prepared); weights as configured",
        ),
    ]
    out += [('Note', note) for note in run['notes']]
    peak = mem['train_peak'] or {}
    if dev['type'] == 'cuda':
        detail = (
            f'allocated {_mib(peak.get("allocated_mib"))}, reserved '
            f'{_mib(peak.get("reserved_mib"))}, outside the allocator '
            f'{_mib(peak.get("outside_allocator_mib"))}'
        )
    else:
        detail = (
            f'process peak {_mib(peak.get("peak_rss_mib"))} resident, of which '
            f'{_mib(mem["rss_before_runner_mib"])} before the Runner'
        )
    out += [
        ('Peak memory, training', f'{_mib(mem["train_needed_mib"])} ({detail})'),
        ('Peak memory, validation', _mib(mem['val_needed_mib'])),
        ('Budget', f'{_mib(dev["budget_mib"])} ({dev["budget_from"]})'),
    ]
    est = mem.get('estimate')
    if est:
        out.append(
            (
                'memory_estimate',
                f'{_mib(est["estimate_mib"])} (benchmark step {_mib(est["measured_step_mib"])} at '
                f'2 x 512x512{", with_cp" if est["with_cp"] else ""}, scaled); measured / '
                f'estimate = {est["measured_over_estimate"]:.2f}',
            )
        )
    workers = t['num_workers']
    out += [
        (
            'Step',
            f'{_seconds(t["step_s"])} / iter (mean of {t["measured_iterations"]} after '
            f'{t["warmup"]} warm-up); waiting for data {_seconds(t["wait_s"])} / iter',
        ),
        (
            'Data loader',
            f'{_seconds(t["loader_batch_s"])} / batch in one process; num_workers={workers}: '
            + (
                f'{_seconds(t["loader_per_worker_s"])} / batch'
                if workers
                else 'loading adds to every step'
            )
            + f'; {t["workers_to_keep_up"]} worker(s) keep up with the step',
        ),
        (
            'Data-bound',
            (
                f'yes: the loader ({_seconds(t["loader_per_worker_s"])} / batch) is slower than '
                f'the step ({_seconds(t["step_s"])}); raise num_workers to '
                f'{t["workers_to_keep_up"]} or more (train_dataloader.num_workers)'
            )
            if t['data_bound']
            else 'no',
        ),
        (
            'Projected wall-clock',
            (
                f'{_seconds(proj["total_s"])} on {proj["on"]}: {proj["iterations"]} iterations x '
                f'{_seconds(t["step_s"] + t["wait_s"])}'
                + (
                    f' + {proj["validations"]} validation(s) of {proj["val_images"]} images '
                    f'({_seconds(proj["val_total_s"])})'
                    if proj['val_total_s']
                    else ' (validation not included: val set size unknown)'
                    if proj['validations']
                    else ''
                )
                + f'; excludes {proj["excludes"]}'
            )
            if proj['total_s'] is not None
            else '-',
        ),
        ('Verdict', 'fits' if report['verdict']['fits'] else 'DOES NOT FIT'),
    ]
    for change in report['verdict']['changes']:
        figure = (
            f'{_mib(change["needed_mib"])} {"measured" if change["measured"] else "estimated"}'
            if change['needed_mib'] is not None
            else 'not measured'
        )
        verdict = {True: 'fits', False: 'does not fit', None: '?'}[change['fits']]
        out.append(
            (
                f'Change: {change["change"]}',
                f'{figure} ({verdict}): {change["how"]}; {change["effect"]}',
            )
        )
    return out


def table(report, markdown: bool = False) -> str:
    # a Markdown row is one line: wrap only the terminal's table
    t = PrettyTable(['Dry run', 'Result'], align='l', **({} if markdown else dict(max_width=100)))
    t.add_rows(rows(report))
    if markdown:
        from prettytable import TableStyle

        t.set_style(TableStyle.MARKDOWN)
    return t.get_string()


def main(argv=None):
    args = parse_args(argv)
    with exit_on_error():
        import mmseg_dilated  # noqa: F401  (registers the components)
        from mmseg_dilated.analysis.dry_run import dry_run, parse_size
        from mmseg_dilated.apis import check_amp_available

        if args.amp:
            check_amp_available()
        report = dry_run(
            args.config,
            args.cfg_options,
            gpus=args.gpus,
            iters=args.iters,
            warmup=args.warmup,
            amp=args.amp,
            max_memory=parse_size(args.max_memory) if args.max_memory else None,
            scale_lr=args.scale_lr,
            estimate=not args.no_estimate,
            say=lambda msg: print(msg, file=sys.stderr),
        )
    for line in report['run']['plan']:
        print(line)
    print(table(report, args.markdown))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(report, f, indent=2)
    if not report['verdict']['fits']:
        sys.exit(1)


if __name__ == '__main__':
    main()
