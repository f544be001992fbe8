"""The fault matrix: every fault injected for real, through both strategies and both entry points.

Each row says what the user must see (error type and message) and what the trace must keep;
after each fault one more ordinary call proves the adapter is still usable.
"""

from __future__ import annotations

import re
import socket
import time

import pytest
from fault_harness import (
    FOLLOW_UP_REPLY,
    Entry,
    Fault,
    Observed,
    Strategy,
    call_magic,
    call_python,
    follow_up,
    short_message_problems,
    tool_started,
)
from fault_keeps import (
    CAP_NOTE,
    CUT_OFF,
    FINALIZE,
    NO_REPLY,
    NOTHING_SENT,
    REQUEST,
    Keep,
    Outcome,
    counts,
    error_mentions,
    partial_text,
    reply_text,
    retried,
    tool_event,
)
from sample_tools import add
from sample_types import Invoice
from wire_shapes import tool_result_texts

import alloy_nb
from alloy_nb import (
    CommandError,
    ConfigurationError,
    ModelNotFound,
    OllamaUnavailable,
    ServerError,
    ToolLoopLimitExceeded,
    tool,
)
from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@tool
def explode() -> str:
    """Always fails."""
    raise RuntimeError("disk on fire")


@tool(timeout=0.3)
def stall(seconds: float) -> str:
    """Sleep (abandoned after 0.3 s)."""
    time.sleep(seconds)
    return "woke up"


@tool
def nap(seconds: float) -> str:
    """Sleep (no limit of its own)."""
    time.sleep(seconds)
    return "woke up"


@tool
def wait_for_ctrl_c() -> str:
    """Block until interrupted."""
    tool_started.set()
    time.sleep(10)
    return "never interrupted"


@tool
def dump() -> str:
    """A 3 MB result."""
    return "r" * 3_000_000


STORY = "".join(f"w{i} " for i in range(200))
TYPED_STORY = f'{{"number": "{STORY}", "total": 1}}'
HUGE = "x" * 10_000_000
RECOVERED = "recovered"
REFUSED_HOST = f"http://127.0.0.1:{_closed_port()}"
NO_SUCH_HOST = "http://alloy-nb-no-such-host.invalid:11434"
CLOSED = "before the reply was complete. Retry; if it keeps happening, check the server's log"
NOT_OLLAMA = r"Is OLLAMA_HOST pointing at an Ollama server\?"
INTERRUPTED = r"Interrupted: .*trace.* interrupted.*"
LOOPBACK = r"http://127\.0\.0\.1:\d+"
QUICK = {"retry_backoff": 0.02}  # transient faults are retried: keep the waits short

FAULTS: tuple[Fault, ...] = (
    Fault(
        "connection refused",
        OllamaUnavailable,
        rf"No Ollama server at {REFUSED_HOST}\. Start `ollama serve`, or run `alloy-nb serve`.*set OLLAMA_HOST.*",
        (REQUEST, NO_REPLY),
        settings={"host": REFUSED_HOST},
    ),
    Fault(
        "connection refused, streamed",
        OllamaUnavailable,
        rf"No Ollama server at {REFUSED_HOST}\. Start `ollama serve`.*",
        (REQUEST, NO_REPLY),
        settings={"host": REFUSED_HOST},
        stream=True,
    ),
    Fault(
        "host name does not resolve",
        OllamaUnavailable,
        rf"The host name in {NO_SUCH_HOST} does not resolve\. Check OLLAMA_HOST \(or host=\.\.\.\) for a typo.*",
        (REQUEST, NO_REPLY),
        settings={"host": NO_SUCH_HOST},
    ),
    Fault(
        "server hangs (read timeout)",
        ServerError,
        rf"The server at {LOOPBACK} did not answer within 0\.5s\. .*retry, or raise the limit with configure\(timeout=\.\.\.\)\.",
        (REQUEST, NO_REPLY, retried(2)),
        turns=(Reply(text="late", delay=3),) * 3,
        settings={"timeout": 0.5, **QUICK},
        max_seconds=3,
    ),
    Fault(
        "server hangs (read timeout), streamed",
        ServerError,
        rf"The server at {LOOPBACK} did not answer within 0\.5s\. .*",
        (REQUEST, NO_REPLY, retried(2)),
        turns=(Reply(text="late", delay=3),) * 3,
        settings={"timeout": 0.5, **QUICK},
        stream=True,
        max_seconds=3,
    ),
    Fault(
        "server closes mid-stream",
        ServerError,
        rf"The server at {LOOPBACK} closed the connection {CLOSED}.*",
        (REQUEST, partial_text(STORY), error_mentions("closed the connection"), retried(0)),
        turns=(Reply(text=STORY, close_after_chunks=3),),
        stream=True,
    ),
    Fault(
        "server closes mid-reply",
        ServerError,
        rf"The server at {LOOPBACK} closed the connection {CLOSED}.*",
        (REQUEST, NO_REPLY, retried(2)),
        turns=(Reply(text=STORY, close_after_chunks=3),) * 3,
        settings=QUICK,
    ),
    Fault(
        "server closes mid-reply, then answers",
        None,
        "",
        (reply_text(RECOVERED), retried(1)),
        turns=(Reply(text=STORY, close_after_chunks=3), Reply(text=RECOVERED)),
        settings=QUICK,
        value=RECOVERED,
    ),
    Fault(
        "HTTP 500",
        ServerError,
        rf"The server at {LOOPBACK} answered HTTP 500: engine exploded\. It failed while answering; retry.*",
        (REQUEST, NO_REPLY, error_mentions("HTTP 500"), retried(0)),
        turns=(Reply(status=500, error="engine exploded"),),
    ),
    Fault(
        "HTTP 500, streamed",
        ServerError,
        rf"The server at {LOOPBACK} answered HTTP 500: engine exploded\. .*retry.*",
        (REQUEST, NO_REPLY, error_mentions("HTTP 500")),
        turns=(Reply(status=500, error="engine exploded"),),
        stream=True,
    ),
    Fault(
        "HTTP 400",
        ServerError,
        rf"The server at {LOOPBACK} answered HTTP 400: bad request\. It refused the request.*",
        (REQUEST, NO_REPLY, retried(0)),
        turns=(Reply(status=400, error="bad request"),),
        settings={"retry": 3, **QUICK},
    ),
    Fault(
        "HTTP 503",
        ServerError,
        rf"The server at {LOOPBACK} answered HTTP 503: overloaded\. It is busy or still loading the model; retry in a moment\.",
        (REQUEST, NO_REPLY, error_mentions("HTTP 503"), retried(2)),
        turns=(Reply(status=503, error="overloaded"),) * 3,
        settings=QUICK,
    ),
    Fault(
        "HTTP 503, streamed",
        ServerError,
        rf"The server at {LOOPBACK} answered HTTP 503: overloaded\. .*retry in a moment\.",
        (REQUEST, NO_REPLY, error_mentions("HTTP 503"), retried(2)),
        turns=(Reply(status=503, error="overloaded"),) * 3,
        settings=QUICK,
        stream=True,
    ),
    Fault(
        "HTTP 503, retries off",
        ServerError,
        rf"The server at {LOOPBACK} answered HTTP 503: overloaded\. .*",
        (REQUEST, NO_REPLY, retried(0)),
        turns=(Reply(status=503, error="overloaded"),),
        settings={"transient_retries": 0},
    ),
    Fault(
        "HTTP 503, then answers",
        None,
        "",
        (reply_text(RECOVERED), retried(1)),
        turns=(Reply(status=503, error="overloaded"), Reply(text=RECOVERED)),
        settings=QUICK,
        value=RECOVERED,
    ),
    Fault(
        "HTTP 502 twice, then answers, streamed",
        None,
        "",
        (reply_text(RECOVERED), retried(2)),
        turns=(Reply(status=502, error="bad gateway"),) * 2 + (Reply(text=RECOVERED),),
        settings=QUICK,
        stream=True,
        value=RECOVERED,
    ),
    Fault(
        "200 with a non-JSON body",
        ServerError,
        rf"The server at {LOOPBACK} answered with a reply that is not JSON, beginning '<html>proxy error</html>'\. "
        rf"{NOT_OLLAMA} A proxy in front of it may want a login first\.",
        (REQUEST, NO_REPLY),
        turns=(Reply(raw_body="<html>proxy error</html>"),),
    ),
    Fault(
        "200 with a non-JSON body, streamed (ndjson)",
        ServerError,
        rf"The server at {LOOPBACK} answered with a reply that is not JSON, beginning '<html>proxy error</html>'\. "
        rf"{NOT_OLLAMA} A proxy in front of it may want a login first\.",
        (REQUEST, NO_REPLY),
        turns=(Reply(raw_body="<html>proxy error</html>"),),
        stream=True,
        strategies=("native",),
    ),
    Fault(
        "200 with a non-JSON body, streamed (SSE)",
        ServerError,
        rf"The server at {LOOPBACK} sent no valid chunks: the stream ended without text or a final chunk\. {NOT_OLLAMA} "
        r"Retry without streaming to see the raw reply\.",
        (REQUEST, NO_REPLY),
        turns=(Reply(raw_body="<html>proxy error</html>"),),
        stream=True,
        strategies=("openai_chat",),
    ),
    Fault(
        "model not on the host (404)",
        ModelNotFound,
        rf"Model 'no-such-model:7b' is not available at {LOOPBACK}\. Models there: .*smollm2:135m.*"
        r"The embedded server serves only these; serve a GGUF file as well with "
        r"(`alloy-nb serve|`%alloy stop` then `%alloy serve) --model no-such-model:7b=PATH\.gguf`, or choose one of those with "
        r"(model='ollama:<name>'|-m ollama:<name> \(%alloy models lists them\))\.",
        (REQUEST, NO_REPLY),
        model="ollama:no-such-model:7b",
    ),
    Fault(
        "unknown ollama_api",
        ConfigurationError,
        r"Environment variable ALLOY_EXTRA_JSON='\{\"ollama_api\": \"responses\"\}' is invalid: "
        r"extra\['ollama_api'\] is 'responses'; allowed values are 'auto', 'native', 'openai_chat' or "
        r"'openai_responses'\. Did you mean 'openai_responses'\?",
        (NOTHING_SENT,),
        env={"ALLOY_EXTRA_JSON": '{"ollama_api": "responses"}'},
        strategies=(None,),
    ),
    Fault(
        "model string without ollama:",
        ConfigurationError,
        r"Model 'llama3\.1:8b' is not an Ollama model string\. Use 'ollama:<model>', for example 'ollama:llama3\.1:8b'.*",
        (NOTHING_SENT,),
        model="llama3.1:8b",
        entries=("python",),
    ),  # %%alloy -m llama3.1:8b means ollama:
    Fault(
        "native-only option on openai_chat",
        ConfigurationError,
        r"extra\['ollama_options'\] \(num_ctx\) only exist on Ollama's native API, and this call uses openai_chat "
        r"\(model 'ollama:smollm2:135m'\)\. Remove them, or pass api='native'\.",
        (NOTHING_SENT,),
        settings={"extra": {"ollama_options": {"num_ctx": 8192}}},
        strategies=("openai_chat",),
    ),
    *(
        Fault(
            f"reply not JSON, finalize fails too{', streamed' if stream else ''}",
            CommandError,
            r"Even after one finalize turn: Failed to parse the model's output as int: the reply is not JSON\. "
            r"Raw reply: 'still prose'\. A larger model or a simpler output type may follow the schema better\.",
            (REQUEST, FINALIZE, reply_text("still prose")),
            turns=(Reply(text="I think forty-two"), Reply(text="still prose")),
            output=int,
            stream=stream,
        )
        for stream in (False, True)
    ),
    Fault(
        "reply not JSON, no finalize",
        CommandError,
        r"Failed to parse the model's output as int: the reply is not JSON\. Raw reply: 'I think forty-two'\. "
        r"Turn auto_finalize_missing_output on to ask once more for the answer in the schema\.",
        (REQUEST, counts(1, 1, 0), reply_text("I think forty-two")),
        turns=(Reply(text="I think forty-two"),),
        output=int,
        settings={"auto_finalize_missing_output": False},
    ),
    *(
        Fault(
            f"reply does not validate, finalize fails too{', streamed' if stream else ''}",
            CommandError,
            r"Even after one finalize turn: Failed to parse the model's output as Invoice: total: Field required\. "
            r"Raw reply: '\{\"number\": \"A2\"\}'\. A larger model.*",
            (REQUEST, FINALIZE, reply_text('{"number": "A2"}')),
            turns=(Reply(text='{"number": "A1"}'), Reply(text='{"number": "A2"}')),
            output=Invoice,
            stream=stream,
        )
        for stream in (False, True)
    ),
    Fault(
        "reply does not validate, finalize answers, streamed",
        None,
        "",
        (REQUEST, FINALIZE, reply_text('{"number": "A2", "total": 2}')),
        turns=(Reply(text='{"number": "A1"}'), Reply(text='{"number": "A2", "total": 2}')),
        output=Invoice,
        stream=True,
        value=Invoice(number="A2", total=2),
    ),
    Fault(
        "reply does not validate, no finalize",
        CommandError,
        r"Failed to parse the model's output as Invoice: total: Field required\. Raw reply: '\{\"number\": \"A1\"\}'\. "
        r"Turn auto_finalize_missing_output on.*",
        (REQUEST, counts(1, 1, 0)),
        turns=(Reply(text='{"number": "A1"}'),),
        output=Invoice,
        settings={"auto_finalize_missing_output": False},
    ),
    Fault(
        "reply cut by the token limit",
        CommandError,
        r"Failed to parse the model's output as int: the reply is not JSON\. Raw reply: '\{\"value\": 4'\. "
        r"The reply was cut off by the token limit \(max_tokens=8\) before it was complete: raise max_tokens\.",
        (
            REQUEST,
            CUT_OFF,
            Keep(
                "the limit as sent (max_tokens / max_output_tokens / num_predict)",
                lambda o: (
                    8
                    in (
                        o.trace.requests[0].body.get("max_tokens"),
                        o.trace.requests[0].body.get("max_output_tokens"),
                        o.trace.requests[0].body.get("options", {}).get("num_predict"),
                    )
                ),
            ),
        ),
        turns=(Reply(text='{"value": 4', done_reason="length"),),
        output=int,
        settings={"max_tokens": 8, "auto_finalize_missing_output": False},
    ),
    Fault(
        "reply cut by the token limit: no finalize turn, which could not help",
        CommandError,
        r"Failed to parse the model's output as int: the reply is not JSON\. Raw reply: '\{\"value\"'\. "
        r"The reply was cut off by the token limit \(max_tokens=8\) before it was complete: raise max_tokens\.",
        (REQUEST, counts(1, 1, 0), CUT_OFF),
        turns=(Reply(text='{"value"', done_reason="length"),),
        output=int,
        settings={"max_tokens": 8},
    ),
    Fault(
        "unknown tool",
        None,
        r"There is no tool named 'missing_tool'\. Available tools: add\.",
        (REQUEST, tool_event("missing_tool", "no tool named")),
        turns=(Reply(tool_calls=[Call("missing_tool", {})]), Reply(text=RECOVERED)),
        tools=(add,),
        value=RECOVERED,
    ),
    Fault(
        "unparseable tool arguments",
        None,
        r"Tool 'add': The arguments are not valid JSON \(Expecting .* at position \d+\): '\{\"a\": 1,'",
        (REQUEST, tool_event("add", "not valid JSON")),
        turns=(Reply(tool_calls=[Call("add", '{"a": 1,')]), Reply(text=RECOVERED)),
        tools=(add,),
        value=RECOVERED,
        strategies=("openai_chat",),
    ),
    Fault(
        "tool arguments not an object on the native wire",
        ServerError,
        rf"The server at {LOOPBACK} sent a reply that is not the API's shape \(ValidationError: "
        rf"message\.tool_calls\.0\.function\.arguments: Input should be a valid dictionary\)\. {NOT_OLLAMA}",
        (REQUEST, NO_REPLY),
        turns=(Reply(tool_calls=[Call("add", '{"a": 1,')]),),
        tools=(add,),
        strategies=("native",),
    ),
    Fault(
        "tool arguments fail validation",
        None,
        r"Invalid arguments for tool 'add': a: Input should be a valid integer.*",
        (REQUEST, tool_event("add", "Invalid arguments")),
        turns=(Reply(tool_calls=[Call("add", {"a": "two", "b": 3})]), Reply(text=RECOVERED)),
        tools=(add,),
        value=RECOVERED,
    ),
    Fault(
        "tool raises",
        None,
        r"Tool 'explode' raised RuntimeError: disk on fire",
        (REQUEST, tool_event("explode", "disk on fire")),
        turns=(Reply(tool_calls=[Call("explode", {})]), Reply(text=RECOVERED)),
        tools=(explode,),
        value=RECOVERED,
    ),
    Fault(
        "tool hangs (@tool(timeout=0.3))",
        None,
        r"Tool 'stall' did not finish within 0\.3s and was abandoned \(it may still be running\)\.",
        (REQUEST, tool_event("stall", "did not finish")),
        turns=(Reply(tool_calls=[Call("stall", {"seconds": 3})]), Reply(text=RECOVERED)),
        tools=(stall,),
        value=RECOVERED,
        max_seconds=2,
    ),
    Fault(
        "tool hangs (tool_timeout=0.3)",
        None,
        r"Tool 'nap' did not finish within 0\.3s and was abandoned.*",
        (REQUEST, tool_event("nap", "did not finish")),
        turns=(Reply(tool_calls=[Call("nap", {"seconds": 3})]), Reply(text=RECOVERED)),
        tools=(nap,),
        settings={"tool_timeout": 0.3},
        value=RECOVERED,
        max_seconds=2,
    ),
    Fault(
        "tool loop limit",
        ToolLoopLimitExceeded,
        r"Exceeded the tool-call turn limit \(max_tool_turns=1\): the model still asked for tools \(add\) after 1 tool turns\. Raise max_tool_turns, or make the prompt say when to stop\.",
        (REQUEST, counts(2, 2, 1)),
        turns=(Reply(tool_calls=[Call("add", {"a": 1, "b": 2})]), Reply(tool_calls=[Call("add", {"a": 3, "b": 4})])),
        tools=(add,),
        settings={"max_tool_turns": 1},
    ),
    Fault(
        "Ctrl-C while the server thinks",
        KeyboardInterrupt,
        INTERRUPTED,
        (REQUEST, NO_REPLY),
        turns=(Reply(text="late", delay=5),),
        interrupt="request",
    ),
    Fault(
        "Ctrl-C during streaming",
        KeyboardInterrupt,
        INTERRUPTED,
        (REQUEST, partial_text(STORY)),
        turns=(Reply(text=STORY, chunk_delay=0.05),),
        stream=True,
        interrupt="request",
        interrupt_after=0.3,
    ),
    Fault(
        "Ctrl-C during a typed stream",
        KeyboardInterrupt,
        INTERRUPTED,
        (REQUEST, partial_text(TYPED_STORY)),
        turns=(Reply(text=TYPED_STORY, chunk_delay=0.05),),
        output=Invoice,
        stream=True,
        interrupt="request",
        interrupt_after=0.3,
    ),
    Fault(
        "Ctrl-C during a tool",
        KeyboardInterrupt,
        INTERRUPTED,
        (REQUEST, Keep("the tool event marked interrupted", lambda o: o.trace.tool_events[-1].error == "interrupted")),
        turns=(Reply(tool_calls=[Call("wait_for_ctrl_c", {})]),),
        tools=(wait_for_ctrl_c,),
        interrupt="tool",
    ),
    Fault(
        "streamed tool call cut by the connection",
        ServerError,
        rf"The stream from {LOOPBACK} ended before the reply was complete, while the model was asking for tools "
        r"\(add\): a call cut off may lack arguments, so none was run\. Retry; .*",
        (REQUEST, counts(1, 1, 0), reply_text("Let me ")),
        turns=(Reply(chunks=["Let ", "me "], tool_calls=[Call("add", {"a": 1, "b": 2})], close_after_chunks=3),),
        tools=(add,),
        stream=True,
    ),
    *(
        Fault(
            f"tool call cut by the token limit{', streamed' if stream else ''}",
            CommandError,
            r"The reply was cut off by the token limit \(max_tokens=8\) in the middle of a call to tool 'add': its "
            r"arguments are incomplete JSON, so no tool of that turn was run\. Raise max_tokens\.",
            (REQUEST, counts(1, 1, 0), CUT_OFF),
            turns=(Reply(tool_calls=[Call("add", pieces=['{"a": 1', ', "b": '])], done_reason="length"),),
            tools=(add,),
            settings={"max_tokens": 8},
            stream=stream,
            strategies=("openai_chat",),
        )
        for stream in (False, True)
    ),
    Fault(
        "huge reply (10 MB)",
        None,
        "",
        (
            REQUEST,
            Keep("the reply, capped with a note", lambda o: CAP_NOTE in o.trace.responses[-1].text),
            Keep("a small trace (< 50 kB of JSON)", lambda o: len(o.trace.to_json()) < 50_000),
        ),
        turns=(Reply(chunks=[HUGE[i : i + 1_000_000] for i in range(0, len(HUGE), 1_000_000)]),),
        settings={"trace_max_chars": 1000},
        value=HUGE,
        max_seconds=20,
    ),
    Fault(
        "huge tool result (3 MB)",
        None,
        "",
        (
            REQUEST,
            Keep("the tool result, capped with a note", lambda o: CAP_NOTE in o.trace.tool_events[0].result),
            Keep(
                "the tool message as sent, capped with a note",
                lambda o: CAP_NOTE in tool_result_texts(o.trace.requests[1].body, o.trace.strategy)[0],
            ),
        ),
        turns=(Reply(tool_calls=[Call("dump", {})]), Reply(text=RECOVERED)),
        tools=(dump,),
        settings={"trace_max_chars": 1000},
        value=RECOVERED,
        max_seconds=20,
    ),
)

CASES = [
    pytest.param(fault, api, entry, id=f"{fault.name}-{api or 'any'}-{entry}")
    for fault in FAULTS
    for api in fault.strategies
    for entry in fault.entries
]


@pytest.mark.parametrize(("fault", "api", "entry"), CASES)
def test_fault(
    fault: Fault,
    api: Strategy | None,
    entry: Entry,
    alloy_at_server,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = alloy_at_server
    shell = request.getfixturevalue("shell") if entry == "%%alloy" else None
    for name, value in fault.env.items():
        monkeypatch.setenv(name, value)
    if fault.settings:
        alloy_nb.configure(**fault.settings)
    server.script(*fault.turns)
    tool_started.clear()
    ready = tool_started.is_set if fault.interrupt == "tool" else (lambda: bool(server.engine.requests))
    if entry == "python":
        seen = call_python(fault, api, ready)
    else:
        seen = call_magic(fault, api, shell, lambda: "".join(capsys.readouterr()), ready)

    _assert_shown(fault, entry, seen)
    _assert_kept(fault, seen, Outcome(seen.trace, server.requests))
    assert seen.seconds < fault.max_seconds

    for name in fault.env:
        monkeypatch.delenv(name)
    server.engine.reset()
    assert follow_up(entry, fault, api, shell) == FOLLOW_UP_REPLY


def _assert_shown(fault: Fault, entry: Entry, seen: Observed) -> None:
    """The error (or value) the user got, and its message: one line, the row's pattern, no internals."""
    if fault.error is None:
        assert seen.error is None and seen.value == fault.value
    elif entry == "python" or fault.error is not KeyboardInterrupt:  # %%alloy turns Ctrl-C into a message
        assert isinstance(seen.error, fault.error), seen.shown
    if entry == "%%alloy" and fault.error is not None:
        assert not short_message_problems(fault, seen.shown), short_message_problems(fault, seen.shown)
    elif fault.error not in (None, KeyboardInterrupt):
        assert "\n" not in seen.shown and re.fullmatch(rf"{fault.error.__name__}: {fault.message}", seen.shown), (
            seen.shown
        )


def _assert_kept(fault: Fault, seen: Observed, outcome: Outcome) -> None:
    """The trace's status and error, the tool error the model was told, and every `keeps` check of the row."""
    if NOTHING_SENT not in fault.keeps:
        assert seen.trace is not None and seen.trace.status == fault.status, seen.trace and seen.trace.summary()
        if fault.error not in (None, KeyboardInterrupt):
            assert seen.trace.error is not None and seen.trace.error.type == fault.error.__name__
        if fault.error is None and fault.message:
            assert any(re.fullmatch(fault.message, e.error or "") for e in seen.trace.tool_events)
    for keep in fault.keeps:
        assert keep.check(outcome), f"the trace does not keep {keep.what}"
