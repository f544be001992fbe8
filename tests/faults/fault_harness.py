"""The fault matrix's vocabulary: a Fault row, what its trace must keep, and the two ways to call.

A row injects one fault for real (scripted server turns, settings, environment, a tool, Ctrl-C),
then both entry points (`ask` from Python, `%%alloy` in an IPython shell) are driven through it
and observed the same way, so the test compares one `Observed` against the row.
"""

from __future__ import annotations

import re
import shlex
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from fault_keeps import PROMPT, Keep

import alloy_nb
from alloy_nb import AlloyError, ask, command
from alloy_nb._tools import Tool
from alloy_nb._trace import Trace
from alloy_nb.testing import ScriptedTurn

Strategy = Literal["native", "openai_chat", "openai_responses"]
Entry = Literal["python", "%%alloy"]
BOTH: tuple[Strategy, ...] = ("native", "openai_chat", "openai_responses")  # every strategy
FOLLOW_UP = "ping"
FOLLOW_UP_REPLY = f"You said: {FOLLOW_UP}"  # the scripted engine's demo answer to an unscripted request
TRACE_POINTER = "The call's trace is in _alloy_trace (also alloy_nb.last_trace())."
_SDK_NAMES = re.compile(r"Traceback|File \"|site-packages|httpx|httpcore|openai\._|ollama\._|pydantic_core")
tool_started = threading.Event()  # set by tools that wait for Ctrl-C


@dataclass(frozen=True)
class Fault:
    """One row of the matrix: the injection, where it applies, and what the user must see and keep.

    `error` None means the call succeeds (the model is told instead); then `message` is matched
    against the tool error in the trace. For KeyboardInterrupt, `message` is what %%alloy prints.
    """

    name: str
    error: type[BaseException] | None
    message: str
    keeps: tuple[Keep, ...]
    turns: tuple[ScriptedTurn, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    model: str | None = None
    output: Any = str
    tools: tuple[Tool, ...] = ()
    stream: bool = False
    interrupt: Literal["request", "tool"] | None = None
    interrupt_after: float = 0.1
    strategies: tuple[Strategy | None, ...] = BOTH
    entries: tuple[Entry, ...] = ("python", "%%alloy")
    value: Any = None
    max_seconds: float = 5.0

    @property
    def status(self) -> str:
        if self.error is None:
            return "ok"
        return "interrupted" if self.error is KeyboardInterrupt else "error"

    def injection(self) -> str:
        """How the fault is injected, in words generated from the row itself (for the report)."""
        parts = [_turn_text(turn) for turn in self.turns]
        parts += [f"{key}={value!r}" for key, value in self.settings.items()]
        parts += [f"env {key}={value}" for key, value in self.env.items()]
        parts += [f"model={self.model!r}"] if self.model else []
        parts += [f"output={getattr(self.output, '__name__', self.output)}"] if self.output is not str else []
        parts += [f"tools={','.join(t.name for t in self.tools)}"] if self.tools else []
        parts += ["streamed"] if self.stream else []
        parts += [f"Ctrl-C (SIGINT) during the {self.interrupt}"] if self.interrupt else []
        return "; ".join(parts)


def _turn_text(turn: ScriptedTurn) -> str:
    """A scripted turn as its non-default fields, long texts by their length, tool calls as `name(arguments)`."""
    defaults = ScriptedTurn()
    shown = []
    for spec in fields(turn):
        value = getattr(turn, spec.name)
        if spec.name == "chunks" or value == getattr(defaults, spec.name):
            continue
        if spec.name == "tool_calls":
            text = "[" + ", ".join(f"{call.name}({call.arguments!r})" for call in value) + "]"
        else:
            text = f"<{len(value):,} characters>" if isinstance(value, str) and len(value) > 40 else repr(value)
        shown.append(f"{spec.name}={text}")
    if turn.chunks and len(turn.chunks) > 1 and turn.chunk_delay:
        shown.append(f"{len(turn.chunks)} chunks")
    return f"ScriptedTurn({', '.join(shown)})"


@dataclass
class Observed:
    """What one entry point showed: the error (or value), the text the user saw, the trace, the time taken."""

    error: BaseException | None
    shown: str
    trace: Trace | None
    value: Any
    seconds: float


def call_python(fault: Fault, api: Strategy | None, ready: Callable[[], bool]) -> Observed:
    """The fault through `ask.traced` / `ask.stream` (or a streaming command, for tools/typed output)."""
    options: dict[str, Any] = {"api": api} if api else {}
    if fault.model:
        options["model"] = fault.model
    stream = None
    started = time.perf_counter()
    try:
        with ctrl_c_when(ready if fault.interrupt else None, fault.interrupt_after):
            if fault.stream:
                stream = _python_stream(fault, options)
                text = "".join(stream)
                value, trace = (text if fault.output is str else stream.value), stream.trace
            else:
                value, trace = ask.traced(PROMPT, output=fault.output, tools=list(fault.tools), **options)
    except (AlloyError, KeyboardInterrupt) as exc:
        trace = stream.trace if stream is not None else getattr(exc, "trace", None)
        return Observed(exc, f"{type(exc).__name__}: {exc}", trace, None, time.perf_counter() - started)
    return Observed(None, "", trace, value, time.perf_counter() - started)


def _python_stream(fault: Fault, options: dict[str, Any]) -> Any:
    if fault.tools or fault.output is not str:
        prompt = command(output=fault.output, tools=list(fault.tools), **options)(lambda: PROMPT)
        return prompt.stream()
    return ask.stream(PROMPT, **options)


_UNSET = object()


def call_magic(
    fault: Fault, api: Strategy | None, shell: Any, read_output: Callable[[], str], ready: Callable[[], bool]
) -> Observed:
    """The fault through a `%%alloy` cell; the trace is whatever `_alloy_trace` holds afterwards."""
    shell.user_ns.update({"_alloy_trace": _UNSET, "_alloy": _UNSET, "FaultOutput": fault.output})
    shell.user_ns.update({t.name: t for t in fault.tools})
    read_output()
    started = time.perf_counter()
    with ctrl_c_when(ready if fault.interrupt else None, fault.interrupt_after):
        result = shell.run_cell(f"%%alloy {magic_flags(fault, api)}\n{PROMPT}")
    seconds = time.perf_counter() - started
    trace, value = shell.user_ns["_alloy_trace"], shell.user_ns["_alloy"]
    return Observed(
        result.error_in_exec,
        read_output(),
        None if trace is _UNSET else trace,
        None if value is _UNSET else value,
        seconds,
    )


def magic_flags(fault: Fault, api: Strategy | None, *, stream: bool | None = None) -> str:
    flags = ["-f", "text"]
    flags += ["--api", api] if api else []
    flags += ["-m", fault.model] if fault.model else []
    flags += ["-o", "FaultOutput"] if fault.output is not str else []
    flags += ["-t", ",".join(t.name for t in fault.tools)] if fault.tools else []
    flags += [] if (fault.stream if stream is None else stream) else ["--no-stream"]
    return shlex.join(flags)


def short_message_problems(fault: Fault, shown: str) -> list[str]:
    """Why %%alloy's output is not one `ErrorType: message` line without internals (empty when it is)."""
    lines = [line for line in shown.splitlines() if line.strip()]
    problems = [f"internals shown: {_SDK_NAMES.search(shown).group()!r}"] if _SDK_NAMES.search(shown) else []
    if fault.error is KeyboardInterrupt:
        pattern = fault.message
    else:
        assert fault.error is not None
        pattern = rf"{fault.error.__name__}: {fault.message}"
    if not lines or not re.fullmatch(pattern, lines[0]):
        problems.append(f"first line {lines[:1]!r} does not match {pattern!r}")
    if set(lines[1:]) - {TRACE_POINTER}:
        problems.append(f"more than the message: {lines[1:]!r}")
    return problems


@contextmanager
def ctrl_c_when(ready: Callable[[], bool] | None, after: float) -> Iterator[None]:
    """Press Ctrl-C `after` seconds once `ready()` holds: a real SIGINT to the main thread, as a kernel
    interrupt sends. (`_thread.interrupt_main()` only lands once a blocking read returns.)

    A Ctrl-C already sent always lands inside the block, never in the test around it.
    """
    if ready is None:
        yield
        return
    done, sent, landed, lock = threading.Event(), threading.Event(), threading.Event(), threading.Lock()
    main = threading.main_thread().ident
    assert main is not None

    def press() -> None:
        deadline = time.monotonic() + 10
        while not ready():
            if done.is_set() or time.monotonic() > deadline:
                return
            time.sleep(0.01)
        time.sleep(after)
        with lock:
            if not done.is_set():
                sent.set()
                signal.pthread_kill(main, signal.SIGINT)

    def on_sigint(signum: int, frame: Any) -> None:
        landed.set()
        signal.default_int_handler(signum, frame)

    previous = signal.signal(signal.SIGINT, on_sigint)
    presser = threading.Thread(target=press, name="ctrl-c", daemon=True)
    presser.start()
    try:
        yield
    finally:
        with lock:
            done.set()
        presser.join()
        try:
            if sent.is_set() and not landed.is_set():
                time.sleep(1.0)  # the signal is on its way: it interrupts this sleep, still inside the block
        finally:
            signal.signal(signal.SIGINT, previous)


def follow_up(entry: Entry, fault: Fault, api: Strategy | None, shell: Any) -> Any:
    """One ordinary call, the same way and in the same mode, after the fault's injection is undone."""
    alloy_nb.reset_configuration()
    options: dict[str, Any] = {"api": api} if api else {}
    if entry == "%%alloy":
        shell.user_ns["_alloy"] = _UNSET
        flags = magic_flags(Fault("follow-up", None, "", ()), api, stream=fault.stream)
        assert shell.run_cell(f"%%alloy {flags}\n{FOLLOW_UP}").success
        return shell.user_ns["_alloy"]
    if fault.stream:
        return "".join(ask.stream(FOLLOW_UP, **options))
    return ask(FOLLOW_UP, **options)
