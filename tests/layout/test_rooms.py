"""The rooms hold what they say: every client exception lives in `errors.py`; no module is too long to read at once."""

from __future__ import annotations

import inspect
from importlib import import_module

from test_import_graph import PACKAGE, import_graph

MAX_LINES = 400
OWN_ERRORS = ("alloy_nb.server", "alloy_nb.testing")  # the server's request errors stay with the server


def exceptions_defined_in(module_name: str) -> list[str]:
    module = import_module(module_name)
    return [
        name
        for name, value in vars(module).items()
        if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module_name
    ]


def test_every_client_exception_lives_in_errors() -> None:
    strays = {
        module: found
        for module in import_graph()
        if module != "alloy_nb.errors" and not module.startswith(OWN_ERRORS)
        if (found := exceptions_defined_in(module))
    }
    assert strays == {}


def test_the_exception_check_sees_one() -> None:
    assert "BatchError" in exceptions_defined_in("alloy_nb.errors")


def test_no_module_is_longer_than_a_room_should_be() -> None:
    long = {
        str(path.relative_to(PACKAGE)): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
