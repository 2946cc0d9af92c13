"""Convert torchvision VGG-16 / VGG-16-BN weights to mmseg-dilated's ``DilatedVGG``.

fc6 (``classifier.0``, F x 25088) becomes a F x 512 x 7 x 7 conv, fc7 (``classifier.3``) a 1x1 conv;
the ImageNet classifier ``classifier.6`` is dropped. A vgg16_bn source targets
``DilatedVGG(norm_cfg=dict(type='BN'))`` (conv biases folded into the BN running means). The source
is first checked against the published size and SHA-256 of torchvision's files (or the prefix in
its name, torch hub's convention); ``--no-check-hash`` skips that.

Example::

    mmseg-dilated vgg2mmseg.py vgg16-397923af.pth pretrain/vgg16_dilated.pth
"""

import argparse
import os
import sys

from mmseg_dilated.cli.errors import exit_on_error
from mmseg_dilated.converters.hashes import describe_check
from mmseg_dilated.converters.vgg import convert_vgg_checkpoint


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert torchvision VGG-16 weights to DilatedVGG keys'
    )
    parser.add_argument('src', help='torchvision VGG-16 state dict')
    parser.add_argument('dst', help='output path')
    parser.add_argument(
        '--no-fc', action='store_true', help='leave fc6/fc7 out (for a reduced fc_channels)'
    )
    parser.add_argument(
        '--full-model', action='store_true', help='prefix the keys with backbone. (for load_from)'
    )
    parser.add_argument(
        '--no-check-hash',
        action='store_true',
        help="do not check the source against the SHA-256 prefix in its name (torch hub's "
        'NAME-<hash>.pth) or the published digest: for a file of your own named that way',
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not os.path.isfile(args.src):
        sys.exit(f'error: {args.src} does not exist.')
    with exit_on_error():  # converters' and the safe loader's errors name the file
        info = convert_vgg_checkpoint(
            args.src, args.dst, not args.no_fc, args.full_model, not args.no_check_hash
        )
    print(
        f'{args.src}: VGG-16{"-BN" if info["norm"] else ""}, fc_channels '
        f'{info["fc_channels"]} -> {args.dst}'
    )
    if info['hash'] is not None:
        print(f'{args.src}: {describe_check(info["hash"])}')


if __name__ == '__main__':
    main()
