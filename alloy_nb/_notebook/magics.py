"""`%%alloy` (a cell is a prompt) and `%alloy` (help, config, models, picker, traces, compare, serve).

The magics are one IPython `Magics` class assembled by topic:

    magics_state.py     the settings (traitlets) and the state kept between cells
    cell_calls.py       what a %%alloy cell does
    subcommands.py      %alloy config, models, ps, picker, trace, history, log, replay, compare, ...
    server_commands.py  %alloy serve, stop, pull
    magic_flags.py      the flags, their parsing and %alloy help's text (shown by _views/help.py)
"""

from __future__ import annotations

import difflib
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from ..errors import AlloyError, ModelNotFound
from .cell_calls import check_variable_name
from .magic_flags import call_options, help_text, parse_flags
from .prompt_template import interpolate
from .result_view import FORMATS
from .server_commands import ServerCommands
from .subcommands import Subcommands


@magics_class
class AlloyMagics(Subcommands, ServerCommands):
    """The alloy_nb magics; defaults are traitlets, settable with %config or ipython_config.py."""

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
        "--show-prompt",
        action="store_true",
        help="show the exact prompt the model would read (native API), generating nothing",
    )
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
        args = parse_flags(self.alloy, line)
        check_variable_name(args.as_name)  # before the call, not after it has run
        if args.map_name:
            return self._map(args, cell)
        prompt = interpolate(cell, self.namespace, self.errors).strip()
        if not prompt:
            raise UsageError("The cell is empty: write the prompt below %%alloy.")
        output = self._evaluate(args.output) if args.output else str
        tools = self._lookup_tools(args.tools)
        options = self._options(args)
        if args.show_prompt:
            from .._rendering import rendered_prompt

            display(rendered_prompt(prompt, output=output, tools=tools, **options))
            return None
        fmt = args.format or self.default_format
        run = self._run if args.no_stream else self._stream  # every kind of cell streams: -o, -t, --chat
        value, trace = run(prompt, output, tools, options, fmt)
        self._store(value, trace, args.as_name)
        if args.chat:
            self.chat_calls.add(trace.id)
            _show_sent_history(options.get("history", []))
            if trace.status == "ok":
                self._remember_exchange(prompt, trace)
        if args.logprobs is not None:
            display(trace.tokens())
        if args.trace:
            display(trace)
        return None

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
        from .._views.help import help_bundle

        parse_flags(self._cmd_help, rest)
        display(help_bundle(help_text(self.alloy.parser.format_usage().strip(), self.subcommands())), raw=True)

    # --- cell hooks: where the calls come from, and each failed cell's error ----------------

    def note_location(self, info: Any) -> None:
        """pre_run_cell hook: tell the call log which notebook and cell the next calls come from."""
        from .._log.session import set_location

        shell = self.shell
        if shell is not None:
            notebook = shell.user_ns.get("__session__") or os.environ.get("JPY_SESSION_NAME")
            set_location(str(notebook) if notebook else None, f"In[{shell.execution_count - 1}]")  # before it runs

    def record_error(self, result: Any) -> None:
        """post_run_cell hook: remember each failed cell's error for {Err[n]}."""
        error = result.error_in_exec or result.error_before_exec
        if isinstance(error, KeyboardInterrupt):  # a Ctrl-C in `for piece in ask.stream(...)`'s body
            from .._call.streaming import close_open_streams

            close_open_streams()
        if error is not None and result.execution_count is not None:
            self.errors[result.execution_count] = "".join(traceback.format_exception_only(type(error), error)).strip()


def _show_sent_history(history: list[dict[str, str]]) -> None:
    """Under a `--chat` reply: the history sent with it, and what a reply that ignores it means."""
    from .._views.chat import sent_history_html
    from .chat_history import sent_history_note

    note = sent_history_note(history)
    display({"text/plain": note, "text/html": sent_history_html(note.splitlines()[0], history)}, raw=True)


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


def load(shell: Any) -> AlloyMagics:
    """Register the magics, the short error display and the {Err[n]} recorder on `shell`; loaded again
    (`%reload_ext`), the new magics carry on from the old ones, whose hooks are removed."""
    magics = AlloyMagics(shell=shell)
    previous = shell.magics_manager.registry.get(type(magics).__name__)
    if previous is not None:
        magics.take_over(previous)
        for event, hook in (("post_run_cell", previous.record_error), ("pre_run_cell", previous.note_location)):
            if hook in shell.events.callbacks[event]:
                shell.events.unregister(event, hook)
    shell.register_magics(magics)
    shell.set_custom_exc((AlloyError,), short_error)
    shell.events.register("post_run_cell", magics.record_error)
    shell.events.register("pre_run_cell", magics.note_location)
    return magics
