"""Token log probabilities through the real SDKs, on the demo engine (synthetic) and the embedded model
(from llama.cpp's logits): the tokens spell the reply, alternatives come likeliest first, and at
temperature 0 without a repeat penalty the chosen token is the likeliest."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import ollama
import openai
import pytest

MODEL = "smollm2:135m"
ASK = [{"role": "user", "content": "Name three colours."}]
GREEDY = {"temperature": 0, "repeat_penalty": 1, "num_predict": 16}


@pytest.fixture
def oai(url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=url + "/v1", api_key="ollama", max_retries=0, timeout=60) as client:
        yield client


def check_entries(entries: Sequence[Any], text: str, top: int, *, greedy: bool) -> None:
    """`entries` (SDK objects with token, logprob, top_logprobs and, from the openai SDK, bytes)
    describe `text` token by token."""
    assert entries and "".join(entry.token for entry in entries) == text
    for entry in entries:
        assert (
            entry.logprob <= 0 and bytes(getattr(entry, "bytes", None) or entry.token.encode()).decode() == entry.token
        )
        alternatives = entry.top_logprobs or []
        assert len(alternatives) == top
        ranked = [alternative.logprob for alternative in alternatives]
        assert ranked == sorted(ranked, reverse=True) and math.fsum(math.exp(p) for p in ranked) <= 1 + 1e-6
        if greedy and alternatives:
            assert (alternatives[0].token, alternatives[0].logprob) == (entry.token, entry.logprob)


def test_ollama_chat_logprobs_spell_the_reply_likeliest_first(url: str) -> None:
    reply = ollama.Client(host=url).chat(model=MODEL, messages=ASK, logprobs=True, top_logprobs=5, options=GREEDY)
    assert reply.message.content
    check_entries(reply.logprobs or [], reply.message.content, 5, greedy=True)


def test_each_streamed_ollama_line_carries_the_logprobs_of_its_own_text(url: str) -> None:
    parts = list(
        ollama.Client(host=url).chat(
            model=MODEL, messages=ASK, logprobs=True, top_logprobs=2, stream=True, options=GREEDY
        )
    )
    spoken = [part for part in parts if part.message.content]
    assert len(spoken) > 1
    for part in spoken:
        check_entries(part.logprobs or [], part.message.content or "", 2, greedy=True)
    assert parts[-1].done


def test_ollamas_wire_gives_each_tokens_bytes(url: str) -> None:
    """(ollama-python's models drop `bytes`; Ollama sends them, so do we.)"""
    body = {"model": MODEL, "messages": ASK, "stream": False, "logprobs": True, "top_logprobs": 1, "options": GREEDY}
    reply = httpx.post(url + "/api/chat", json=body, timeout=60).json()
    entries = reply["logprobs"]
    assert b"".join(bytes(entry["bytes"]) for entry in entries).decode() == reply["message"]["content"]
    assert all(
        bytes(entry["top_logprobs"][0]["bytes"]).decode() == entry["top_logprobs"][0]["token"] for entry in entries
    )


def test_without_top_logprobs_each_token_comes_alone(url: str) -> None:
    reply = ollama.Client(host=url).chat(model=MODEL, messages=ASK, logprobs=True, options=GREEDY)
    check_entries(reply.logprobs or [], reply.message.content or "", 0, greedy=True)
    assert all(entry.top_logprobs is None for entry in reply.logprobs or [])  # omitted, as Ollama omits it


def test_no_logprobs_unless_asked(url: str) -> None:
    assert ollama.Client(host=url).chat(model=MODEL, messages=ASK, options=GREEDY).logprobs is None
    body = {"model": MODEL, "messages": ASK, "max_tokens": 8}
    assert "logprobs" not in httpx.post(url + "/v1/chat/completions", json=body, timeout=60).json()["choices"][0]


def test_openai_logprobs_in_choices(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(
        model=MODEL,
        messages=ASK,
        logprobs=True,
        top_logprobs=3,  # type: ignore[arg-type]
        max_tokens=16,
        temperature=0,
    )
    choice = completion.choices[0]
    assert choice.logprobs is not None and choice.message.content
    check_entries(choice.logprobs.content or [], choice.message.content, 3, greedy=False)


def test_openai_streamed_chunks_carry_their_own_logprobs(oai: openai.OpenAI) -> None:
    chunks = list(
        oai.chat.completions.create(
            model=MODEL,
            messages=ASK,
            logprobs=True,
            top_logprobs=0,  # type: ignore[arg-type]
            max_tokens=16,
            temperature=0,
            stream=True,
        )
    )
    spoken = [chunk.choices[0] for chunk in chunks if chunk.choices and chunk.choices[0].delta.content]
    assert len(spoken) > 1
    for choice in spoken:
        assert choice.logprobs is not None
        check_entries(choice.logprobs.content or [], choice.delta.content or "", 0, greedy=False)


@pytest.mark.parametrize("top", [-1, 21])
def test_top_logprobs_out_of_range_is_a_400_on_both_apis(url: str, oai: openai.OpenAI, top: int) -> None:
    with pytest.raises(ollama.ResponseError) as native:
        ollama.Client(host=url).chat(model=MODEL, messages=ASK, logprobs=True, top_logprobs=top)
    assert native.value.status_code == 400 and native.value.error == "top_logprobs must be between 0 and 20"
    with pytest.raises(openai.BadRequestError, match="top_logprobs must be between 0 and 20"):
        oai.chat.completions.create(model=MODEL, messages=ASK, logprobs=True, top_logprobs=top)  # type: ignore[arg-type]


# --- the embedded model only: real logits ------------------------------------------------------


def test_a_stop_string_cuts_the_logprobs_where_it_cuts_the_text(embedded_url: str) -> None:
    client = ollama.Client(host=embedded_url)
    whole = client.chat(model=MODEL, messages=ASK, options=GREEDY).message.content or ""
    stop = whole[len(whole) // 2 : len(whole) // 2 + 3]  # three characters from the middle, likely inside a token
    assert len(stop) == 3 and stop.strip()
    cut = client.chat(model=MODEL, messages=ASK, logprobs=True, options=GREEDY | {"stop": [stop]})
    assert cut.message.content == whole[: whole.index(stop)]
    assert "".join(entry.token for entry in cut.logprobs or []) == cut.message.content


def test_real_logprobs_are_a_distribution_over_the_vocabulary(embedded_url: str) -> None:
    reply = ollama.Client(host=embedded_url).chat(
        model=MODEL, messages=ASK, logprobs=True, top_logprobs=20, options=GREEDY
    )
    for entry in reply.logprobs or []:
        mass = math.fsum(math.exp(alternative.logprob) for alternative in entry.top_logprobs or [])
        assert len(entry.top_logprobs or []) == 20
        assert math.exp(entry.logprob) <= mass <= 1 + 1e-6  # twenty of 49,152 tokens: never more than all of them


def test_a_tool_call_reply_reports_the_logprobs_of_its_tokens(embedded_url: str) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "add",
            "description": "Add two integers.",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
            },
        },
    }
    reply = ollama.Client(host=embedded_url).chat(
        model=MODEL,
        messages=[{"role": "user", "content": "Add 2 and 3 with the add tool."}],
        tools=[tool],
        logprobs=True,
        options={"temperature": 0, "num_predict": 64},
    )
    assert reply.message.tool_calls and reply.message.tool_calls[0].function.name == "add"
    spelled = "".join(entry.token for entry in reply.logprobs or [])
    assert '"add"' in spelled  # the tokens of the call itself, as generated
