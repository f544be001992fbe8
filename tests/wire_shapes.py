"""Where each wire API puts one fact of a request, so that a test asserts the exact shape each strategy sends.

`native` and `openai_chat` send a conversation as `messages`; `openai_responses` sends the system prompt as
`instructions` and the rest as typed `input` items, its tools flat, typed output in `text.format` and tool
results as `function_call_output` items.
"""

from __future__ import annotations

from typing import Any

from alloy_nb._choices import STRATEGIES

PATHS = {"native": "/api/chat", "openai_chat": "/v1/chat/completions", "openai_responses": "/v1/responses"}
TYPED_OUTPUT_FIELDS = {"native": "format", "openai_chat": "response_format", "openai_responses": "text"}
LOGPROB_STRATEGIES = tuple(api for api in STRATEGIES if api != "openai_responses")  # /v1/responses has none


def wire_path(api: str) -> str:
    """The path a strategy POSTs a chat to."""
    return PATHS[api]


def conversation(body: dict[str, Any], api: str) -> list[dict[str, Any]]:
    """The turns a body sends, as its API writes them (on /v1/responses without the system prompt)."""
    return body["input"] if api == "openai_responses" else body["messages"]


def message(api: str, role: str, content: str) -> dict[str, Any]:
    """One plain text message as `api` writes it."""
    plain = {"role": role, "content": content}
    return {"type": "message", **plain} if api == "openai_responses" else plain


def system_prompt(body: dict[str, Any], api: str) -> str | None:
    """The system prompt a body sends: `instructions`, or a first message with the system role."""
    if api == "openai_responses":
        assert all(item.get("role") != "system" for item in body["input"])  # only ever in `instructions`
        return body.get("instructions")
    first = body["messages"][0]
    return first["content"] if first["role"] == "system" else None


def output_schema(body: dict[str, Any], api: str) -> dict[str, Any] | None:
    """The JSON schema a body constrains the reply to, in its API's field; None when none is sent."""
    sent = set(TYPED_OUTPUT_FIELDS.values()) & body.keys()
    if not sent:
        return None
    assert sent == {TYPED_OUTPUT_FIELDS[api]}
    if api == "native":
        return body["format"]
    if api == "openai_chat":
        assert body["response_format"]["type"] == "json_schema"
        return body["response_format"]["json_schema"]["schema"]
    form = body["text"]["format"]
    assert (form["type"], form["name"], form["strict"]) == ("json_schema", "output", True)
    return form["schema"]


def tool_spec(body: dict[str, Any], api: str, index: int = 0) -> dict[str, Any]:
    """One offered tool's name, description and parameters: nested under `function`, or flat on /v1/responses."""
    tool = body["tools"][index]
    assert tool["type"] == "function"
    if api == "openai_responses":
        assert tool["strict"] is False
        return {key: tool[key] for key in ("name", "description", "parameters")}
    return tool["function"]


def tool_results(body: dict[str, Any], api: str) -> list[dict[str, Any]]:
    """The tool results a body sends back: tool messages, or `function_call_output` items."""
    if api == "openai_responses":
        return [item for item in body["input"] if item["type"] == "function_call_output"]
    return [m for m in body["messages"] if m["role"] == "tool"]


def tool_result_texts(body: dict[str, Any], api: str) -> list[str]:
    """What each tool gave back, in the order a body sends the results."""
    return [result["output" if api == "openai_responses" else "content"] for result in tool_results(body, api)]


def thinking_setting(body: dict[str, Any], api: str) -> Any:
    """The thinking setting a body sends (None: none sent)."""
    if api == "native":
        return body.get("think")
    if api == "openai_chat":
        return body.get("reasoning_effort")
    return body["reasoning"]["effort"] if "reasoning" in body else None


def max_tokens(body: dict[str, Any], api: str) -> int | None:
    """The token limit a body sends (None: none sent)."""
    if api == "native":
        return body.get("options", {}).get("num_predict")
    return body.get("max_tokens" if api == "openai_chat" else "max_output_tokens")


def reply_text(raw: dict[str, Any], api: str) -> str:
    """The text of a whole reply's body as received: the message, the choice, or the Responses message item."""
    if api == "native":
        assert raw["done"] is True
        return raw["message"]["content"]
    if api == "openai_chat":
        assert raw["object"] == "chat.completion"
        return raw["choices"][0]["message"]["content"]
    assert (raw["object"], raw["status"]) == ("response", "completed")
    [item] = [item for item in raw["output"] if item["type"] == "message"]
    return "".join(part["text"] for part in item["content"] if part["type"] == "output_text")


UNSET = object()  # a tool-call switch the body does not carry


def tool_switch(body: dict[str, Any], api: str, name: str) -> Any:
    """A tool-call switch (`_tool_grammar`, `parallel_tool_calls`) as the body carries it: in `options`
    without the underscore on /api/chat (the ollama SDK's open map), at the top level on /v1; else UNSET."""
    if api == "native":
        return (body.get("options") or {}).get(name.lstrip("_"), UNSET)
    return body.get(name, UNSET)
