"""A trace as HTML: a self-contained, script-free conversation view; every data string escaped, its
control and invisible characters shown (`visible`: a tool named `invoice\u202efdp.exe` reads so).

Layout: a header; the timeline; per request the constraints it went out under (`trace.constraints`),
the messages new since the previous request, then the response (with its tokens tinted by probability
when the call asked for logprobs) and that turn's tool runs; collapsible raw JSON; the outcome. No
inline styles: the look is the stylesheet's (`style.py`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .._messages import AssistantMessage, Message, ToolResult
from .._trace.constraints import request_constraints
from .style import page
from .text import duration_text, pretty_arguments, pretty_json, shown
from .timeline import timeline_section
from .tokens import TOKEN_GROUPS, tokens_body

if TYPE_CHECKING:
    from .._trace.events import RequestEvent, ResponseEvent, RetryEvent, ToolEvent
    from .._trace.model import Trace

_PNG_DATA_URI = re.compile(r"data:image/png;base64,[A-Za-z0-9+/]+={0,2}")  # nothing in it needs escaping
_STATUSES = {"ok", "error", "interrupted", "running"}


def trace_html(trace: Trace) -> str:
    """One trace as an HTML output: header, timeline, turns, raw JSON, outcome."""
    with_tokens = any(response.tokens for response in trace.responses)
    return page(trace_body(trace), "trace", "timeline", *(TOKEN_GROUPS if with_tokens else ()))


def trace_body(trace: Trace) -> str:
    """The trace view without its stylesheet, for views that hold several (groups "trace", "timeline")."""
    parts = ['<div class="alloy-trace">', _header(trace), timeline_section(trace)]
    previous: list[Any] = []
    typed = trace.output_type != "str"
    ids = trace.strategy != "native"  # native calls have no ids on the wire: alloy_nb's own would mislead
    for event in trace.events:
        if event.kind == "request":
            messages = list(event.messages)
            parts.append(_request(event, messages, previous, typed, ids))
            previous = messages
        elif event.kind == "response":
            parts.append(_response(event, ids))
        elif event.kind == "tool":
            parts.append(_tool_run(event, ids))
        else:
            parts.append(_retry(event))
    parts.append(_outcome(trace))
    parts.append("</div>")
    return "".join(parts)


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
        ("duration", duration_text(trace.duration_s)),
        ("tokens", f"{prompt} + {completion} = {prompt + completion}"),
    ]
    if trace.stream:
        items.append(("stream", "yes"))
    fields = "".join(f'<span><span class="at-key">{key}</span>{shown(value)}</span>' for key, value in items)
    return (
        f'<div class="at-head"><span class="at-model">{shown(trace.model)}</span>'
        f'<span class="at-status at-status-{status}">{shown(trace.status)}</span>{fields}</div>'
        f"{_images(trace)}"
    )


def _images(trace: Trace) -> str:
    """The call's images: a thumbnail (a PNG alloy_nb made, never the original bytes) and the facts of each."""
    parts = []
    for number, image in enumerate(trace.images, start=1):
        facts = f"image {number}: {image.media_type}, {image.size:,} bytes, sha256 {image.sha256[:16]}…"
        parts.append(
            f'<span class="at-image">{_thumbnail(image.thumbnail, number)}'
            f'<span class="at-meta">{shown(facts)}</span></span>'
        )
    return f'<div class="at-images">{"".join(parts)}</div>' if parts else ""


def _thumbnail(thumbnail: str | None, number: int) -> str:
    """The thumbnail as an image only when it is a whole PNG data URI, put in `src` uncut; anything else
    (the trace's note on a thumbnail longer than trace_max_chars, a cut or forged one) as text beside it."""
    if not thumbnail:
        return ""
    if _PNG_DATA_URI.fullmatch(thumbnail):
        return f'<img class="at-thumb" src="{thumbnail}" alt="image {number}">'
    note = "thumbnail not shown: not a whole PNG data URI" if thumbnail.startswith("data:") else thumbnail
    return f'<span class="av-note">{shown(note)}</span>'


def _outcome(trace: Trace) -> str:
    if trace.error is not None:
        body = f'<span class="av-error">{shown(trace.error.type)}</span>: {shown(trace.error.message)}'
        label = "interrupted" if trace.status == "interrupted" else "error"
    elif trace.status == "ok":
        body = f"<pre>{shown(pretty_json(trace.result))}</pre>"
        label = "result"
    else:
        body, label = f'<span class="av-note">{shown(trace.status)}</span>', "outcome"
    return f'<div class="at-outcome"><span class="at-badge">{label}</span>{body}</div>'


# --- requests and their messages ------------------------------------------------------------


def _request(event: RequestEvent, messages: list[Message], previous: list[Message], typed: bool, ids: bool) -> str:
    kept = _common_prefix(previous, messages)
    said = request_constraints(event.body, typed_output=typed)
    constraints = f'<div class="at-meta at-constraints">constraints: {shown(said)}</div>' if said else ""
    finalize = '<span class="at-finalize">finalize turn, no tools</span>' if event.finalize else ""
    attempt = f" · attempt {event.attempt}" if event.attempt > 1 else ""
    omitted = (
        f'<div class="at-omitted">{kept} earlier message{"" if kept == 1 else "s"} omitted '
        "(same as in the previous request)</div>"
        if kept
        else ""
    )
    messages_html = "".join(_message(m, ids) for m in messages[kept:])
    title = f"Turn {event.turn} · {shown(event.endpoint)}{attempt}{finalize}"
    return (
        f'<div class="at-turn"><div class="at-turn-title">{title}</div>{constraints}'
        f"{omitted}{messages_html}{_raw('request body (JSON)', event.body)}</div>"
    )


def _common_prefix(previous: list[Message], current: list[Message]) -> int:
    count = 0
    for before, now in zip(previous, current, strict=False):
        if before != now:
            break
        count += 1
    return count


def _message(message: Message, ids: bool) -> str:
    links = ""
    calls = ""
    if isinstance(message, ToolResult):
        links = _field("tool", message.name) + (_field("call", message.call_id) if ids else "")
    elif isinstance(message, AssistantMessage):
        calls = "".join(_call(c.name, _call_id(c.id, ids), c.arguments) for c in message.tool_calls)
    images = getattr(message, "images", ())
    extras = _field("images", ", ".join(f"image {index + 1}" for index in images)) if images else ""
    content = f"<pre>{shown(message.text)}</pre>" if message.text else ""
    if not content and not calls:
        content = '<div class="av-note">(empty)</div>'
    return (
        f'<div class="at-msg at-role-{message.role}"><span class="at-badge">{shown(message.role)}</span>{links}{extras}'
        f"{content}{calls}</div>"
    )


def _call_id(call_id: str, ids: bool) -> str:
    return _field("id", call_id) if call_id and ids else ""


def _call(name: str, call_id: str, arguments: Any) -> str:
    return f'<div class="at-call">→ <b>{shown(name)}</b>{call_id}<pre>{shown(pretty_arguments(arguments))}</pre></div>'


# --- responses and tool runs ----------------------------------------------------------------


def _response(event: ResponseEvent, ids: bool) -> str:
    text = f"<pre>{shown(event.text)}</pre>" if event.text or not event.tool_calls else ""
    thinking = (
        f"<details><summary>thinking</summary><pre>{shown(event.thinking)}</pre></details>" if event.thinking else ""
    )
    calls = "".join(_call(c.name, _call_id(c.id, ids), c.arguments) for c in event.tool_calls)
    prompt, completion = event.usage.prompt_tokens or 0, event.usage.completion_tokens or 0
    meta = [
        f"done_reason {event.done_reason or '–'}",
        f"{prompt} + {completion} tokens",
        duration_text(event.duration_s),
    ]
    if event.ttft_s is not None:
        meta.append(f"ttft {duration_text(event.ttft_s)}")
    raw = _raw("response raw (JSON)", event.raw) if event.raw is not None else ""
    tokens = tokens_body(event.tokens) if event.tokens else ""  # a tool call's tokens spell its JSON
    return (
        f'<div class="at-response"><span class="at-badge">response</span>{thinking}{text}{calls}{tokens}'
        f'<div class="at-meta">{shown(" · ".join(meta))}</div>{raw}</div>'
    )


def _tool_run(event: ToolEvent, ids: bool) -> str:
    if event.error is not None:
        label = f"@{event.contract} failed" if event.contract else "error"
        outcome = f'<div><span class="av-error">{label}</span> <pre>{shown(event.error)}</pre></div>'
    else:
        outcome = f"<div>→ result<pre>{shown(event.result or '')}</pre></div>"
    return (
        f'<div class="at-tool"><span class="at-badge">⚙ tool run</span> <b>{shown(event.name)}</b>'
        f'{_field("call id", event.call_id) if ids else ""}<span class="at-meta"> · {duration_text(event.duration_s)}</span>'
        f"<pre>{shown(pretty_arguments(event.arguments))}</pre>{outcome}</div>"
    )


def _retry(event: RetryEvent) -> str:
    what = "request" if event.scope == "request" else "call"
    return (
        f'<div class="at-retry"><span class="at-badge">↻ retry</span> {what} attempt {event.attempt} failed: '
        f'<span class="av-error">{shown(event.error.type)}</span> {shown(event.error.message)}'
        f'<span class="at-meta"> · again after {duration_text(event.wait_s)}</span></div>'
    )


# --- small formatting helpers ---------------------------------------------------------------


def _field(label: str, value: Any) -> str:
    """A labelled value, e.g. `tool_name add`; label and value both escaped."""
    return f' <span class="at-field">{shown(label)}</span><code>{shown(str(value))}</code>'


def _raw(label: str, value: Any) -> str:
    return f"<details><summary>{label}</summary><pre>{shown(pretty_json(value))}</pre></details>"
