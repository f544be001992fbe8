"""A client's JSON schema on both engines, through both SDKs: what a grammar cannot be built from, or
would be too big, is a quick 400 that names the problem, never a 500 or a stalled server."""

from __future__ import annotations

import time
from typing import Any

import httpx
import ollama
import openai
import pytest

MODEL = "smollm2:135m"  # served by the demo engine and by the embedded model (the `url` fixture)
HI = [{"role": "user", "content": "Hi"}]
SHORT = {"num_predict": 8, "temperature": 0}  # keeps the embedded model's replies quick


def refusals(url: str, schema: dict[str, Any]) -> tuple[str, str]:
    """The error messages of a 400 for a reply that must follow `schema`, from /api/chat and /v1."""
    with pytest.raises(ollama.ResponseError) as native:
        ollama.Client(host=url, timeout=20).chat(model=MODEL, messages=HI, format=schema, options=SHORT)
    assert native.value.status_code == 400, native.value
    with openai.OpenAI(base_url=url + "/v1", api_key="ollama", max_retries=0, timeout=20) as client:
        with pytest.raises(openai.BadRequestError) as compat:
            client.chat.completions.create(
                model=MODEL,
                messages=HI,  # type: ignore[arg-type]
                max_tokens=8,
                response_format={"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}},
            )
    body = compat.value.body
    assert isinstance(body, dict) and body["type"] == "invalid_request_error"
    return native.value.error, str(body["message"])


SIXTY_MILLION_ITEMS = {"type": "array", "items": {"type": "integer"}, "minItems": 60_000_000}


def test_a_200_byte_schema_asking_for_sixty_million_items_is_a_quick_400_naming_the_bound(url: str) -> None:
    started = time.monotonic()
    native, compat = refusals(url, SIXTY_MILLION_ITEMS)
    assert time.monotonic() - started < 3
    for message in (native, compat):
        assert '"minItems": 60000000' in message and "at most 1000" in message, message
    assert native.startswith("invalid JSON schema in format:")
    assert compat.startswith("invalid JSON schema in response_format:")


@pytest.mark.parametrize("keyword", ["maxItems", "minLength", "maxLength", "minProperties", "maxProperties"])
def test_every_repetition_count_is_bounded(url: str, keyword: str) -> None:
    native, _ = refusals(url, {"type": "string" if "Length" in keyword else "array", keyword: 10**12})
    assert f'"{keyword}": 1000000000000' in native


def test_a_pattern_quantifier_is_bounded(url: str) -> None:
    native, _ = refusals(url, {"type": "string", "pattern": "^a{2,50000000}$"})
    assert "{2,50000000}" in native and "at most 1000" in native


def test_nested_pattern_quantifiers_multiply(url: str) -> None:
    started = time.monotonic()
    native, _ = refusals(url, {"type": "string", "pattern": "^(a{0,1000}){0,1000}$"})
    assert "with those of the groups it is in" in native and "at most 1000" in native
    assert time.monotonic() - started < 3


def test_a_pattern_with_modest_nested_quantifiers_still_works(url: str) -> None:
    schema = {"type": "string", "pattern": "^([0-9]{1,3}[.]){3}[0-9]{1,3}$"}  # an IPv4 address
    reply = ollama.Client(host=url, timeout=60).chat(model=MODEL, messages=HI, format=schema, options=SHORT)
    assert reply.done


def test_many_counts_that_each_pass_still_bound_the_grammar_size(url: str) -> None:
    fields = {f"field_{index}": {"type": "string", "maxLength": 1000} for index in range(300)}
    native, _ = refusals(url, {"type": "object", "properties": fields, "required": list(fields)})
    assert "grammar" in native and "1,000,000 characters" in native


def test_tool_parameters_are_bounded_too(url: str) -> None:
    # (the ollama SDK would drop minItems from a tool's parameters; the openai SDK sends them as given)
    parameters = {"type": "object", "properties": {"numbers": SIXTY_MILLION_ITEMS}, "required": ["numbers"]}
    tool = {"type": "function", "function": {"name": "save", "parameters": parameters}}
    with openai.OpenAI(base_url=url + "/v1", api_key="ollama", max_retries=0, timeout=20) as client:
        with pytest.raises(openai.BadRequestError) as refused:
            client.chat.completions.create(model=MODEL, messages=HI, tools=[tool], max_tokens=8)  # type: ignore[arg-type,list-item]
    body = refused.value.body
    assert isinstance(body, dict) and body["message"].startswith("invalid JSON schema in tool 'save' parameters:")
    assert '"minItems": 60000000' in body["message"]


def test_the_server_answers_while_refusing(url: str) -> None:
    with httpx.Client(base_url=url, timeout=20) as client:
        body = {"model": MODEL, "messages": HI, "stream": False, "format": SIXTY_MILLION_ITEMS}
        assert client.post("/api/chat", json=body).status_code == 400
        assert client.get("/api/version").status_code == 200


def test_the_server_answers_others_while_many_schemas_are_refused_or_built_at_once(url: str) -> None:
    """Eight schemas at once, refused and allowed alike, each get their own answer, and the server
    answers `/api/version` sent among them (schemas are checked, and grammars built, per request)."""
    import asyncio

    allowed = {"type": "object", "properties": {f"f{i}": {"type": "string", "maxLength": 900} for i in range(40)}}

    async def main() -> tuple[list[int], int]:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            bodies = [
                {"model": MODEL, "messages": HI, "stream": False, "options": {"num_predict": 1}, "format": schema}
                for schema in [SIXTY_MILLION_ITEMS, allowed] * 4
            ]
            chats = [asyncio.create_task(client.post("/api/chat", json=body)) for body in bodies]
            await asyncio.sleep(0.05)
            version = await client.get("/api/version")
            answers = await asyncio.gather(*chats)
        return [answer.status_code for answer in answers], version.status_code

    statuses, version = asyncio.run(main())
    assert version == 200
    assert statuses == [400, 200] * 4


@pytest.mark.parametrize("api", ["native", "openai_chat", "openai_responses"])
def test_a_typed_call_asking_for_a_hundred_million_items_is_a_quick_clear_error(url: str, api: str) -> None:
    from pydantic import BaseModel, conlist

    import alloy_nb
    from alloy_nb import ask
    from alloy_nb.errors import ServerError

    class Numbers(BaseModel):
        values: conlist(int, min_length=10**8)  # type: ignore[valid-type]

    started = time.monotonic()
    with alloy_nb.settings(host=url, model=f"ollama:{MODEL}", api=api, max_tokens=8):
        with pytest.raises(ServerError) as refused:
            ask("Some numbers.", output=Numbers)
    assert time.monotonic() - started < 5
    assert "minItems" in str(refused.value) and "at most 1000" in str(refused.value), refused.value
    assert httpx.get(url + "/api/version", timeout=5).status_code == 200


# --- $ref ---------------------------------------------------------------------------------

BAD_REFS = {
    "missing": {"$ref": "#/$defs/missing"},
    "another document": {"$ref": "other.json#/$defs/item"},
    "remote": {"$ref": "https://example.com/schema.json"},
    "loop of one": {"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"},
    "loop of two": {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"},
    "not a string": {"$ref": 5},
}


@pytest.mark.parametrize("schema", BAD_REFS.values(), ids=BAD_REFS.keys())
def test_a_ref_that_leads_nowhere_is_a_400_naming_it(url: str, schema: dict[str, Any]) -> None:
    native, compat = refusals(url, schema)
    assert "$ref" in native and "$ref" in compat, native


MALFORMED = {
    "left recursion": {"$defs": {"a": {"anyOf": [{"$ref": "#/$defs/a"}, {"type": "integer"}]}}, "$ref": "#/$defs/a"},
    "a count that is text": {"type": "array", "items": {"type": "integer"}, "minItems": "many"},
    "an unknown type": {"type": "decimal"},
}


@pytest.mark.parametrize("schema", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_schema_no_grammar_can_follow_is_a_400(url: str, schema: dict[str, Any]) -> None:
    native, _ = refusals(url, schema)
    assert native.startswith("invalid JSON schema in format:")


def test_a_recursive_schema_through_defs_still_works(url: str) -> None:
    node = {"type": "object", "properties": {"child": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]}}}
    schema = {"$defs": {"Node": node}, "$ref": "#/$defs/Node"}
    reply = ollama.Client(host=url, timeout=60).chat(model=MODEL, messages=HI, format=schema, options=SHORT)
    assert reply.done
