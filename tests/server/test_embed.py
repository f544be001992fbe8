"""Embeddings through the real ollama and openai SDKs: `/api/embed`, `/api/embeddings`, `/v1/embeddings`,
on the demo engine (synthetic vectors) and the embedded model (llama.cpp, pooled and normalized)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import ollama
import openai
import pytest

from alloy_nb.server.embed_api import MAX_CHARS, MAX_INPUTS
from alloy_nb.server.llama_engine import LlamaCppEngine
from alloy_nb.testing import ServerThread

MODEL = "smollm2:135m"
TEXTS = ["I love my cat.", "My cat is lovely.", "The bond market fell sharply on Tuesday."]


@pytest.fixture
def oai(url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=url + "/v1", api_key="ollama", max_retries=0, timeout=60) as client:
        yield client


def embed(url: str, texts: str | list[str], **extra: object) -> list[list[float]]:
    return [list(v) for v in ollama.Client(host=url, timeout=120).embed(model=MODEL, input=texts, **extra).embeddings]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return math.fsum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
        math.fsum(x * x for x in a) * math.fsum(y * y for y in b)
    )


def test_many_inputs_give_unit_vectors_in_order(url: str) -> None:
    reply = ollama.Client(host=url).embed(model=MODEL, input=TEXTS)
    vectors = reply.embeddings
    assert len(vectors) == 3 and len({len(v) for v in vectors}) == 1 and len(vectors[0]) >= 384
    assert all(abs(math.fsum(x * x for x in v) - 1) < 1e-6 for v in vectors)
    for text, vector in zip(TEXTS, vectors, strict=True):
        assert cosine(embed(url, text)[0], vector) > 0.999  # one at a time or together: the same vector
    assert (reply.prompt_eval_count or 0) >= 3 * 4 and reply.model == MODEL


def test_texts_about_the_same_thing_are_closer(url: str) -> None:
    cat, lovely_cat, bonds = embed(url, TEXTS)
    assert cosine(cat, lovely_cat) > cosine(cat, bonds)


def test_dimensions_keep_the_leading_numbers_normalized_again(url: str) -> None:
    [full] = embed(url, TEXTS[0])
    [short] = embed(url, TEXTS[0], dimensions=64)
    assert len(short) == 64 and abs(math.fsum(x * x for x in short) - 1) < 1e-6
    assert cosine(short, full[:64]) > 0.99999


def test_no_input_embeds_nothing(url: str) -> None:
    assert embed(url, []) == [] and embed(url, "") == []


def test_the_older_embeddings_endpoint_gives_the_vector_unnormalized(url: str) -> None:
    legacy = list(ollama.Client(host=url).embeddings(model=MODEL, prompt=TEXTS[0]).embedding)
    assert abs(math.fsum(x * x for x in legacy) - 1) > 1e-3  # as Ollama's /api/embeddings, not normalized
    assert cosine(legacy, embed(url, TEXTS[0])[0]) > 0.999


def test_openai_sdk_gets_the_same_vectors_in_base64_or_floats(url: str, oai: openai.OpenAI) -> None:
    expected = embed(url, TEXTS)
    packed = oai.embeddings.create(model=MODEL, input=TEXTS)  # the SDK asks for base64 and decodes it
    floats = oai.embeddings.create(model=MODEL, input=TEXTS, encoding_format="float")
    for reply in (packed, floats):
        assert [item.index for item in reply.data] == [0, 1, 2] and reply.model == MODEL
        assert all(cosine(item.embedding, vector) > 0.999 for item, vector in zip(reply.data, expected, strict=True))
        assert reply.usage.prompt_tokens == reply.usage.total_tokens >= 12
    assert len(oai.embeddings.create(model=MODEL, input="hi", dimensions=32).data[0].embedding) == 32


@pytest.mark.parametrize("body", [{"input": []}, {"input": [[1, 2, 3]]}, {"input": [1, 2]}, {}])
def test_openai_refuses_what_is_not_a_text_or_a_list_of_texts(url: str, body: dict) -> None:
    reply = httpx.post(url + "/v1/embeddings", json={"model": MODEL} | body)
    assert reply.status_code == 400 and reply.json()["error"]["type"] == "invalid_request_error"
    assert reply.json()["error"]["message"].startswith("invalid input")


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (["a"] * (MAX_INPUTS + 1), f"too many inputs: {MAX_INPUTS + 1}, at most {MAX_INPUTS}"),
        (["x" * (MAX_CHARS // 2 + 1)] * 2, f"input too large: {MAX_CHARS + 2} characters in all, at most {MAX_CHARS}"),
    ],
)
def test_a_request_is_bounded_in_texts_and_characters(url: str, texts: list[str], message: str) -> None:
    with pytest.raises(ollama.ResponseError) as error:
        embed(url, texts)
    assert error.value.status_code == 400 and error.value.error.startswith(message)


def test_an_input_over_the_context_is_cut_or_with_truncate_off_refused(url: str) -> None:
    long_text = "word " * 700  # over 512 tokens
    [cut] = embed(url, long_text, options={"num_ctx": 512})
    assert len(cut) >= 384
    with pytest.raises(ollama.ResponseError) as error:
        embed(url, long_text, truncate=False, options={"num_ctx": 512})
    assert error.value.status_code == 400 and "the input length exceeds the context length" in error.value.error


def test_invalid_dimensions_and_unknown_models_are_refused(url: str) -> None:
    with pytest.raises(ollama.ResponseError, match="invalid dimensions -3") as bad:
        embed(url, "hi", dimensions=-3)
    assert bad.value.status_code == 400
    with pytest.raises(ollama.ResponseError) as missing:
        ollama.Client(host=url).embed(model="missing:1b", input="hi")
    assert missing.value.status_code == 404 and missing.value.error == "model 'missing:1b' not found"


# --- the embedded model: llama.cpp's own embeddings -----------------------------------------


def test_capabilities_say_embedding_only_where_it_works(embedded_url: str, server) -> None:
    def capabilities(url: str) -> list[str]:
        return list(ollama.Client(host=url).show(MODEL).capabilities or [])

    assert "embedding" in capabilities(embedded_url)
    assert "embedding" not in capabilities(server.url)  # the demo engine's vectors are stand-ins


def test_vectors_are_llama_cpps_mean_pooled_embeddings(embedded_url: str, smollm2: Path) -> None:
    import llama_cpp
    from llama_cpp import Llama

    texts = [*TEXTS, "A longer text, read in several chunks by the server: " + "and so on " * 60]
    ours = embed(embedded_url, texts)
    direct = Llama(
        model_path=str(smollm2),
        embedding=True,
        pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
        n_ctx=1024,
        n_batch=1024,
        n_ubatch=1024,
        flash_attn=True,
        verbose=False,
    )
    try:
        theirs: list[list[float]] = direct.embed(texts, normalize=True)  # type: ignore[assignment]
    finally:
        direct.close()
    for index, vector in enumerate(ours):
        similarities = [cosine(vector, reference) for reference in theirs]
        # (this model's vectors all lie in a narrow cone: unrelated texts score ~0.9, so the match must stand out)
        assert similarities[index] > 0.999 and similarities.index(max(similarities)) == index


def test_a_chat_keeps_streaming_while_a_long_list_is_embedded(embedded_url: str) -> None:
    finished: dict[str, float] = {}

    def embed_many() -> None:
        embed(embedded_url, [f"Note {i}: the weather was mild and the river ran high." for i in range(300)])
        finished["embed"] = time.monotonic()

    worker = threading.Thread(target=embed_many)
    worker.start()
    time.sleep(0.5)  # the embedding job is under way
    parts = list(
        ollama.Client(host=embedded_url).chat(
            model=MODEL,
            messages=[{"role": "user", "content": "Hi"}],
            stream=True,
            options={"num_predict": 8, "temperature": 0},
        )
    )
    chatted = time.monotonic()
    worker.join()
    assert parts[-1].done and chatted < finished["embed"]


@pytest.fixture
def single(smollm2: Path) -> Iterator[tuple[str, LlamaCppEngine]]:
    """A server with one slot and room for one request in its queue."""
    engine = LlamaCppEngine({MODEL: smollm2}, parallel=1, max_queue=1)
    with ServerThread(engine) as thread:
        yield thread.url, engine
    engine.close()


def test_embedding_jobs_queue_within_the_bound_and_leave_when_their_client_does(
    single: tuple[str, LlamaCppEngine],
) -> None:
    url, engine = single
    many = {"model": MODEL, "input": [f"Line {i} of a long list of things to embed." for i in range(1500)]}
    threads = [threading.Thread(target=_abandoned, args=(url, many)) for _ in range(2)]
    for thread, started in zip(threads, [engine.embedding, lambda: engine.queued() == 1], strict=True):
        thread.start()  # the first job runs (one at a time), then the second waits in the queue
        deadline = time.monotonic() + 10
        while not started():
            assert time.monotonic() < deadline
            time.sleep(0.02)
    busy = httpx.post(url + "/api/embed", json={"model": MODEL, "input": "one more"}, timeout=10)
    assert busy.status_code == 503 and "maximum pending requests exceeded" in busy.json()["error"]
    for thread in threads:
        thread.join()
    started = time.monotonic()  # both clients gave up: their jobs are gone (~40 s of work), a new one runs at once
    assert len(embed(url, "after")) == 1 and time.monotonic() - started < 5


def _abandoned(url: str, body: dict) -> None:
    """Post `body` and give up after two seconds."""
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(url + "/api/embed", json=body, timeout=2.0)
