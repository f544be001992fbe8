"""The exceptions alloy_nb raises. Each carries the call's trace when there is one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .trace import Trace


class AlloyError(Exception):
    """Base class of every alloy_nb error; `trace` holds what happened up to the failure."""

    trace: Trace | None = None


class ConfigurationError(AlloyError, ValueError):
    """A setting, model string or call combination is invalid; raised before any request."""


class CommandError(AlloyError):
    """The model's reply could not be turned into the requested output."""

    def __init__(self, message: str, raw_text: str | None = None) -> None:
        super().__init__(message)
        self.raw_text = raw_text


class ToolError(AlloyError):
    """A tool could not run; raise it inside a tool to send a clean message back to the model."""


class ToolLoopLimitExceeded(CommandError):
    """The model kept asking for tools past `max_tool_turns`."""


class OllamaUnavailable(AlloyError, ConnectionError):
    """No server answered at the configured host."""


class ModelNotFound(AlloyError, LookupError):
    """The host answered 404 for the model."""

    def __init__(self, message: str, available: list[str] | None = None) -> None:
        super().__init__(message)
        self.available = available or []


class ServerError(AlloyError):
    """The host answered with an HTTP error or a body that is not the API's shape."""

    def __init__(self, message: str, status_code: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
