import sys

import pytest


@pytest.fixture(scope='session')
def python():
    """The interpreter running the tests: subprocesses use the same environment."""
    return sys.executable
