"""One training per work dir.

Two runs writing one work dir overwrite each other's checkpoints, ``last_checkpoint`` and logs, and
a ``--resume`` then continues whichever wrote last. ``mmseg-dilated train`` takes
:class:`WorkDirLock` on the work dir before mmengine's Runner starts and holds it until the process
ends; a second training into the same dir is refused with the holder's pid and host.

The lock is a POSIX record lock (``fcntl.lockf``) on ``WORK_DIR/train.lock``. The kernel drops it
when the holding process ends, however it ends (SIGKILL and out-of-memory kills included), so a
dead run leaves no stale lock and an elastic restart is not refused by the attempt it replaces.
It is not ``flock``: data-loader workers are forked from the training process, and a forked
child shares its parent's ``flock`` (a killed run's workers would keep the dir locked for the
seconds they take to notice), while record locks belong to the process that took them alone.
Record locks also work across the machines of a network file system (NFS's lock manager).

The file holds who took the lock (pid, host, start, command line), for the refusal message; a run
that ends normally empties it. Where the file system has no locks at all, the record is checked
instead: a holder on this host is alive while its pid is; one on another host cannot be checked,
and the refusal says which file to delete once that run has ended.
"""

import atexit
import datetime
import errno
import fcntl
import json
import os
import os.path as osp
import socket
import sys
from typing import Optional

from ..utils.errors import UserError

__all__ = ['LOCK_FILE', 'WorkDirBusyError', 'WorkDirLock']

LOCK_FILE = 'train.lock'
_HELD = (errno.EACCES, errno.EAGAIN)


class WorkDirBusyError(UserError, RuntimeError):
    """Another training holds the work dir's lock."""

    def __init__(self, work_dir: str, holder: Optional[dict], unverified: bool = False):
        self.work_dir = work_dir
        self.holder = holder or {}
        path = osp.join(work_dir, LOCK_FILE)
        if holder:
            who = (
                f'pid {holder.get("pid", "?")} on host {holder.get("host", "?")}, started '
                f'{holder.get("started", "?")}: {holder.get("command", "?")}'
            )
        else:
            who = 'a process that has not yet written its pid to the lock file'
        if unverified:
            ending = (
                f'The file system of {work_dir} has no file locks, so whether that process still '
                f'runs cannot be checked from this host: delete {path} if it has ended.'
            )
        else:
            ending = f'The lock ({path}) goes away with the process that holds it.'
        super().__init__(
            f'{work_dir} is in use by another training ({who}). Two runs in one work dir '
            "overwrite each other's checkpoints and logs: wait for it to end or stop it, or "
            f'train into another work dir (--work-dir DIR). {ending}'
        )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _read_record(fd: int) -> Optional[dict]:
    try:
        return json.loads(os.pread(fd, 1 << 16, 0) or b'null')
    except (OSError, ValueError):
        return None


def _elastic_attempt():
    """(torchrun's run id, restart count) of this process; (None, 0) outside torchrun."""
    return os.environ.get('TORCHELASTIC_RUN_ID'), int(
        os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')
    )


class WorkDirLock:
    """The lock of one work dir, held from :meth:`acquire` until :meth:`release` or the end of the
    process.

    Args:
        work_dir (str): The work dir; created if missing.
    """

    def __init__(self, work_dir: str):
        self.work_dir = work_dir
        self.path = osp.join(work_dir, LOCK_FILE)
        self._fd: Optional[int] = None

    def holder(self) -> Optional[dict]:
        """The record of the process that holds the lock (or last held it and was killed), or
        None."""
        if self._fd is not None:
            return _read_record(self._fd)
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return None
        try:
            return _read_record(fd)
        finally:
            os.close(fd)

    def _is_predecessor(self, holder: Optional[dict]) -> bool:
        """The holder is an earlier attempt of this elastic run (torchrun stops every worker of an
        attempt before it starts the next, so the record can only outlive its process)."""
        run_id, restart = _elastic_attempt()
        return bool(
            holder
            and run_id is not None
            and holder.get('elastic_run') == run_id
            and holder.get('restart', 0) < restart
        )

    def acquire(self) -> 'WorkDirLock':
        """Take the lock. Raises :class:`WorkDirBusyError` if a live process holds it."""
        os.makedirs(self.work_dir, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            self._check_free(fd)
        except WorkDirBusyError:
            os.close(fd)
            raise
        run_id, restart = _elastic_attempt()
        record = dict(
            pid=os.getpid(),
            host=socket.gethostname(),
            started=datetime.datetime.now().isoformat(timespec='seconds'),
            command=' '.join(sys.argv),
            elastic_run=run_id,
            restart=restart,
        )
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(record) + '\n').encode(), 0)
        self._fd = fd
        atexit.register(self.release)
        return self

    def _check_free(self, fd: int) -> None:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as err:
            held = err.errno in _HELD
        # read through this descriptor: closing another one would drop a lock of this process
        holder = _read_record(fd)
        if self._is_predecessor(holder):
            # a predecessor on a machine that died outright keeps its lock on the file server
            # for the lease; its record says the work dir is ours to continue
            return
        if held:
            raise WorkDirBusyError(self.work_dir, holder)
        # no file locks here: judge by the record (empty once its run released it)
        if not holder or holder.get('pid') == os.getpid():
            return
        if holder.get('host') != socket.gethostname():
            raise WorkDirBusyError(self.work_dir, holder, unverified=True)
        if _pid_alive(int(holder.get('pid', -1))):
            raise WorkDirBusyError(self.work_dir, holder)

    def release(self) -> None:
        """Drop the lock and clear the record (the end of the process drops the lock too)."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing any descriptor of the file drops the process's locks
            self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
