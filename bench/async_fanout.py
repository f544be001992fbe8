"""Async fan-out: 64 concurrent `await ask.async_(...)` against the scripted server with 100 ms of
think time per reply, both strategies.

Goal: the 64 calls together take <= 1.5x the wall time of one call (they really run concurrently,
on pooled connections). For comparison, the same 64 calls made one after another with sync `ask`,
and 64 concurrent calls made directly with the SDK's async client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from bench.report import Row, ratio_row
from bench.servers import EMBEDDED_MODEL, serving
from bench.timing import interleaved, interleaved_async

FAN_OUT = 64
THINK_TIME = 0.1
GOAL = 1.5


def _direct(api: str, url: str, body: dict[str, Any]) -> Callable[[], Awaitable[object]]:
    """One async call straight through the SDK, on a client made once (on the benchmark's loop)."""
    if api == "native":
        import ollama

        client = ollama.AsyncClient(host=url)
        return lambda: client.chat(**body)
    import openai

    openai_client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="ollama")
    return lambda: openai_client.chat.completions.create(**body)


async def _fan_out(call: Callable[[], Awaitable[object]], count: int) -> None:
    await asyncio.gather(*(call() for _ in range(count)))


async def _measure(api: str, url: str, fan_out: int, rounds: int) -> dict[str, list[float]]:
    from alloy_nb import ask

    options: dict[str, Any] = {"model": f"ollama:{EMBEDDED_MODEL}", "host": url, "api": api}
    body = (await ask.traced_async("Hi", **options)).trace.requests[0].body
    direct = _direct(api, url, body)

    async def one() -> None:
        await ask.async_("Hi", **options)

    return await interleaved_async(
        {
            "one call": one,
            "fan-out": lambda: _fan_out(one, fan_out),
            "direct fan-out": lambda: _fan_out(direct, fan_out),
        },
        rounds=rounds,
    )


def run(quick: bool = False) -> list[Row]:
    from alloy_nb import ask

    fan_out, rounds = (16, 2) if quick else (FAN_OUT, 7)
    rows: list[Row] = []
    with serving("scripted", think_time=THINK_TIME) as server:
        for api in ("native", "openai_chat"):
            timings = asyncio.run(_measure(api, server.url, fan_out, rounds))
            options = {"model": f"ollama:{EMBEDDED_MODEL}", "host": server.url, "api": api}
            sequential = interleaved(
                {"sequential": lambda options=options: [ask("Hi", **options) for _ in range(fan_out)]},
                rounds=max(2, rounds // 3),
                loops=1,
                warmup=0,
            )["sequential"]
            rows.append(
                ratio_row(
                    "fan-out",
                    f"{api}: {fan_out} concurrent ask.async_ vs one call",
                    "ms",
                    timings["fan-out"],
                    timings["one call"],
                    "one call",
                    scale=1e3,
                    goal=f"ratio ≤ {GOAL}",
                    limit=GOAL,
                )
            )
            direct = ratio_row(
                "fan-out",
                f"{api}: {fan_out} concurrent, alloy_nb vs the SDK's async client",
                "ms",
                timings["fan-out"],
                timings["direct fan-out"],
                "SDK async client",
                scale=1e3,
            )
            direct.notes[f"{fan_out} sequential sync ask, ms"] = sum(sequential) / len(sequential) * 1e3
            rows.append(direct)
    return rows
