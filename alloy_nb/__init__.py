"""alloy_nb: typed, tool-using LLM calls against Ollama, pleasant and inspectable in Jupyter.

Names are imported on first use, so `import alloy_nb` and `%load_ext alloy_nb` stay fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # `X as X`: re-exported for type checkers (imported lazily at run time)
    from ._capabilities import (
        ModelInfo as ModelInfo,
        model_info as model_info,
    )
    from ._commands import (
        Command as Command,
        Traced as Traced,
        ask as ask,
        command as command,
    )
    from ._config import (
        Config as Config,
        configure as configure,
        reset_configuration as reset_configuration,
        settings as settings,
    )
    from ._local import (
        LocalServer as LocalServer,
        start_local_server as start_local_server,
    )
    from ._notebook.chat_panel import chat as chat
    from ._rendering import (
        RenderedPrompt as RenderedPrompt,
        rendered_prompt as rendered_prompt,
    )
    from ._tools import (
        Tool as Tool,
        ensure as ensure,
        require as require,
        tool as tool,
    )
    from ._trace import (
        Trace as Trace,
        last_trace as last_trace,
        recent_traces as recent_traces,
    )
    from .errors import (
        AlloyError as AlloyError,
        AlloyLogWarning as AlloyLogWarning,
        BatchError as BatchError,
        BatchInterrupted as BatchInterrupted,
        CallNotFound as CallNotFound,
        CommandError as CommandError,
        ConfigurationError as ConfigurationError,
        ContractFailed as ContractFailed,
        ModelNotFound as ModelNotFound,
        OllamaUnavailable as OllamaUnavailable,
        RemoteError as RemoteError,
        ServerError as ServerError,
        ToolError as ToolError,
        ToolLoopLimitExceeded as ToolLoopLimitExceeded,
    )
    from .logs import replay as replay

_HOMES = {
    "_capabilities": ("ModelInfo", "model_info"),
    "_commands": ("Command", "Traced", "ask", "command"),
    "_config": ("Config", "configure", "reset_configuration", "settings"),
    "errors": (
        "AlloyError",
        "AlloyLogWarning",
        "BatchError",
        "BatchInterrupted",
        "CallNotFound",
        "CommandError",
        "ConfigurationError",
        "ContractFailed",
        "ModelNotFound",
        "OllamaUnavailable",
        "RemoteError",
        "ServerError",
        "ToolError",
        "ToolLoopLimitExceeded",
    ),
    "_local": ("LocalServer", "start_local_server"),
    "logs": ("replay",),
    "_notebook.chat_panel": ("chat",),  # a widget: ipywidgets is imported only when it is used
    "_rendering": ("RenderedPrompt", "rendered_prompt"),
    "_tools": ("Tool", "ensure", "require", "tool"),
    "_trace": ("Trace", "last_trace", "recent_traces"),
}
_WHERE = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [*sorted(_WHERE), "load_ipython_extension"]


_SUBMODULES = ("logs", "otel")  # `alloy_nb.logs.search(...)`, `alloy_nb.otel.instrument()` without importing them first


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return import_module(f".{name}", __name__)
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'alloy_nb' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext alloy_nb`: the %%alloy / %alloy magics and short error messages."""
    from ._notebook.magics import load

    load(ipython)
