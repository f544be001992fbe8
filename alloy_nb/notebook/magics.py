"""`%%alloy` (a cell is a prompt) and `%alloy` (help, config, models, picker, traces, compare, serve)."""

from __future__ import annotations

import difflib
import json
import os
import re
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

from ..choices import API_CHOICES
from ..errors import AlloyError, ModelNotFound
from .prompt_template import interpolate
from .result_view import FORMATS, text_bundle, value_bundle

if TYPE_CHECKING:
    from ..trace import Trace

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
COMPARE_MAX_TOKENS = 256  # a compare runs two calls one after the other: cap each unless told otherwise


def call_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The flags of one call, shared by `%%alloy` and `%alloy compare` (one definition per flag)."""
    flags: list[Decorator] = [
        argument("-m", "--model", help="ollama:<model> or an alias"),
        argument("--api", choices=API_CHOICES, help="which wire API (auto: gpt-oss -> openai_chat, others native)"),
        argument("-s", "--system", help="system prompt"),
        argument("--temperature", type=float, help="sampling temperature"),
        argument("--max-tokens", type=int, help="stop the reply after this many tokens"),
        argument(
            "--think",
            nargs="?",
            const="true",
            metavar="LEVEL",
            help="let a thinking model think (alone: on; or off, low, medium, high)",
        ),
        argument("--context-length", type=int, metavar="TOKENS", help="context window (num_ctx; native only)"),
        argument("--keep-alive", metavar="DURATION", help='how long the model stays loaded, e.g. "10m" (native only)'),
        argument(
            "--image",
            action="append",
            metavar="PATH_OR_VAR",
            help="an image for a vision model: a notebook variable (bytes, PIL image, path) or a file path; repeatable",
        ),
    ]
    for flag in reversed(flags):
        func = flag(func)
    return func


@magics_class
class AlloyMagics(Magics):
    """The alloy_nb magics; defaults are traitlets, settable with %config or ipython_config.py."""

    default_model = Unicode(None, allow_none=True, help="Model for %%alloy cells without -m.").tag(config=True)
    default_api = Unicode("auto", help="auto, native or openai_chat for %%alloy cells without --api.").tag(config=True)
    default_format = Unicode("markdown", help="How %%alloy shows text replies without -f.").tag(config=True)
    max_history = Integer(10, help="Earlier exchanges that --chat sends as context.").tag(config=True)
    aliases = Dict(help="Short model names: {'small': 'ollama:smollm2:135m'}.").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.chat_history: list[dict[str, str]] = []
        self.chat_calls: set[str] = set()  # ids of the traces of --chat cells, marked in %alloy history
        self.errors: dict[int, str] = {}
        self.local_server: Any = None
        self.picker: Any = None
        self._host_before_serve: str | None = None

    @property
    def namespace(self) -> dict[str, Any]:
        """The notebook's variables."""
        if self.shell is None:
            raise UsageError("The alloy_nb magics need an IPython shell: run %load_ext alloy_nb.")
        user_ns: dict[str, Any] = self.shell.user_ns
        return user_ns

    # --- %%alloy ---------------------------------------------------------------------------

    @magic_arguments()
    @call_options
    @argument("-o", "--output", help="output type, evaluated in the notebook, e.g. Invoice or list[str]")
    @argument("-t", "--tools", help="comma-separated tool functions from the notebook")
    @argument("--no-stream", action="store_true", help="wait for the whole reply")
    @argument("--as", dest="as_name", help="also store the result in this variable")
    @argument("--trace", action="store_true", help="show the trace below the answer")
    @argument("-f", "--format", choices=FORMATS, help="how to show a text reply (default: markdown)")
    @argument("--chat", action="store_true", help="send earlier --chat exchanges as context")
    @argument(
        "--map",
        dest="map_name",
        metavar="NAME",
        help="run the prompt once per element of this notebook list, Series or DataFrame ({item}, {item.field})",
    )
    @line_cell_magic
    def alloy(self, line: str, cell: str | None = None) -> Any:
        """%%alloy runs the cell as a prompt ({name}, {In[n]}, {Out[n]}, {Err[n]} are filled in);
        %alloy SUBCOMMAND manages settings, models, traces and the embedded server (%alloy help)."""
        if cell is None:
            return self._subcommand(line)
        args = _parse(self.alloy, line)
        if args.map_name:
            return self._map(args, cell)
        prompt = interpolate(cell, self.namespace, self.errors).strip()
        if not prompt:
            raise UsageError("The cell is empty: write the prompt below %%alloy.")
        output = self._evaluate(args.output) if args.output else str
        tools = self._lookup_tools(args.tools)
        options = self._options(args)
        fmt = args.format or self.default_format
        streaming = output is str and not tools and not args.no_stream
        value, trace = (
            self._stream(prompt, options, fmt) if streaming else self._run(prompt, output, tools, options, fmt)
        )
        self._store(value, trace, args.as_name)
        if args.chat:
            self.chat_calls.add(trace.id)
            if trace.status == "ok":
                self._remember_exchange(prompt, trace)
        if args.trace:
            display(trace)
        return None

    def _map(self, args: Any, cell: str) -> Any:
        """`%%alloy --map NAME`: the cell's prompt for each element, as one batch shown as a table."""
        from ..commands import ask

        if args.chat:
            raise UsageError("--map and --chat do not go together: each item is a call of its own.")
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
            self._store_as(args.as_name, result)
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
            "model": self._model(args.model or self.default_model),
            "api": args.api or (self.default_api if self.default_api != "auto" else None),
            "system": args.system,
            "temperature": args.temperature,
            "max_tokens": args.max_tokens,
            "think": args.think,
            "context_length": args.context_length,
            "keep_alive": args.keep_alive,
        }
        if args.image:
            options["images"] = [self._image(name) for name in args.image]
        if getattr(args, "chat", False):  # %alloy compare has no --chat
            options["history"] = self.chat_history[-2 * self.max_history :] if self.max_history else []
        return {key: value for key, value in options.items() if value is not None}

    def _image(self, name: str) -> Any:
        """A notebook variable of that name, else the text as a file path."""
        return self.namespace[name] if name.isidentifier() and name in self.namespace else name

    def _model(self, name: str | None) -> str | None:
        if name is None:
            return None
        return str(self.aliases.get(name, name))

    def _evaluate(self, expression: str) -> Any:
        try:
            return eval(expression, self.namespace)
        except Exception as exc:
            raise UsageError(f"-o {expression!r} is not a type here: {type(exc).__name__}: {exc}") from None

    def _lookup_tools(self, names: str | None) -> list[Callable[..., Any]]:
        tools = []
        for name in filter(None, (part.strip() for part in (names or "").split(","))):
            if not callable(self.namespace.get(name)):
                raise UsageError(f"-t {name}: no function named {name!r} in the notebook.")
            tools.append(self.namespace[name])
        return tools

    def _stream(self, prompt: str, options: dict[str, Any], fmt: str) -> tuple[Any, Trace]:
        from ..commands import ask
        from .call_status import opening_line
        from .stream_view import StreamView

        stream = ask.stream(prompt, **options)
        view = StreamView(as_markdown=fmt == "markdown", status=opening_line(_config(options)))
        try:
            for kind, piece in stream.events():
                if kind == "text":
                    view.add(piece)
                else:
                    view.add_thinking(piece)
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
        from ..trace import observing
        from .call_status import CallStatus

        status = CallStatus(_config(options))
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
        status.finish(text_bundle(value, fmt) if isinstance(value, str) else value_bundle(value), trace)
        return value, trace

    def _store(self, value: Any, trace: Trace, name: str | None) -> None:
        self.namespace["_alloy"] = value
        self.namespace["_alloy_trace"] = trace
        if name:
            self._store_as(name, value)

    def _store_as(self, name: str, value: Any) -> None:
        if not name.isidentifier():
            raise UsageError(f"--as {name!r} is not a valid variable name.")
        self.namespace[name] = value

    def _remember_exchange(self, prompt: str, trace: Trace) -> None:
        reply = trace.responses[-1].text if trace.responses else ""
        self.chat_history += [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}]
        del self.chat_history[: max(0, len(self.chat_history) - 2 * self.max_history)]

    # --- %alloy SUBCOMMAND -------------------------------------------------------------------

    def _subcommand(self, line: str) -> Any:
        name, _, rest = line.strip().partition(" ")
        handler = self.subcommands().get(name or "help")
        if handler is None:
            close = difflib.get_close_matches(name, self.subcommands(), n=1)
            hint = f" Did you mean %alloy {close[0]}?" if close else ""
            raise UsageError(f"Unknown %alloy command {name!r}.{hint} %alloy help lists them.")
        return handler(rest.strip())

    def subcommands(self) -> dict[str, Callable[[str], Any]]:
        """`%alloy NAME` -> its method; each has its own parser (its docstring's first line is its summary)."""
        return {name.removeprefix("_cmd_"): getattr(self, name) for name in dir(self) if name.startswith("_cmd_")}

    @magic_arguments("alloy help")
    def _cmd_help(self, rest: str) -> None:
        """What each %alloy command does, and how to start."""
        _parse(self._cmd_help, rest)
        print(help_text(self.subcommands()))

    @magic_arguments("alloy config")
    @argument("changes", nargs="*", metavar="key=value", help="settings to change, e.g. temperature=0.2")
    def _cmd_config(self, rest: str) -> Any:
        """Show the settings in effect, or change some (as configure() does)."""
        from .. import config as alloy_config

        args = _parse(self._cmd_config, rest)
        if args.changes:
            changes = dict(_key_value(item) for item in args.changes)
            alloy_config.configure(**changes)
        return alloy_config.current()

    @magic_arguments("alloy models")
    def _cmd_models(self, rest: str) -> Any:
        """The models the host has, as a table."""
        from .. import config as alloy_config

        _parse(self._cmd_models, rest)
        from .host_tables import models_table

        return models_table(alloy_config.current())

    @magic_arguments("alloy ps")
    def _cmd_ps(self, rest: str) -> Any:
        """The models the host holds in memory: size, VRAM, context length, when each unloads."""
        from .. import config as alloy_config
        from .host_tables import running_table

        _parse(self._cmd_ps, rest)
        return running_table(alloy_config.current())

    @magic_arguments("alloy picker")
    def _cmd_picker(self, rest: str) -> Any:
        """Widgets to choose the model and the strategy (native / openai_chat)."""
        from .picker import model_picker

        _parse(self._cmd_picker, rest)
        if self.picker is not None:  # one live picker: an old one would keep re-reading the host
            self.picker.close()
        self.picker = model_picker()
        return self.picker

    @magic_arguments("alloy trace")
    @argument("index", nargs="?", type=int, default=-1, help="position in %%alloy history (default: the last)")
    @argument("--json", action="store_true", help="the trace as JSON")
    def _cmd_trace(self, rest: str) -> Any:
        """A call's trace: every request as sent, every reply, every tool run."""
        from ..trace import recent_traces

        args = _parse(self._cmd_trace, rest)
        traces = recent_traces()
        try:
            trace = traces[args.index]
        except IndexError:
            raise UsageError(f"There is no trace {args.index}; %alloy history lists {len(traces)}.") from None
        if args.json:
            print(trace.to_json())
            return None
        return trace

    @magic_arguments("alloy history")
    def _cmd_history(self, rest: str) -> None:
        """The recent calls, numbered for %alloy trace N."""
        from ..trace import recent_traces

        _parse(self._cmd_history, rest)
        traces = recent_traces()
        if not traces:
            print("No calls yet.")
        for index, trace in enumerate(traces):
            prompt = _last_user_message(trace)
            chat = " · --chat" if trace.id in self.chat_calls else ""
            print(
                f"[{index}] {trace.started_at[11:19]} {trace.model} via {trace.strategy} · {trace.status}{chat} · {prompt}"
            )

    @magic_arguments("alloy log")
    @argument("words", nargs="*", metavar="QUERY", help="words to find in prompts and replies; or: show ID")
    @argument("-n", type=int, default=20, help="show at most N calls (0: all)")
    @argument("--model", help="only calls to this model")
    @argument("--status", choices=("ok", "error", "interrupted"), help="only calls that ended so")
    @argument("--since", metavar="DURATION", help="only calls from the last 30m, 3h, 1d, 2w")
    def _cmd_log(self, rest: str) -> Any:
        """The call log: calls from this and earlier sessions, searchable; `show ID` opens one."""
        from .. import logs
        from .log_table import log_table_html, log_table_text

        args = _parse(self._cmd_log, rest)
        if args.words[:1] == ["show"]:
            if len(args.words) != 2:
                raise UsageError("%alloy log show takes one call id, e.g. %alloy log show 3f2a9c.")
            try:
                return logs.get(args.words[1])
            except KeyError as exc:
                raise UsageError(str(exc.args[0])) from None
        try:
            calls = logs.search(
                " ".join(args.words) or None, n=args.n, model=args.model, status=args.status, since=args.since
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        display({"text/html": log_table_html(calls), "text/plain": log_table_text(calls)}, raw=True)
        return None

    @magic_arguments("alloy replay")
    @call_options
    @argument("--host", help="send the replay to this Ollama host (default: the configured one, never the logged)")
    @argument("id", help="the logged call's id (from %alloy log)")
    def _cmd_replay(self, rest: str) -> Any:
        """Send a logged call again with the changes given, side by side with a diff. Its tools run only
        where the notebook defines an @tool function of that name; others answer with their logged results."""
        from .. import logs

        args = _parse(self._cmd_replay, rest)
        given = {"model": args.model, "api": args.api}  # not the cell defaults: the logged call's own
        changes = {key: value for key, value in self._options(args).items() if given.get(key, True)}
        if args.host:
            changes["host"] = args.host
        try:
            return logs.replay(args.id, namespace=self.namespace, **changes)
        except KeyError as exc:
            raise UsageError(str(exc.args[0])) from None

    @magic_arguments("alloy compare")
    @call_options
    @argument("prompt", nargs="*", help="the prompt (quote it, or write it after the flags)")
    def _cmd_compare(self, rest: str) -> Any:
        """The same prompt through native and openai_chat, side by side (each streaming into its column)."""
        from ..commands import ask
        from .compare_view import CompareProgress
        from .trace_view import compare

        args = _parse(self._cmd_compare, rest)
        prompt = " ".join(args.prompt)
        if not prompt:
            raise UsageError('%alloy compare needs a prompt: %alloy compare --max-tokens 40 "Why is the sky blue?"')
        options = {key: value for key, value in self._options(args).items() if key != "api"}
        options.setdefault("max_tokens", COMPARE_MAX_TOKENS)
        sides = ("native", "openai_chat")
        progress = CompareProgress(sides)
        traces: list[Trace] = []
        for api in sides:
            progress.start(api)
            stream = ask.stream(prompt, api=api, **options)
            try:
                for piece in stream:
                    progress.add(api, piece)
            except AlloyError as exc:
                progress.done(api, exc.trace, exc)
                traces.append(exc.trace or stream.trace)
                continue
            progress.done(api, stream.trace)
            traces.append(stream.trace)
        progress.finish()
        return compare(traces[0], traces[1])

    @magic_arguments("alloy serve")
    @argument(
        "--engine",
        choices=("llama", "scripted"),
        help="llama (the embedded model, default when installed) or scripted (a demo model)",
    )
    @argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=PATH.gguf",
        help="also serve this GGUF file as NAME (llama engine; repeatable)",
    )
    def _cmd_serve(self, rest: str) -> None:
        """Start the embedded Ollama-compatible server and use it (run this first without Ollama)."""
        from .. import config as alloy_config
        from ..local import start_local_server

        args = _parse(self._cmd_serve, rest)
        if self.local_server is not None:
            if self.local_server.is_running():
                print(f"The embedded server is already running at {self.local_server.url}.")
                return
            print(f"The embedded server at {self.local_server.url} has stopped; starting a new one.")
            self.local_server.stop()
        else:
            self._host_before_serve = alloy_config.configured().get("host")
        self.local_server = start_local_server(reuse=False, engine=args.engine, models=_gguf_models(args.model))
        print(f"Embedded server running at {self.local_server.url}; alloy_nb now uses it. %alloy stop stops it.")

    @magic_arguments("alloy stop")
    def _cmd_stop(self, rest: str) -> None:
        """Stop the server %alloy serve started and go back to the host used before."""
        from .. import config as alloy_config

        _parse(self._cmd_stop, rest)
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

    @magic_arguments("alloy pull")
    @argument(
        "name", nargs="?", help="the model, e.g. qwen3:0.6b (from Ollama's library; the embedded server has its own)"
    )
    def _cmd_pull(self, rest: str) -> None:
        """Download a model to the host, with a progress bar."""
        from .. import config as alloy_config
        from .pull import pull_with_progress

        args = _parse(self._cmd_pull, rest)
        if not args.name:
            raise UsageError(
                "%alloy pull needs a model name, e.g. %alloy pull qwen3:0.6b on Ollama "
                "(the embedded server serves only the GGUF files it was started with)"
            )
        pull_with_progress(alloy_config.current(), args.name.removeprefix("ollama:"))

    @magic_arguments("alloy reset")
    def _cmd_reset(self, rest: str) -> None:
        """Forget the --chat history."""
        _parse(self._cmd_reset, rest)
        self.chat_history.clear()
        print("Chat history cleared.")

    @magic_arguments("alloy alias")
    @argument("name", nargs="?", help="the short name")
    @argument("model", nargs="?", help="ollama:<model>")
    def _cmd_alias(self, rest: str) -> None:
        """List the short model names, or add one: %alloy alias small ollama:smollm2:135m."""
        args = _parse(self._cmd_alias, rest)
        if args.name is None:
            for name, model in self.aliases.items():
                print(f"{name} → {model}")
            return
        if args.model is None:
            raise UsageError("%alloy alias NAME ollama:<model>")
        from ..config import model_name

        model_name(args.model)  # rejects anything that is not ollama:<model>
        self.aliases = {**self.aliases, args.name: args.model}
        print(f"{args.name} → {args.model}")

    # --- errors ------------------------------------------------------------------------------

    def record_error(self, result: Any) -> None:
        """post_run_cell hook: remember each failed cell's error for {Err[n]}."""
        error = result.error_in_exec or result.error_before_exec
        if isinstance(error, KeyboardInterrupt):  # a Ctrl-C in `for piece in ask.stream(...)`'s body
            from ..call.streaming import close_open_streams

            close_open_streams()
        if error is not None and result.execution_count is not None:
            self.errors[result.execution_count] = "".join(traceback.format_exception_only(type(error), error)).strip()


def _gguf_models(specs: list[str]) -> dict[str, str]:
    """`--model NAME=PATH.gguf` flags as a mapping; a flag without `=` is a usage error."""
    models = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise UsageError(f"--model {spec!r}: write it as NAME=PATH.gguf, e.g. --model tiny=models/tiny.gguf")
        models[name] = path
    return models


def short_error(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> list[str]:
    """Show alloy_nb errors as one readable message instead of a traceback through SDK internals."""
    message = str(value)
    if isinstance(value, ModelNotFound):  # inside a cell: -m, not model=; %alloy serve, not the shell command
        message = message.replace("with model='ollama:<name>'", "with -m ollama:<name> (%alloy models lists them)")
        message = message.replace("`alloy-nb serve --model", "`%alloy stop` then `%alloy serve --model")
    lines = [f"{etype.__name__}: {message}"]
    trace = getattr(value, "trace", None)
    if trace is not None:
        shell.user_ns["_alloy_trace"] = trace
        lines.append("The call's trace is in _alloy_trace (also alloy_nb.last_trace()).")
    print("\n".join(lines), file=sys.stderr)
    return lines


def _parse(method: Any, line: str) -> Any:
    """Parse a magic's flags with its own parser, split with shell quoting (`-s "Be brief."`, which
    IPython's own splitting would keep in quotes); an unknown flag names the closest known one, and
    no flag is taken for a longer one it begins (`--max-token` is not `--max-tokens`)."""
    method.parser.allow_abbrev = False
    try:
        return method.parser.parse_args(shlex.split(line))
    except UsageError as exc:
        raise UsageError(_with_suggestion(str(exc), method.parser)) from None
    except ValueError as exc:  # unbalanced quotes
        raise UsageError(f"Cannot read the options {line!r}: {exc}") from None


def _with_suggestion(message: str, parser: Any) -> str:
    known = sorted(set(re.findall(r"(?<![\w-])--?[a-z][\w-]*", parser.format_help())))
    unknown = [word for word in message.replace(",", " ").split() if word.startswith("-")]
    for word in unknown:
        close = difflib.get_close_matches(word.split("=")[0].replace("_", "-"), known, n=1, cutoff=0.6)
        if close:
            return f"{message}. Did you mean {close[0]}?"
    return message


def help_text(subcommands: dict[str, Callable[[str], Any]]) -> str:
    """`%alloy help`: first steps, the %%alloy flags, then one line per subcommand (from the parsers)."""
    lines = [
        "First steps: %alloy serve (the embedded model, if no Ollama runs), then a cell:",
        "    %%alloy -m ollama:smollm2:135m --max-tokens 60",
        "    Name three colours.",
        "",
        AlloyMagics.alloy.parser.format_usage().strip(),
        "  %alloy? shows every flag; the result is in _alloy (and --as NAME), the trace in _alloy_trace.",
        "",
        "Commands:",
    ]
    for name, method in sorted(subcommands.items()):
        summary = (method.parser.description or "").strip().splitlines()[0]  # type: ignore[attr-defined]
        lines.append(f"  %alloy {name:<8} {summary}")
    lines.append(
        'Defaults: %config AlloyMagics.default_model = "ollama:smollm2:135m" (also default_api, default_format).'
    )
    return "\n".join(lines)


def _config(options: dict[str, Any]) -> Any:
    """The settings a cell's call will use (its options without the chat history and images)."""
    from ..config import current

    return current(**{key: value for key, value in options.items() if key not in ("history", "images")})


def _key_value(item: str) -> tuple[str, Any]:
    key, sep, raw = item.partition("=")
    if not sep:
        raise UsageError(f"%alloy config takes key=value pairs, got {item!r}.")
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


def _last_user_message(trace: Trace) -> str:
    text = trace.prompt()
    return text if len(text) <= 60 else text[:59] + "…"


def load(shell: Any) -> AlloyMagics:
    """Register the magics, the short error display and the {Err[n]} recorder on `shell`."""
    magics = AlloyMagics(shell=shell)
    shell.register_magics(magics)
    shell.set_custom_exc((AlloyError,), short_error)
    shell.events.register("post_run_cell", magics.record_error)
    shell.events.register("pre_run_cell", lambda info: _note_location(shell))
    return magics


def _note_location(shell: Any) -> None:
    """Tell the call log which notebook and cell the next calls come from."""
    from ..log.session import set_location

    notebook = shell.user_ns.get("__session__") or os.environ.get("JPY_SESSION_NAME")
    set_location(
        str(notebook) if notebook else None, f"In[{shell.execution_count - 1}]"
    )  # counted before the cell runs
