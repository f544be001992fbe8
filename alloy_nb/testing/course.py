"""The checks of the course notebooks' exercises: each prints "Right: ..." or "Not yet: ..." and what to look at.

A check never raises, whatever a student wrote, and never depends on the model's prose: it reads what the student
built (a type's JSON schema, a tool's spec, the request bodies in a trace) or plays a scripted reply. It lives in
the package, not beside the notebooks, so a notebook copied anywhere (Binder, a browser test, a student's own
folder) still finds it. Solutions are in notebooks/solutions/; tests/notebook/test_exercise_checks.py runs them.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Sequence
from typing import Any

from alloy_nb.errors import AlloyError
from alloy_nb.outputs import output_spec
from alloy_nb.tools import Tool
from alloy_nb.trace import Trace
from alloy_nb.trace.events import TokenLogprob

APIS = ("native", "openai_chat", "openai_responses")
SCRIPTED_MODEL = "ollama:smollm2:135m"  # a name the scripted server knows, whatever model the notebook uses
WORDS = {"string": "text", "integer": "a whole number", "number": "a number", "array": "a list", "boolean": "a bool"}
LINKS = {"native": "tool_name", "openai_chat": "tool_call_id", "openai_responses": "call_id"}


def check_system_prompt(my_trace: Any) -> None:
    """Exercise 1.1: a call with a system prompt; its first request must begin with it."""
    if not isinstance(my_trace, Trace) or not my_trace.requests:
        got = "" if _empty(my_trace) else f" (it is a {type(my_trace).__name__})"
        _say(f"Not yet: set `my_trace` to the trace of your call{got}: `answer, my_trace = ask.traced(...)`.")
        return
    body = my_trace.requests[0].body
    if body.get("instructions"):
        _say(f"Right: the request carried the system prompt as instructions: {body['instructions']!r}.")
        return
    first = (body.get("messages") or body.get("input") or [{}])[0]
    if first.get("role") != "system":
        _say(
            f"Not yet: the first message sent was {first.get('role')!r}, not 'system'. Pass `system=\"...\"` to"
            ' ask.traced, and look at my_trace.requests[0].body["messages"].'
        )
        return
    _say(
        f"Right: the request began with {first}. The model reads it before your question (a 135M model often"
        " ignores it; a larger one follows it)."
    )


def check_country(country: Any) -> None:
    """Exercise 1.2: a type for a country, with text, text and a number."""
    wanted = {"name": "string", "capital": "string", "population_millions": "number"}
    schema = _fields("Country", country, wanted)
    if schema is not None:
        _say(f"Right: output=Country sends this schema in the request's `format`:\n{json.dumps(schema)}")


def check_review(review: Any) -> None:
    """Exercise 2.1: a sentiment that can only be one of two words, a whole number and a list of words."""
    schema = _fields("Review", review, {"sentiment": "string", "stars": "integer", "keywords": "array"})
    if schema is None:
        return
    fields = schema["properties"]
    sentiment, items = fields["sentiment"], fields["keywords"].get("items", {})
    if "enum" not in sentiment:
        _say('Not yet: `sentiment` may be any text. Use Literal["positive", "negative"], so the schema lists the two.')
        return
    if sorted(sentiment["enum"]) != ["negative", "positive"]:
        _say(f"Not yet: `sentiment` may be one of {sentiment['enum']}; it should be 'positive' or 'negative'.")
        return
    if items.get("type") != "string":
        _say(
            f"Not yet: `keywords` should be a list of text, list[str]; the schema says its items are {_allowed(items)}."
        )
        return
    _say(
        "Right: the schema says sentiment is one of ['positive', 'negative'] (an enum), stars a whole number"
        " and keywords a list of strings. The server lets the model write nothing else."
    )


def check_checked_city(checked_city: Any) -> None:
    """Exercise 2.2: a bound on a field, so a reply with a negative population is refused."""
    wanted = {"name": "string", "country": "string", "population_millions": "number"}
    if _fields("CheckedCity", checked_city, wanted) is None:
        return
    refused = _scripted_typed_reply(checked_city, -3.0)
    if not isinstance(refused, Exception):
        _say(
            f"Not yet: the reply with population_millions -3.0 was accepted as {refused!r}. Give the field a"
            " lower bound: `population_millions: float = Field(gt=0)`."
        )
        return
    accepted = _scripted_typed_reply(checked_city, 2.1)
    if isinstance(accepted, Exception):
        _say(f"Not yet: a reply with 2.1 was refused too: {accepted}")
        return
    _say(
        "Right: the reply with -3.0 was refused, and 2.1 passed. The call's error said:\n"
        f"  {str(refused).split('. Raw reply')[0]}"
    )


def check_tool(to_fahrenheit: Any) -> None:
    """Exercise 3.1: a tool with a docstring and a typed parameter; its spec is what the model reads."""
    if not isinstance(to_fahrenheit, Tool):
        if callable(to_fahrenheit):
            _say("Not yet: put `@tool` on the line above `def to_fahrenheit`, so it becomes a tool.")
        else:
            _say("Not yet: write a function `to_fahrenheit(celsius: float) -> float` with `@tool` above it.")
        return
    if not inspect.getdoc(to_fahrenheit.func):
        _say("Not yet: the model sees no description of the tool. Add a docstring that says what it does.")
        return
    parameter = to_fahrenheit.parameters.get("properties", {}).get("celsius")
    if parameter is None:
        _say(
            f"Not yet: the model sees parameters {list(to_fahrenheit.parameters.get('properties', {}))}: name it celsius."
        )
        return
    if parameter.get("type") != "number":
        _say(f"Not yet: the model is told celsius is {_allowed(parameter)}. Annotate it `celsius: float`.")
        return
    for celsius, fahrenheit in ((100.0, 212.0), (0.0, 32.0), (-40.0, -40.0)):
        try:
            result = to_fahrenheit(celsius=celsius)
        except Exception as error:
            _say(f"Not yet: to_fahrenheit(celsius={celsius:g}) raised {type(error).__name__}: {error}")
            return
        if not isinstance(result, int | float) or not math.isclose(result, fahrenheit):
            _say(f"Not yet: to_fahrenheit({celsius:g}) returned {result!r}, not {fahrenheit:g} (F = C × 9/5 + 32).")
            return
    _say(f"Right: this is what the model reads about your tool:\n{json.dumps(to_fahrenheit.spec(), indent=2)}")


def check_tool_result(request_number: Any, quoted_id: Any, trace: Trace) -> None:
    """Exercise 3.2: which request carried apply_discount's result, and the tool_call_id it quoted."""
    call_id, carried = _first_result(trace, "apply_discount")
    if carried is None:
        _say("There is no apply_discount result in this trace: run the scripted cell above again.")
        return
    if _empty(request_number) or isinstance(request_number, bool) or not isinstance(request_number, int):
        _say("Not yet: set `request_number` to a whole number, the [n] of a request in the summary above.")
        return
    if request_number < carried:
        _say(
            f"Not yet: request {request_number} went out before apply_discount had run. The [n] of a ⚙ line is"
            " the turn that ran the tool; its result goes back to the model in the next request."
        )
        return
    if request_number > carried:
        _say(
            f"Not yet: request {request_number} carries the result too (each request repeats the conversation),"
            " but an earlier one carried it first."
        )
        return
    if quoted_id != call_id:
        _say(
            f"Not yet: request {carried} is right. Now `quoted_id`: copy the tool_call_id of its last tool"
            " message (a string such as 'call_...')."
        )
        return
    _say(
        f"Right: request {carried} carried the result with tool_call_id {call_id!r}, the id the model gave its"
        " apply_discount call in the reply before. That is how the model knows which call a result answers."
    )


def check_schema_paths(schema_at: Any, typed_bodies: dict[str, dict[str, Any]]) -> None:
    """Exercise 4.1: the keys that lead to the output schema in each API's request body."""
    if not isinstance(schema_at, dict):
        _say('Not yet: set `schema_at` to a dict such as {"native": ["format"], "openai_chat": [...], ...}.')
        return
    for api in APIS:
        path = schema_at.get(api)
        if not isinstance(path, list | tuple) or not path:
            _say(f"Not yet: give the keys for {api!r}: a list such as ['a', 'b'] for body['a']['b'].")
            return
        node: Any = typed_bodies[api]
        for depth, key in enumerate(path):
            if not isinstance(node, dict) or key not in node:
                keys = list(node) if isinstance(node, dict) else type(node).__name__
                _say(
                    f"Not yet: on {api}, {list(path[:depth])} leads to something without {key!r}: its keys are {keys}."
                )
                return
            node = node[key]
        if not (isinstance(node, dict) and "properties" in node):
            _say(
                f"Not yet: on {api}, {list(path)} leads to {_short(node)}. The schema (with 'properties') is further in."
            )
            return
    found = " · ".join(f"{api} {list(schema_at[api])}" for api in APIS)
    _say(f"Right: {found}. One schema, three places on the wire.")


def check_linked_call(linked_call: Any, tool_bodies: dict[str, dict[str, Any]]) -> None:
    """Exercise 4.2: a function that finds what a body's tool result quotes to name the call it answers."""
    if not callable(linked_call):
        _say("Not yet: write a function `linked_call(body)` that returns what the body's tool result quotes.")
        return
    for api in APIS:
        results = _tool_results(tool_bodies[api])
        if not results:
            _say(f"There is no tool result in the {api} body: run the cell that fills tool_bodies again.")
            return
        wanted = results[0][LINKS[api]]
        try:
            got = linked_call(tool_bodies[api])
        except Exception as error:
            _say(f"Not yet: linked_call(tool_bodies[{api!r}]) raised {type(error).__name__}: {error}.")
            _say(f"  The tool result in that body is {results[0]}.")
            return
        if got != wanted:
            _say(f"Not yet: linked_call(tool_bodies[{api!r}]) returned {_short(got)}.")
            _say(f"  The tool result in that body is {results[0]}: which value names the call it answers?")
            return
    shown = " · ".join(f"{api}: {LINKS[api]}={_tool_results(tool_bodies[api])[0][LINKS[api]]!r}" for api in APIS)
    _say(f"Right: {shown}. The native API names the tool; the two OpenAI APIs quote the id of the call.")


def check_least_sure(answer: Any, tokens: Sequence[TokenLogprob]) -> None:
    """Exercise 9.1: the position of the token the model was least sure of."""
    chances = [token.probability for token in tokens]
    if not chances:
        _say("There are no tokens to look at: run the cell with `%%alloy --logprobs 5` again.")
        return
    if _empty(answer):
        _say("Not yet: set `answer` to a position, a number from the # column of the table under the reply.")
        return
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(chances):
        _say(f"Not yet: `answer` should be a whole number from 0 to {len(chances) - 1}, not {answer!r}.")
        return
    token = tokens[answer]
    if chances[answer] > min(chances):
        _say(
            f"Not yet: token {answer}, {token.token!r}, had {chances[answer]:.1%}, and another token had less."
            " Look for the smallest number in the probability column of the table, or try"
            " min(range(len(reply_tokens)), key=...)."
        )
        return
    favourite = token.alternatives[0] if token.alternatives else token
    if favourite.token == token.token:
        why = "It was still the model's first choice there: every other token was even less likely."
    else:
        why = f"The model liked {favourite.token!r} more ({favourite.probability:.1%}), but the server picked this one."
    _say(f"Right: token {answer}, {token.token!r}, had only {token.probability:.1%}. {why}")


def _say(text: str) -> None:
    print(text)


def _empty(answer: Any) -> bool:
    return answer is None or answer is ...


def _fields(name: str, answer: Any, wanted: dict[str, str]) -> dict[str, Any] | None:
    """The JSON schema of the student's type when it has the wanted fields and JSON types; else None, said why."""
    listed = ", ".join(f"`{field}` ({WORDS[kind]})" for field, kind in wanted.items())
    if _empty(answer):
        _say(f"Not yet: write a class `{name}` with the fields {listed}.")
        return None
    try:
        spec = output_spec(answer)
    except AlloyError:
        spec = None
    if spec is None or spec.schema is None or spec.wrapped:
        _say(f"Not yet: `{name}` should be a class (a pydantic model or a dataclass), not {_short(answer)}.")
        return None
    schema = spec.schema
    properties = schema.get("properties", {})
    for field, kind in wanted.items():
        if field not in properties:
            _say(f"Not yet: {name} has no field `{field}`; its fields are {list(properties)}. It needs {listed}.")
            return None
        if properties[field].get("type") != kind:
            _say(f"Not yet: `{field}` is {_allowed(properties[field])} in the schema; it should be {WORDS[kind]}.")
            return None
    return schema


def _allowed(schema: dict[str, Any]) -> str:
    """What a field's schema lets through, in words."""
    if "enum" in schema:
        return f"one of {schema['enum']}"
    if "type" in schema:
        return WORDS.get(schema["type"], f"any {schema['type']}")
    return "any value" if not schema else f"{_short(schema)}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _scripted_typed_reply(output: Any, population: float) -> Any:
    """The value (or the error) `ask(..., output=output)` gives when a scripted model replies with a city."""
    from alloy_nb import ask

    from .scripted import ScriptedTurn
    from .scripted_server import scripted_server

    reply = {"name": "Paris", "country": "France", "population_millions": population}
    with scripted_server() as scripted:
        scripted.script(ScriptedTurn(text=json.dumps(reply)))
        try:
            return ask("Describe Paris.", output=output, model=SCRIPTED_MODEL, auto_finalize_missing_output=False)
        except Exception as error:  # a validator of the student's may raise anything: the check says so
            return error


def _first_result(trace: Trace, tool_name: str) -> tuple[str | None, int | None]:
    """The id the model gave its call to `tool_name`, and the first request that carried that call's result."""
    for number, request in enumerate(trace.requests):
        messages = request.body.get("messages", [])
        calls = [call for message in messages for call in message.get("tool_calls") or []]
        ids = [call.get("id") for call in calls if call.get("function", {}).get("name") == tool_name]
        if ids and any(message.get("tool_call_id") == ids[0] for message in messages):
            return ids[0], number
    return None, None


def _tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A request body's tool results: `tool` messages, or `function_call_output` items (Responses)."""
    if "messages" in body:
        return [message for message in body["messages"] if message.get("role") == "tool"]
    return [item for item in body.get("input", []) if item.get("type") == "function_call_output"]
