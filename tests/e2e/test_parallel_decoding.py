"""Continuous batching on the real model: slots decoded together answer as if alone, and let go.

The engine runs in this process behind a real HTTP server, so the tests can watch its slots;
requests go through the real ollama and openai SDKs and through plain HTTP as other clients send it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading
import time
from collections.abc import Iterator

import httpx
import ollama
import openai
import pytest
from sample_types import City

from alloy_nb.server.embedded_model import served_smollm2
from alloy_nb.server.llama_engine import LlamaCppEngine
from alloy_nb.testing import ServerThread

MODEL = "smollm2:135m"
PROMPTS = [
    "Name a colour.",
    "Say hello to Ada.",
    "What is 2 + 2?",
    "Name a fruit.",
    "Write one word about the sea.",
    "Give a dog's name.",
    "Say something about rain.",
    "Name a city in France.",
]
GREEDY = {"temperature": 0, "num_predict": 24, "seed": 1}


@pytest.fixture(scope="module")
def batched() -> Iterator[ServerThread]:
    engine = LlamaCppEngine({MODEL: served_smollm2()}, parallel=8)
    with ServerThread(engine) as server:
        yield server
    engine.close()


def _engine(server: ServerThread) -> LlamaCppEngine:
    assert isinstance(server.engine, LlamaCppEngine)
    return server.engine


def _chat(url: str, prompt: str, **options: object) -> str:
    reply = ollama.Client(host=url).chat(
        model=MODEL, messages=[{"role": "user", "content": prompt}], options={**GREEDY, **options}
    )
    return reply.message.content or ""


async def _all_at_once(url: str, bodies: list[dict[str, object]]) -> list[dict[str, object]]:
    client = ollama.AsyncClient(host=url)
    replies = await asyncio.gather(*(client.chat(model=MODEL, **body) for body in bodies))  # type: ignore[arg-type]
    return [reply.model_dump() for reply in replies]


def test_eight_concurrent_requests_get_the_text_each_gets_alone(batched: ServerThread) -> None:
    alone = [_chat(batched.url, prompt) for prompt in PROMPTS]
    bodies = [{"messages": [{"role": "user", "content": p}], "options": GREEDY} for p in PROMPTS]
    together = asyncio.run(_all_at_once(batched.url, bodies))
    assert [reply["message"]["content"] for reply in together] == alone
    assert all(reply["eval_count"] > 0 and reply["prompt_eval_count"] > 5 for reply in together)


def test_schema_tool_and_free_text_requests_in_one_batch_all_hold(batched: ServerThread) -> None:
    schema = City.model_json_schema()
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
    bodies: list[dict[str, object]] = [
        {"messages": [{"role": "user", "content": "Describe Paris."}], "format": schema, "options": GREEDY},
        {"messages": [{"role": "user", "content": "Tell me a story."}], "options": GREEDY},
        {"messages": [{"role": "user", "content": "Describe Rome."}], "format": schema, "options": {"num_predict": 64}},
        {"messages": [{"role": "user", "content": "What is 2 + 3? Use the tool."}], "tools": [tool]},
        {
            "messages": [{"role": "user", "content": "Give JSON about a cat."}],
            "format": "json",
            "options": {"temperature": 0, "num_predict": 160},
        },
    ]
    paris, story, rome, added, cat = asyncio.run(_all_at_once(batched.url, bodies))
    City.model_validate_json(paris["message"]["content"])
    City.model_validate_json(rome["message"]["content"])
    assert story["message"]["content"].strip()
    calls = added["message"]["tool_calls"] or []
    assert calls or added["message"]["content"], "a tool reply is calls or text"
    assert "tool_calls" not in (added["message"]["content"] or "")
    assert all(call["function"]["name"] == "add" and set(call["function"]["arguments"]) == {"a", "b"} for call in calls)
    if cat["done_reason"] == "stop":
        assert isinstance(json.loads(cat["message"]["content"]), (dict, list))
    else:  # cut by num_predict: still the start of a JSON value
        assert cat["done_reason"] == "length" and cat["message"]["content"].lstrip()[:1] in "{["


def test_a_cancelled_stream_frees_its_slot_while_the_others_finish(batched: ServerThread) -> None:
    engine = _engine(batched)
    finished: list[dict[str, object]] = []

    def stream_to_end(prompt: str) -> None:
        parts = list(
            ollama.Client(host=batched.url).chat(
                model=MODEL,
                messages=[{"role": "user", "content": prompt}],
                stream=True,
                options={"temperature": 0, "num_predict": 96},
            )
        )
        finished.append(parts[-1].model_dump())

    others = [threading.Thread(target=stream_to_end, args=(p,)) for p in PROMPTS[:3]]
    for thread in others:
        thread.start()
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Write a long story."}],
        "options": {"temperature": 0, "num_predict": 400},
    }
    with httpx.stream("POST", f"{batched.url}/api/chat", json=body, timeout=60) as reply:
        lines = reply.iter_lines()
        for _ in range(3):
            next(lines)
        deadline = time.monotonic() + 10
        while engine.active_slots() < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert engine.active_slots() == 4
    deadline = time.monotonic() + 5
    while engine.active_slots() > 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    still_running = engine.active_slots()
    for thread in others:
        thread.join(60)
    assert still_running <= 3, "the dropped stream still holds a slot"
    assert len(finished) == 3 and all(f["done"] and f["eval_count"] > 0 for f in finished)
    deadline = time.monotonic() + 5
    while engine.active_slots() and time.monotonic() < deadline:  # a slot is freed just after its last event
        time.sleep(0.01)
    assert engine.active_slots() == 0


def test_a_full_queue_answers_503_like_ollama() -> None:
    engine = LlamaCppEngine({MODEL: served_smollm2()}, parallel=1, max_queue=1)
    with ServerThread(engine) as server:
        long = {
            "model": MODEL,
            "messages": [{"role": "user", "content": "Write a long story."}],
            "options": {"temperature": 0, "num_predict": 300},
        }
        with httpx.stream("POST", f"{server.url}/api/chat", json=long, timeout=60) as running:
            lines = running.iter_lines()
            next(lines)  # decoding: the one slot is taken
            waiting = threading.Thread(target=_chat, args=(server.url, "Name a colour."))
            waiting.start()
            deadline = time.monotonic() + 5
            while engine.queued() < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            with pytest.raises(ollama.ResponseError) as refused:
                _chat(server.url, "Name a fruit.")
        waiting.join(60)
    engine.close()
    assert refused.value.status_code == 503
    assert "server busy" in refused.value.error and "maximum pending requests exceeded" in refused.value.error


def test_a_tool_loop_follow_up_reuses_the_slots_memory(batched: ServerThread) -> None:
    client = openai.OpenAI(base_url=f"{batched.url}/v1", api_key="ollama")
    messages: list[dict[str, object]] = [
        {"role": "system", "content": "You are a helpful assistant who answers in one short sentence. " * 8},
        {"role": "user", "content": "What is the weather in Oslo?"},
    ]
    first = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=16, temperature=0)  # type: ignore[arg-type]
    messages += [
        {"role": "assistant", "content": first.choices[0].message.content or ""},
        {"role": "user", "content": "And in Bergen?"},
    ]
    follow_up = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=16, temperature=0)  # type: ignore[arg-type]
    assert first.usage is not None and follow_up.usage is not None
    details = follow_up.usage.prompt_tokens_details
    assert details is not None and details.cached_tokens is not None
    assert details.cached_tokens >= first.usage.prompt_tokens - 1
    assert details.cached_tokens < follow_up.usage.prompt_tokens


def test_ps_reports_the_context_each_request_gets(batched: ServerThread) -> None:
    _chat(batched.url, "Name a colour.", num_ctx=1024)
    [entry] = [m for m in ollama.Client(host=batched.url).ps().models if m.model == MODEL]
    assert entry.context_length == 1024
    _chat(batched.url, "Name a colour.")
    [entry] = [m for m in ollama.Client(host=batched.url).ps().models if m.model == MODEL]
    assert entry.context_length == 4096


def test_requests_that_start_like_another_slots_memory_start_from_a_copy_of_it() -> None:
    system = "You are a careful geography tutor who answers in one short sentence. " * 6
    capitals = {"Peru": "Lima", "Chile": "Santiago", "Spain": "Madrid"}
    conversations = [
        [{"role": "system", "content": system}, {"role": "user", "content": f"What is the capital of {c}?"}]
        for c in capitals
    ]

    def ask(client: openai.OpenAI, messages: list[dict[str, str]]) -> tuple[str, int]:
        reply = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=24, temperature=0, seed=1)  # type: ignore[arg-type]
        assert reply.usage is not None
        details = reply.usage.prompt_tokens_details  # absent when nothing was cached
        return reply.choices[0].message.content or "", (details.cached_tokens or 0) if details else 0

    engine = LlamaCppEngine({MODEL: served_smollm2()}, parallel=4)
    with ServerThread(engine) as server:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="ollama")
        ask(client, [{"role": "system", "content": system}, {"role": "user", "content": "Hello."}])
        results: dict[int, tuple[str, int]] = {}
        threads = [
            threading.Thread(target=lambda i=i: results.__setitem__(i, ask(client, conversations[i])))
            for i in range(len(conversations))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    engine.close()
    # three requests at once, one slot holding the system prompt: the other two copy it instead of
    # reading it, and answer from it (greedy text differs in borderline cases between batch shapes,
    # so the check is the answer, not the text of a request sent alone)
    assert all(cached >= 60 for _, cached in results.values()), results
    assert [capital in results[i][0] for i, capital in enumerate(capitals.values())] == [True] * 3, results


def test_a_penalty_that_would_defeat_the_grammar_is_a_400_and_the_server_lives_on(batched: ServerThread) -> None:
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Give me a JSON object describing a cat."}],
        "format": "json",
        "stream": False,
        "options": {"temperature": 0, "repeat_penalty": -1, "num_predict": 16},
    }
    for penalty in (-1, 0):
        refused = httpx.post(
            f"{batched.url}/api/chat",
            json=body | {"options": {**body["options"], "repeat_penalty": penalty}},
            timeout=60,
        )
        assert refused.status_code == 400 and "repeat_penalty must be above 0" in refused.json()["error"]
    assert _chat(batched.url, "Name a fruit.")  # the process did not abort


def test_prompts_read_beside_a_generating_slot_never_overflow_the_batch() -> None:
    """Nine slots: one generates while eight others each read a prompt in chunks; the batch has room
    for all of it (before, the generating slot's token went past the batch's end and the decoder died)."""
    engine = LlamaCppEngine({MODEL: served_smollm2()}, parallel=9)
    raw = {"model": MODEL, "raw": True, "stream": False}
    options = {"num_ctx": 1024, "temperature": 0}
    with ServerThread(engine) as server:
        url = f"{server.url}/api/generate"
        for word in ("Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel"):  # slots 0-7 used
            httpx.post(url, json=raw | {"prompt": f"{word} one", "options": options | {"num_predict": 1}}, timeout=60)
        story = raw | {"prompt": "India tells a very long story:", "options": options | {"num_predict": 400}}
        filler = " the quick brown fox jumps over the lazy dog." * 75  # about 800 tokens each
        with concurrent.futures.ThreadPoolExecutor(9) as pool:
            generating = pool.submit(httpx.post, url, json=story, timeout=120)
            deadline = time.monotonic() + 10
            while engine.active_slots() < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            prompts = [
                pool.submit(
                    httpx.post,
                    url,
                    json=raw | {"prompt": f"{n}{filler}", "options": options | {"num_predict": 3}},
                    timeout=120,
                )
                for n in range(8)
            ]
            replies = [future.result() for future in prompts] + [generating.result()]
        assert [reply.status_code for reply in replies] == [200] * 9
        assert (
            httpx.post(
                url, json=raw | {"prompt": "Hi", "options": options | {"num_predict": 2}}, timeout=60
            ).status_code
            == 200
        )
    engine.close()
