"""A hook that SIGKILLs one rank in the first attempt of an elastic run only, for the elastic
restart test (imported through custom_imports with tests/data on PYTHONPATH)."""
import os
import signal

from mmengine.hooks import Hook

from mmseg.registry import HOOKS


@HOOKS.register_module()
class KillRankInFirstAttempt(Hook):
    """Kill rank ``rank`` at the end of training iteration ``iteration`` (1-based), after every
    other hook of that iteration, when torchrun has not restarted the workers yet
    (TORCHELASTIC_RESTART_COUNT is 0)."""
    priority = 'LOWEST'

    def __init__(self, iteration, rank=1):
        self.iteration = iteration
        self.rank = rank

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if (runner.iter + 1 == self.iteration and runner.rank == self.rank
                and os.environ.get('TORCHELASTIC_RESTART_COUNT', '0') == '0'):
            os.kill(os.getpid(), signal.SIGKILL)
