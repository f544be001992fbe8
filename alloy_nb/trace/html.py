"""Trace as HTML: a self-contained, script-free conversation view; every data string escaped, its
control and invisible characters shown (`visible`: a tool named `invoice\u202efdp.exe` reads so).

Stdlib only, so the core can render without IPython. Layout: a header; the timeline; per request
the messages new since the previous request, then the response and that turn's tool runs;
collapsible raw JSON; the outcome.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from ..messages import AssistantMessage, Message, ToolResult
from ..visible import visible_html
from .timeline import duration_text as _duration, timeline_section

if TYPE_CHECKING:
    from .events import RequestEvent, ResponseEvent, RetryEvent, ToolEvent
    from .model import Trace


MAX_SHOWN_CHARS = 20_000
_PNG_DATA_URI = re.compile(r"data:image/png;base64,[A-Za-z0-9+/]+={0,2}")  # nothing in it needs escaping

_STATUSES = {"ok", "error", "interrupted", "running"}

_CSS = """
.alloy-trace{font:13px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;border:1px solid #8884;
 border-radius:6px;padding:8px 10px;margin:4px 0;min-width:0}
.alloy-trace pre{white-space:pre-wrap;word-break:normal;overflow-wrap:anywhere;margin:2px 0;padding:4px 6px;
 background:#8881;border-radius:4px;font:12px/1.4 ui-monospace,Menlo,Consolas,monospace}
.alloy-trace .at-head{display:flex;flex-wrap:wrap;gap:4px 14px;align-items:baseline;margin-bottom:6px}
.alloy-trace .at-model{font-weight:600;font-size:14px}
.alloy-trace .at-key{opacity:.65;margin-right:3px}
.alloy-trace .at-status{padding:0 6px;border-radius:8px;color:#fff;font-weight:600}
.alloy-trace .at-status-ok{background:#2e7d32}.alloy-trace .at-status-error{background:#c62828}
.alloy-trace .at-status-interrupted{background:#ef6c00}.alloy-trace .at-status-running{background:#757575}
.alloy-trace .at-turn{border-top:1px solid #8884;padding-top:4px;margin-top:6px}
.alloy-trace .at-turn-title{font-weight:600;margin:2px 0}
.alloy-trace .at-finalize{background:#6a1b9a;color:#fff;border-radius:8px;padding:0 6px;margin-left:6px}
.alloy-trace .at-msg,.alloy-trace .at-response,.alloy-trace .at-tool{margin:4px 0 4px 4px;padding-left:8px;
 border-left:3px solid #9e9e9e}
.alloy-trace .at-badge{display:inline-block;min-width:64px;font-weight:600;font-size:11px;text-transform:uppercase}
.alloy-trace .at-role-system{border-color:#757575}.alloy-trace .at-role-user{border-color:#1565c0}
.alloy-trace .at-role-assistant{border-color:#2e7d32}.alloy-trace .at-role-tool{border-color:#ef6c00}
.alloy-trace .at-response{border-color:#00897b;background:#00897b0d}
.alloy-trace .at-tool{border-color:#ef6c00;background:#ef6c000d}
.alloy-trace .at-retry{margin:4px 0 4px 4px;padding-left:8px;border-left:3px dashed #c62828}
.alloy-trace .at-field{opacity:.65;font-family:ui-monospace,Menlo,Consolas,monospace;margin-right:4px}
.alloy-trace .at-meta,.alloy-trace .at-omitted{opacity:.7;font-size:12px}
.alloy-trace .at-error{color:#c62828;font-weight:600}
.alloy-trace .at-note{opacity:.7;font-style:italic}
.alloy-trace details>summary{cursor:pointer;opacity:.75;font-size:12px}
.alloy-trace .at-images{display:flex;flex-wrap:wrap;gap:8px;margin-bottom:6px}
.alloy-trace .at-image{display:flex;align-items:center;gap:4px}
.alloy-trace .at-thumb{max-width:96px;max-height:96px;border-radius:3px;border:1px solid #8884}
.alloy-trace .at-outcome{border-top:1px solid #8884;margin-top:6px;padding-top:4px}
"""

_COMPARE_CSS = """
.alloy-compare{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,26em),1fr));gap:10px}
.alloy-compare .alloy-compare-col{min-width:0}
.alloy-compare .alloy-compare-title{margin:2px 0;font:600 14px system-ui,sans-serif}
"""


def trace_html(trace: Trace) -> str:
    """One trace as an HTML fragment: header, timeline, turns, raw JSON, outcome."""
    parts = [f'<div class="alloy-trace"><style>{_CSS}</style>', _header(trace), timeline_section(trace)]
    previous: list[Any] = []
    for event in trace.events:
        if event.kind == "request":
            messages = list(event.messages)
            parts.append(_request(event, messages, previous))
            previous = messages
        elif event.kind == "response":
            parts.append(_response(event))
        elif event.kind == "tool":
            parts.append(_tool_run(event))
        else:
            parts.append(_retry(event))
    parts.append(_outcome(trace))
    parts.append("</div>")
    return "".join(parts)


def comparison_html(left: Trace, right: Trace, left_title: str | None = None, right_title: str | None = None) -> str:
    """Two traces side by side in a two-column grid, each titled (default: its strategy)."""
    columns = "".join(
        f'<div class="alloy-compare-col"><div class="alloy-compare-title">{_text(title or trace.strategy)}</div>'
        f"{trace_html(trace)}</div>"
        for trace, title in ((left, left_title), (right, right_title))
    )
    return f'<div class="alloy-compare"><style>{_COMPARE_CSS}</style>{columns}</div>'


# --- header and outcome ---------------------------------------------------------------------


def _header(trace: Trace) -> str:
    usage = trace.usage
    prompt, completion = usage.prompt_tokens or 0, usage.completion_tokens or 0
    status = trace.status if trace.status in _STATUSES else "running"
    items = [
        ("strategy", trace.strategy),
        ("host", trace.host),
        ("output", trace.output_type),
        ("tools", ", ".join(trace.tools) or "none"),
        ("duration", _duration(trace.duration_s)),
        ("tokens", f"{prompt} + {completion} = {prompt + completion}"),
    ]
    if trace.stream:
        items.append(("stream", "yes"))
    fields = "".join(f'<span><span class="at-key">{key}</span>{_text(value)}</span>' for key, value in items)
    return (
        f'<div class="at-head"><span class="at-model">{_text(trace.model)}</span>'
        f'<span class="at-status at-status-{status}">{_text(trace.status)}</span>{fields}</div>'
        f"{_images(trace)}"
    )


def _images(trace: Trace) -> str:
    """The call's images: a thumbnail (a PNG alloy_nb made, never the original bytes) and the facts of each."""
    shown = []
    for number, image in enumerate(trace.images, start=1):
        facts = f"image {number}: {image.media_type}, {image.size:,} bytes, sha256 {image.sha256[:16]}…"
        shown.append(
            f'<span class="at-image">{_thumbnail(image.thumbnail, number)}'
            f'<span class="at-meta">{_text(facts)}</span></span>'
        )
    return f'<div class="at-images">{"".join(shown)}</div>' if shown else ""


def _thumbnail(thumbnail: str | None, number: int) -> str:
    """The thumbnail as an image only when it is a whole PNG data URI, put in `src` uncut; anything else
    (the trace's note on a thumbnail longer than trace_max_chars, a cut or forged one) as text beside it."""
    if not thumbnail:
        return ""
    if _PNG_DATA_URI.fullmatch(thumbnail):
        return f'<img class="at-thumb" src="{thumbnail}" alt="image {number}">'
    note = "thumbnail not shown: not a whole PNG data URI" if thumbnail.startswith("data:") else thumbnail
    return f'<span class="at-note">{_text(note)}</span>'


def _outcome(trace: Trace) -> str:
    if trace.error is not None:
        body = f'<span class="at-error">{_text(trace.error.type)}</span>: {_text(trace.error.message)}'
        label = "interrupted" if trace.status == "interrupted" else "error"
    elif trace.status == "ok":
        body = f"<pre>{_text(_json(trace.result))}</pre>"
        label = "result"
    else:
        body, label = f'<span class="at-note">{_text(trace.status)}</span>', "outcome"
    return f'<div class="at-outcome"><span class="at-badge">{label}</span>{body}</div>'


# --- requests and their messages ------------------------------------------------------------


def _request(event: RequestEvent, messages: list[Message], previous: list[Message]) -> str:
    kept = _common_prefix(previous, messages)
    finalize = '<span class="at-finalize">finalize turn, no tools</span>' if event.finalize else ""
    attempt = f" · attempt {event.attempt}" if event.attempt > 1 else ""
    omitted = (
        f'<div class="at-omitted">{kept} earlier message{"" if kept == 1 else "s"} omitted '
        "(same as in the previous request)</div>"
        if kept
        else ""
    )
    shown = "".join(_message(m) for m in messages[kept:])
    return (
        f'<div class="at-turn"><div class="at-turn-title">Turn {event.turn} · {_text(event.endpoint)}{attempt}{finalize}</div>'
        f"{omitted}{shown}{_raw('request body (JSON)', event.body)}</div>"
    )


def _common_prefix(previous: list[Message], current: list[Message]) -> int:
    count = 0
    for before, now in zip(previous, current, strict=False):
        if before != now:
            break
        count += 1
    return count


def _message(message: Message) -> str:
    links = ""
    calls = ""
    if isinstance(message, ToolResult):
        links = _field("tool", message.name) + _field("call", message.call_id)
    elif isinstance(message, AssistantMessage):
        calls = "".join(_call(c.name, _field("id", c.id) if c.id else "", c.arguments) for c in message.tool_calls)
    images = getattr(message, "images", ())
    extras = _field("images", ", ".join(f"image {index + 1}" for index in images)) if images else ""
    content = f"<pre>{_text(message.text)}</pre>" if message.text else ""
    if not content and not calls:
        content = '<div class="at-note">(empty)</div>'
    return (
        f'<div class="at-msg at-role-{message.role}"><span class="at-badge">{_text(message.role)}</span>{links}{extras}'
        f"{content}{calls}</div>"
    )


def _call(name: str, call_id: str, arguments: Any) -> str:
    return f'<div class="at-call">→ <b>{_text(name)}</b>{call_id}<pre>{_text(_pretty_arguments(arguments))}</pre></div>'


# --- responses and tool runs ----------------------------------------------------------------


def _response(event: ResponseEvent) -> str:
    text = f"<pre>{_text(event.text)}</pre>" if event.text or not event.tool_calls else ""
    thinking = (
        f"<details><summary>thinking</summary><pre>{_text(event.thinking)}</pre></details>" if event.thinking else ""
    )
    calls = "".join(_call(c.name, _field("id", c.id) if c.id else "", c.arguments) for c in event.tool_calls)
    prompt, completion = event.usage.prompt_tokens or 0, event.usage.completion_tokens or 0
    meta = [f"done_reason {event.done_reason or '–'}", f"{prompt} + {completion} tokens", _duration(event.duration_s)]
    if event.ttft_s is not None:
        meta.append(f"ttft {_duration(event.ttft_s)}")
    raw = _raw("response raw (JSON)", event.raw) if event.raw is not None else ""
    return (
        f'<div class="at-response"><span class="at-badge">response</span>{thinking}{text}{calls}'
        f'<div class="at-meta">{_text(" · ".join(meta))}</div>{raw}</div>'
    )


def _tool_run(event: ToolEvent) -> str:
    if event.error is not None:
        label = f"@{event.contract} failed" if event.contract else "error"
        outcome = f'<div><span class="at-error">{label}</span> <pre>{_text(event.error)}</pre></div>'
    else:
        outcome = f"<div>→ result<pre>{_text(event.result or '')}</pre></div>"
    return (
        f'<div class="at-tool"><span class="at-badge">⚙ tool run</span> <b>{_text(event.name)}</b>'
        f'{_field("call id", event.call_id)}<span class="at-meta"> · {_duration(event.duration_s)}</span>'
        f"<pre>{_text(_pretty_arguments(event.arguments))}</pre>{outcome}</div>"
    )


def _retry(event: RetryEvent) -> str:
    what = "request" if event.scope == "request" else "call"
    return (
        f'<div class="at-retry"><span class="at-badge">↻ retry</span> {what} attempt {event.attempt} failed: '
        f'<span class="at-error">{_text(event.error.type)}</span> {_text(event.error.message)}'
        f'<span class="at-meta"> · again after {_duration(event.wait_s)}</span></div>'
    )


# --- small formatting helpers ---------------------------------------------------------------


def _field(label: str, value: Any) -> str:
    """A labelled value, e.g. `tool_name add`; label and value both escaped."""
    return f' <span class="at-field">{_text(label)}</span><code>{_text(str(value))}</code>'


def _raw(label: str, value: Any) -> str:
    return f"<details><summary>{label}</summary><pre>{_text(_json(value))}</pre></details>"


def _pretty_arguments(arguments: Any) -> str:
    """Dict arguments or a JSON string, pretty-printed; a string that is not JSON stays as it came."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return str(arguments)
    return _json(arguments)


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=repr)


def _text(value: str) -> str:
    """Shown and escaped for HTML (`visible_html`), cut to MAX_SHOWN_CHARS with a visible note; for element
    text only (the note is markup)."""
    if len(value) <= MAX_SHOWN_CHARS:
        return visible_html(value)
    more = len(value) - MAX_SHOWN_CHARS
    note = f'<span class="at-note">… ({more} more characters; see trace.to_json())</span>'
    return visible_html(value[:MAX_SHOWN_CHARS]) + note
