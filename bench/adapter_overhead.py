"""Adapter overhead per call: `ask()` against the same requests made directly with the `ollama` and
`openai` SDKs, each strategy (`openai_responses` against `responses.create`), on the scripted server with zero think time.

The direct calls replay the request bodies alloy_nb put on the wire (taken from its own trace), so
both sides send identical bytes; the direct tool round trip also parses the tool call and runs the
tool. Goal: median ratio <= 1.05 per case; the added microseconds per call are reported. For scale,
the same comparison on a short generation by the embedded model (no goal: it shows the overhead
next to real model work).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from bench.report import Row, ratio_row
from bench.servers import EMBEDDED_MODEL, serving
from bench.timing import interleaved

GOAL = 1.05
CONTROL_US = 100


class City(BaseModel):
    name: str
    population: int
    coastal: bool


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def _direct_native(url: str) -> Callable[[dict[str, Any]], tuple[str, list[tuple[str, dict[str, Any]]]]]:
    import ollama

    client = ollama.Client(host=url)

    def send(body: dict[str, Any]) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
        message = client.chat(**body).message
        return message.content or "", [(c.function.name, dict(c.function.arguments)) for c in message.tool_calls or []]

    return send


def _direct_openai(url: str) -> Callable[[dict[str, Any]], tuple[str, list[tuple[str, dict[str, Any]]]]]:
    import openai

    client = openai.OpenAI(base_url=f"{url}/v1", api_key="ollama")

    def send(body: dict[str, Any]) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
        message = client.chat.completions.create(**body).choices[0].message
        calls = [(c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []]
        return message.content or "", calls

    return send


def _direct_responses(url: str) -> Callable[[dict[str, Any]], tuple[str, list[tuple[str, dict[str, Any]]]]]:
    import openai

    client = openai.OpenAI(base_url=f"{url}/v1", api_key="ollama")

    def send(body: dict[str, Any]) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
        response = client.responses.create(**body)
        calls = [(item.name, json.loads(item.arguments)) for item in response.output if item.type == "function_call"]
        return response.output_text, calls

    return send


DIRECT = {"native": _direct_native, "openai_chat": _direct_openai, "openai_responses": _direct_responses}


def _cases(api: str, url: str) -> dict[str, Callable[[], object]]:
    """Each case twice: through `ask()` and directly through the SDK with the same request bodies."""
    from alloy_nb import ask

    options: dict[str, Any] = {"model": f"ollama:{EMBEDDED_MODEL}", "host": url, "api": api}
    send = DIRECT[api](url)
    text_body, typed_body = (
        ask.traced(p, output=o, **options).trace.requests[0].body
        for p, o in (("Name a city.", str), ("Describe a city.", City))
    )
    tool_trace = ask.traced("Add 2 and 3.", tools=[add], **options).trace
    first_tool_body, second_tool_body = (event.body for event in tool_trace.requests)

    def direct_text() -> str:
        return send(text_body)[0]

    def direct_typed() -> City:
        return City.model_validate_json(send(typed_body)[0])

    def direct_tool() -> str:
        _, calls = send(first_tool_body)
        for _name, arguments in calls:
            add(**arguments)
        return send(second_tool_body)[0]

    assert direct_text() == ask("Name a city.", **options)
    assert direct_typed() == ask("Describe a city.", output=City, **options)
    assert direct_tool() == ask("Add 2 and 3.", tools=[add], **options)
    return {
        "text": lambda: ask("Name a city.", **options),
        "text direct": direct_text,
        "typed": lambda: ask("Describe a city.", output=City, **options),
        "typed direct": direct_typed,
        "tool": lambda: ask("Add 2 and 3.", tools=[add], **options),
        "tool direct": direct_tool,
    }


def _floor_cases(url: str) -> dict[str, Callable[[], object]]:
    """The floor under native `ask()`: the same call with no trace, no conversation loop and no call
    log, first without the wire capture (the settings, the request, the SDK's chat, the value),
    then sent through the strategy (the capture, the total deadline, the error translation), then
    with the least trace that records it (the request and the reply as events, the call finished:
    the recent-calls history and the hooks); and `ask()` with the call log off, whose writer thread
    otherwise shares the machine's cores.

    A control calibrates the machine: the SDK's call followed by `CONTROL_US` of busy work, which
    shows what that much CPU time after each reply costs on the wall clock here."""
    import ollama

    from alloy_nb import ask
    from alloy_nb._commands import _asked
    from alloy_nb._strategies import Exchange, Outgoing, strategy_for
    from alloy_nb._strategies.native import _turn
    from alloy_nb._trace import RequestEvent, ResponseEvent, Trace, Usage

    options: dict[str, Any] = {"model": f"ollama:{EMBEDDED_MODEL}", "host": url, "api": "native"}
    client = ollama.Client(host=url)
    body = ask.traced("Name a city.", **options).trace.requests[0].body

    def floor(send_through_strategy: bool) -> Any:
        spec = _asked("Name a city.", options)
        strategy = strategy_for(spec.config)
        request = strategy.request(Outgoing(spec.first_messages(), [], spec.output, False, ()))
        turn = strategy.send(request, Exchange()) if send_through_strategy else _turn(client.chat(**request))
        return spec.output.parse(turn.text)

    def traced_floor() -> Any:
        spec = _asked("Name a city.", options)
        strategy = strategy_for(spec.config)
        trace = Trace(model=spec.config.model, strategy=strategy.name, host=spec.config.host)
        messages = spec.first_messages()
        request = strategy.request(Outgoing(messages, [], spec.output, False, ()))
        exchange = Exchange()
        turn = strategy.send(request, exchange)
        sent = exchange.sent
        assert sent is not None
        trace.add(
            RequestEvent(turn=0, endpoint=strategy.endpoint, url=sent.url, messages=messages, body=sent.body),
            wire_size=sent.size,
        )
        usage = Usage(prompt_tokens=turn.prompt_tokens, completion_tokens=turn.completion_tokens)
        trace.add(ResponseEvent(turn=0, text=turn.text, usage=usage, raw=exchange.reply), wire_size=exchange.reply_size)
        value = spec.output.parse(turn.text)
        trace.finish("ok", value)
        return value

    assert floor(False) == floor(True) == traced_floor() == ask("Name a city.", **options)
    return {
        "bare": lambda: floor(False),
        "captured": lambda: floor(True),
        "traced": traced_floor,
        "ask": lambda: ask("Name a city.", **options),
        "ask, log off": lambda: ask("Name a city.", log=False, **options),
        "direct": lambda: client.chat(**body),
        "control": lambda: (client.chat(**body), _busy(CONTROL_US)),
    }


def _busy(microseconds: float) -> None:
    """Keep the CPU busy (no sleep) for `microseconds`."""
    end = time.perf_counter() + microseconds / 1e6
    while time.perf_counter() < end:
        pass


def _embedded_cases(api: str, url: str) -> dict[str, Callable[[], object]]:
    """A short real generation (16 tokens at temperature 0) through `ask()` and directly."""
    from alloy_nb import ask

    options: dict[str, Any] = {
        "model": f"ollama:{EMBEDDED_MODEL}",
        "host": url,
        "api": api,
        "max_tokens": 16,
        "temperature": 0.0,
    }
    send = DIRECT[api](url)
    body = ask.traced("Name a city.", **options).trace.requests[0].body
    return {"text": lambda: ask("Name a city.", **options), "text direct": lambda: send(body)[0]}


def _row(api: str, label: str, sdk: str, ours: list[float], direct: list[float], goal: bool = True) -> Row:
    row = ratio_row(
        "overhead",
        f"{api}: {label}",
        "µs/call",
        ours,
        direct,
        sdk,
        scale=1e6,
        goal=f"ratio ≤ {GOAL}" if goal else "",
        limit=GOAL if goal else None,
    )
    row.notes["added µs/call"] = row.ours.median - row.reference.median  # type: ignore[union-attr]
    return row


def run(quick: bool = False) -> list[Row]:
    rounds, loops = (3, 5) if quick else (30, 30)
    rows: list[Row] = []
    apis = (("native", "ollama SDK"), ("openai_chat", "openai SDK"), ("openai_responses", "openai SDK responses"))
    with serving("scripted") as server:
        for api, sdk in apis:
            timings = interleaved(_cases(api, server.url), rounds=rounds, loops=loops, warmup=2)
            for case, label in (("text", "text"), ("typed", "typed pydantic output"), ("tool", "one tool round trip")):
                rows.append(_row(api, label, sdk, timings[case], timings[f"{case} direct"]))
        timings = interleaved(_floor_cases(server.url), rounds=rounds, loops=loops, warmup=2)
        for case, label in (
            ("bare", "text, floor: settings, request, SDK, value (no capture, trace, loop or log)"),
            ("captured", "text, floor sent through the strategy (+ wire capture, deadline, errors)"),
            ("traced", "text, floor with the least trace (+ request and reply events, call finished)"),
            ("ask", "text, ask() measured beside the floors"),
            ("ask, log off", "text, ask() with the call log off (its writer thread shares the 2 cores)"),
            ("control", f"control: the SDK's call, then {CONTROL_US} µs of busy work (what CPU time costs here)"),
        ):
            rows.append(_row("native", label, "ollama SDK", timings[case], timings["direct"], goal=False))
    with serving("llama") as server:  # for scale: the same overhead next to a real (tiny) model's work
        for api, sdk in apis:
            timings = interleaved(_embedded_cases(api, server.url), rounds=2 if quick else 10, loops=2 if quick else 3)
            rows.append(
                _row(
                    api, "text, embedded SmolLM2 (16 tokens)", sdk, timings["text"], timings["text direct"], goal=False
                )
            )
    return rows
