"""What a `%%alloy` cell does: its options, its tools and output type from the notebook, the call
(streamed or not, or `--map` as a batch), and where the result is kept."""

from __future__ import annotations

import json
import keyword
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.display import display

from .._choices import MODEL_PREFIX
from .._messages import ToolCall, ToolResult
from .._visible import visible
from ..errors import AlloyError, one_line
from .magic_flags import did_you_mean
from .magics_state import MagicsState
from .prompt_template import interpolate
from .result_view import text_bundle, value_bundle

if TYPE_CHECKING:
    from .._outputs import OutputSpec
    from .._trace import Trace


class CellCalls(MagicsState):
    """The call behind a `%%alloy` cell."""

    def _map(self, args: Any, cell: str) -> Any:
        """`%%alloy --map NAME`: the cell's prompt for each element, as one batch shown as a table."""
        from .._commands import ask

        if args.chat:
            raise UsageError("--map and --chat do not go together: each item is a call of its own.")
        for flag, given in (
            ("--show-prompt", args.show_prompt),
            ("--trace", args.trace),
            ("--logprobs", args.logprobs),
        ):
            if given not in (None, False):
                raise UsageError(
                    f"--map and {flag} do not go together: {flag} is for one call. Run the cell without --map "
                    "for one item, or read each item's trace from the result."
                )
        prompts = [
            interpolate(cell, {**self.namespace, "item": element}, self.errors).strip()
            for element in self._map_items(args.map_name)
        ]
        result = ask.map(
            prompts,
            output=self._evaluate(args.output) if args.output else str,
            tools=self._lookup_tools(args.tools),
            **self._options(args),
        )
        self.namespace["_alloy"] = result
        if args.as_name:
            self.namespace[args.as_name] = result  # checked before the batch ran
        display(result)
        return None

    def _map_items(self, name: str) -> list[Any]:
        if name not in self.namespace:
            raise UsageError(f"--map {name}: no variable named {name!r} in the notebook.")
        values = self.namespace[name]
        if hasattr(values, "itertuples") and hasattr(values, "columns"):  # a DataFrame: rows, {item.column}
            return list(values.itertuples(index=False))
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise UsageError(
                f"--map {name}: {name} is a {type(values).__name__}; give a list, a Series or a DataFrame."
            )
        return list(values)

    def _options(self, args: Any) -> dict[str, Any]:
        options: dict[str, Any] = {
            "model": self._model(args.model if args.model is not None else self.default_model),  # -m '' is an error
            "api": args.api or (self.default_api if self.default_api != "auto" else None),
            "system": args.system,
            "temperature": args.temperature,
            "max_tokens": args.max_tokens,
            "think": args.think,
            "context_length": args.context_length,
            "keep_alive": args.keep_alive,
            "constrained": False if args.unconstrained else None,
        }
        if args.logprobs is not None:  # --logprobs N: token probabilities, N alternatives each
            options |= {"logprobs": True, "top_logprobs": args.logprobs}
        if args.image:
            options["images"] = [self._image(name) for name in args.image]
        if getattr(args, "chat", False):  # %alloy compare has no --chat
            options["history"] = self.chat_history[-2 * self.max_history :] if self.max_history else []
        return {key: value for key, value in options.items() if value is not None}

    def _image(self, name: str) -> Any:
        """A notebook variable of that name, else the text as a file path."""
        return self.namespace[name] if name.isidentifier() and name in self.namespace else name

    def _model(self, name: str | None) -> str | None:
        """An alias, `ollama:<model>`, or a bare model name (`-m llama3` is `ollama:llama3`)."""
        if name is None:
            return None
        model = str(self.aliases.get(name, name))
        return model if model.startswith(MODEL_PREFIX) else MODEL_PREFIX + model

    def _evaluate(self, expression: str) -> Any:
        try:
            return eval(expression, self.namespace)
        except NameError as exc:
            types = [key for key, value in self.namespace.items() if isinstance(value, type) and key[:1] != "_"]
            hint = did_you_mean(getattr(exc, "name", None) or expression, types)
            raise UsageError(f"-o {expression!r} is not a type here: NameError: {exc}{hint}") from None
        except Exception as exc:
            raise UsageError(f"-o {expression!r} is not a type here: {type(exc).__name__}: {exc}") from None

    def _lookup_tools(self, names: str | None) -> list[Callable[..., Any]]:
        tools = []
        for name in filter(None, (part.strip() for part in (names or "").split(","))):
            if not callable(self.namespace.get(name)):
                functions = [key for key, value in self.namespace.items() if callable(value) and key[:1] != "_"]
                hint = did_you_mean(name, functions)
                raise UsageError(f"-t {name}: no function named {name!r} in the notebook{hint or '.'}")
            tools.append(self.namespace[name])
        return tools

    def _stream(
        self, prompt: str, output: Any, tools: list[Any], options: dict[str, Any], fmt: str
    ) -> tuple[Any, Trace]:
        """The reply as it comes: every turn's text (a typed cell: its value filling in), a status line for
        each tool the model calls and its result; then the value as a cell without streaming shows it."""
        from .._commands import ask
        from .._outputs import output_spec
        from .._trace import observing
        from .call_status import opening_line
        from .stream_view import StreamView

        stream = ask.stream(prompt, output=output, tools=tools, **options)
        spec = output_spec(output)
        grown = None if spec.is_text else (lambda: partial_json(stream.partial, spec))
        status = opening_line(call_config(options))
        view = StreamView(as_markdown=fmt == "markdown", status=status, partial_json=grown)
        try:
            with observing(view.observe):
                for kind, item in stream.events():
                    if not isinstance(item, str):
                        view.add_status(tool_line(item))
                    elif kind == "text":
                        view.add(item)
                    else:
                        view.add_thinking(item)
        except KeyboardInterrupt:
            stream.close()
            partial = None if spec.is_text else stream.partial
            kept = view.text if partial is None else partial  # a typed cell's value so far, else the text
            view.finish(shown_bundle(kept, fmt), stream.trace)
            print("Interrupted: the partial reply is kept in _alloy; the trace is marked interrupted.", file=sys.stderr)
            return kept, stream.trace
        except AlloyError:
            view.finish({"text/plain": visible(view.text)}, stream.trace)
            raise
        view.finish(shown_bundle(stream.value, fmt), stream.trace)
        return stream.value, stream.trace

    def _run(self, prompt: str, output: Any, tools: list[Any], options: dict[str, Any], fmt: str) -> tuple[Any, Trace]:
        from .._commands import ask
        from .._trace import observing
        from .call_status import CallStatus

        status = CallStatus(call_config(options))
        try:
            with observing(status.observe):
                value, trace = ask.traced(prompt, output=output, tools=tools, **options)
        except KeyboardInterrupt as interrupt:
            kept: Trace | None = getattr(interrupt, "trace", None)
            if kept is None:  # interrupted before the call started: nothing to keep
                raise
            status.finish({"text/plain": "(interrupted: no reply)"}, kept)
            print("Interrupted: no reply; the trace, marked interrupted, is in _alloy_trace.", file=sys.stderr)
            return None, kept
        except AlloyError as error:
            if error.trace is not None:
                status.finish({"text/plain": f"(failed: {type(error).__name__}, below)"}, error.trace)
            raise
        status.finish(shown_bundle(value, fmt), trace)
        return value, trace

    def _store(self, value: Any, trace: Trace, name: str | None) -> None:
        self.namespace["_alloy"] = value
        self.namespace["_alloy_trace"] = trace
        if name:
            self.namespace[name] = value  # checked before the call ran

    def _remember_exchange(self, prompt: str, trace: Trace) -> None:
        reply = trace.responses[-1].text if trace.responses else ""
        self.chat_history += [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}]
        dropped = max(0, len(self.chat_history) - 2 * self.max_history)
        if dropped:
            del self.chat_history[:dropped]
            print(
                f"--chat keeps the last {self.max_history} exchanges (%config AlloyMagics.max_history): the oldest "
                "is no longer sent, so the model cannot see it.",
                file=sys.stderr,
            )


def tool_line(item: ToolCall | ToolResult) -> str:
    """A streamed cell's line for a tool the model called (`tool add({"a": 2}) running…`) or for its
    result (`tool add → 5`), on one line, its invisible characters shown."""
    if isinstance(item, ToolCall):
        arguments = item.arguments
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False, default=str)
        return visible(f"tool {item.name}({one_line(arguments, 80)}) running…")
    return visible(f"tool {item.name} → {one_line(item.text, 120)}")


def shown_bundle(value: Any, fmt: str) -> dict[str, Any]:
    """A cell's result as shown: a text reply in its format, a typed value as its own display."""
    return text_bundle(value, fmt) if isinstance(value, str) else value_bundle(value)


def partial_json(value: Any, output: OutputSpec) -> str | None:
    """A typed stream's value so far as JSON, or None while there is none yet."""
    return None if value is None else output.dump_json(value)


def call_config(options: dict[str, Any]) -> Any:
    """The settings a cell's call will use (its options without the chat history and images)."""
    from .._config import current

    return current(**{key: value for key, value in options.items() if key not in ("history", "images")})


def check_variable_name(name: str | None) -> None:
    """`--as NAME` must name a variable the notebook can use: an identifier, not a keyword."""
    if name is not None and (not name.isidentifier() or keyword.iskeyword(name)):
        raise UsageError(f"--as {name!r} is not a valid variable name.")
