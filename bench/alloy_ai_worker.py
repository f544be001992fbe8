"""The measuring half of `python -m bench alloy-ai`, run by bench/vs_alloy_ai.py in .venv-alloy-ai, where
alloy-ai (import name `alloy`) and alloy_nb share one process and the same SDKs (alloy-ai pins openai<2
and ollama<0.6, which the main venv does not have).

Both libraries get the same commands from one definition (`_commands(library)`), the same model and the
same server (OLLAMA_HOST; alloy-ai's openai_chat path always uses http://localhost:11434/v1). Each case
is checked first: when both libraries return a value, the values must be equal; when alloy-ai raises,
the case is timed for alloy_nb alone and the error is reported. Prints one JSON object on stdout.

    OLLAMA_HOST=http://127.0.0.1:11434 .venv-alloy-ai/bin/python -m bench.alloy_ai_worker --rounds 3 --loops 5
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from types import ModuleType
from typing import Any

import httpx
from pydantic import BaseModel

from bench.servers import EMBEDDED_MODEL
from bench.timing import interleaved

MODEL = f"ollama:{EMBEDDED_MODEL}"
APIS = ("native", "openai_chat")
CASES = {  # key -> label in the results table
    "text": "text (ask)",
    "typed": "typed command (dataclass)",
    "typed pydantic": "typed command (pydantic)",
    "tool": "command with one tool",
}
LIBRARIES = ("alloy_nb", "alloy-ai")


@dataclass
class City:
    """The typed output as a dataclass: alloy-ai 0.3.1 builds JSON schemas for dataclasses and TypedDicts."""

    name: str
    population: int
    coastal: bool


class CityModel(BaseModel):
    """The same typed output as a pydantic model."""

    name: str
    population: int
    coastal: bool


tool_calls = 0


def add(a: int, b: int) -> int:
    """Add two integers."""
    global tool_calls
    tool_calls += 1
    return a + b


def _commands(library: ModuleType) -> dict[str, Callable[[], object]]:
    """The cases, written once against the API both libraries share (`ask`, `command`, `tool`)."""

    @library.command(output=City)
    def describe_city(name: str) -> str:
        return f"Describe the city of {name}."

    @library.command(output=CityModel)
    def describe_city_model(name: str) -> str:
        return f"Describe the city of {name}."

    @library.command(tools=[library.tool(add)])
    def add_numbers(a: int, b: int) -> str:
        return f"Add {a} and {b} with the add tool."

    return {
        "text": lambda: library.ask("What is the capital of Portugal?"),
        "typed": lambda: describe_city("Lisbon"),
        "typed pydantic": lambda: describe_city_model("Lisbon"),
        "tool": lambda: add_numbers(2, 3),
    }


def _configure(api: str) -> None:
    """The same model and strategy in both libraries (commands read the configuration at call time)."""
    import alloy

    import alloy_nb

    alloy_nb.configure(model=MODEL, api=api)
    alloy.configure(model=MODEL, extra={"ollama_api": api})


@contextmanager
def _counting_http() -> Iterator[dict[str, int]]:
    """Count the HTTP requests sent and the httpx clients created inside the block (both SDKs use httpx)."""
    counts = {"requests": 0, "clients": 0}
    send, init = httpx.HTTPTransport.handle_request, httpx.Client.__init__

    def counted_send(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        counts["requests"] += 1
        return send(self, request)

    def counted_init(self: httpx.Client, *args: Any, **kwargs: Any) -> None:
        counts["clients"] += 1
        init(self, *args, **kwargs)

    httpx.HTTPTransport.handle_request, httpx.Client.__init__ = counted_send, counted_init  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        httpx.HTTPTransport.handle_request, httpx.Client.__init__ = send, init  # type: ignore[method-assign]


def _per_call(call: Callable[[], object]) -> dict[str, int]:
    """What one call (after a first, warming one) puts on the wire: requests, new clients, tool runs."""
    global tool_calls
    call()
    tool_calls = 0
    with _counting_http() as counts:
        call()
    return {**counts, "tool_calls": tool_calls}


def _check(api: str, case: str, ours: Callable[[], object], theirs: Callable[[], object]) -> dict[str, Any]:
    """Both libraries' values must be equal; an alloy-ai failure makes the case alloy_nb-only."""
    expected = ours()
    try:
        got = theirs()
    except Exception as error:  # alloy-ai cannot do this case: report it instead of timing it
        return {"alloy_ai_error": f"{type(error).__name__}: {error}"}
    assert got == expected, f"{api} {case}: alloy_nb returned {expected!r}, alloy-ai {got!r}"
    wire = {"alloy_nb": _per_call(ours), "alloy-ai": _per_call(theirs)}
    if case == "tool":
        assert all(w["tool_calls"] == 1 for w in wire.values()), f"{api} tool: one tool run per call expected, {wire}"
    return {"alloy_ai_error": None, "per_call": wire}


def measure(rounds: int, loops: int, warmup: int) -> dict[str, Any]:
    import alloy

    import alloy_nb

    ours, theirs = _commands(alloy_nb), _commands(alloy)
    results: list[dict[str, Any]] = []
    for api in APIS:
        _configure(api)
        checked = {case: _check(api, case, ours[case], theirs[case]) for case in CASES}
        timed: dict[str, Callable[[], object]] = {}
        for case in CASES:
            timed[f"alloy_nb {case}"] = ours[case]
            if checked[case]["alloy_ai_error"] is None:
                timed[f"alloy-ai {case}"] = theirs[case]
        print(f"   {api}: timing {len(timed)} cases", file=sys.stderr, flush=True)
        timings = interleaved(timed, rounds=rounds, loops=loops, warmup=warmup)
        for case, label in CASES.items():
            results.append(
                {
                    "api": api,
                    "case": case,
                    "label": label,
                    **checked[case],
                    "alloy_nb": timings[f"alloy_nb {case}"],
                    "alloy-ai": timings.get(f"alloy-ai {case}"),
                }
            )
    packages = {name: version(name) for name in ("alloy-ai", "alloy_nb", "ollama", "openai", "httpx", "pydantic")}
    return {"python": sys.version.split()[0], "packages": packages, "model": MODEL, "results": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.alloy_ai_worker", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--loops", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.rounds, args.loops, args.warmup)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
