"""What a `%%alloy` cell is doing while it runs: one live line, then the result with its footer.

"calling smollm2:135m via native…", "loading smollm2:135m (its first call)…", "tool add running…",
"finalize turn…": the line follows the call's trace events, so typed, tool and `--no-stream` cells
are never silent. It ends replaced by the reply and the same footer a streamed cell gets.
"""

from __future__ import annotations

from typing import Any

from .._config import Config
from .._model_names import same_model
from .._trace import Trace
from .._trace.events import AnyEvent, RequestEvent, RetryEvent, ToolEvent
from .._views.status import footer_html, status_line_html
from .._visible import visible


def opening_line(config: Config) -> str:
    """The first status: loading when the host does not have the model in memory, else calling."""
    model = config.model_name
    if not _is_loaded(config):
        return f"loading {model} (the first call loads it into memory)… then calling it via {config.strategy}"
    return f"calling {model} via {config.strategy}…"


def event_line(event: AnyEvent, model: str) -> str | None:
    """The status after a trace event, or None when the line should stay as it is."""
    if isinstance(event, RetryEvent):
        what = "the request" if event.scope == "request" else f"the call (attempt {event.attempt + 1})"
        return f"{event.error.type}: trying {what} again in {event.wait_s:.1f} s…"
    if isinstance(event, ToolEvent):
        return visible(f"tool {event.name} running…")
    if isinstance(event, RequestEvent):
        return (
            "finalize turn: asking once more for the answer in the schema…"
            if event.finalize
            else (
                f"waiting for {model}…"
                if event.turn == 0
                else f"turn {event.turn + 1}: sending the tool results to {model}…"
            )
        )
    if event.tool_calls:
        return visible(f"{model} asked for {', '.join(call.name for call in event.tool_calls)}")
    return None


class CallStatus:
    """One display area: a status line while the call runs, the result and footer at the end."""

    def __init__(self, config: Config) -> None:
        from IPython.display import display

        self._model = config.model_name
        self.lines = [opening_line(config)]
        self._handle = display({"text/plain": self.lines[0]}, raw=True, display_id=True)

    def observe(self, trace: Trace, event: AnyEvent) -> None:
        """A trace observer (`alloy_nb._trace.observing`)."""
        line = event_line(event, self._model)
        if line is not None and line != self.lines[-1]:
            self.lines.append(line)
            self._handle.update({"text/plain": line, "text/html": status_line_html(line)}, raw=True)

    def finish(self, bundle: dict[str, Any], trace: Trace) -> None:
        """Replace the status with the result and the call's footer."""
        self._handle.update(with_footer(bundle, call_footer(trace)), raw=True)


def call_footer(trace: Trace) -> str:
    """`smollm2:135m · native · 42 tokens · 88.1 tok/s · first token 21 ms`, plus anything to know:
    a reply cut by the token limit, tools run, a finalize turn, an outcome other than ok."""
    response = trace.responses[-1] if trace.responses else None
    parts = [trace.model.removeprefix("ollama:"), trace.strategy]
    if response is not None:
        tokens = trace.usage.completion_tokens
        if tokens:
            parts.append(f"{tokens} tokens")
            decode_time = response.duration_s - (response.ttft_s or 0.0)
            if response.ttft_s is not None and decode_time > 0 and tokens > 1:
                parts.append(f"{(tokens - 1) / decode_time:.1f} tok/s")
        if response.ttft_s is not None:
            parts.append(f"first token {response.ttft_s * 1000:.0f} ms")
        if response.thinking_s is not None:
            thought = f"thought {response.thinking_s:.1f} s"
            if response.thinking_pieces:
                thought += f" (~{response.thinking_pieces} tokens)"
            parts.append(thought)
    if trace.duration_s is not None and (response is None or response.ttft_s is None):
        parts.append(f"{trace.duration_s:.2f} s")
    if trace.tool_events:
        parts.append(f"{len(trace.tool_events)} tool run{'s' if len(trace.tool_events) > 1 else ''}")
    if any(request.finalize for request in trace.requests):
        parts.append("after a finalize turn")
    if trace.retries:
        parts.append(f"{len(trace.retries)} retr{'ies' if len(trace.retries) > 1 else 'y'}")
    if response is not None and response.done_reason == "length":
        limit = trace.request_settings.get("max_tokens")
        of = f" of {limit}" if limit else ""
        parts.append(f"cut at the token limit{of}: raise --max-tokens (max_tokens=… in Python) for the rest")
    if trace.status != "ok":
        parts.append(trace.status)
    return " · ".join(parts) + "".join(f"\n⚠ {warning}" for warning in trace.warnings)


def with_footer(bundle: dict[str, Any], footer: str) -> dict[str, Any]:
    """The bundle with the footer under the reply, in each text form it has."""
    result = dict(bundle)
    if "text/html" in result:
        result["text/html"] = result["text/html"] + footer_html(footer)
    result["text/plain"] = f"{result.get('text/plain', '')}\n\n— {footer}"
    return result


def _is_loaded(config: Config) -> bool:
    """Whether `/api/ps` lists the model; unknown (no answer) counts as loaded, to say nothing wrong."""
    from .._host import Host

    try:
        loaded = Host(config, timeout=1.0).running().models
    except Exception:
        return True
    return any(same_model(name, config.model_name) for model in loaded for name in (model.model, model.name) if name)
