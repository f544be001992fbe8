"""Replies that are JSON but not the API's shape, from a real HTTP server: each is one `ServerError`
saying so, on every strategy, whole or streamed; never a raw `AttributeError` or `TypeError`, and
never a value of the wrong kind let through to fail later (in the context check, in the call log)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from odd_hosts import OddHost
from sample_tools import add
from starlette.responses import JSONResponse, Response

from alloy_nb import ServerError, ask

MODEL = "ollama:m"
_CHAT = {"role": "assistant", "content": "fine"}
_USAGE = {"prompt_tokens": 3, "completion_tokens": 1}
_RESPONSE = {"id": "r", "object": "response", "status": "completed", "model": "m"}

WHOLE: dict[str, list[Any]] = {
    "native": [[1, 2], "text", {"model": "m", "message": {"role": "assistant", "content": 5}, "done": True}],
    "openai_chat": [
        {"choices": [{"index": 0, "message": None, "finish_reason": "stop"}]},
        {"choices": "abc"},
        {"choices": [{"index": 0, "message": {**_CHAT, "tool_calls": [{"id": "1"}]}, "finish_reason": "stop"}]},
        {
            "choices": [{"index": 0, "message": _CHAT, "finish_reason": "stop"}],
            "usage": {**_USAGE, "prompt_tokens": "x"},
        },
        {"choices": [{"index": 0, "message": {**_CHAT, "reasoning": {"a": 1}}, "finish_reason": "stop"}]},
    ],
    "openai_responses": [
        {**_RESPONSE, "output": [None]},
        {**_RESPONSE, "output": "abc"},
        {**_RESPONSE, "output": [{"type": "message", "id": "m", "role": "assistant", "status": "completed"}]},
    ],
}


def _answering(body: Any) -> Callable[[], Response]:
    return lambda: JSONResponse(body)


class _Answers:
    """What the shared odd host answers next (each test sets it)."""

    def __init__(self) -> None:
        self.next: Callable[[], Response] = lambda: Response(status_code=500)

    def __call__(self) -> Response:
        return self.next()


@pytest.fixture(scope="module")
def odd() -> Iterator[tuple[str, _Answers]]:
    """One real server for the module's tests (starting one per test doubled the module's time)."""
    answers = _Answers()
    with OddHost(answers).running() as host:
        yield host.url, answers


@pytest.mark.parametrize(("api", "body"), [(api, body) for api, bodies in WHOLE.items() for body in bodies])
def test_a_whole_reply_of_the_wrong_shape_is_one_server_error(odd: tuple[str, _Answers], api: str, body: Any) -> None:
    url, answers = odd
    answers.next = _answering(body)
    with pytest.raises(ServerError, match=r"not the API's shape|not JSON") as failed:
        ask("Hi.", model=MODEL, host=url, api=api, transient_retries=0)
    assert failed.value.trace.status == "error"


STREAMED = {
    "native": (
        "application/x-ndjson",
        ['{"model":"m","message":{"role":"assistant","content":"a"},"done":false}', "[1, 2]"],
    ),
    "openai_chat": (
        "text/event-stream",
        [
            "data: "
            + json.dumps({"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": None}]}),
            "data: [DONE]",
        ],
    ),
}


@pytest.mark.parametrize("api", list(STREAMED))
def test_a_streamed_piece_of_the_wrong_shape_is_one_server_error(odd: tuple[str, _Answers], api: str) -> None:
    url, answers = odd
    media_type, lines = STREAMED[api]
    separator = "\n" if api == "native" else "\n\n"
    answers.next = lambda: Response(separator.join(lines) + separator, media_type=media_type)
    stream = ask.stream("Hi.", model=MODEL, host=url, api=api, transient_retries=0)
    with pytest.raises(ServerError, match="not the API's shape"):
        "".join(stream)


ENDLESS = {  # a reply's first piece, then the end of the stream, with nothing saying the reply is over
    "native": ("application/x-ndjson", '{"model":"m","message":{"role":"assistant","content":"Par"},"done":false}\n'),
    "openai_chat": (
        "text/event-stream",
        "data: "
        + json.dumps(
            {"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "Par"}}]}
        )
        + "\n\n",
    ),
}


FAILING_MIDWAY = {  # a first piece, then the server's error event
    "native": ("application/x-ndjson", ENDLESS["native"][1] + '{"error":"boom"}\n'),
    "openai_chat": ("text/event-stream", ENDLESS["openai_chat"][1] + 'data: {"error": {"message": "boom"}}\n\n'),
}


@pytest.mark.parametrize(
    ("api", "ending", "message"),
    [
        *((api, ENDLESS[api], "before the reply was complete") for api in ENDLESS),
        *((api, FAILING_MIDWAY[api], "failed in the middle of the reply: boom") for api in FAILING_MIDWAY),
    ],
)
def test_a_stream_cut_short_or_failing_midway_keeps_what_came_and_says_which(
    odd: tuple[str, _Answers], api: str, ending: tuple[str, str], message: str
) -> None:
    """A stream that ends without saying the reply is over is cut short (transient), not the whole
    reply; an error event in the middle reads the same on every strategy."""
    url, answers = odd
    media_type, body = ending
    answers.next = lambda: Response(body, media_type=media_type)
    stream = ask.stream("Name a city.", model=MODEL, host=url, api=api, transient_retries=0)
    with pytest.raises(ServerError, match=message) as failed:
        "".join(stream)
    assert failed.value.transient == ("complete" in message) and stream.trace.status == "error"
    assert stream.trace.responses[-1].text == "Par"  # what arrived is kept


def test_a_streamed_tool_call_whose_id_is_no_text_is_one_server_error(odd: tuple[str, _Answers]) -> None:
    url, answers = odd
    call = {"index": 0, "id": 7, "type": "function", "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'}}
    pieces = [
        {"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"tool_calls": [call]}}]},
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}],
        },
    ]
    body = "".join(f"data: {json.dumps(piece)}\n\n" for piece in pieces) + "data: [DONE]\n\n"
    answers.next = lambda: Response(body, media_type="text/event-stream")
    stream = ask.stream("Add 1 and 2.", tools=[add], model=MODEL, host=url, api="openai_chat", transient_retries=0)
    with pytest.raises(ServerError, match="not the API's shape"):
        "".join(stream)
    assert stream.trace.status == "error"  # finished and logged, not left running


def test_a_setting_the_sdk_cannot_send_is_not_blamed_on_the_server(odd: tuple[str, _Answers]) -> None:
    url, answers = odd
    answers.next = _answering({"model": "m", "message": _CHAT, "done": True})
    with pytest.raises(TypeError, match="Decimal"):  # nothing was sent: the caller's value, as it was
        ask("Hi.", model=MODEL, host=url, extra={"ollama_options": {"seed": Decimal(3)}}, transient_retries=0)
