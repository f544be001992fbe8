"""The flags of the alloy_nb magics: one definition per call flag, parsed with shell quoting, with a
suggestion for a mistyped flag, and `%alloy help` built from the parsers."""

from __future__ import annotations

import difflib
import json
import re
import shlex
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument

from ..choices import API_CHOICES

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
    known = sorted(set(re.findall(r"(?<![\w-])--?[a-z][\w-]*", parser.format_help())))
    unknown = [word for word in message.replace(",", " ").split() if word.startswith("-")]
    for word in unknown:
        close = difflib.get_close_matches(word.split("=")[0].replace("_", "-"), known, n=1, cutoff=0.6)
        if close:
            return f"{message}. Did you mean {close[0]}?"
    return message


def help_text(cell_usage: str, subcommands: dict[str, Callable[[str], Any]]) -> str:
    """`%alloy help`: first steps, the %%alloy flags, then one line per subcommand (from the parsers)."""
    lines = [
        "First steps: %alloy serve (the embedded model, if no Ollama runs), then a cell:",
        "    %%alloy -m ollama:smollm2:135m --max-tokens 60",
        "    Name three colours.",
        "",
        cell_usage,
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


def key_value(item: str) -> tuple[str, Any]:
    key, sep, raw = item.partition("=")
    if not sep:
        raise UsageError(f"%alloy config takes key=value pairs, got {item!r}.")
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw
