"""Convert the DRN authors' checkpoints to mmseg-dilated's ``DRN`` backbone.

Accepts their ImageNet checkpoints (``drn_d_22-4bd2f8ea.pth`` ...; torchvision ResNet weights for
DRN-A) and their Cityscapes ``DRNSeg`` checkpoints. The variant is read from the keys; ``--arch`` /
``--depth`` make it a check. The output loads with ``backbone=dict(type='DRN', arch=..., depth=...,
init_cfg=dict(type='Pretrained', checkpoint=DST))``. With ``--full-model`` the keys are
``backbone.*`` plus, for DRNSeg, ``decode_head.conv_seg.*`` (the classifier of an
``FCNHead(num_convs=0, concat_input=False)``), for ``load_from``. The source is first checked
against the SHA-256 prefix in its name (``drn_d_22-4bd2f8ea.pth``: torch hub's convention) and the
table of published files (``mmseg_dilated/converters/hashes.py``); ``--no-check-hash`` skips that.

Example::

    mmseg-dilated drn2mmseg.py drn_d_22-4bd2f8ea.pth \
        pretrain/drn_d_22_mmseg.pth --arch D --depth 22
"""

import argparse
import os
import sys

from mmseg_dilated.cli.errors import exit_on_error
from mmseg_dilated.converters.drn import convert_drn_checkpoint
from mmseg_dilated.converters.hashes import describe_check


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert DRN (ImageNet or DRNSeg) checkpoints to mmseg-dilated keys'
    )
    parser.add_argument('src', help="source checkpoint (authors' layout)")
    parser.add_argument('dst', help='output path')
    parser.add_argument('--arch', choices=['A', 'C', 'D'], help='expected arch (checked)')
    parser.add_argument('--depth', type=int, help='expected depth (checked)')
    parser.add_argument(
        '--full-model',
        action='store_true',
        help='write backbone.* keys and, for DRNSeg, decode_head.conv_seg.* (for load_from)',
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
        info = convert_drn_checkpoint(
            args.src, args.dst, args.arch, args.depth, args.full_model, not args.no_check_hash
        )
    head = (
        f', classifier for {info["num_classes"]} classes'
        + (' kept as decode_head.conv_seg' if args.full_model else ' dropped (use --full-model)')
        if info['num_classes']
        else ''
    )
    print(
        f'{args.src}: DRN-{info["arch"]}-{info["depth"]} ({info["source"]}, base_channels '
        f'{info["base_channels"]}){head} -> {args.dst}'
    )
    if info['hash'] is not None:
        print(f'{args.src}: {describe_check(info["hash"])}')


if __name__ == '__main__':
    main()
