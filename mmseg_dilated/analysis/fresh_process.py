"""One measurement in a fresh interpreter, its result read back as JSON.

A fresh process per measurement starts from an empty heap, so a peak of resident memory measured in
it belongs to that measurement alone (the CPU analogue of a fresh CUDA context). glibc reads
``MALLOC_MMAP_THRESHOLD_`` at process start; with a fixed threshold every freed tensor goes back to
the kernel and the resident set's high-water mark follows the live tensors. Used by the training
memory measurement (:mod:`.memory`) and the scaling study (:mod:`.scaling`).
"""

import json
import os
import subprocess
import sys
from typing import Optional

__all__ = ['MMAP_THRESHOLD', 'run_in_fresh_process']

MMAP_THRESHOLD = 64 * 1024
_RESULT_TAG = 'FRESH_PROCESS_RESULT '


def run_in_fresh_process(
    module: str, function: str, kwargs: dict, threads: Optional[int], what: str
) -> object:
    """``module.function(**kwargs)`` in a fresh interpreter with glibc's fixed mmap threshold
    (:data:`MMAP_THRESHOLD`, read at process start), its JSON result read back from stdout.

    A fresh process per measurement starts from an empty heap, so a peak of resident memory
    measured in it belongs to that measurement alone.

    Args:
        module (str): Module of the function, importable in the child.
        function (str): Its name; it takes JSON-able keyword arguments and returns a JSON-able
            result.
        kwargs (dict): The keyword arguments.
        threads (int, optional): Torch threads in the child. Default: torch's default.
        what (str): What the child measures, for the error when it fails.
    """
    code = (
        'import importlib, json, sys, torch\n'
        f'if {threads or 0}: torch.set_num_threads({threads or 0})\n'
        f'fn = getattr(importlib.import_module({module!r}), {function!r})\n'
        f'print({_RESULT_TAG!r} + json.dumps(fn(**json.loads(sys.argv[1]))))\n'
    )
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(MMAP_THRESHOLD))
    proc = subprocess.run(
        [sys.executable, '-c', code, json.dumps(kwargs)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in proc.stdout.splitlines():
        if line.startswith(_RESULT_TAG):
            return json.loads(line[len(_RESULT_TAG) :])
    raise RuntimeError(f'{what} failed:\n{proc.stdout}\n{proc.stderr}')
