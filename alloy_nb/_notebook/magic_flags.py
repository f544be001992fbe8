"""The flags of the alloy_nb magics: one definition per call flag, parsed with shell quoting, with a
suggestion for a mistyped flag, and `%alloy help` built from the parsers."""

from __future__ import annotations

import difflib
import json
import re
import shlex
from collections.abc import Callable, Iterable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument

from .._choices import API_CHOICES

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


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
            help="let a thinking model think (alone: on; or off, low, medium, high, max)",
        ),
        argument("--context-length", type=int, metavar="TOKENS", help="context window (num_ctx; native only)"),
        argument("--keep-alive", metavar="DURATION", help='how long the model stays loaded, e.g. "10m" (native only)'),
        argument(
            "--logprobs",
            type=int,
            metavar="N",
            help="show the reply's tokens tinted by probability, each with its N likeliest alternatives (0-20)",
        ),
        argument(
            "--unconstrained",
            action="store_true",
            help="the output schema in the prompt only and no tool-call grammar: the model's own attempt",
        ),
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


def parse_flags(method: Any, line: str) -> Any:
    """Parse a magic's flags with its own parser, split with shell quoting (`-s "Be brief."`, which
    IPython's own splitting would keep in quotes); an unknown flag names the closest known one, and
    no flag is taken for a longer one it begins (`--max-token` is not `--max-tokens`)."""
    method.parser.allow_abbrev = False
    try:
        return method.parser.parse_args(shlex.split(line))
    except UsageError as exc:
        raise UsageError(with_suggestion(str(exc), method.parser)) from None
    except ValueError as exc:  # unbalanced quotes
        raise UsageError(f"Cannot read the options {line!r}: {exc}") from None


def with_suggestion(message: str, parser: Any) -> str:
    """argparse's message, with what to write instead: the closest choice for a value not among a
    flag's choices, an example for a value of the wrong kind, the closest flag for an unknown one."""
    choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if choice:
        return message + did_you_mean(choice[1], re.findall(r"'([^']*)'", choice[2]), quote=True)
    kind = re.search(r"argument (?:-\w/)?(--?[\w-]+): invalid (int|float) value", message)
    if kind:
        example = "200" if kind[2] == "int" else "0.2"
        return f"{message}. {kind[1]} takes a {'whole ' if kind[2] == 'int' else ''}number, e.g. {kind[1]} {example}."
    if "unrecognized arguments" not in message:
        return message
    known = sorted(set(re.findall(r"(?<![\w-])--?[a-z][\w-]*", parser.format_help())))
    for word in message.partition(":")[2].replace(",", " ").split():
        if word.startswith("-"):
            hint = did_you_mean(word.split("=")[0].replace("_", "-"), known)
            if hint:
                return message + hint
    return message


def did_you_mean(word: str, candidates: Iterable[str], *, quote: bool = False) -> str:
    """` Did you mean X?` for the candidate closest to `word`, or nothing when none is close.

    >>> did_you_mean("natve", ["auto", "native", "openai_chat"], quote=True)
    ". Did you mean 'native'?"
    """
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if not close:
        return ""
    return f". Did you mean {close[0]!r}?" if quote else f". Did you mean {close[0]}?"


def help_text(cell_usage: str, subcommands: dict[str, Callable[[str], Any]]) -> str:
    """`%alloy help`: first steps, the %%alloy flags, then one line per subcommand (from the parsers)."""
    lines = [
        "First steps: %alloy serve (the embedded model, if no Ollama runs), then a cell:",
        "    %%alloy -m ollama:smollm2:135m --max-tokens 60",
        "    Name three colours.",
        "",
        *_cell_usage(cell_usage),
        "  %%alloy? shows every flag; the result is in _alloy (and --as NAME), the trace in _alloy_trace.",
        "",
        "Commands:",
    ]
    for name, method in sorted(subcommands.items()):
        lines.append(f"  %alloy {name:<8} {first_sentence(method.parser.description or '')}")  # type: ignore[attr-defined]
    lines.append(
        'Defaults: %config AlloyMagics.default_model = "ollama:smollm2:135m" (also default_api, default_format).'
    )
    return "\n".join(lines)


def _cell_usage(usage: str) -> list[str]:
    """IPython's usage text for the cell magic, as plain lines: no reST `::` marker, `%%alloy` not `%alloy`."""
    lines = [line for line in usage.splitlines() if line.strip() not in ("", "::")]
    return [line.replace("%alloy ", "%%alloy ", 1) if index == 0 else line for index, line in enumerate(lines)]


def first_sentence(text: str) -> str:
    """A docstring's first sentence on one line, without reST markup.

    >>> first_sentence("The call log: searchable; `show ID` opens one. More here.")
    'The call log: searchable; show ID opens one.'
    >>> first_sentence("Send a logged call again.")
    'Send a logged call again.'
    """
    flat = " ".join(text.replace("`", "").split())
    end = flat.find(". ")
    return flat if end < 0 else flat[: end + 1]


def key_value(item: str) -> tuple[str, Any]:
    key, sep, raw = item.partition("=")
    if not sep:
        raise UsageError(f"%alloy config takes key=value pairs, got {item!r}.")
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw
