"""alloy-ai's names and forms: the imports, `context=`, env variables, `@command` rules, async
`cmd.stream()`, `typing.TypedDict`, and the error types users match on."""

from __future__ import annotations

import asyncio
import json
import typing

import pytest
import typing_extensions
from pydantic import TypeAdapter

import alloy_nb
from alloy_nb import CommandError, ConfigurationError, OllamaUnavailable, ToolLoopLimitExceeded, ask, command, tool
from alloy_nb._outputs import output_spec
from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply

ALLOY_AI_ALL = [  # alloy-ai 0.3.1's `alloy.__all__`
    "command", "tool", "require", "ensure", "ask", "configure",
    "CommandError", "ToolError", "ConfigurationError", "ToolLoopLimitExceeded",
]  # fmt: skip
CONTEXT = {"customer": "Ada", "plan": "pro"}
WITH_CONTEXT = "Context: {'customer': 'Ada', 'plan': 'pro'}\n\nTask: Greet the customer."


def _prompt(server) -> str:
    return server.requests[-1].messages[-1]["content"]


def test_every_alloy_ai_public_name_imports_from_alloy_nb() -> None:
    missing = [name for name in ALLOY_AI_ALL if not hasattr(alloy_nb, name)]
    assert missing == [] and set(ALLOY_AI_ALL) <= set(alloy_nb.__all__)


def test_context_is_rendered_before_the_prompt_in_every_form(server, api: str) -> None:
    ask("Greet the customer.", context=CONTEXT, api=api)
    assert _prompt(server) == WITH_CONTEXT
    "".join(ask.stream("Greet the customer.", context=CONTEXT, api=api))
    assert _prompt(server) == WITH_CONTEXT
    asyncio.run(ask.async_("Greet the customer.", context=CONTEXT, api=api))
    assert _prompt(server) == WITH_CONTEXT

    async def streamed() -> str:
        return "".join([piece async for piece in ask.stream_async("Greet the customer.", context=CONTEXT, api=api)])

    asyncio.run(streamed())
    assert _prompt(server) == WITH_CONTEXT
    ask("Greet the customer.", context={}, api=api)
    assert _prompt(server) == "Greet the customer."


def test_context_must_be_a_mapping() -> None:
    with pytest.raises(ConfigurationError, match="context= takes a mapping"):
        ask("Hi", context=["not", "a", "mapping"])  # type: ignore[arg-type]


def test_alloy_ai_environment_names(server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOY_DEFAULT_SYSTEM", "Answer in French.")
    monkeypatch.setenv("ALLOY_AUTO_FINALIZE_MISSING_OUTPUT", "false")
    monkeypatch.setenv("ALLOY_PARALLEL_TOOLS_MAX", "3")
    monkeypatch.setenv("ALLOY_RETRY", "2")
    config = alloy_nb.settings().__enter__()
    assert (config.system, config.auto_finalize_missing_output, config.tool_concurrency, config.retry) == (
        "Answer in French.", False, 3, 2,
    )  # fmt: skip
    server.script(Reply(text="prose"), Reply(text="still prose"))
    with pytest.raises(CommandError):
        ask("Count.", output=int, retry_backoff=0.01)
    first = server.requests[0].messages[0]
    assert first["role"] == "system" and first["content"].startswith("Answer in French.")
    assert len(server.requests) == 2  # ALLOY_RETRY=2 attempts, no finalize turn in either


def test_alloy_ai_keyword_names_on_commands_and_calls(server) -> None:
    @command(default_system="Be terse.", parallel_tools_max=2)
    def hello() -> str:
        return "Say hello."

    hello()
    assert server.requests[-1].messages[0] == {"role": "system", "content": "Be terse."}
    ask("Hi", default_system="Be kind.")
    assert server.requests[-1].messages[0]["content"] == "Be kind."


def test_a_command_without_output_returns_text(server, api: str) -> None:
    @command(api=api)
    def haiku(topic: str) -> str:
        return f"A haiku about {topic}."

    server.script(Reply(text="Autumn wind blows"))
    assert haiku("autumn") == "Autumn wind blows"


@pytest.mark.parametrize("annotation", [int, dict, None])
def test_a_command_annotated_other_than_str_is_refused(annotation: object) -> None:
    def prompt() -> str:
        return "x"

    prompt.__annotations__["return"] = annotation
    with pytest.raises(ConfigurationError, match=r"annotated `-> str`"):
        command(output=int)(prompt)


def test_async_command_streams_with_async_for(server, api: str) -> None:
    @command(api=api)
    async def tell(topic: str) -> str:
        await asyncio.sleep(0)
        return f"Tell me about {topic}."

    server.script(Reply(text="Tides rise and fall."))

    async def collect() -> tuple[list[str], alloy_nb.Trace | None]:
        stream = tell.stream("tides")
        assert stream.trace is None  # the prompt is awaited on the first iteration
        return [piece async for piece in stream], stream.trace

    pieces, trace = asyncio.run(collect())
    assert "".join(pieces) == "Tides rise and fall." and len(pieces) > 1
    assert trace is not None and trace.status == "ok" and _prompt(server) == "Tell me about tides."


def test_async_command_stream_gives_a_typed_value(server) -> None:
    @command(output=int)
    async def number() -> str:
        return "A number."

    server.script(Reply(chunks=['{"value": ', "42}"]))

    async def collect() -> tuple[str, object]:
        stream = number.stream()
        return "".join([piece async for piece in stream]), stream.value

    assert asyncio.run(collect()) == ('{"value": 42}', 42)


class Product(typing.TypedDict):
    name: str
    price: float
    tags: typing_extensions.NotRequired[list[str]]


class ProductTE(typing_extensions.TypedDict):
    name: str
    price: float
    tags: typing_extensions.NotRequired[list[str]]


def test_typing_typeddict_output_on_this_python(server, api: str) -> None:
    assert output_spec(Product).schema == output_spec(ProductTE).schema
    server.script(Reply(text='{"name": "Lamp", "price": 19.5}'))
    product = ask("Describe a product.", output=Product, api=api)
    assert product == {"name": "Lamp", "price": 19.5}
    schema = server.requests[0].format  # the schema each wire API carried, as the server read it
    assert isinstance(schema, dict)
    assert schema["required"] == ["name", "price"] and "tags" in schema["properties"]


def test_typing_typeddict_tool_parameters(server, api: str) -> None:
    @tool
    def price_of(product: Product, quantity: int = 1) -> float:
        """Total price."""
        return product["price"] * quantity

    expected = TypeAdapter(ProductTE).json_schema()
    parameters = price_of.spec()["function"]["parameters"]
    assert parameters["$defs"]["Product"]["required"] == expected["required"]
    server.script(
        Reply(tool_calls=[Call("price_of", {"product": {"name": "Lamp", "price": 2.5}, "quantity": 4})]),
        Reply(text="10"),
    )
    _, trace = ask.traced("Price?", tools=[price_of], api=api)
    assert trace.tool_events[0].result == "10.0"


def test_a_recursive_typing_typeddict_gets_a_clear_error_before_3_12() -> None:
    if not hasattr(typing, "override"):  # before 3.12
        with pytest.raises(ConfigurationError, match="refers to itself"):
            output_spec(_Node)


class _Node(typing.TypedDict):
    value: int
    children: list[_Node]


def test_call_failures_are_command_errors_as_in_alloy_ai() -> None:
    with pytest.raises(CommandError) as info:
        ask("Hi", host="http://127.0.0.1:9", transient_retries=0)
    assert isinstance(info.value, OllamaUnavailable)


def test_tool_loop_limit_carries_alloy_ai_attributes(server, api: str) -> None:
    @tool
    def again() -> str:
        """Loop."""
        return "more"

    server.script(*[Reply(text=f"step {n}", tool_calls=[Call("again")]) for n in range(3)])
    with pytest.raises(ToolLoopLimitExceeded, match=r"turn limit \(max_tool_turns=1\)") as info:
        ask("Go.", tools=[again], max_tool_turns=1, api=api)
    error = info.value
    assert isinstance(error, CommandError)
    assert (error.max_turns, error.turns_taken, error.partial_text) == (1, 2, "step 1")


def test_unparseable_output_says_failed_to_parse(server) -> None:
    server.script(Reply(text="forty-two"))
    with pytest.raises(CommandError, match=r"(?i)failed to parse") as info:
        ask("Answer.", output=int, auto_finalize_missing_output=False)
    assert info.value.raw_text == "forty-two"
    json.dumps(info.value.trace.to_json())
