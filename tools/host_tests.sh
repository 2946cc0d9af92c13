#!/usr/bin/env bash
# The host's own tests with and without `import mmseg_dilated`: mmengine's tests of what the plugin
# changes (checkpoint loading, configs, the checkpoint hook, datasets) and mmseg's model tests (its
# sdist ships tests/test_models), each run twice in this environment, once plain and once with the
# plugin imported first (a pytest plugin that imports it). Prints each run's counts and every test
# whose outcome differs. Exit status 1 when one does.
#
#   bash tools/host_tests.sh                    (downloads mmseg's sdist from PyPI, mmengine's tests
#                                                from GitHub, for the installed versions)
#   MMENGINE_SRC=/path/to/mmengine bash tools/host_tests.sh   (a checkout or a git dir: its tag
#                                                v<version> is used; no download)
#   MMSEG_SDIST=/path/to/mmsegmentation-1.2.2.tar.gz bash tools/host_tests.sh
#   MMENGINE_TESTS="tests/test_runner/test_checkpoint.py ..."  MMSEG_TESTS="tests/test_models"
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
VPY="$VENV/bin/python"
WORK="${HOST_TESTS_DIR:-$(mktemp -d)}"
mkdir -p "$WORK"
MMENGINE_TESTS="${MMENGINE_TESTS:-tests/test_runner/test_checkpoint.py tests/test_config tests/test_hooks/test_checkpoint_hook.py tests/test_dataset tests/test_registry}"
MMSEG_TESTS="${MMSEG_TESTS:-tests/test_models}"
ENGINE_VER="$("$VPY" -c 'import mmengine; print(mmengine.__version__)')"
SEG_VER="$("$VPY" -c 'import mmseg; print(mmseg.__version__)')"

# mmengine's tests, at the installed release's tag
if [ ! -d "$WORK/mmengine/tests" ]; then
    mkdir -p "$WORK/mmengine"
    if [ -n "${MMENGINE_SRC:-}" ]; then
        if git --git-dir="$MMENGINE_SRC" rev-parse "v$ENGINE_VER" >/dev/null 2>&1; then
            git --git-dir="$MMENGINE_SRC" archive "v$ENGINE_VER" tests | tar -x -C "$WORK/mmengine"
        elif git -C "$MMENGINE_SRC" rev-parse "v$ENGINE_VER" >/dev/null 2>&1; then
            git -C "$MMENGINE_SRC" archive "v$ENGINE_VER" tests | tar -x -C "$WORK/mmengine"
        else
            cp -r "$MMENGINE_SRC/tests" "$WORK/mmengine/"
        fi
    else
        curl -fsSL "https://github.com/open-mmlab/mmengine/archive/refs/tags/v$ENGINE_VER.tar.gz" \
            | tar -xz -C "$WORK/mmengine" --strip-components=1 "mmengine-$ENGINE_VER/tests"
    fi
fi
# mmseg's sdist (it ships tests/test_models)
if [ ! -d "$WORK/mmseg/tests" ]; then
    mkdir -p "$WORK/mmseg"
    SDIST="${MMSEG_SDIST:-}"
    if [ -z "$SDIST" ]; then
        URL="$(curl -fsSL https://pypi.org/simple/mmsegmentation/ \
            | grep -o "https://[^\"#]*mmsegmentation-$SEG_VER.tar.gz" | head -1)"
        SDIST="$WORK/mmsegmentation-$SEG_VER.tar.gz"
        curl -fsSL -o "$SDIST" "$URL"
    fi
    tar -xzf "$SDIST" -C "$WORK/mmseg" --strip-components=1 "mmsegmentation-$SEG_VER/tests"
fi

# what the host's tests import beyond the stack (mmengine's tests use parameterized), into a folder
# of their own: the environment itself is left as it is
if [ ! -d "$WORK/deps/parameterized" ]; then
    "$VPY" -m pip install --disable-pip-version-check -q --target "$WORK/deps" parameterized
fi

# the pytest plugin that imports the package before any test module
cat > "$WORK/with_mmseg_dilated.py" <<'PYEOF'
import mmseg_dilated  # noqa: F401
PYEOF

run() {  # run NAME DIR TESTS... : both runs, junit XML under $WORK/NAME-{plain,plugin}.xml
    local name=$1 dir=$2 kind
    shift 2
    for kind in plain plugin; do
        local plugin=()
        [ "$kind" = plugin ] && plugin=(-p with_mmseg_dilated)
        (cd "$dir" && PYTHONPATH="$WORK:$WORK/deps" "$VPY" -m pytest -q -p no:cacheprovider \
            -o addopts='' --continue-on-collection-errors "${plugin[@]}" \
            --junitxml="$WORK/$name-$kind.xml" "$@" >"$WORK/$name-$kind.log" 2>&1 || true)
    done
}
echo "host tests: mmengine $ENGINE_VER ($MMENGINE_TESTS), mmseg $SEG_VER ($MMSEG_TESTS); in $WORK"
# shellcheck disable=SC2086
run mmengine "$WORK/mmengine" $MMENGINE_TESTS
# shellcheck disable=SC2086
run mmseg "$WORK/mmseg" $MMSEG_TESTS

"$VPY" - "$WORK" <<'PYEOF'
import sys
import xml.etree.ElementTree as ET

work = sys.argv[1]


def outcomes(path):
    result = {}
    for case in ET.parse(path).getroot().iter('testcase'):
        name = f'{case.get("classname")}::{case.get("name")}'
        kinds = {child.tag for child in case}
        result[name] = (
            'failed' if kinds & {'failure', 'error'} else 'skipped' if 'skipped' in kinds
            else 'passed'
        )
    return result


differ = 0
for name in ('mmengine', 'mmseg'):
    runs = {}
    for kind in ('plain', 'plugin'):
        try:
            runs[kind] = outcomes(f'{work}/{name}-{kind}.xml')
        except (OSError, ET.ParseError) as err:
            sys.exit(f'{name} ({kind}) produced no results: {err}; see {work}/{name}-{kind}.log')
    for kind, res in runs.items():
        counts = {k: sum(v == k for v in res.values()) for k in ('passed', 'failed', 'skipped')}
        label = 'without the plugin' if kind == 'plain' else 'with import mmseg_dilated'
        print(f'{name} {label}: ' + ', '.join(f'{v} {k}' for k, v in counts.items()))
    changed = sorted(
        t for t in set(runs['plain']) | set(runs['plugin'])
        if runs['plain'].get(t) != runs['plugin'].get(t)
    )
    for t in changed:
        print(f'  DIFFERS {t}: {runs["plain"].get(t, "absent")} -> {runs["plugin"].get(t, "absent")}')
    print(f'{name}: {"no difference" if not changed else f"{len(changed)} tests differ"}')
    differ += len(changed)
sys.exit(1 if differ else 0)
PYEOF
