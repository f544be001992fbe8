"""`/api/generate` through the real ollama SDK, on the demo engine and the embedded model: streamed or
not, a system prompt, a JSON schema, raw prompts, options, keep_alive, logprobs; and Ollama's 400s
for what a 135M text model cannot do."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import httpx
import ollama
import pytest
from pydantic import BaseModel

from alloy_nb.testing import ScriptedServer

MODEL = "smollm2:135m"
SHORT = {"temperature": 0, "num_predict": 12}
PIXEL = base64.b64encode(bytes.fromhex("89504e470d0a1a0a")).decode()


class Colour(BaseModel):
    name: str
    warm: bool


def client(url: str) -> ollama.Client:
    return ollama.Client(host=url, timeout=60)


def test_a_reply_with_counts_and_durations(url: str) -> None:
    reply = client(url).generate(model=MODEL, prompt="Say hello.", options=SHORT)
    assert reply.response and reply.done and reply.done_reason in ("stop", "length") and reply.model == MODEL
    assert (reply.prompt_eval_count or 0) > 0 and (reply.eval_count or 0) > 0
    assert (reply.total_duration or 0) >= (reply.eval_duration or 0) > 0


def test_a_streamed_reply_comes_in_response_pieces_then_done(url: str) -> None:
    whole = client(url).generate(model=MODEL, prompt="Name a fruit.", options=SHORT).response
    parts = list(client(url).generate(model=MODEL, prompt="Name a fruit.", options=SHORT, stream=True))
    assert len(parts) > 2 and not any(part.done for part in parts[:-1]) and parts[-1].done
    assert "".join(part.response or "" for part in parts) == whole  # temperature 0: the same reply either way
    assert parts[-1].response == "" and (parts[-1].eval_count or 0) > 0


def test_the_system_prompt_is_read_before_the_prompt(url: str, server: ScriptedServer) -> None:
    system = "You are a terse assistant. Answer every question in French, in five words or fewer, and never explain."
    plain = client(url).generate(model=MODEL, prompt="Hi", options=SHORT)
    briefed = client(url).generate(model=MODEL, prompt="Hi", system=system, options=SHORT)
    # (SmolLM2's template puts a shorter system prompt of its own where none is given)
    assert (briefed.prompt_eval_count or 0) > (plain.prompt_eval_count or 0)
    if url == server.url:
        assert server.requests[-1].messages == [
            {"role": "system", "content": system},
            {"role": "user", "content": "Hi"},
        ]


def test_format_schema_constrains_the_response(url: str) -> None:
    reply = client(url).generate(
        model=MODEL,
        prompt="Describe the colour red.",
        format=Colour.model_json_schema(),
        options={"temperature": 0, "num_predict": 48},
    )
    Colour.model_validate_json(reply.response)


def test_a_raw_prompt_is_sent_without_the_chat_template(url: str, server: ScriptedServer) -> None:
    prompt = "The capital of France is"
    raw = client(url).generate(model=MODEL, prompt=prompt, raw=True, options=SHORT)
    assert raw.response
    if url == server.url:
        assert server.requests[-1].raw and server.requests[-1].messages == [{"role": "user", "content": prompt}]
    else:
        templated = client(url).generate(model=MODEL, prompt=prompt, options=SHORT)
        assert raw.prompt_eval_count == 5  # "The", " capital", " of", " France", " is": the prompt's tokens only
        assert (templated.prompt_eval_count or 0) > 20


def test_num_predict_bounds_the_reply(embedded_url: str) -> None:
    reply = client(embedded_url).generate(
        model=MODEL, prompt="Tell me a long story.", options={"num_predict": 3, "temperature": 0}
    )
    assert reply.eval_count == 3 and reply.done_reason == "length"


def test_logprobs_spell_the_response(url: str) -> None:
    reply = client(url).generate(
        model=MODEL, prompt="Name a colour.", logprobs=True, top_logprobs=2, options=SHORT | {"repeat_penalty": 1}
    )
    entries = reply.logprobs or []
    assert entries and "".join(entry.token for entry in entries) == reply.response
    assert all(entry.top_logprobs and entry.top_logprobs[0].token == entry.token for entry in entries)


def test_no_prompt_loads_the_model_and_keep_alive_0_unloads_it(url: str) -> None:
    loaded = client(url).generate(model=MODEL)
    assert (loaded.done, loaded.done_reason, loaded.response) == (True, "load", "")
    assert MODEL in running(url)
    unloaded = client(url).generate(model=MODEL, keep_alive=0)
    assert unloaded.done_reason == "unload" and MODEL not in running(url)


def test_a_chat_without_messages_loads_the_model_too(url: str) -> None:
    reply = client(url).chat(model=MODEL, keep_alive="2m")
    assert (reply.done, reply.done_reason, reply.message.content) == (True, "load", "")
    assert running(url)[MODEL] < datetime.now(timezone.utc) + timedelta(minutes=3)


@pytest.mark.parametrize(
    ("keep", "expected"), [("10m", timedelta(minutes=10)), (3600, timedelta(hours=1)), ("1h30m", timedelta(minutes=90))]
)
def test_keep_alive_sets_when_the_model_unloads(url: str, keep: str | int, expected: timedelta) -> None:
    client(url).generate(model=MODEL, prompt="Hi", keep_alive=keep, options=SHORT)
    expires = running(url)[MODEL]
    assert abs(expires - (datetime.now(timezone.utc) + expected)) < timedelta(seconds=30)


def test_a_negative_keep_alive_keeps_the_model_loaded_for_good(url: str) -> None:
    client(url).generate(model=MODEL, keep_alive=-1)
    assert running(url)[MODEL] > datetime.now(timezone.utc) + timedelta(days=365 * 100)


def test_an_invalid_keep_alive_is_a_400(url: str) -> None:
    with pytest.raises(ollama.ResponseError, match="invalid keep_alive 'soon'") as error:
        client(url).generate(model=MODEL, prompt="Hi", keep_alive="soon")
    assert error.value.status_code == 400


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"suffix": "    return total"}, f"registry.ollama.ai/library/{MODEL} does not support insert"),
        ({"images": [PIXEL]}, "this model is missing data required for image input"),
        ({"think": True}, f'"{MODEL}" does not support thinking'),
    ],
)
def test_what_a_small_text_model_cannot_do_is_a_400_in_ollamas_words(url: str, extra: dict, message: str) -> None:
    with pytest.raises(ollama.ResponseError) as error:
        client(url).generate(model=MODEL, prompt="def add(a, b):", **extra)
    assert (error.value.status_code, error.value.error) == (400, message)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"raw": True, "system": "Be brief."}, "raw mode does not support template, system, or context"),
        ({"template": "{{ .Prompt }}"}, "template is not supported"),
        ({"context": [1, 2, 3]}, "context (token ids of an earlier reply, deprecated by Ollama) is not supported"),
    ],
)
def test_what_this_server_cannot_honour_is_a_400_that_says_so(url: str, extra: dict, message: str) -> None:
    reply = httpx.post(url + "/api/generate", json={"model": MODEL, "prompt": "Hi", "stream": False} | extra)
    assert reply.status_code == 400 and reply.json()["error"].startswith(message)


def test_an_unknown_model_is_a_404(url: str) -> None:
    with pytest.raises(ollama.ResponseError) as error:
        client(url).generate(model="missing:1b", prompt="Hi")
    assert error.value.status_code == 404 and "not found" in error.value.error


def running(url: str) -> dict[str, datetime]:
    """`/api/ps`: the loaded models and when each unloads."""
    return {model.model or "": model.expires_at for model in client(url).ps().models if model.expires_at}
