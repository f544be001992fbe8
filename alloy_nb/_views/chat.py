"""The chat panel's pieces as HTML: a turn of the user's, a reply as it streams and once it has ended,
the model's thinking, a tool call and its result, a footer, an error, and what the model saw; and,
under a `%%alloy --chat` reply, the history that went with it.

Every piece of text from the user, the model, a tool or the server is escaped here (`shown`, or
`visible_html` for a streamed piece); nothing in it is live. The panel is a stack of ipywidgets
`HTML` widgets, one per piece, so each piece sits under its own `.alloy-view` root (`view`) and
the one stylesheet comes once, in a widget of its own (`chat_stylesheet`): every rule there is
scoped under that root, so it styles every piece wherever it sits in the page.

Streamed thinking is given already escaped, piece by piece (`escaped`), so a render only joins
them: escaping is paid once per piece, never again for the text already shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._messages import AssistantMessage, Message, ToolResult
from .._visible import visible_html
from .prompt import rendered_prompt_html
from .reply import markdown_html
from .style import ROOT, Group, page
from .text import pretty_arguments, shown

CHAT_GROUPS: tuple[Group, ...] = (
    "trace",
    "reply",
    "compare",
    "tokens",
)  # the stylesheet groups whose classes the pieces use


def chat_stylesheet() -> str:
    """The palette and the rules every piece of the panel uses, once."""
    return page("", *CHAT_GROUPS)


def view(body: str) -> str:
    """`body` under the views' root element (its look comes from `chat_stylesheet`)."""
    return f'<div class="{ROOT}">{body}</div>'


def escaped(piece: str) -> str:
    """A streamed piece as it is shown: control and invisible characters as stand-ins, then escaped."""
    return visible_html(piece)


def user_html(text: str) -> str:
    """A message the user sent."""
    return view(f'<div class="at-msg at-role-user"><span class="at-badge">you</span>{_plain(shown(text))}</div>')


def reply_html(text: str, *, badge: str | None) -> str:
    """A stretch of the reply (so far): its Markdown rendered inert, code blocks as the views' blocks;
    `badge` (the model's name) heads the reply's first piece."""
    body = markdown_html(text).replace("<pre>", '<pre class="av-prompt">') if text.strip() else ""
    return view(f'<div class="at-msg at-role-assistant">{_badge(badge)}{body}</div>')


def live_thinking_html(escaped_text: str, *, badge: str | None) -> str:
    """The model's thinking while it streams: muted, open (`escaped_text` is already escaped)."""
    head = '<div class="av-muted">thinking…</div>' if badge is not None else ""
    return view(
        f'<div class="at-msg at-role-assistant">{_badge(badge)}{head}<div class="av-thought">{escaped_text}</div></div>'
    )


def thinking_html(thinking: str, *, badge: str | None) -> str:
    """The model's thinking once the answer starts: folded in a `<details>`, a click away."""
    return view(
        f'<div class="at-msg at-role-assistant">{_badge(badge)}<details class="alloy-thinking"><summary>Thinking '
        f'({len(thinking):,} characters)</summary><div class="av-thought">{shown(thinking)}</div></details></div>'
    )


def tool_call_html(name: str, arguments: Any, *, badge: str | None = None) -> str:
    """A tool the model asked for, with its arguments, about to run; `badge` when it opens the reply."""
    return view(
        f'<div class="at-tool">{_badge(badge)}<span class="at-badge">⚙ tool call</span> <b>{shown(name)}</b>'
        f'<pre class="av-prompt">{shown(pretty_arguments(arguments))}</pre></div>'
    )


def tool_result_html(name: str, text: str) -> str:
    """What a tool gave back to the model (an error message when it failed)."""
    return view(
        f'<div class="at-tool"><span class="at-badge">→ result</span> <b>{shown(name)}</b>'
        f'<pre class="av-prompt">{shown(text)}</pre></div>'
    )


def footer_html(footer: str) -> str:
    """The line under a reply: model, strategy, tokens, speed (each line of `footer` kept)."""
    lines = "<br>".join(shown(line) for line in footer.splitlines())
    return view(f'<div class="at-meta">{lines}</div>')


def chat_error_html(kind: str, message: str) -> str:
    """What went wrong instead of (or after part of) a reply; the panel keeps the user's message to send again."""
    return view(
        f'<div class="at-retry"><span class="av-error">{shown(kind)}</span>: {_plain(shown(message))}'
        '<div class="av-note">Your message is still in the box: fix the cause, then Send again.</div></div>'
    )


def note_html(text: str) -> str:
    """A muted note (stopped, saved, nothing to show yet)."""
    return view(f'<div class="av-note">{shown(text)}</div>')


def sent_history_html(note: str, history: Sequence[dict[str, str]]) -> str:
    """Under a `%%alloy --chat` reply: `note` (what was sent, what ignoring it means), then the history
    sent, folded, each message as the trace shows one."""
    messages = "".join(
        _sent("user", "you", m["content"]) if m["role"] == "user" else _sent("assistant", "model", m["content"])
        for m in history
    )
    folded = f"<details><summary>the {len(history)} messages sent</summary>{messages}</details>" if history else ""
    return page(f'<div class="av-note">{shown(note)}</div>{folded}', "trace", "compare")


def seen_rendered_html(text: str, where: str, grammar: dict[str, Any] | None, turns: int) -> str:
    """What the model read for the last message, as the server's chat template rendered it."""
    note = (
        f"The first request of the last exchange; its {turns - 1} later request{'s' if turns > 2 else ''} "
        "added the tool calls and their results."
        if turns > 1
        else ""
    )
    return rendered_prompt_html(text, where, grammar) + (note_html(note) if note else "")


def seen_messages_html(messages: Sequence[Message], why: str) -> str:
    """The last request's messages as sent, in neutral form, when the server cannot render the prompt (`why`)."""
    parts = [
        f'<div class="av-note">The server cannot render the prompt ({shown(why)}); the messages of the last '
        "request, as the model got them:</div>"
    ]
    parts += [_message(message) for message in messages]
    if not messages:
        parts.append('<div class="av-note">(no request was sent)</div>')
    return view("".join(parts))


def _message(message: Message) -> str:
    calls = ""
    if isinstance(message, AssistantMessage):
        calls = "".join(
            f'<pre class="av-prompt">→ {shown(call.name)}({shown(pretty_arguments(call.arguments))})</pre>'
            for call in message.tool_calls
        )
    name = f" <b>{shown(message.name)}</b>" if isinstance(message, ToolResult) else ""
    text = f'<pre class="av-prompt">{shown(message.text)}</pre>' if message.text else ""
    return f'<div class="at-msg at-role-{message.role}"><span class="at-badge">{message.role}</span>{name}{text}{calls}</div>'


def _sent(role: str, badge: str, text: str) -> str:
    return f'<div class="at-msg at-role-{role}"><span class="at-badge">{badge}</span>{_plain(shown(text))}</div>'


def _badge(label: str | None) -> str:
    return "" if label is None else f'<div><span class="at-badge">{shown(label)}</span></div>'


def _plain(escaped_text: str) -> str:
    return f'<div class="av-live-text">{escaped_text}</div>'
