"""Loading mmengine checkpoints on torch's weights-only unpickler.

torch >= 2.6 loads with ``weights_only=True``; mmengine 0.10.7 calls ``torch.load`` without the
argument, and the checkpoints its Runner saves hold a few non-tensor objects (the message hub's
:class:`~mmengine.logging.HistoryBuffer` with its numpy arrays, numpy scalars in the runtime info).
Those are refused by the weights-only unpickler, so ``--resume``, ``load_from``, ``tools/test.py``
and ``init_cfg=dict(type='Pretrained')`` all fail.

The fix here keeps the safe unpickler and allow-lists exactly the types mmengine writes, only for
the duration of each load (``torch.serialization.safe_globals``); ``import mmseg_dilated`` makes
mmengine's local-file and HTTP checkpoint loaders use it (:mod:`mmseg_dilated.host_patches`).
Anything else pickled in a checkpoint (a planted ``os.system`` call, a custom class) is refused
with :class:`UnsafeCheckpointError` before any of it runs. There is
deliberately no switch that turns the check off.
"""

import os
import os.path as osp
import pickle
from collections import OrderedDict
from typing import Callable, Dict, List

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from .errors import UserError

__all__ = [
    'UnsafeCheckpointError',
    'CorruptCheckpointError',
    'NotAStateDictError',
    'safe_load',
    'load_state_dict_file',
    'mmengine_safe_globals',
    'atomic_write',
    'find_resumable_checkpoint',
]


class UnsafeCheckpointError(UserError, pickle.UnpicklingError):
    """A checkpoint holds a pickled object outside the allow-list."""


class NotAStateDictError(UserError, ValueError):
    """A checkpoint file holds something else than a state dict (or a dict wrapping one)."""


def _numpy_globals() -> List[Callable]:
    """The numpy objects that pickled arrays, dtypes and scalars refer to.

    numpy 2 moved ``numpy.core`` to ``numpy._core``; pickles name whichever module wrote them, so
    both spellings are allowed where they exist.
    """
    allowed: List = [np.ndarray, np.dtype]
    for mod_name in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        try:
            mod = __import__(mod_name, fromlist=['_reconstruct', 'scalar'])
        except ImportError:
            continue
        allowed.append((mod._reconstruct, f'{mod_name}._reconstruct'))
        allowed.append((mod.scalar, f'{mod_name}.scalar'))
    # numpy >= 1.25 pickles dtypes by their class (numpy.dtypes.Float64DType, ...).
    dtypes_mod = getattr(np, 'dtypes', None)
    if dtypes_mod is not None:
        for name in dir(dtypes_mod):
            obj = getattr(dtypes_mod, name)
            if isinstance(obj, type) and issubclass(obj, np.dtype):
                allowed.append(obj)
    return allowed


_HISTORY_BUFFER_STATISTICS = frozenset(('min', 'max', 'current', 'mean'))


def _history_buffer_getattr(owner, name):
    """Stands in for ``getattr`` while unpickling; resolves only HistoryBuffer's statistics methods.

    ``HistoryBuffer.__getstate__`` pickles its ``statistics_methods`` dict, whose values (plain
    functions such as ``HistoryBuffer.min``) pickle as ``getattr(HistoryBuffer, 'min')``. Allowing
    the real ``builtins.getattr`` would let a crafted file walk from any allowed object to
    ``os.system``, so the pickle's ``getattr`` is bound to this function instead.
    """
    allowed = _HISTORY_BUFFER_STATISTICS | set(HistoryBuffer._statistics_methods)
    if owner is HistoryBuffer and isinstance(name, str) and name in allowed:
        method = getattr(HistoryBuffer, name, None)
        if callable(method):
            return method
    raise pickle.UnpicklingError(
        f'getattr({owner!r}, {name!r}) is not allowed: only the statistics methods of '
        'mmengine.logging.HistoryBuffer may be looked up while loading a checkpoint'
    )


def mmengine_safe_globals() -> List:
    """Exactly the non-tensor objects that mmengine 0.10.7's Runner writes into a checkpoint.

    The message hub's :class:`HistoryBuffer` (with a restricted ``getattr`` for its statistics
    methods) and numpy arrays, dtypes and scalars.
    """
    return [
        HistoryBuffer,
        (_history_buffer_getattr, 'builtins.getattr'),
        (_history_buffer_getattr, '__builtin__.getattr'),
    ] + _numpy_globals()


_SAFE_GLOBALS = mmengine_safe_globals()


def safe_load(file, map_location=None):
    """``torch.load`` with ``weights_only=True`` and mmengine's checkpoint types allow-listed.

    Args:
        file (str | os.PathLike | file-like): The checkpoint.
        map_location (str | torch.device | callable, optional): As in :func:`torch.load`.

    Raises:
        UnsafeCheckpointError: The file pickles an object that is not a tensor, a plain container or
            one of :func:`mmengine_safe_globals`. Nothing from the file has been executed.
    """
    name = file if isinstance(file, (str, os.PathLike)) else getattr(file, 'name', '<stream>')
    if isinstance(file, (str, os.PathLike)):
        with open(file, 'rb') as f:
            head = f.read(4)
        # torch.save writes a zip archive (torch >= 1.6) or a pickle (protocol 2+: b'\x80')
        if not (head.startswith(b'PK\x03\x04') or head.startswith(b'\x80')):
            raise _corrupt(
                name,
                ValueError('neither a zip archive nor a pickle' if head else 'the file is empty'),
            )
    with torch.serialization.safe_globals(_SAFE_GLOBALS):
        try:
            return torch.load(file, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as err:
            if 'Weights only load failed' not in str(err):
                raise _corrupt(name, err) from None
            raise UnsafeCheckpointError(
                f'Refused to load checkpoint {name}: it pickles an object that is not a tensor, a '
                'plain container or one of the types mmengine saves, so loading it could run '
                'arbitrary code. Only load checkpoints from sources you trust. If this file is a '
                'trusted checkpoint written by other code, re-save just its weights '
                "(torch.save({'state_dict': model.state_dict()}, path)) in the environment that "
                f'made it. Unpickler said: {err}'
            ) from None
        except (RuntimeError, EOFError, ValueError) as err:
            raise _corrupt(name, err) from None


def load_state_dict_file(path) -> Dict[str, torch.Tensor]:
    """Load a state dict with the weights-only unpickler (:func:`safe_load`) and unwrap it, for the
    converters of published weights.

    Unwraps a ``state_dict`` or ``model`` entry and strips DataParallel's ``module.`` prefix.

    Raises:
        NotAStateDictError: The file holds something else than a dict.
    """
    obj = safe_load(path, map_location='cpu')
    if not isinstance(obj, dict):
        raise NotAStateDictError(f'{path}: expected a state dict, found a {type(obj).__name__}')
    for field in ('state_dict', 'model'):
        if isinstance(obj.get(field), dict):
            obj = obj[field]
            break
    out = OrderedDict()
    for k, v in obj.items():
        out[k[len('module.') :] if k.startswith('module.') else k] = v
    return out


class CorruptCheckpointError(UserError, RuntimeError):
    """A checkpoint file is not a torch checkpoint, or it is truncated or corrupt."""


def _corrupt(name, err) -> CorruptCheckpointError:
    return CorruptCheckpointError(
        f'Checkpoint {name} could not be read: it is not a torch checkpoint, or it is truncated or '
        f'corrupt. Download or save it again. ({type(err).__name__}: {err})'
    )


def atomic_write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that the file appears only when complete.

    The bytes go to a temporary file in the same folder, which is flushed and fsynced and then
    renamed over ``path`` (``os.replace``, atomic on POSIX); the folder is fsynced so the rename
    itself survives a power cut. A process killed part-way leaves ``path`` as it was (plus a hidden
    ``.NAME.*.tmp`` file), never a truncated ``path``.
    """
    import tempfile

    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{osp.basename(path)}.', suffix='.tmp')
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # what open() would have given the file
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _checkpoint_step(name: str) -> int:
    digits = ''.join(c for c in osp.splitext(name)[0] if c.isdigit())
    return int(digits) if digits else -1


def find_resumable_checkpoint(work_dir: str):
    """The newest readable checkpoint of a work dir, and what was wrong with newer ones.

    Candidates, in order: the file ``work_dir/last_checkpoint`` names (where mmengine's ``--resume``
    looks), then every ``*.pth`` in ``work_dir`` by the step in its name (``iter_20.pth`` ...),
    newest first. Each is read in full on the safe loader.

    Returns:
        tuple[str | None, list[tuple[str, str]]]: The checkpoint to resume from (None when no
        candidate is readable or there is none), and ``(path, problem)`` for every candidate
        tried and refused, newest first.
    """
    candidates, problems = [], []
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip()
        if not named:
            problems.append((pointer, 'empty (the run was killed while writing it)'))
        elif not osp.isfile(named):
            problems.append((pointer, f'names {named}, which does not exist'))
        else:
            candidates.append(osp.abspath(named))
    if osp.isdir(work_dir):
        found = [
            osp.abspath(osp.join(work_dir, n))
            for n in os.listdir(work_dir)
            if n.endswith('.pth') and not n.startswith('.')
        ]
        for path in sorted(found, key=lambda p: _checkpoint_step(osp.basename(p)), reverse=True):
            if path not in candidates:
                candidates.append(path)
    for path in candidates:
        try:
            safe_load(path, map_location='cpu')
        except Exception as err:  # noqa: BLE001  (any failure makes the file unusable)
            problems.append((path, str(err).split(' Download or save it again.')[0]))
            continue
        return path, problems
    return None, problems
