"""End-to-end runs of the tools: every test here is part of the slow tier."""

import pytest


def pytest_collection_modifyitems(config, items):
    for item in items:
        if '/tests/e2e/' in str(item.fspath).replace('\\', '/'):
            item.add_marker(pytest.mark.slow)
