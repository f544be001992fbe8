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

from alloy_nb._tools import Tool
from alloy_nb._trace import Trace
from alloy_nb._trace.events import TokenLogprob

from .course_reading import (
    allowed,
    clip,
    described,
    fields_schema,
    is_empty,
    listed_values,
    reason,
    resolved,
    say,
    short,
    unannotated,
)

APIS = ("native", "openai_chat", "openai_responses")
SCRIPTED_MODEL = "ollama:smollm2:135m"  # a name the scripted server knows, whatever model the notebook uses
LINKS = {"native": "tool_name", "openai_chat": "tool_call_id", "openai_responses": "call_id"}
ENDPOINTS = {"native": "/api/chat", "openai_chat": "/v1/chat/completions", "openai_responses": "/v1/responses"}
POPULATIONS = (-3.0, 0.0, 2.1)  # the scripted replies a CheckedCity must refuse, refuse and accept
TEMPERATURES = ((100.0, 212.0), (0.0, 32.0), (-40.0, -40.0), (37.0, 98.6))  # 37 finds floor division (//)


def check_system_prompt(my_trace: Any) -> None:
    """Exercise 1.1: a call with a system prompt; its first request must begin with it."""
    if not isinstance(my_trace, Trace) or not my_trace.requests:
        got = "" if is_empty(my_trace) else f" (it is a {type(my_trace).__name__})"
        say(f"Not yet: set my_trace to the trace of your call{got}: answer, my_trace = ask.traced(...).")
        return
    body = my_trace.requests[0].body
    if str(body.get("instructions") or "").strip():
        say(f"Right: the request carried the system prompt as instructions: {short(body['instructions'])}.")
        return
    first = (body.get("messages") or body.get("input") or [{}])[0]
    first = first if isinstance(first, dict) else {}
    given = my_trace.request_settings.get("system")
    if isinstance(given, str) and not given.strip():
        say(
            f"Not yet: system={given!r} gives the model no instruction: an empty system prompt is not sent."
            ' Write one that says how to answer, such as system="Answer like a pirate."'
        )
        return
    if first.get("role") != "system":
        say(
            f"Not yet: the first message sent was {first.get('role')!r}, not 'system'. Pass system=\"...\" to"
            ' ask.traced, and look at my_trace.requests[0].body["messages"].'
        )
        return
    say(
        f"Right: the request began with {short(first)}. The model reads it before your question (a 135M model often"
        " ignores it; a larger one follows it)."
    )


def check_country(country: Any) -> None:
    """Exercise 1.2: a type for a country, with text, text and a number."""
    wanted = {"name": "string", "capital": "string", "population_millions": "number"}
    schema = fields_schema("Country", country, wanted)
    if schema is not None:
        say(f"Right: output=Country sends this schema in the request's format field:\n{json.dumps(schema)}")


def check_review(review: Any) -> None:
    """Exercise 2.1: a sentiment that can only be one of two words, a whole number and a list of words."""
    schema = fields_schema("Review", review, {"sentiment": "string", "stars": "integer", "keywords": "array"})
    if schema is None:
        return
    fields = schema["properties"]
    sentiment = resolved(schema, fields["sentiment"])
    items = resolved(schema, resolved(schema, fields["keywords"]).get("items"))
    choices = listed_values(sentiment)
    if choices is None:
        say('Not yet: sentiment may be any text. Use Literal["positive", "negative"], so the schema lists the two.')
        return
    if choices not in (["positive", "negative"], ["negative", "positive"]):
        ref = fields["sentiment"].get("$ref")
        whose = f", the values of your Enum {ref.rsplit('/', 1)[-1]}" if isinstance(ref, str) else ""
        say(f"Not yet: sentiment may be one of {short(choices)}{whose}; it should be 'positive' or 'negative'.")
        return
    if items.get("type") != "string":
        say(f"Not yet: keywords should be a list of text, list[str]; the schema says its items are {allowed(items)}.")
        return
    say(
        "Right: the schema says sentiment is one of ['positive', 'negative'] (an enum), stars a whole number"
        " and keywords a list of strings. The server lets the model write nothing else."
    )


def check_checked_city(checked_city: Any) -> None:
    """Exercise 2.2: a bound on a field, so a reply with a negative population is refused."""
    wanted = {"name": "string", "country": "string", "population_millions": "number"}
    if fields_schema("CheckedCity", checked_city, wanted) is None:
        return
    negative, zero, valid = POPULATIONS
    refused, at_zero, accepted = (_scripted_typed_reply(checked_city, population) for population in POPULATIONS)
    if not isinstance(refused, Exception):
        say(
            f"Not yet: the reply with population_millions {negative:g} was accepted as {short(refused)}."
            " Give the field a lower bound: population_millions: float = Field(gt=0)."
        )
        return
    if not isinstance(at_zero, Exception):
        say(
            f"Not yet: {negative:g} was refused, but the reply with population_millions {zero:g} was accepted."
            " The population must be above 0, and 0 is not above 0: ge means at least, gt means greater than."
        )
        return
    if isinstance(accepted, Exception):
        say(
            f"Not yet: the reply with {valid:g} was refused too, but a population of {valid:g} million is valid:"
            f" the constraint is too strict. The call's error said:\n  {reason(accepted)}"
        )
        return
    say(
        f"Right: the replies with {negative:g} and {zero:g} were refused, and {valid:g} passed."
        f" The call's error said:\n  {reason(refused)}"
    )


def check_tool(to_fahrenheit: Any) -> None:
    """Exercise 3.1: a tool with a docstring and a typed parameter; its spec is what the model reads."""
    if not isinstance(to_fahrenheit, Tool):
        if callable(to_fahrenheit):
            say("Not yet: put @tool on the line above def to_fahrenheit, so it becomes a tool.")
        else:
            say("Not yet: write a function to_fahrenheit(celsius: float) -> float with @tool above it.")
        return
    if not inspect.getdoc(to_fahrenheit.func):
        say("Not yet: the model sees no description of the tool. Add a docstring that says what it does.")
        return
    parameter = to_fahrenheit.parameters.get("properties", {}).get("celsius")
    if parameter is None:
        say(
            f"Not yet: the model sees parameters {short(list(to_fahrenheit.parameters.get('properties', {})))}:"
            " name it celsius."
        )
        return
    if parameter.get("type") != "number":
        why = "temperatures have decimals"
        if unannotated(to_fahrenheit, "celsius"):  # @tool has just warned, suggesting int
            why = f"the warning above suggests int; this exercise wants float: {why}"
        say(f"Not yet: the model is told celsius is {allowed(parameter)}. Annotate it as celsius: float ({why}).")
        return
    for celsius, fahrenheit in TEMPERATURES:
        try:
            result = to_fahrenheit(celsius=celsius)
        except Exception as error:
            say(f"Not yet: to_fahrenheit(celsius={celsius:g}) raised {type(error).__name__}: {clip(str(error))}")
            return
        if not isinstance(result, int | float) or not math.isclose(result, fahrenheit, rel_tol=0, abs_tol=0.01):
            floored = isinstance(result, int | float) and result == math.floor(fahrenheit)
            why = " The decimals are gone: / divides, // rounds down." if floored else ""
            say(
                f"Not yet: to_fahrenheit({celsius:g}) returned {short(result)}, not {fahrenheit:g}"
                f" (F = C × 9/5 + 32).{why}"
            )
            return
    say(f"Right: this is what the model reads about your tool:\n{json.dumps(to_fahrenheit.spec(), indent=2)}")


def check_tool_result(request_number: Any, quoted_id: Any, trace: Trace) -> None:
    """Exercise 3.2: which request carried apply_discount's result, and the tool_call_id it quoted."""
    call_id, carried = _first_result(trace, "apply_discount")
    if carried is None:
        say("There is no apply_discount result in this trace: run the scripted cell above again.")
        return
    if is_empty(request_number) or isinstance(request_number, bool) or not isinstance(request_number, int):
        say("Not yet: set request_number to a whole number, the [n] of a request in the summary above.")
        return
    if request_number < carried:
        say(
            f"Not yet: request {request_number} went out before apply_discount had run. The [n] of a ⚙ line is"
            " the turn that ran the tool; its result goes back to the model in the next request."
        )
        return
    if request_number > carried:
        say(
            f"Not yet: request {request_number} carries the result too (each request repeats the conversation),"
            " but an earlier one carried it first."
        )
        return
    if quoted_id != call_id:
        say(
            f"Not yet: request {carried} is right. Now quoted_id: copy the tool_call_id of its last tool"
            " message (a string such as 'call_...')."
        )
        return
    say(
        f"Right: request {carried} carried the result with tool_call_id {call_id!r}, the id the model gave its"
        " apply_discount call in the reply before. That is how the model knows which call a result answers."
    )


def check_schema_paths(schema_at: Any, typed_bodies: dict[str, dict[str, Any]]) -> None:
    """Exercise 4.1: the keys that lead to the output schema in each API's request body."""
    if not isinstance(schema_at, dict):
        say('Not yet: set schema_at to a dict such as {"native": ["format"], "openai_chat": [...], ...}.')
        return
    for api in APIS:
        path = schema_at.get(api)
        if not isinstance(path, list | tuple) or not path:
            say(f"Not yet: give the keys for {api!r}: a list such as ['a', 'b'] for body['a']['b'].")
            return
        wrong = _wrong_step(api, list(path), typed_bodies[api])
        if wrong:
            say(f"Not yet: on {api}, {wrong}")
            return
    found = " · ".join(f"{api} {list(schema_at[api])}" for api in APIS)
    say(f"Right: {found}. One schema, three places on the wire.")


def check_linked_call(linked_call: Any, tool_bodies: dict[str, dict[str, Any]]) -> None:
    """Exercise 4.2: a function that finds what a body's tool result quotes to name the call it answers."""
    if not callable(linked_call):
        say("Not yet: write a function linked_call(body) that returns what the body's tool result quotes.")
        return
    for api in APIS:
        results = _tool_results(tool_bodies[api])
        if not results:
            say(f"There is no tool result in the {api} body: run the cell that fills tool_bodies again.")
            return
        wanted = results[0][LINKS[api]]
        try:
            got = linked_call(tool_bodies[api])
        except Exception as error:
            say(f"Not yet: linked_call(tool_bodies[{api!r}]) raised {type(error).__name__}: {clip(str(error))}.")
            say(f"  The tool result in that body is {short(results[0])}.")
            return
        if got != wanted:
            say(f"Not yet: linked_call(tool_bodies[{api!r}]) returned {short(got)}.")
            say(f"  The tool result in that body is {short(results[0])}: which value names the call it answers?")
            return
    shown = " · ".join(f"{api}: {LINKS[api]}={_tool_results(tool_bodies[api])[0][LINKS[api]]!r}" for api in APIS)
    say(f"Right: {shown}. The native API names the tool; the two OpenAI APIs quote the id of the call.")


def check_least_sure(answer: Any, tokens: Sequence[TokenLogprob]) -> None:
    """Exercise 9.1: the position of the token the model was least sure of."""
    chances = [token.probability for token in tokens]
    if not chances:
        say("There are no tokens to look at: run the cell with %%alloy --logprobs 5 again.")
        return
    if is_empty(answer):
        say("Not yet: set answer to a position, a number from the # column of the table under the reply.")
        return
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(chances):
        say(f"Not yet: answer should be a whole number from 0 to {len(chances) - 1}, not {answer!r}.")
        return
    token = tokens[answer]
    if chances[answer] > min(chances):
        say(
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
    say(f"Right: token {answer}, {token.token!r}, had only {token.probability:.1%}. {why}")


def _wrong_step(api: str, path: list[Any], body: dict[str, Any]) -> str | None:
    """What a path of keys finds instead of the schema in a request body, in plain words; None when it finds it."""
    node: Any = body
    for depth in range(len(path) + 1):
        where = "body" + "".join(f"[{step!r}]" for step in path[:depth])
        if depth and isinstance(node, dict) and "properties" in node:
            if depth == len(path):
                return None
            return f"the list goes past the schema: {where} is the schema (the dict with 'properties'), so end there."
        if not isinstance(node, dict):
            look = "which field of the body holds the schema?" if depth == 1 else "it is a dict with 'properties'."
            return f"{where} is {described(node, path[depth - 1])}, not the schema: {look}"
        if depth == len(path):
            return f"{where} is {short(node)}: the schema (the dict with 'properties') is further in."
        key = path[depth]
        if not isinstance(key, str) or key not in node:
            keys = ", ".join(str(name) for name in node)
            owner = f"the {ENDPOINTS[api]} body" if depth == 0 else where
            return f"{owner} has no {short(key)}; its keys are: {keys}."
        node = node[key]
    return None  # not reached: the last pass of the loop returns


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
