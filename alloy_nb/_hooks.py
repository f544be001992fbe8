"""Process-wide hooks into every call's lifecycle, for instrumentation such as `alloy_nb.otel`.

The loop, the trace and `map` call these; whatever is installed here answers (the loop never
imports an instrumentation, which ranks above it). With nothing installed each is one check of an
empty tuple, so an uninstrumented call pays nothing measurable. A hook that raises never fails a
call: its error is dropped here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from functools import partial
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ._trace import Trace


class CallHooks(Protocol):
    """What an instrumentation provides."""

    def call_finished(self, trace: Trace) -> None:
        """A call ended (ok, failed or interrupted); `trace` is complete and is not changed again."""

    def batch(self, items: int, engine: str, model: str) -> AbstractContextManager[None]:
        """Around a `map` run of `items` items on `engine` ("local" or "dask"): its calls belong to it."""

    def carrier(self) -> dict[str, str]:
        """The current context as text headers (W3C trace context), to send along with a task."""

    def adopted(self, carrier: Mapping[str, str]) -> AbstractContextManager[None]:
        """Run the block in the context a task brought along (`carrier`)."""


_installed: tuple[CallHooks, ...] = ()


def install(hooks: CallHooks) -> None:
    """Add `hooks` (once)."""
    global _installed
    if hooks not in _installed:
        _installed = (*_installed, hooks)


def uninstall(hooks: CallHooks) -> None:
    """Remove `hooks` if installed."""
    global _installed
    _installed = tuple(kept for kept in _installed if kept is not hooks)


def call_finished(trace: Trace) -> None:
    """Tell the hooks a call ended."""
    for hooks in _installed:
        try:
            hooks.call_finished(trace)
        except Exception:  # instrumentation never fails a call
            pass


@contextmanager
def batch_scope(items: int, engine: str, model: str) -> Iterator[None]:
    """The block runs a `map` (see `CallHooks.batch`)."""
    with ExitStack() as stack:
        for hooks in _installed:
            stack.enter_context(_guarded(partial(hooks.batch, items, engine, model)))
        yield


def carrier() -> dict[str, str]:
    """The current context as headers for a task's arguments (empty when nothing is installed)."""
    headers: dict[str, str] = {}
    for hooks in _installed:
        try:
            headers.update(hooks.carrier())
        except Exception:
            pass
    return headers


@contextmanager
def adopted(headers: Mapping[str, str]) -> Iterator[None]:
    """The block runs in the context a task brought along (see `carrier`)."""
    with ExitStack() as stack:
        for hooks in _installed if headers else ():
            stack.enter_context(_guarded(partial(hooks.adopted, headers)))
        yield


@contextmanager
def _guarded(make: Callable[[], AbstractContextManager[None]]) -> Iterator[None]:
    """A hook's context manager around the block; an error of the hook's own, entering or leaving,
    is dropped, while the block's own error goes on as it is."""
    manager: AbstractContextManager[None] | None = None
    try:
        manager = make()
        manager.__enter__()
    except Exception:
        manager = None
    try:
        yield
    except BaseException as exc:
        _leave(manager, exc)
        raise
    _leave(manager, None)


def _leave(manager: AbstractContextManager[None] | None, error: BaseException | None) -> None:
    if manager is None:
        return
    try:
        manager.__exit__(type(error) if error else None, error, error.__traceback__ if error else None)
    except Exception:  # the hook's own failure (a block's error it re-raises is raised by the caller)
        pass
