"""Where a tool's function runs: worker threads that carry the caller's context (its `settings()`
scopes), a late call abandoned with a `ToolError` (Python cannot stop a thread), and the awaitable a
sync wrapper of an async function returns, awaited."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from .errors import ToolError


async def awaited(pending: Awaitable[Any]) -> Any:
    return await pending


async def settled(call: Awaitable[Any]) -> Any:
    """What `call` gives, awaited once more when that is awaitable (a sync wrapper of an async function)."""
    value = await call
    return await value if inspect.isawaitable(value) else value


def in_thread(call: Callable[[], Any], timeout: float | None, name: str) -> Any:
    """Run `call` in a worker thread, in the caller's context (its `settings()` scopes): it works
    beside a running event loop (Jupyter), and a late call is abandoned (Python cannot stop a
    thread) with a ToolError saying so."""
    outcome: dict[str, Any] = {}
    context = contextvars.copy_context()

    def target() -> None:
        try:
            outcome["value"] = context.run(call)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=target, name=f"alloy-nb-tool-{name}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise late(name, timeout)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def in_own_thread(call: Callable[[], Any], name: str) -> asyncio.Future[Any]:
    """`call` run in a daemon thread of its own, in the caller's context, as a future of the running
    loop (not the loop's executor, whose shutdown would wait for a call abandoned as late)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def settle(value: Any, error: BaseException | None) -> None:
        if future.done():  # abandoned as late, or the caller was cancelled
            return
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)

    def target() -> None:
        try:
            outcome: tuple[Any, BaseException | None] = (context.run(call), None)
        except BaseException as exc:  # handed to the caller's loop
            outcome = (None, exc)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:  # the loop closed while the call was late: nobody waits for it
            pass

    threading.Thread(target=target, name=f"alloy-nb-tool-{name}", daemon=True).start()
    return future


def late(name: str, timeout: float | None) -> ToolError:
    return ToolError(f"Tool {name!r} did not finish within {timeout:g}s and was abandoned (it may still be running).")
