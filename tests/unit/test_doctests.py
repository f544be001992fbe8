"""The examples in the package's docstrings run and give what they say (small pure helpers)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import alloy_nb

MODULES = sorted(info.name for info in pkgutil.walk_packages(alloy_nb.__path__, "alloy_nb."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    results = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert results.failed == 0


def test_the_helpers_have_examples() -> None:
    counted = sum(doctest.testmod(importlib.import_module(name)).attempted for name in MODULES)
    assert counted >= 12
