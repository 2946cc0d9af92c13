"""mmseg-dilated's command line: ``mmseg-dilated COMMAND ...`` (or ``python -m mmseg_dilated``).

Every command is also a module with a ``main(argv=None)``, so ``python -m mmseg_dilated.cli.train``
works too (``torchrun -m mmseg_dilated.cli.train CONFIG --launcher pytorch`` for data-parallel
training); the scripts under the repository's ``tools/`` call the same functions. A CONFIG argument
may name a shipped config by package scope, ``mmseg_dilated::context_toy.py``, as well as a file.
"""

import importlib
import sys

# command -> (module under mmseg_dilated.cli, one-line description)
COMMANDS = {
    'train': ('train', "train a segmentor (mmseg's tools/train.py after our checks)"),
    'test': ('test', "test and evaluate a checkpoint (mmseg's tools/test.py; --tta, --show-dir)"),
    'dry-run': (
        'dry_run',
        'will a config fit this machine, s/iter of step and data loader, projected wall-clock',
    ),
    'demo': ('demo', 'segment one image and write the colour overlay'),
    'check-dataset': (
        'check_dataset',
        "read every sample of a config's data; report what is broken",
    ),
    'export-onnx': ('export_onnx', 'export to ONNX (BN folded; --int8 quantized) and check it'),
    'configs': ('configs', 'list the shipped configs (usable as mmseg_dilated::NAME)'),
    'drn2mmseg': ('drn2mmseg', "convert the DRN authors' checkpoints to DRN weights"),
    'vgg2mmseg': ('vgg2mmseg', 'convert torchvision VGG-16 weights to DilatedVGG weights'),
    'receptive-field': ('receptive_field', 'theoretical and effective receptive field'),
    'class-weights': ('class_weights', 'class frequencies and class weights of a training set'),
    'plot-curves': ('plot_curves', 'training loss and validation mIoU curves of a work dir'),
    'browse-dataset': ('browse_dataset', "draw a dataset's samples with their labels painted on"),
    'benchmark': ('benchmark', 'CPU speed per inference path, training memory, cost against size'),
    'model-zoo': ('model_zoo', "write the model zoo page from the configs' metafile.yaml files"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [
        'usage: mmseg-dilated COMMAND [options]   (mmseg-dilated COMMAND -h for its options)',
        '',
        'commands:',
    ]
    lines += [f'  {name:<{width}}  {desc}' for name, (_, desc) in COMMANDS.items()]
    return '\n'.join(lines)


def main(argv=None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ('-h', '--help'):
        print(_usage())
        return
    command = argv.pop(0)
    if command not in COMMANDS:
        sys.exit(f'error: unknown command {command!r}; valid commands: {", ".join(COMMANDS)}')
    module = importlib.import_module(f'{__name__}.{COMMANDS[command][0]}')
    sys.argv = [f'mmseg-dilated {command}'] + argv
    module.main(argv)
