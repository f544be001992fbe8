"""Bounds on what one request may hold, each a 400 that names it, through the real SDKs where they
can send it: more messages than any context could take, more stop sequences than decoding should
check each token against."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import ollama
import openai
import pytest

from alloy_nb.server.wire import MAX_MESSAGES, MAX_STOP_SEQUENCES
from alloy_nb.testing import ScriptedEngine, ServerThread

MODEL = "smollm2:135m"


@pytest.fixture
def served() -> Iterator[tuple[str, ScriptedEngine]]:
    engine = ScriptedEngine()
    with ServerThread(engine) as thread:
        yield thread.url, engine


def _messages(count: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": "hi"}] * count


def test_a_chat_of_more_messages_than_the_limit_is_a_400_on_every_chat_api(served) -> None:
    url, engine = served
    with pytest.raises(ollama.ResponseError) as native:
        ollama.Client(host=url).chat(model=MODEL, messages=_messages(MAX_MESSAGES + 1))
    assert native.value.status_code == 400 and f"at most {MAX_MESSAGES} items" in native.value.error
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="ollama", max_retries=0)
    with pytest.raises(openai.BadRequestError) as chat:
        client.chat.completions.create(model=MODEL, messages=_messages(MAX_MESSAGES + 1))  # type: ignore[arg-type]
    items = [{"role": "user", "content": "hi"}] * (MAX_MESSAGES + 1)
    with pytest.raises(openai.BadRequestError) as responses:
        client.responses.create(model=MODEL, input=items)  # type: ignore[arg-type]
    assert all("messages" in str(e.value) or "input" in str(e.value) for e in (chat, responses))
    assert engine.requests == []  # refused before reaching the model


def test_a_chat_at_the_limit_is_answered(served) -> None:
    url, engine = served
    reply = ollama.Client(host=url).chat(model=MODEL, messages=_messages(MAX_MESSAGES))
    assert reply.done and len(engine.requests[-1].messages) == MAX_MESSAGES


def test_more_stop_sequences_than_the_limit_is_a_400_that_names_it(served) -> None:
    url, engine = served
    stops = [f"<stop {n}>" for n in range(MAX_STOP_SEQUENCES + 1)]
    with pytest.raises(ollama.ResponseError) as native:
        ollama.Client(host=url).chat(model=MODEL, messages=_messages(1), options={"stop": stops})
    assert native.value.status_code == 400 and f"the limit is {MAX_STOP_SEQUENCES}" in native.value.error
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="ollama", max_retries=0)
    with pytest.raises(openai.BadRequestError, match=f"the limit is {MAX_STOP_SEQUENCES}"):
        client.chat.completions.create(model=MODEL, messages=_messages(1), stop=stops)  # type: ignore[arg-type]
    generate = httpx.post(
        f"{url}/api/generate", content=json.dumps({"model": MODEL, "prompt": "hi", "options": {"stop": stops}})
    )
    assert generate.status_code == 400 and f"the limit is {MAX_STOP_SEQUENCES}" in generate.json()["error"]
    assert engine.requests == []
    ollama.Client(host=url).chat(model=MODEL, messages=_messages(1), options={"stop": stops[:-1]})
    assert engine.requests[-1].options["stop"] == stops[:-1]  # at the limit: taken whole
