"""One training per work dir (WorkDirLock, taken by tools/train.py): a second run into a work dir
whose run is alive is refused with the holder's pid and host; a run that dies, however it dies,
leaves no stale lock (not even while the data-loader workers it forked live on); an elastic
restart is not refused by the attempt it replaces."""

import errno
import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

from mmseg_dilated.engine import WorkDirBusyError, WorkDirLock
from mmseg_dilated.engine import work_dir_lock as work_dir_lock_module

from _helpers import REPO, TINY_CONFIG, run_tool

HOLDER = textwrap.dedent(
    """
    import os, sys, time
    from mmseg_dilated.engine.work_dir_lock import WorkDirLock
    WorkDirLock(sys.argv[1]).acquire()
    child = os.fork() if sys.argv[2] == 'fork' else None
    if child == 0:  # a forked data-loader worker, outliving its parent for a while
        time.sleep(120)
        os._exit(0)
    print('locked', child, flush=True)
    if sys.argv[2] != 'exit':
        time.sleep(120)
    """
)


@pytest.fixture
def holder(tmp_path):
    """Start a process that takes the lock of ``tmp_path / 'work'``; returns (process, child pid
    or None). Kills what it started."""
    started = []

    def start(mode='hold', env=None):
        proc = subprocess.Popen(
            [sys.executable, '-c', HOLDER, str(tmp_path / 'work'), mode],
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ, **(env or {})),
        )
        # the first line of ours (a host may print its own first: the onedl fork's mmseg does)
        line = next((line for line in proc.stdout if line.startswith('locked ')), '')
        word, child = line.split() or ('nothing', None)
        assert word == 'locked', 'the lock holder printed no "locked" line'
        child = None if child == 'None' else int(child)
        started.append((proc, child))
        return proc, child

    yield start
    for proc, child in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if child:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_live_holder_is_named(tmp_path, holder):
    proc, _ = holder()
    with pytest.raises(WorkDirBusyError) as err:
        WorkDirLock(str(tmp_path / 'work')).acquire()
    message = str(err.value)
    assert (
        f'is in use by another training (pid {proc.pid} on host {socket.gethostname()}' in message
    )
    assert '--work-dir DIR' in message
    assert err.value.holder['pid'] == proc.pid


def test_killed_holder_leaves_no_stale_lock(tmp_path, holder):
    proc, _ = holder()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    lock = WorkDirLock(str(tmp_path / 'work')).acquire()
    assert lock.holder()['pid'] == os.getpid()
    lock.release()


def test_forked_children_of_a_killed_holder_do_not_keep_the_lock(tmp_path, holder):
    proc, child = holder('fork')
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    os.kill(child, 0)  # the child still runs
    WorkDirLock(str(tmp_path / 'work')).acquire().release()


def test_a_run_that_ends_clears_its_record(tmp_path, holder):
    proc, _ = holder('exit')
    assert proc.wait() == 0
    assert (tmp_path / 'work' / 'train.lock').read_text() == ''
    assert WorkDirLock(str(tmp_path / 'work')).holder() is None


@pytest.mark.slow
def test_elastic_restart_is_not_refused_by_its_predecessor(tmp_path, holder, monkeypatch):
    # the predecessor's record outlives it while its machine's lock waits out the file server's
    # lease: simulated by a live holder of the same torchrun run at restart 0
    predecessor, _ = holder(env=dict(TORCHELASTIC_RUN_ID='job', TORCHELASTIC_RESTART_COUNT='0'))
    monkeypatch.setenv('TORCHELASTIC_RUN_ID', 'job')
    monkeypatch.setenv('TORCHELASTIC_RESTART_COUNT', '1')
    lock = WorkDirLock(str(tmp_path / 'work')).acquire()
    assert lock.holder()['restart'] == 1
    lock.release()
    predecessor.kill()
    predecessor.wait()
    # another run with the same id is not its successor
    monkeypatch.setenv('TORCHELASTIC_RESTART_COUNT', '0')
    holder(env=dict(TORCHELASTIC_RUN_ID='job', TORCHELASTIC_RESTART_COUNT='0'))
    with pytest.raises(WorkDirBusyError):
        WorkDirLock(str(tmp_path / 'work')).acquire()


def _no_file_locks(monkeypatch):
    def lockf(fd, operation):
        raise OSError(errno.ENOLCK, 'No locks available')

    monkeypatch.setattr(work_dir_lock_module.fcntl, 'lockf', lockf)


def _write_record(tmp_path, **record):
    import json

    (tmp_path / 'work').mkdir(exist_ok=True)
    (tmp_path / 'work' / 'train.lock').write_text(json.dumps(record))


def test_without_file_locks_the_record_decides(tmp_path, monkeypatch):
    _no_file_locks(monkeypatch)
    host = socket.gethostname()
    sleeper = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    try:
        _write_record(tmp_path, pid=sleeper.pid, host=host, started='t', command='c')
        with pytest.raises(WorkDirBusyError, match=f'pid {sleeper.pid} on host {host}'):
            WorkDirLock(str(tmp_path / 'work')).acquire()
    finally:
        sleeper.kill()
        sleeper.wait()
    # the same pid, now dead: the record is stale and the lock is taken
    WorkDirLock(str(tmp_path / 'work')).acquire().release()
    # another host's record cannot be checked: refused, naming the file to delete
    _write_record(tmp_path, pid=1, host='other-host', started='t', command='c')
    with pytest.raises(WorkDirBusyError, match='delete .*train.lock if it has ended'):
        WorkDirLock(str(tmp_path / 'work')).acquire()


@pytest.mark.slow
def test_train_refuses_a_busy_work_dir(tmp_path, holder):
    proc, _ = holder()
    work = tmp_path / 'work'
    out = run_tool(
        [sys.executable, os.path.join(REPO, 'tools', 'train.py'), TINY_CONFIG, '--work-dir', work],
        tmp_path,
        env=dict(OMP_NUM_THREADS='1'),
    )
    assert out.returncode == 1 and 'Traceback' not in out.stdout, out.stdout[-3000:]
    assert (
        f'error: {work} is in use by another training (pid {proc.pid} on host '
        f'{socket.gethostname()}'
    ) in out.stdout
    assert not list(work.glob('*.pth'))
