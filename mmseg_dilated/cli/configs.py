"""List the shipped configs; each is usable as ``mmseg_dilated::NAME`` (a CONFIG argument of our
commands, or a ``_base_`` of a user's config).

    mmseg-dilated configs [--bases] [--path NAME]
"""

import argparse

from mmseg_dilated.cli.errors import exit_on_error


def main(argv=None):
    parser = argparse.ArgumentParser(description='List the shipped configs')
    parser.add_argument(
        '--bases', action='store_true', help='also list the _base_ model and dataset fragments'
    )
    parser.add_argument(
        '--path',
        metavar='NAME',
        help='print the file path of one config (NAME or mmseg_dilated::NAME)',
    )
    args = parser.parse_args(argv)
    from mmseg_dilated.utils.config_scope import (
        CONFIG_SCOPE,
        configs_root,
        list_configs,
        resolve_config_path,
    )

    with exit_on_error():
        if args.path:
            name = args.path if '::' in args.path else f'{CONFIG_SCOPE}::{args.path}'
            print(resolve_config_path(name))
            return
        names = list_configs(include_bases=args.bases)
    print(f'{len(names)} configs under {configs_root()}; name one as {CONFIG_SCOPE}::NAME:')
    for name in names:
        print(f'  {name}')


if __name__ == '__main__':
    main()
