"""`%alloy` subcommands about settings, models, traces, the call log, replay and compare."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from .._choices import STRATEGIES
from .._visible import visible, visible_json_text
from ..errors import AlloyError
from .cell_calls import CellCalls
from .magic_flags import call_options, did_you_mean, key_value, parse_flags

if TYPE_CHECKING:
    from .._trace import Trace

COMPARE_MAX_TOKENS = 256  # a compare runs its calls one after the other: cap each unless told otherwise


class Subcommands(CellCalls):
    """`%alloy NAME`: each method `_cmd_NAME` has its own parser; its docstring's first line is its summary."""

    @magic_arguments("alloy config")
    @argument("changes", nargs="*", metavar="key=value", help="settings to change, e.g. temperature=0.2")
    def _cmd_config(self, rest: str) -> Any:
        """Show the settings in effect and what set each, or change some (as configure() does)."""
        from .. import _config as alloy_config
        from .settings_view import settings_table

        args = parse_flags(self._cmd_config, rest)
        if args.changes:
            changes = dict(key_value(item) for item in args.changes)
            alloy_config.configure(**changes)
        return settings_table(alloy_config.current())

    @magic_arguments("alloy models")
    def _cmd_models(self, rest: str) -> Any:
        """The models the host has, as a table."""
        from .. import _config as alloy_config

        parse_flags(self._cmd_models, rest)
        from .host_tables import models_table

        return models_table(alloy_config.current())

    @magic_arguments("alloy ps")
    def _cmd_ps(self, rest: str) -> Any:
        """The models the host holds in memory: size, VRAM, context length, when each unloads."""
        from .. import _config as alloy_config
        from .host_tables import running_table

        parse_flags(self._cmd_ps, rest)
        return running_table(alloy_config.current())

    @magic_arguments("alloy picker")
    def _cmd_picker(self, rest: str) -> Any:
        """Widgets to choose the model and the strategy (native / openai_chat / openai_responses)."""
        from .picker import model_picker

        parse_flags(self._cmd_picker, rest)
        if self.picker is not None:  # one live picker: an old one would keep re-reading the host
            self.picker.close()
        self.picker = model_picker()
        return self.picker

    @magic_arguments("alloy chat")
    @argument("-t", "--tools", metavar="NAMES", help="@tool functions the model may call, comma-separated")
    @argument("--system", help="a system prompt sent with every message")
    def _cmd_chat(self, rest: str) -> Any:
        """A chat panel: streamed replies, tool calls inline, what the model saw, the history as a trace."""
        from .chat_panel import chat

        args = parse_flags(self._cmd_chat, rest)
        return chat(self._lookup_tools(args.tools), **({"system": args.system} if args.system else {}))

    @magic_arguments("alloy trace")
    @argument("index", nargs="?", type=int, default=-1, help="position in %%alloy history (default: the last)")
    @argument("--json", action="store_true", help="the trace as JSON")
    def _cmd_trace(self, rest: str) -> Any:
        """A call's trace: every request as sent, every reply, every tool run."""
        from .._trace import recent_traces

        args = parse_flags(self._cmd_trace, rest)
        traces = recent_traces()
        try:
            trace = traces[args.index]
        except IndexError:
            raise UsageError(f"There is no trace {args.index}; %alloy history lists {len(traces)}.") from None
        if args.json:
            print(visible_json_text(trace.to_json()))  # the same JSON, its control characters escaped
            return None
        return trace

    @magic_arguments("alloy history")
    def _cmd_history(self, rest: str) -> None:
        """The recent calls, numbered for %alloy trace N."""
        from .._trace import recent_traces

        parse_flags(self._cmd_history, rest)
        traces = recent_traces()
        if not traces:
            print("No calls yet.")
        for index, trace in enumerate(traces):
            prompt = prompt_line(trace)
            chat = " · --chat" if trace.id in self.chat_calls else ""
            print(
                visible(
                    f"[{index}] {trace.started_at[11:19]} {trace.model} via {trace.strategy} · {trace.status}{chat} "
                    f"· {prompt}"
                )
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
        from .._views.log_table import log_table_html, log_table_text

        args = parse_flags(self._cmd_log, rest)
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

        args = parse_flags(self._cmd_replay, rest)
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
    @argument(
        "--apis",
        metavar="API,API",
        default=",".join(STRATEGIES),
        help=f"the wire APIs side by side, comma-separated (default: {', '.join(STRATEGIES)})",
    )
    @argument("prompt", nargs="*", help="the prompt (quote it, or write it after the flags)")
    def _cmd_compare(self, rest: str) -> Any:
        """The same prompt through each wire API, side by side (each streaming into its column)."""
        from .._commands import ask
        from .._config import current
        from .._strategies import strategy_for
        from .compare_view import CompareProgress
        from .trace_view import compare

        args = parse_flags(self._cmd_compare, rest)
        prompt = " ".join(args.prompt)
        if not prompt:
            raise UsageError('%alloy compare needs a prompt: %alloy compare --max-tokens 40 "Why is the sky blue?"')
        options = {key: value for key, value in self._options(args).items() if key != "api"}
        options.setdefault("max_tokens", COMPARE_MAX_TOKENS)
        sides = compared_apis(args.apis)
        for api in sides:  # a setting one side cannot take (--context-length on openai_chat) fails before any call
            strategy_for(current(api=api, **options))
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
        return compare(*traces)

    @magic_arguments("alloy reset")
    def _cmd_reset(self, rest: str) -> None:
        """Forget the --chat history."""
        parse_flags(self._cmd_reset, rest)
        self.chat_history.clear()
        print("Chat history cleared.")

    @magic_arguments("alloy alias")
    @argument("name", nargs="?", help="the short name")
    @argument("model", nargs="?", help="ollama:<model>")
    def _cmd_alias(self, rest: str) -> None:
        """List the short model names, or add one: %alloy alias small ollama:smollm2:135m."""
        args = parse_flags(self._cmd_alias, rest)
        if args.name is None:
            for name, model in self.aliases.items():
                print(f"{name} → {model}")
            return
        if args.model is None:
            raise UsageError("%alloy alias NAME ollama:<model>")
        from .._config import model_name

        model_name(args.model)  # rejects anything that is not ollama:<model>
        self.aliases = {**self.aliases, args.name: args.model}
        print(f"{args.name} → {args.model}")


def compared_apis(text: str) -> tuple[str, ...]:
    """The `--apis` of `%alloy compare`: two or three distinct strategies.

    >>> compared_apis("native, openai_responses")
    ('native', 'openai_responses')
    """
    apis = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    for name in apis:
        if name not in STRATEGIES:
            known = f"--apis: {name!r} is not a wire API ({', '.join(STRATEGIES)})"
            raise UsageError(known + (did_you_mean(name, STRATEGIES, quote=True) or "."))
    if not 2 <= len(apis) <= len(STRATEGIES):
        raise UsageError(f"--apis takes two or three of {', '.join(STRATEGIES)}, comma-separated.")
    return apis


def prompt_line(trace: Trace) -> str:
    """The call's prompt on one line, cut to 60 characters."""
    text = " ".join(trace.prompt().split())
    return text if len(text) <= 60 else text[:59] + "…"
