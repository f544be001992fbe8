"""Request bodies: JSON read no further than a size limit, lone surrogates replaced, flags checked.

How deeply a body may nest is the JSON parser's bound (a few hundred levels short of Python's
recursion limit; deeper is a 400 "nested too deeply"): tool arguments a client sends back may be
nested 900 levels. Everything here walks a body without recursion, so no depth the parser accepts
can fail later with a `RecursionError`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request

from alloy_nb.server.wire import BadRequest, BodyTooLarge

MAX_BODY_BYTES = 64 * 1024 * 1024

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


async def json_body(request: Request, limit: int = MAX_BODY_BYTES) -> Any:
    """The JSON body, read no further than `limit` bytes (413 beyond it)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"request body too large: {declared} bytes, the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"request body too large: over {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except ValueError as error:
        raise BadRequest(f"invalid JSON body: {error}") from None
    except RecursionError:
        raise BadRequest("invalid JSON body: nested too deeply; send objects and arrays nested less") from None
    # A lone surrogate (`"\ud800"`) is valid JSON but no valid text: replace it, as Ollama does.
    return without_lone_surrogates(body) if _SURROGATE_ESCAPE.search(raw) else body


def stream_flag(body: dict[str, Any]) -> bool:
    """The body's ``stream`` (true unless given), which must be a boolean."""
    stream = body.get("stream", True)
    if not isinstance(stream, bool):
        raise BadRequest('invalid request body: "stream" must be true or false')
    return stream


def without_lone_surrogates(body: Any) -> Any:
    """`body` (freshly parsed: its lists and dicts are changed in place) with every lone surrogate
    in its strings and keys replaced by U+FFFD.

    >>> without_lone_surrogates({"a\\ud800": [["x\\udfff"]]}) == {"a\\ufffd": [["x\\ufffd"]]}
    True
    """
    if isinstance(body, str):
        return _text(body)
    pending = [body]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index] = _text(item)
                elif isinstance(item, (list, dict)):
                    pending.append(item)
        elif isinstance(node, dict):
            items = list(node.items())
            node.clear()  # refilled in the same order, with repaired keys
            for key, value in items:
                if isinstance(value, str):
                    value = _text(value)
                elif isinstance(value, (list, dict)):
                    pending.append(value)
                node[_text(key)] = value
    return body


def _text(text: str) -> str:
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (send numbers only)")
