"""`%%alloy` (a cell is a prompt) and `%alloy` (help, config, models, picker, traces, compare, serve)."""

from __future__ import annotations

import json
import shlex
import sys
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display
from traitlets import Dict, Integer, Unicode

from ..errors import AlloyError
from .prompt_template import interpolate
from .result_view import FORMATS, text_bundle, value_bundle

if TYPE_CHECKING:
    from ..trace import Trace

API_CHOICES = ("auto", "native", "openai_chat")

HELP = """\
%%alloy [options]          the cell is the prompt; {name}, {In[n]}, {Out[n]}, {Err[n]} are filled in
  -m/--model MODEL         ollama:<model> or an alias      --api auto|native|openai_chat
  -o/--output TYPE         a type from the notebook, e.g. Invoice or list[str]
  -t/--tools f,g           functions from the notebook      -s/--system TEXT
  --temperature T  --max-tokens N  --no-stream  --as NAME  --trace  --chat
  -f/--format markdown|text|code|json|html
%alloy help | config [key=value ...] | models | picker | trace [N] [--json] | history
%alloy compare "prompt" | serve [--engine scripted] | stop | pull NAME | reset | alias [NAME ollama:<model>]
The result is in _alloy (and --as NAME), the trace in _alloy_trace.
Defaults: %config AlloyMagics.default_model = "ollama:qwen3:0.6b" (also default_api, default_format, max_history)."""


@magic_arguments()
@argument("-m", "--model", help="ollama:<model> or an alias")
@argument("--api", choices=API_CHOICES, help="which wire API")
@argument("-o", "--output", help="output type, evaluated in the notebook")
@argument("-t", "--tools", help="comma-separated tool names from the notebook")
@argument("-s", "--system", help="system prompt")
@argument("--temperature", type=float)
@argument("--max-tokens", type=int)
@argument("--no-stream", action="store_true", help="wait for the whole reply")
@argument("--as", dest="as_name", help="also store the result in this variable")
@argument("--trace", action="store_true", help="show the trace below the answer")
@argument("-f", "--format", choices=FORMATS, help="how to show a text reply")
@argument("--chat", action="store_true", help="send earlier --chat exchanges as context")
def _cell_arguments(line: str) -> None:
    """%%alloy options."""


@magic_arguments()
@argument("index", nargs="?", type=int, default=-1, help="position in %%alloy history (default: the last)")
@argument("--json", action="store_true", help="the trace as JSON")
def _trace_arguments(line: str) -> None:
    """%alloy trace options."""


@magic_arguments()
@argument("--engine", choices=("llama", "scripted"), help="llama (the embedded model, default when installed) or scripted (a demo model)")
def _serve_arguments(line: str) -> None:
    """%alloy serve options."""


@magics_class
class AlloyMagics(Magics):
    """The alloy_nb magics; defaults are traitlets, settable with %config or ipython_config.py."""

    default_model = Unicode(None, allow_none=True, help="Model for %%alloy cells without -m.").tag(config=True)
    default_api = Unicode("auto", help="auto, native or openai_chat for %%alloy cells without --api.").tag(config=True)
    default_format = Unicode("markdown", help="How %%alloy shows text replies without -f.").tag(config=True)
    max_history = Integer(10, help="Earlier exchanges that --chat sends as context.").tag(config=True)
    aliases = Dict(help="Short model names: {'small': 'ollama:qwen3:0.6b'}.").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.chat_history: list[dict[str, str]] = []
        self.errors: dict[int, str] = {}
        self.local_server: Any = None
        self._host_before_serve: str | None = None

    # --- %%alloy ---------------------------------------------------------------------------

    @line_cell_magic
    def alloy(self, line: str, cell: str | None = None) -> Any:
        """%%alloy runs the cell as a prompt; %alloy SUBCOMMAND manages settings and traces."""
        if cell is None:
            return self._line(line)
        args = _parse(_cell_arguments, line)
        prompt = interpolate(cell, self.shell.user_ns, self.errors).strip()
        if not prompt:
            raise UsageError("The cell is empty: write the prompt below %%alloy.")
        output = self._evaluate(args.output) if args.output else str
        tools = self._lookup_tools(args.tools)
        options = self._options(args)
        fmt = args.format or self.default_format
        streaming = output is str and not tools and not args.no_stream
        value, trace = (self._stream(prompt, options, fmt) if streaming else self._run(prompt, output, tools, options, fmt))
        self._store(value, trace, args.as_name)
        if args.chat and trace.status == "ok":
            self._remember_exchange(prompt, trace)
        if args.trace:
            display(trace)
        return None

    def _options(self, args: Any) -> dict[str, Any]:
        options: dict[str, Any] = {
            "model": self._model(args.model or self.default_model),
            "api": args.api or (self.default_api if self.default_api != "auto" else None),
            "system": args.system,
            "temperature": args.temperature,
            "max_tokens": args.max_tokens,
        }
        if args.chat:
            options["history"] = self.chat_history[-2 * self.max_history :] if self.max_history else []
        return {key: value for key, value in options.items() if value is not None}

    def _model(self, name: str | None) -> str | None:
        if name is None:
            return None
        return self.aliases.get(name, name)

    def _evaluate(self, expression: str) -> Any:
        try:
            return eval(expression, self.shell.user_ns)  # noqa: S307 - the user's own notebook expression
        except Exception as exc:
            raise UsageError(f"-o {expression!r} is not a type here: {type(exc).__name__}: {exc}") from None

    def _lookup_tools(self, names: str | None) -> list[Callable[..., Any]]:
        tools = []
        for name in filter(None, (part.strip() for part in (names or "").split(","))):
            if not callable(self.shell.user_ns.get(name)):
                raise UsageError(f"-t {name}: no function named {name!r} in the notebook.")
            tools.append(self.shell.user_ns[name])
        return tools

    def _stream(self, prompt: str, options: dict[str, Any], fmt: str) -> tuple[Any, Trace]:
        from ..commands import ask
        from .stream_view import StreamView

        stream = ask.stream(prompt, **options)
        view = StreamView(as_markdown=fmt == "markdown")
        try:
            for piece in stream:
                view.add(piece)
        except KeyboardInterrupt:
            stream.close()
            view.finish(text_bundle(view.text, fmt), stream.trace)
            print("Interrupted: the partial reply is kept in _alloy; the trace is marked interrupted.", file=sys.stderr)
            return view.text, stream.trace
        except AlloyError:
            view.finish({"text/plain": view.text}, stream.trace)
            raise
        view.finish(text_bundle(view.text, fmt), stream.trace)
        return view.text, stream.trace

    def _run(self, prompt: str, output: Any, tools: list[Any], options: dict[str, Any], fmt: str) -> tuple[Any, Trace]:
        from ..commands import ask

        try:
            value, trace = ask.traced(prompt, output=output, tools=tools, **options)
        except KeyboardInterrupt as interrupt:
            trace = getattr(interrupt, "trace", None)
            if trace is None:  # interrupted before the call started: nothing to keep
                raise
            print("Interrupted: no reply; the trace, marked interrupted, is in _alloy_trace.", file=sys.stderr)
            return None, trace
        display(text_bundle(value, fmt) if isinstance(value, str) else value_bundle(value), raw=True)
        return value, trace

    def _store(self, value: Any, trace: Trace, name: str | None) -> None:
        self.shell.user_ns["_alloy"] = value
        self.shell.user_ns["_alloy_trace"] = trace
        if name:
            if not name.isidentifier():
                raise UsageError(f"--as {name!r} is not a valid variable name.")
            self.shell.user_ns[name] = value

    def _remember_exchange(self, prompt: str, trace: Trace) -> None:
        reply = trace.responses[-1].text if trace.responses else ""
        self.chat_history += [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}]
        del self.chat_history[: max(0, len(self.chat_history) - 2 * self.max_history)]

    # --- %alloy SUBCOMMAND -------------------------------------------------------------------

    def _line(self, line: str) -> Any:
        command, _, rest = line.strip().partition(" ")
        handler = getattr(self, f"_cmd_{command or 'help'}", None)
        if handler is None:
            raise UsageError(f"Unknown %alloy command {command!r}.\n\n{HELP}")
        return handler(rest.strip())

    def _cmd_help(self, rest: str) -> None:
        print(HELP)

    def _cmd_config(self, rest: str) -> Any:
        from .. import config as alloy_config

        if rest:
            changes = dict(_key_value(item) for item in shlex.split(rest))
            alloy_config.configure(**changes)
        return alloy_config.current()

    def _cmd_models(self, rest: str) -> Any:
        from .. import config as alloy_config
        from .models_table import ModelsTable

        return ModelsTable.read(alloy_config.current())

    def _cmd_picker(self, rest: str) -> Any:
        from .picker import model_picker

        return model_picker()

    def _cmd_trace(self, rest: str) -> Any:
        from ..trace import recent_traces

        args = _parse(_trace_arguments, rest)
        traces = recent_traces()
        try:
            trace = traces[args.index]
        except IndexError:
            raise UsageError(f"There is no trace {args.index}; %alloy history lists {len(traces)}.") from None
        if args.json:
            print(trace.to_json())
            return None
        return trace

    def _cmd_history(self, rest: str) -> None:
        from ..trace import recent_traces

        traces = recent_traces()
        if not traces:
            print("No calls yet.")
        for index, trace in enumerate(traces):
            prompt = _last_user_message(trace)
            print(f"[{index}] {trace.started_at[11:19]} {trace.model} via {trace.strategy} · {trace.status} · {prompt}")

    def _cmd_compare(self, rest: str) -> Any:
        from ..commands import ask
        from .trace_view import compare

        prompt = " ".join(shlex.split(rest))
        if not prompt:
            raise UsageError('%alloy compare needs a prompt: %alloy compare "Why is the sky blue?"')
        traces = []
        for api in ("native", "openai_chat"):
            try:
                traces.append(ask.traced(prompt, api=api).trace)
            except AlloyError as exc:
                traces.append(exc.trace)
        return compare(*traces)

    def _cmd_serve(self, rest: str) -> None:
        from .. import config as alloy_config
        from ..local import start_local_server

        args = _parse(_serve_arguments, rest)
        if self.local_server is not None:
            if self.local_server.is_running():
                print(f"The embedded server is already running at {self.local_server.url}.")
                return
            print(f"The embedded server at {self.local_server.url} has stopped; starting a new one.")
            self.local_server.stop()
        else:
            self._host_before_serve = alloy_config.configured().get("host")
        self.local_server = start_local_server(reuse=False, engine=args.engine)
        print(f"Embedded server running at {self.local_server.url}; alloy_nb now uses it. %alloy stop stops it.")

    def _cmd_stop(self, rest: str) -> None:
        from .. import config as alloy_config

        if self.local_server is None:
            print("No embedded server was started with %alloy serve.")
            return
        self.local_server.stop()
        print(f"Stopped the embedded server at {self.local_server.url}.")
        self.local_server = None
        if self._host_before_serve is None:
            alloy_config.forget("host")
        else:
            alloy_config.configure(host=self._host_before_serve)

    def _cmd_pull(self, rest: str) -> None:
        from .. import config as alloy_config
        from .pull import pull_with_progress

        if not rest:
            raise UsageError("%alloy pull needs a model name, e.g. %alloy pull qwen3:0.6b")
        pull_with_progress(alloy_config.current(), rest.removeprefix("ollama:"))

    def _cmd_reset(self, rest: str) -> None:
        self.chat_history.clear()
        print("Chat history cleared.")

    def _cmd_alias(self, rest: str) -> None:
        parts = rest.split()
        if not parts:
            for name, model in self.aliases.items():
                print(f"{name} → {model}")
            return
        if len(parts) != 2:
            raise UsageError("%alloy alias NAME ollama:<model>")
        from ..config import model_name

        model_name(parts[1])  # rejects anything that is not ollama:<model>
        self.aliases = {**self.aliases, parts[0]: parts[1]}
        print(f"{parts[0]} → {parts[1]}")

    # --- errors ------------------------------------------------------------------------------

    def record_error(self, result: Any) -> None:
        """post_run_cell hook: remember each failed cell's error for {Err[n]}."""
        error = result.error_in_exec or result.error_before_exec
        if error is not None and result.execution_count is not None:
            self.errors[result.execution_count] = "".join(traceback.format_exception_only(type(error), error)).strip()


def short_error(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> list[str]:
    """Show alloy_nb errors as one readable message instead of a traceback through SDK internals."""
    lines = [f"{etype.__name__}: {value}"]
    trace = getattr(value, "trace", None)
    if trace is not None:
        shell.user_ns["_alloy_trace"] = trace
        lines.append("The call's trace is in _alloy_trace (also alloy_nb.last_trace()).")
    print("\n".join(lines), file=sys.stderr)
    return lines


def _parse(arguments: Any, line: str) -> Any:
    """Parse magic flags with shell quoting (`-s "Be brief."`), errors as short UsageErrors."""
    try:
        return arguments.parser.parse_args(shlex.split(line))
    except ValueError as exc:
        raise UsageError(f"Cannot read the options {line!r}: {exc}") from None


def _key_value(item: str) -> tuple[str, Any]:
    key, sep, raw = item.partition("=")
    if not sep:
        raise UsageError(f"%alloy config takes key=value pairs, got {item!r}.")
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


def _last_user_message(trace: Trace) -> str:
    if not trace.requests or not isinstance(trace.requests[0].body, dict):
        return ""
    users = [m for m in trace.requests[0].body.get("messages", []) if m.get("role") == "user"]
    text = str(users[-1].get("content", "")) if users else ""
    return text if len(text) <= 60 else text[:59] + "…"


def load(shell: Any) -> AlloyMagics:
    """Register the magics, the short error display and the {Err[n]} recorder on `shell`."""
    magics = AlloyMagics(shell=shell)
    shell.register_magics(magics)
    shell.set_custom_exc((AlloyError,), short_error)
    shell.events.register("post_run_cell", magics.record_error)
    return magics
