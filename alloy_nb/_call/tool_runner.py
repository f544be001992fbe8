"""Running a turn's tool calls for the drivers: every failure becomes an error message for the
model, never a crash; each run is traced."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .._messages import ToolCall
from .._tools import Tool, result_content, tool_call_arguments
from .._trace import ToolEvent, Trace
from ..errors import ContractFailed, ToolError


class ToolRunner:
    """Runs tool calls; every failure becomes an error message for the model, never a crash."""

    def __init__(self, tools: list[Tool], trace: Trace, default_timeout: float | None) -> None:
        self.tools = {t.name: t for t in tools}
        self.trace = trace
        self.default_timeout = default_timeout

    def run(self, call: ToolCall, turn: int) -> str:
        event, started = self._begin(call, turn)
        try:
            tool, arguments = self._resolve(call)
            return self._succeed(event, started, tool.run(arguments, timeout=tool.timeout or self.default_timeout))
        except (Exception, SystemExit) as exc:  # a tool calling sys.exit() is a failed tool, not the end
            return self._failed(event, started, call, exc)
        except BaseException:
            self._interrupted(event, started)
            raise

    async def run_async(self, call: ToolCall, turn: int, limit: asyncio.Semaphore) -> str:
        event, started = self._begin(call, turn)
        try:
            tool, arguments = self._resolve(call)
            async with limit:
                value = await tool.run_async(arguments, timeout=tool.timeout or self.default_timeout)
                return self._succeed(event, started, value)
        except (Exception, SystemExit) as exc:  # a tool calling sys.exit() is a failed tool, not the end
            return self._failed(event, started, call, exc)
        except BaseException:
            self._interrupted(event, started)
            raise

    async def run_all_async(self, calls: list[ToolCall], turn: int, limit: asyncio.Semaphore) -> list[str]:
        return list(await asyncio.gather(*(self.run_async(call, turn, limit) for call in calls)))

    def _begin(self, call: ToolCall, turn: int) -> tuple[ToolEvent, float]:
        event = ToolEvent(
            turn=turn, call_id=call.id, name=call.name, arguments=call.arguments, at_s=self.trace.elapsed()
        )
        self.trace.add(event)
        return event, time.perf_counter()

    def _resolve(self, call: ToolCall) -> tuple[Tool, dict[str, Any]]:
        tool = self.tools.get(call.name)
        if tool is None:
            known = ", ".join(self.tools) or "none"
            raise ToolError(f"There is no tool named {call.name!r}. Available tools: {known}.")
        try:
            return tool, tool_call_arguments(call.arguments)
        except ToolError as exc:
            raise ToolError(f"Tool {call.name!r}: {exc}") from None

    def _succeed(self, event: ToolEvent, started: float, value: Any) -> str:
        content = result_content(value)
        event.result = self.trace.cap(content)  # the model gets all of it; the trace keeps up to the limit
        event.duration_s = round(time.perf_counter() - started, 6)
        return content

    def _failed(self, event: ToolEvent, started: float, call: ToolCall, exc: BaseException) -> str:
        message = str(exc) if isinstance(exc, ToolError) else f"Tool {call.name!r} raised {type(exc).__name__}: {exc}"
        event.error = self.trace.cap(message)
        event.duration_s = round(time.perf_counter() - started, 6)
        if isinstance(exc, ContractFailed):  # the contract's own words, as alloy-ai sends them
            event.contract = exc.kind
            return message
        return f"Error: {message}"

    @staticmethod
    def _interrupted(event: ToolEvent, started: float) -> None:
        event.error = "interrupted"
        event.duration_s = round(time.perf_counter() - started, 6)
