"""`alloy_nb.chat()` and `%alloy chat`: a chat with the model in the notebook, as ipywidgets.

The picker's model, strategy and thinking controls sit on top (the `ModelPicker` itself, bound to
`configure()` as everywhere else), the conversation below them, then the message box. Each message is
one streamed call, `ask.stream(...)` with the earlier exchanges as history (as `%%alloy --chat` sends
them) and the panel's tools; its reply streams in as `chat_reply.LiveReply` draws it, thinking folded
and tool calls and results inline. "What the model saw" shows the last message's prompt as the server's
template rendered it (`rendered_prompt`), or the messages as sent where the server cannot render.
The conversation is kept as `ChatHistory`: `panel.trace` is all of it as one `Trace`, and Export
writes that trace as JSON.

A message sent with the button is streamed on a thread of its own, so the kernel stays free (other
cells run, Stop is heard); `panel.send(text)` streams in the calling thread and returns the trace.
Nothing a call does can stop the kernel: an error (no server, a model the host lacks) is shown in the
conversation and the message stays in the box to send again.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._views.chat import (
    chat_stylesheet,
    note_html,
    seen_messages_html,
    seen_rendered_html,
    user_html,
)
from .._views.status import error_html
from ..errors import AlloyError
from .call_status import call_footer
from .chat_history import MAX_HISTORY, ChatHistory, Exchange
from .chat_reply import LiveReply
from .picker import ModelPicker, WidgetView

if TYPE_CHECKING:
    import ipywidgets

    from .._trace import Trace

STOPPED = "Stopped: the reply so far is kept in the trace, and not sent as history."


class ChatPanel(WidgetView):
    """A chat with the configured model: the picker's controls, the conversation, a message box, and
    Send, Stop, Clear, Export and "What the model saw" buttons. `trace` is the conversation so far."""

    def __init__(
        self, tools: Iterable[Callable[..., Any]] | None = None, *, max_history: int = MAX_HISTORY, **options: Any
    ) -> None:
        import ipywidgets as widgets

        self.tools = list(tools or [])
        self.options = options  # per-call settings (system, temperature, max_tokens, ...) for every message
        self.history = ChatHistory(max_history)
        self.picker = ModelPicker()
        self._worker: threading.Thread | None = None
        self._running = False
        self._stop = threading.Event()
        button = {"layout": widgets.Layout(width="auto")}
        self.transcript: ipywidgets.VBox = widgets.VBox(layout=widgets.Layout(width="auto"))
        self.input: ipywidgets.Textarea = widgets.Textarea(
            placeholder="Message the model, then Send", rows=2, layout=widgets.Layout(flex="1 1 auto", width="auto")
        )
        self.send_button: ipywidgets.Button = widgets.Button(
            description="Send", icon="paper-plane", button_style="primary", tooltip="Send the message", **button
        )
        self.stop_button: ipywidgets.Button = widgets.Button(
            description="Stop", icon="stop", disabled=True, tooltip="Stop the reply", **button
        )
        self.clear_button: ipywidgets.Button = widgets.Button(
            description="Clear", icon="trash", tooltip="Forget the conversation", **button
        )
        self.export_button: ipywidgets.Button = widgets.Button(
            description="Export trace", icon="download", tooltip="Write the conversation's trace as JSON", **button
        )
        self.seen_toggle: ipywidgets.ToggleButton = widgets.ToggleButton(
            description="What the model saw",
            icon="eye",
            tooltip="The prompt the model read for the last message",
            **button,
        )
        self.status: ipywidgets.HTML = widgets.HTML()
        self.seen: ipywidgets.HTML = widgets.HTML(layout=widgets.Layout(width="auto"))
        wrap = widgets.Layout(flex_flow="row wrap", width="100%", align_items="center")
        rows = [
            widgets.HBox([self.input, self.send_button, self.stop_button], layout=wrap),
            widgets.HBox([self.clear_button, self.export_button, self.seen_toggle, self.status], layout=wrap),
        ]
        style = widgets.HTML(chat_stylesheet())
        self.box: ipywidgets.VBox = widgets.VBox([style, self.picker.box, self.transcript, *rows, self.seen])
        self._widgets: list[ipywidgets.Widget] = [self.box, style, self.transcript, *rows, self.input, self.status]
        self._widgets += [self.send_button, self.stop_button, self.clear_button, self.export_button]
        self._widgets += [self.seen_toggle, self.seen]
        self.send_button.on_click(lambda _: self._on_send())
        self.stop_button.on_click(lambda _: self.stop())
        self.clear_button.on_click(lambda _: self.clear())
        self.export_button.on_click(lambda _: self._on_export())
        self.seen_toggle.observe(lambda _: self._show_seen(), names="value")

    @property
    def trace(self) -> Trace | None:
        """The conversation so far as one trace (every exchange's requests, replies and tool runs)."""
        return self.history.trace()

    @property
    def busy(self) -> bool:
        """A reply is streaming."""
        return self._running

    def send(self, text: str) -> Trace | None:
        """Send `text` and stream the reply into the panel, in this thread; the exchange's trace."""
        if self.busy:
            raise RuntimeError("The chat is still streaming a reply; wait() for it or stop() it first.")
        self._set_busy(True)
        return self._exchange(text)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a reply sent with the button to end; whether it has."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
        return worker is None or not worker.is_alive()

    def stop(self) -> None:
        """Stop the reply streaming, at its next piece (its trace says interrupted)."""
        self._stop.set()

    def clear(self) -> None:
        """Forget the conversation: the panel, the history the next message sends, the trace."""
        if self.busy:
            self.status.value = error_html("A reply is streaming: Stop it first.")
            return
        for child in self.transcript.children:
            _close_all(child)
        self.transcript.children = ()
        self.history.clear()
        self.status.value = ""
        self._show_seen()

    def export(self, path: str | Path | None = None) -> Path:
        """Write the conversation's trace as JSON (to `alloy-chat-<id>.json` here, unless `path`); the path."""
        trace = self.trace
        if trace is None:
            raise ValueError("Nothing to export yet: the conversation has no exchanges.")
        target = Path(path) if path is not None else Path(f"alloy-chat-{trace.id}.json")
        target.write_text(trace.to_json(), encoding="utf-8")
        return target

    def summary(self) -> str:
        """One line on the chat, for front ends that cannot render widgets."""
        count = len(self.history.exchanges)
        return f"ChatPanel: {count} exchange{'' if count == 1 else 's'} (widgets need Jupyter with ipywidgets)"

    def close(self) -> None:
        """Stop any reply, stop following `configure()` and close every widget."""
        self.stop()
        self.picker.close()
        for child in self.transcript.children:
            _close_all(child)
        self._close_widgets()

    # --- sending ---------------------------------------------------------------------------

    def _on_send(self) -> None:
        text = self.input.value
        if not text.strip() or self.busy:
            return
        self._set_busy(True)
        run = contextvars.copy_context().run  # the caller's `with alloy_nb.settings(...)` holds in the thread
        self._worker = threading.Thread(target=run, args=(self._exchange, text), name="alloy-chat", daemon=True)
        self._worker.start()

    def _exchange(self, text: str) -> Trace | None:
        """One message and its streamed reply, shown; every outcome ends here, none escapes."""
        from .._commands import ask

        history = self.history.next_history()
        stream = None
        try:
            self.transcript.children = (*self.transcript.children, _html(user_html(text)))
            reply = LiveReply(self._model_label())
            self.transcript.children = (*self.transcript.children, reply.box)
            try:
                stream = ask.stream(text, tools=self.tools, history=history, **self.options)
                for kind, item in stream.events():
                    reply.take(kind, item)
                    if self._stop.is_set():
                        break
            except (Exception, KeyboardInterrupt) as exc:  # shown in the panel, never raised
                return self._failed(text, history, reply, stream, exc)
            if self._stop.is_set():
                stream.close()
                reply.note(STOPPED)
                self.history.add(Exchange(text, None, stream.trace, history))
                return stream.trace
            reply.finish(call_footer(stream.trace))
            self.history.add(Exchange(text, str(stream.value), stream.trace, history))
            if self.input.value == text:
                self.input.value = ""
            return stream.trace
        finally:
            self._set_busy(False)
            if self.seen_toggle.value:
                self._show_seen()

    def _model_label(self) -> str:
        """The name of the model the next message goes to, for the reply's badge."""
        from .._config import current

        try:
            return current(**_settings(self.options)).model_name
        except AlloyError:  # a bad option: the call says so in the panel
            return "model"

    def _failed(
        self, text: str, history: list[dict[str, str]], reply: LiveReply, stream: Any, error: BaseException
    ) -> Trace | None:
        if stream is not None:
            stream.close()
        if isinstance(error, KeyboardInterrupt):
            reply.note(STOPPED)
        else:
            reply.fail(type(error).__name__, str(error) or type(error).__name__)
        trace = getattr(error, "trace", None) if isinstance(error, AlloyError) else None
        trace = trace or (stream.trace if stream is not None else None)
        self.history.add(Exchange(text, None, trace, history))
        if not self.input.value.strip():  # sent from code: put it in the box, to send again
            self.input.value = text
        return trace

    def _set_busy(self, busy: bool) -> None:
        self._running = busy
        if busy:
            self._stop.clear()
        for widget in (self.send_button, self.clear_button, self.export_button, self.input):
            widget.disabled = busy
        self.stop_button.disabled = not busy
        self.status.value = note_html("streaming…") if busy else ""

    # --- export and what the model saw ---------------------------------------------------------

    def _on_export(self) -> None:
        try:
            path = self.export()
        except (OSError, ValueError) as exc:
            self.status.value = error_html(str(exc))
            return
        count = len(self.history.exchanges)
        self.status.value = note_html(f"Saved {count} exchange{'' if count == 1 else 's'} as a trace: {path}")

    def _show_seen(self) -> None:
        if not self.seen_toggle.value:
            self.seen.value = ""
        elif self.busy:
            self.seen.value = note_html("Shown when the reply has ended.")
        else:
            self.seen.value = self.what_the_model_saw()

    def what_the_model_saw(self) -> str:
        """The last message's prompt as the server renders it for the model (HTML); where it cannot
        (the OpenAI-compatible API, an older Ollama, no server), the last request's messages as sent."""
        from .._rendering import rendered_prompt

        last = self.history.last()
        if last is None:
            return note_html("Send a message: this then shows the prompt the model read for it.")
        options = dict(self.options)
        if last.trace is not None:  # the model and API that message went to, whatever the picker says now
            options |= {"model": last.trace.model, "api": last.trace.strategy}
        try:
            rendered = rendered_prompt(last.prompt, tools=self.tools, history=last.history, **options)
        except Exception as exc:  # cannot render here (or no server): the messages as the trace kept them
            requests = last.trace.requests if last.trace is not None else []
            return seen_messages_html(requests[-1].messages if requests else [], str(exc))
        turns = len(last.trace.requests) if last.trace is not None else 1
        return seen_rendered_html(rendered.text, f"{rendered.model} at {rendered.host}", rendered.grammar, turns)


def chat(
    tools: Iterable[Callable[..., Any]] | None = None, *, max_history: int = MAX_HISTORY, **options: Any
) -> ChatPanel:
    """A chat panel: display it as a cell's last expression. `tools` are the `@tool` functions the model
    may call; `options` (system, temperature, max_tokens, ...) go with every message; the model,
    strategy and thinking come from the panel's controls (`configure()`)."""
    return ChatPanel(tools, max_history=max_history, **options)


def _settings(options: dict[str, Any]) -> dict[str, Any]:
    """The options that are settings (not history or images), to name the model the call will use."""
    return {key: value for key, value in options.items() if key not in ("history", "images", "api")}


def _html(value: str) -> ipywidgets.HTML:
    import ipywidgets as widgets

    return widgets.HTML(value, layout=widgets.Layout(width="auto"))


def _close_all(widget: Any) -> None:
    for child in getattr(widget, "children", ()):
        _close_all(child)
    widget.close()
