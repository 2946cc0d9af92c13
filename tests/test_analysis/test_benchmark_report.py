"""The benchmark's tables from a results dict worked by hand (analysis.benchmark.report)."""

import datetime

from mmseg_dilated.analysis.benchmark.report import (
    format_report,
    format_scaling,
    format_targets,
    markdown_page,
)


def _results():
    path = dict(
        latency_ms=250.0,
        latency_runs_ms=[250.0],
        speedup=1.0,
        flop_rate_fraction=0.5,
        relative_diff=0.0,
        argmax_agreement=1.0,
    )
    model = dict(
        name='m',
        label='Model M',
        params=12_340_000,
        gflops=10.0,
        latency_ms=250.0,
        vs_reference=0.5,
        achieved_gflops_per_s=80.0,  # 2 * 10 GMACs / 0.25 s
        flop_rate_fraction=0.5,
        paths=dict(eager=path),
    )
    return dict(
        settings=dict(
            torch='2.13.0',
            threads=2,
            size=512,
            repeats=3,
            warmup=1,
            paths=['eager'],
            backbone_only=False,
            channels_last=False,
            memory_batch=2,
        ),
        matmul=dict(n=2048, seconds=0.1, gflops_per_s=171.8, seconds_rounds=[0.1, 0.1, 0.1]),
        cpu=[dict(path='eager', needs=['avx2'], present=['avx2'], without='')],
        models=[model],
        memory=[],
    )


def test_text_report_rows():
    text = format_report(_results())
    row = next(line for line in text.splitlines() if 'Model M' in line)
    cells = [c.strip() for c in row.strip('|').split('|')]
    assert cells == ['Model M', '12.34', '10.0', '250.0', '0.50', '80.0', '50.0%']
    assert 'fp32 matmul 2048x2048: 100.0 ms, 171.8 GFLOP/s' in text
    assert 'WARNING' not in text  # equal matmul rounds: no drift


def test_markdown_report_and_page():
    text = format_report(_results(), markdown=True)
    lines = text.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith('| Model M '))
    assert [c.strip() for c in lines[row].strip('|').split('|')] == [
        'Model M',
        '12.34',
        '10.0',
        '250.0',
        '0.50',
        '80.0',
        '50.0%',
    ]
    assert set(lines[row - 1]) <= set('|:- ')  # the header's rule: a Markdown table
    page = markdown_page(
        'CPU benchmark',
        'mmseg-dilated benchmark --markdown docs/en/benchmarks/cpu.md',
        text,
        ['fpu', 'avx2', 'fma', 'sse4_2', 'avx512_bf16'],
        date=datetime.date(2026, 1, 2),
        commit='abc1234',
    )
    lines = page.splitlines()
    assert lines[0] == '# CPU benchmark'
    assert 'mmseg-dilated benchmark --markdown docs/en/benchmarks/cpu.md' in lines
    assert '- date: 2026-01-02' in lines
    assert '- code: commit abc1234' in lines
    flags = next(line for line in lines if line.startswith('- CPU:'))
    assert flags.endswith('flags: avx2 avx512_bf16 fma sse4_2')  # fpu is not listed
    assert text in page


def test_targets_and_scaling_lines():
    verdicts = [
        dict(model='m', metric='speedup', path='fused', value=1.1, threshold=1.05, status='PASS'),
        dict(model='m', metric='speedup', path='bf16', value=0.5, threshold=1.8, status='N/A'),
    ]
    lines = format_targets(verdicts).splitlines()
    assert lines[1] == '[PASS] m: speed-up over eager [fused] = 1.10x (target >= 1.05x)'
    assert lines[2].startswith('[N/A] m: speed-up over eager [bf16] = 0.50x (target >= 1.80x): ')
    rows = [
        dict(
            height=256,
            width=512,
            mode='slide',
            crops=3,
            latency_ms=120.4,
            ms_per_mpix=918.6,
            peak_rss_mib=300.2,
            tensor_peak_mib=80.7,
            crop_size=(256, 256),
            stride=(170, 170),
        )
    ]
    text = format_scaling([dict(label='Model M', rows=rows)], repeats=3)
    row = next(line for line in text.splitlines() if 'Model M' in line)
    assert [c.strip() for c in row.strip('|').split('|')] == [
        'Model M',
        '256x512',
        'slide',
        '3',
        '120',
        '919',
        '300',
        '81',
    ]
    assert 'median of 3 after a warm-up' in text
    md = format_scaling([dict(label='Model M', rows=rows)], 3, markdown=True).splitlines()
    note = next(i for i, line in enumerate(md) if line.startswith('Eager, batch 1'))
    assert md[note - 1] == '' and md[note - 2].startswith('| ')  # after the table, apart
