"""The embedding endpoints' wire formats: Ollama's ``/api/embed`` (and its older ``/api/embeddings``)
and the OpenAI-compatible ``/v1/embeddings``, read into one `EmbedRequest`.

As Ollama does, ``/api/embed`` and ``/v1/embeddings`` normalize each vector to length 1 and, with
``dimensions``, keep that many leading numbers and normalize again; ``/api/embeddings`` answers the
engine's vector as it is. ``/v1`` sends base64 (little-endian float32) when asked, as the openai SDK
asks by default. A request is bounded: at most MAX_INPUTS texts of MAX_CHARS characters in all.
"""

from __future__ import annotations

import base64
import math
import struct
from typing import Any, Literal, Protocol

from alloy_nb.server.engines import Embeddings, EmbedRequest, EngineError
from alloy_nb.server.keep_alive import keep_alive
from alloy_nb.server.openai_api import error_body
from alloy_nb.server.wire import BadRequest, WireModel, validate

MAX_INPUTS = 2048  # OpenAI's bound on the texts of one request
MAX_CHARS = 1_000_000  # about 250,000 tokens: several minutes of reading for the embedded model


class EmbedForm(Protocol):
    """One embedding wire format: how to read a request and write its answer and errors."""

    def parse(self, body: Any) -> EmbedRequest: ...

    def error(self, status: int, message: str) -> dict[str, Any]: ...

    def reply(self, request: EmbedRequest, result: Embeddings, total_ns: int) -> dict[str, Any]: ...


class _OllamaBody(WireModel):
    model: str
    input: Any = None
    truncate: bool | None = None
    dimensions: int | None = None
    options: dict[str, Any] | None = None
    keep_alive: float | str | None = None


class _LegacyBody(WireModel):
    model: str
    prompt: str = ""
    options: dict[str, Any] | None = None
    keep_alive: float | str | None = None


class _OpenAIBody(WireModel):
    model: str
    input: Any = None
    dimensions: int | None = None
    encoding_format: Literal["float", "base64"] = "float"


class OllamaEmbed:
    """``POST /api/embed``: ``input`` a text or a list of texts; no text at all embeds nothing."""

    def parse(self, body: Any) -> EmbedRequest:
        embed = validate(_OllamaBody, body)
        if isinstance(embed.input, str):
            inputs = [embed.input] if embed.input else []
        else:
            inputs = _texts(embed.input, empty_ok=True)
        return EmbedRequest(
            model=embed.model,
            inputs=_bounded(inputs),
            truncate=embed.truncate is not False,
            options=dict(embed.options or {}),
            keep_alive=keep_alive(embed.keep_alive),
            dimensions=_dimensions(embed.dimensions),
            body=body,
        )

    def error(self, status: int, message: str) -> dict[str, Any]:
        return {"error": message}

    def reply(self, request: EmbedRequest, result: Embeddings, total_ns: int) -> dict[str, Any]:
        return {
            "model": request.model,
            "embeddings": [shaped(vector, request.dimensions) for vector in result.vectors],
            "total_duration": total_ns,
            "load_duration": result.load_ns,
            "prompt_eval_count": result.prompt_tokens,
        }


class LegacyEmbeddings:
    """``POST /api/embeddings``: one ``prompt``, its vector as the engine gives it."""

    def parse(self, body: Any) -> EmbedRequest:
        embed = validate(_LegacyBody, body)
        return EmbedRequest(
            model=embed.model,
            inputs=_bounded([embed.prompt] if embed.prompt else []),
            options=dict(embed.options or {}),
            keep_alive=keep_alive(embed.keep_alive),
            body=body,
        )

    def error(self, status: int, message: str) -> dict[str, Any]:
        return {"error": message}

    def reply(self, request: EmbedRequest, result: Embeddings, total_ns: int) -> dict[str, Any]:
        return {"embedding": result.vectors[0] if result.vectors else []}


class OpenAIEmbeddings:
    """``POST /v1/embeddings``: ``input`` a text or a non-empty list of texts (not token ids)."""

    def parse(self, body: Any) -> EmbedRequest:
        embed = validate(_OpenAIBody, body)
        inputs = [embed.input] if isinstance(embed.input, str) else _texts(embed.input, empty_ok=False)
        return EmbedRequest(
            model=embed.model, inputs=_bounded(inputs), dimensions=_dimensions(embed.dimensions), body=body
        )

    def error(self, status: int, message: str) -> dict[str, Any]:
        return error_body(status, message)

    def reply(self, request: EmbedRequest, result: Embeddings, total_ns: int) -> dict[str, Any]:
        as_text = request.body.get("encoding_format") == "base64"
        data = []
        for index, vector in enumerate(result.vectors):
            numbers = shaped(vector, request.dimensions)
            encoded = base64.b64encode(struct.pack(f"<{len(numbers)}f", *numbers)).decode() if as_text else numbers
            data.append({"object": "embedding", "embedding": encoded, "index": index})
        usage = {"prompt_tokens": result.prompt_tokens, "total_tokens": result.prompt_tokens}
        return {"object": "list", "data": data, "model": request.model, "usage": usage}


def shaped(vector: list[float], dimensions: int | None) -> list[float]:
    """`vector` normalized to length 1; with `dimensions` (fewer than it has), its leading numbers
    normalized again.

    >>> [round(v, 9) for v in shaped([3.0, 4.0], None)], [round(v, 9) for v in shaped([3.0, 4.0, 12.0], 2)]
    ([0.6, 0.8], [0.6, 0.8])
    """
    unit = _normalized(vector)
    return _normalized(unit[:dimensions]) if dimensions is not None and dimensions < len(unit) else unit


def _normalized(vector: list[float]) -> list[float]:
    norm = math.sqrt(math.fsum(value * value for value in vector))
    if not math.isfinite(norm):
        raise EngineError(500, "embedding contains NaN or Inf values")
    scale = 1.0 / max(norm, 1e-12)
    return [value * scale for value in vector]


def _texts(value: Any, *, empty_ok: bool) -> list[str]:
    """A list of texts from an ``input`` (None is no text where `empty_ok`)."""
    if value is None and empty_ok:
        return []
    if not isinstance(value, list) or (not value and not empty_ok):
        raise BadRequest("invalid input: send a text or a non-empty list of texts")
    if not all(isinstance(item, str) for item in value):
        raise BadRequest("invalid input type: every input must be a text (token ids are not supported)")
    return value


def _bounded(inputs: list[str]) -> list[str]:
    if len(inputs) > MAX_INPUTS:
        raise BadRequest(f"too many inputs: {len(inputs)}, at most {MAX_INPUTS} per request; send them in parts")
    size = sum(len(text) for text in inputs)
    if size > MAX_CHARS:
        raise BadRequest(
            f"input too large: {size} characters in all, at most {MAX_CHARS} per request; send them in parts"
        )
    return inputs


def _dimensions(value: int | None) -> int | None:
    """``dimensions``: a positive number, or 0 or nothing for all of them (as Ollama reads it)."""
    if value is not None and value < 0:
        raise BadRequest(f"invalid dimensions {value}: give a positive number of dimensions to keep")
    return value or None
