"""Keys of a config that no part of the run reads, and values of the wrong type, before the Runner.

mmengine reads the keys it knows and ignores every other one: ``trian_cfg = dict(max_iters=100)``
in a config, or ``--cfg-options trian_cfg.max_iters=100``, trains the base config's schedule and
says nothing. A wrong type fails deep in the run, naming neither key nor type
(``train_cfg = dict(max_iters='100')`` ends a long traceback with "`max_iters` should be a integer
number, but get 100"). :func:`check_config` refuses both up front, every problem in one message.

**Top-level keys.** A key is read when one of these reads it: mmengine's ``Runner`` (the
arguments of ``Runner.__init__``, plus ``model_wrapper_cfg``, ``sync_bn`` and ``compile``, which it
reads from the config itself), mmengine's ``Config`` (``custom_imports``), mmseg's tools and APIs
(``tta_model``, ``tta_pipeline`` for ``--tta``; ``test_pipeline`` for ``inference_model`` and
``export-onnx``); or when it is a variable that a config file
of the chain (the file and its ``_base_`` files, recursively) uses in another key, as
``crop_size`` and ``train_pipeline`` are: such a variable is read when the config is read. A
variable of your own that nothing uses can start with ``_``; those are skipped. ``--cfg-options``
cannot set such a variable usefully (its value was substituted when the file was read), so the
check says which keys to set instead.

**Sections.** Where mmengine builds a section from a class whose constructor takes a fixed set of
arguments, the keys and their types are checked against that constructor's signature and type
annotations (the class itself, looked up in mmseg's registries as the Runner does): the loops
(``train_cfg``, ``val_cfg``, ``test_cfg``), ``optim_wrapper`` and its ``optimizer`` and
``paramwise_cfg``, ``param_scheduler``, ``default_hooks`` and ``custom_hooks``, the dataloaders
and their samplers, ``log_processor``, ``randomness``, ``env_cfg``, ``auto_scale_lr`` and the
Runner's own scalar arguments. Models, datasets and transforms take ``**kwargs`` through their
base classes and are not checked here (``mmseg-dilated check-dataset`` reads the data).
"""

import ast
import difflib
import inspect
import os.path as osp
import re
import types
import typing
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from ..utils.errors import UserError

__all__ = ['ConfigCheckError', 'known_top_level_keys', 'config_problems', 'check_config']


class ConfigCheckError(UserError, ValueError):
    """Keys no part of the run reads, or values of the wrong type (all of them, one per line)."""


# Read from the config outside Runner.__init__'s arguments, and by whom.
_EXTRA_KEYS = {
    'model_wrapper_cfg': "mmengine's Runner.wrap_model",
    'sync_bn': "mmengine's Runner (SyncBN conversion)",
    'find_unused_parameters': "mmengine's Runner.wrap_model (DDP without model_wrapper_cfg)",
    'compile': "mmengine's Runner.train (torch.compile)",
    'custom_imports': "mmengine's Config",
    'tta_model': "mmseg's tools/test.py --tta",
    'tta_pipeline': "mmseg's tools/test.py --tta",
    'test_pipeline': 'mmseg.apis.inference_model; mmseg-dilated export-onnx',
}
# Sections whose keys mmengine reads itself, not through a class signature.
_FIXED_SECTIONS = {
    'env_cfg': {'cudnn_benchmark': bool, 'mp_cfg': dict, 'dist_cfg': dict, 'resource_limit': int},
    'auto_scale_lr': {'enable': bool, 'base_batch_size': int},
}
# mmengine DefaultOptimWrapperConstructor's paramwise_cfg (default_constructor.py).
_PARAMWISE_KEYS = {
    'custom_keys': dict,
    'bias_lr_mult': float,
    'bias_decay_mult': float,
    'norm_decay_mult': float,
    'dwconv_decay_mult': float,
    'flat_decay_mult': float,
    'dcn_offset_lr_mult': float,
    'bypass_duplicate': bool,
}
# Dataloader keys Runner.build_dataloader consumes itself before torch's DataLoader sees the rest.
_DATALOADER_OWN_KEYS = (
    'dataset',
    'sampler',
    'batch_sampler',
    'collate_fn',
    'worker_init_fn',
    'num_batch_per_epoch',
    'disable_subprocess_warning',
)
_NONE = type(None)


def _runner_params() -> Dict[str, inspect.Parameter]:
    from mmengine.runner import Runner

    params = dict(inspect.signature(Runner.__init__).parameters)
    params.pop('self')
    params.pop('cfg', None)
    return params


def known_top_level_keys() -> Dict[str, str]:
    """Top-level keys that mmengine, mmseg or this package reads, each with who reads it."""
    keys = {name: "mmengine's Runner" for name in _runner_params()}
    keys.update(_EXTRA_KEYS)
    return keys


# -- the config files' own variables -------------------------------------------------------------


def _scoped_path(base: str, filename: str) -> str:
    """``pkg::REL`` as mmengine resolves it for a base config, without reading every metafile
    of the package first as ``Config._get_cfg_path`` does (a second per scoped base)."""
    import importlib.util

    from mmengine.config import Config

    scope, _, rel = base.partition('::')
    spec = importlib.util.find_spec(scope)
    if spec is not None and spec.origin:
        path = osp.join(osp.dirname(spec.origin), '.mim', 'configs', rel)
        if osp.isfile(path):
            return path
    return Config._get_cfg_path(base, filename)[0]


def _chain_files(filename: str) -> List[str]:
    """The config file and its ``_base_`` files, recursively (``pkg::`` scopes resolved)."""
    from mmengine.config import Config

    seen, todo = [], [filename]
    while todo:
        path = todo.pop(0)
        if path in seen or not osp.isfile(path) or not path.endswith('.py'):
            continue
        seen.append(path)
        for base in Config._get_base_files(path):
            if '::' in base:
                base = _scoped_path(base, path)
            elif not osp.isabs(base):
                base = osp.join(osp.dirname(path), base)
            todo.append(osp.normpath(base))
    return seen


def _used_names(filenames: Sequence[str]) -> set:
    """Names that the files load (use in an expression) anywhere."""
    used = set()
    for path in filenames:
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read(), path)
        used.update(
            node.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
        )
    return used


# -- values against annotations ------------------------------------------------------------------

_BUILTIN_NAMES = {int: 'int', float: 'float', bool: 'bool', str: 'str', dict: 'dict', list: 'list'}


def _alternatives(annotation) -> Optional[list]:
    """The annotation as a list of accepted types, or None where it cannot be judged."""
    if annotation is inspect.Parameter.empty or isinstance(annotation, str):
        return None
    origin = typing.get_origin(annotation)
    if origin is typing.Union or (hasattr(types, 'UnionType') and origin is types.UnionType):
        out = []
        for arg in typing.get_args(annotation):
            alt = _alternatives(arg)
            if alt is None:
                return None
            out += alt
        return out
    if annotation is None or annotation is _NONE:
        return [_NONE]
    if origin is not None:
        annotation = origin
    if annotation in (list, tuple) or annotation in (typing.Sequence, typing.List):
        return [list]
    if annotation in (dict, typing.Dict, typing.Mapping) or (
        inspect.isclass(annotation) and issubclass(annotation, dict)
    ):
        return [dict]
    try:
        import collections.abc as cabc

        if annotation in (cabc.Sequence, cabc.MutableSequence):
            return [list]
        if annotation in (cabc.Mapping, cabc.MutableMapping):
            return [dict]
    except TypeError:
        return None
    if annotation in (int, float, bool, str):
        return [annotation]
    if inspect.isclass(annotation):
        return [annotation]
    return None


def _accepts(value, kind) -> bool:
    if kind is _NONE:
        return value is None
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is str:
        return isinstance(value, str)
    if kind is list:
        return isinstance(value, (list, tuple))
    if kind is dict:
        return isinstance(value, dict)
    # Another class: the config gives it as a dict to build, or as the object itself.
    return isinstance(value, (dict, kind))


def _kind_name(kind) -> str:
    if kind is _NONE:
        return 'None'
    return _BUILTIN_NAMES.get(kind, getattr(kind, '__name__', str(kind)))


def _type_problem(key: str, value, annotation, owner: str) -> Optional[str]:
    kinds = _alternatives(annotation)
    if not kinds or any(_accepts(value, kind) for kind in kinds):
        return None
    expected = ' or '.join(dict.fromkeys(_kind_name(k) for k in kinds))
    return f'{key} must be {expected} ({owner}), got {value!r} of type {type(value).__name__}'


# -- sections against constructors ---------------------------------------------------------------


def _annotations(function) -> dict:
    """The parameters' annotations as objects; string annotations (``from __future__ import
    annotations``) evaluated one by one where ``typing.get_type_hints`` cannot do them all."""
    try:
        return typing.get_type_hints(function)
    except Exception:
        pass
    hints = {}
    namespace = getattr(function, '__globals__', {})
    for name, annotation in getattr(function, '__annotations__', {}).items():
        if isinstance(annotation, str):
            try:
                annotation = eval(annotation, dict(namespace))
            except Exception:
                continue
        hints[name] = annotation
    return hints


def _signature(cls) -> Tuple[Dict[str, inspect.Parameter], bool]:
    """(parameters of ``cls(...)``, whether it refuses other keywords), following ``**kwargs``
    into the base classes' ``__init__`` as ``super().__init__(**kwargs)`` passes them."""
    params = {}
    for klass in getattr(cls, '__mro__', (cls,)):
        if klass is object:
            break
        init = vars(klass).get('__init__') if inspect.isclass(klass) else klass
        if init is None:
            continue
        try:
            sig = inspect.signature(init)
        except (TypeError, ValueError):
            return params, False
        hints = _annotations(init)
        open_kwargs = False
        for name, param in sig.parameters.items():
            if name == 'self':
                continue
            if param.kind is inspect.Parameter.VAR_KEYWORD:
                open_kwargs = True
            elif param.kind is not inspect.Parameter.VAR_POSITIONAL and name not in params:
                params[name] = param.replace(annotation=hints.get(name, param.annotation))
        if not open_kwargs:
            return params, True
    return params, False


def _suggest(name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ''


def _check_section(
    where: str, section, cls, owner: str, provided=(), extra: Optional[dict] = None
) -> Iterator[str]:
    """Keys of a dict built as ``cls(**section, **provided)`` against ``cls``'s signature."""
    params, closed = _signature(cls)
    extra = extra or {}
    allowed = set(params) | set(extra) | {'type', '_scope_'}
    for key, value in section.items():
        if key in ('type', '_scope_') or key in provided:
            continue
        if key in params:
            problem = _type_problem(
                f'{where}.{key}', value, params[key].annotation, f"{owner}'s {key}"
            )
            if problem:
                yield problem
        elif key in extra:
            kind = extra[key]
            if kind is not None and not any(_accepts(value, k) for k in (kind, _NONE)):
                yield (
                    f'{where}.{key} must be {_kind_name(kind)} ({owner}), got {value!r} of type '
                    f'{type(value).__name__}'
                )
        elif closed:
            names = sorted(allowed - {'type', '_scope_'} - set(provided))
            yield (
                f"{where}.{key}: {owner} takes no argument '{key}'"
                f'{_suggest(key, names) or "."} Its arguments: {", ".join(names)}'
            )


def _registered(registry, section, default: Optional[str], where: str):
    """(class, None) for a section's ``type`` (or ``default``), or (None, problem)."""
    kind = section.get('type', default) if isinstance(section, dict) else None
    if kind is None:
        return None, None
    if not isinstance(kind, str):
        return (kind if inspect.isclass(kind) else None), None
    cls = registry.get(kind)
    if cls is None:
        names = list(registry.module_dict)
        parent = registry.parent
        while parent is not None:
            names += list(parent.module_dict)
            parent = parent.parent
        return None, (
            f"{where}.type: '{kind}' is not registered in mmseg's {registry.name} registry"
            f'{_suggest(kind, names) or "."}'
        )
    return cls, None


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _section_problems(cfg) -> Iterator[str]:
    from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop, TestLoop, ValLoop
    from mmseg.registry import (
        DATA_SAMPLERS,
        HOOKS,
        LOG_PROCESSORS,
        LOOPS,
        OPTIM_WRAPPERS,
        OPTIMIZERS,
        PARAM_SCHEDULERS,
    )
    from torch.utils.data import DataLoader

    def built(where, section, registry, default=None, provided=(), extra=None):
        if not isinstance(section, dict):
            return
        cls, problem = _registered(registry, section, default, where)
        if problem:
            yield problem
        elif cls is not None:
            yield from _check_section(where, section, cls, cls.__name__, provided, extra)

    train_cfg = cfg.get('train_cfg')
    if isinstance(train_cfg, dict):
        if 'type' in train_cfg:
            yield from built('train_cfg', train_cfg, LOOPS, provided=('runner', 'dataloader'))
        elif isinstance(train_cfg.get('by_epoch'), bool):
            loop = EpochBasedTrainLoop if train_cfg['by_epoch'] else IterBasedTrainLoop
            yield from _check_section(
                'train_cfg', train_cfg, loop, loop.__name__, ('runner', 'dataloader', 'by_epoch')
            )
    for name, default in (('val_cfg', ValLoop), ('test_cfg', TestLoop)):
        section = cfg.get(name)
        if isinstance(section, dict):
            provided = ('runner', 'dataloader', 'evaluator')
            if 'type' in section:
                yield from built(name, section, LOOPS, provided=provided)
            else:
                yield from _check_section(name, section, default, default.__name__, provided)

    optim = cfg.get('optim_wrapper')
    if isinstance(optim, dict) and 'optimizer' in optim:
        yield from built(
            'optim_wrapper',
            optim,
            OPTIM_WRAPPERS,
            'OptimWrapper',
            extra={'constructor': str, 'paramwise_cfg': dict},
        )
        yield from built(
            'optim_wrapper.optimizer', optim['optimizer'], OPTIMIZERS, None, ('params',)
        )
        paramwise = optim.get('paramwise_cfg')
        if isinstance(paramwise, dict) and optim.get('constructor') in (
            None,
            'DefaultOptimWrapperConstructor',
        ):
            for key, value in paramwise.items():
                if key not in _PARAMWISE_KEYS:
                    yield (
                        f'optim_wrapper.paramwise_cfg.{key}: DefaultOptimWrapperConstructor reads '
                        f"no '{key}'{_suggest(key, _PARAMWISE_KEYS) or '.'} It reads: "
                        f'{", ".join(_PARAMWISE_KEYS)}'
                    )
                elif not _accepts(value, _PARAMWISE_KEYS[key]):
                    yield (
                        f'optim_wrapper.paramwise_cfg.{key} must be '
                        f'{_kind_name(_PARAMWISE_KEYS[key])} (DefaultOptimWrapperConstructor), '
                        f'got {value!r} of type {type(value).__name__}'
                    )

    schedulers = cfg.get('param_scheduler')
    single = isinstance(schedulers, dict)
    for i, scheduler in enumerate(_as_list(schedulers)):
        yield from built(
            'param_scheduler' if single else f'param_scheduler[{i}]',
            scheduler,
            PARAM_SCHEDULERS,
            provided=('optimizer', 'epoch_length'),
            extra={'convert_to_iter_based': bool},
        )

    hooks = cfg.get('default_hooks')
    if isinstance(hooks, dict):
        for name, hook in hooks.items():
            yield from built(f'default_hooks.{name}', hook, HOOKS)
    for i, hook in enumerate(_as_list(cfg.get('custom_hooks'))):
        yield from built(f'custom_hooks[{i}]', hook, HOOKS)

    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if isinstance(loader, dict):
            yield from _check_section(
                name,
                loader,
                DataLoader,
                'DataLoader',
                extra={key: None for key in _DATALOADER_OWN_KEYS},
            )
            yield from built(
                f'{name}.sampler', loader.get('sampler'), DATA_SAMPLERS, None, ('dataset', 'seed')
            )

    yield from built('log_processor', cfg.get('log_processor'), LOG_PROCESSORS, 'LogProcessor')

    from mmengine.runner import Runner

    randomness = cfg.get('randomness')
    if isinstance(randomness, dict):
        yield from _check_section(
            'randomness', randomness, Runner.set_randomness, 'Runner.set_randomness'
        )
    for name, keys in _FIXED_SECTIONS.items():
        section = cfg.get(name)
        if not isinstance(section, dict):
            continue
        for key, value in section.items():
            if key not in keys:
                yield (
                    f"{name}.{key}: mmengine's Runner reads no '{key}' in {name}"
                    f'{_suggest(key, keys) or "."} It reads: {", ".join(keys)}'
                )
            elif not _accepts(value, keys[key]):
                yield (
                    f"{name}.{key} must be {_kind_name(keys[key])} (mmengine's Runner), got "
                    f'{value!r} of type {type(value).__name__}'
                )
    params = _runner_params()
    for key in (
        'work_dir',
        'load_from',
        'resume',
        'launcher',
        'log_level',
        'default_scope',
        'experiment_name',
    ):
        if key in cfg:
            problem = _type_problem(key, cfg[key], params[key].annotation, "mmengine's Runner")
            if problem:
                yield problem


# -- the whole check ---------------------------------------------------------------------------


def _parse_options(options: Sequence[str]) -> Dict[str, object]:
    import argparse

    from mmengine.config import DictAction

    if not options:
        return {}
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction)
    return dict(parser.parse_args(['--o', *options]).o)


def _paths_with_leaf(node, leaf: str, where: str = '') -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            path = f'{where}.{key}' if where else str(key)
            if key == leaf:
                yield path
            yield from _paths_with_leaf(value, leaf, path)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _paths_with_leaf(value, leaf, f'{where}.{i}')


def config_problems(cfg, options: Sequence[str] = ()) -> List[str]:
    """Every problem :func:`check_config` would raise, one string each (empty: none).

    Args:
        cfg (mmengine.Config): The config with ``options`` merged in (as ``load_config`` gives).
        options (Sequence[str]): The ``--cfg-options`` as given (``key=value`` strings).
    """
    from ..datasets.builder import init_registries

    known = known_top_level_keys()
    chain = _chain_files(cfg.filename) if cfg.filename else []
    used = _used_names(chain)
    source = cfg.filename or 'the config'
    option_values = _parse_options(options)
    option_tops = {key.split('.', 1)[0]: key for key in option_values}
    problems = []
    for key in cfg.keys():
        if key in known or key.startswith('_'):
            continue
        text = option_tops.get(key)
        if text is not None and key in used:
            # keys of the run (not other variables) that hold a key of that name
            users = [
                p
                for p in _paths_with_leaf(cfg._cfg_dict.to_dict(), key)
                if p != key and p.split('.', 1)[0] in known
            ]
            problems.append(
                f'--cfg-options {text}={option_values[text]!r}: {key} is a variable of the config '
                'files, substituted into the keys that use it when the config was read, so '
                'setting it now changes nothing; set the keys that use it instead'
                + (f': {", ".join(users[:6])}' if users else '')
            )
        elif key not in used:
            where = f'--cfg-options {text}={option_values[text]!r}' if text else source
            problems.append(
                f"{where}: top-level key {key!r} is read by no part of the run (mmengine's "
                "Runner, mmseg's tools, mmseg-dilated, the config files)"
                + (_suggest(key, known) or "; a variable of your own can start with '_'")
            )
    init_registries(cfg)
    for problem in _section_problems(cfg):
        key = re.split(r'[ :]', problem, 1)[0]
        if re.sub(r'\[(\d+)\]', r'.\1', key) in option_values:
            problem += ' (set by --cfg-options)'
        problems.append(problem)
    return problems


def check_config(cfg, options: Sequence[str] = ()) -> None:
    """Raise :class:`ConfigCheckError` listing every problem :func:`config_problems` finds."""
    problems = config_problems(cfg, options)
    if problems:
        raise ConfigCheckError(
            f'the config has {len(problems)} problem{"s" if len(problems) > 1 else ""}, found '
            'before the run started:\n' + '\n'.join(f'  {p}' for p in problems)
        )
