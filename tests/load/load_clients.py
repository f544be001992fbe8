"""Concurrent HTTP clients for the load test: both APIs, streamed and not, each reply read to its end."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

KINDS = (("native", False), ("native", True), ("openai", False), ("openai", True))


@dataclass(frozen=True)
class Answer:
    """One request's outcome: which one, how it was asked, the text received, whether it ended properly."""

    index: int
    api: str
    stream: bool
    text: str
    finished: bool
    seconds: float


@dataclass
class LoadRun:
    """All answers of a run and its wall-clock time."""

    answers: list[Answer] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def figures(self) -> dict[str, float]:
        latencies = sorted(a.seconds for a in self.answers) or [0.0]
        cuts = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else latencies * 19
        return {
            "requests_per_s": round(len(self.answers) / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p95_ms": round(cuts[18] * 1000, 1),
        }


def _body(api: str, stream: bool, model: str, prompt: str, max_tokens: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": prompt}], "stream": stream}
    if max_tokens is not None:
        if api == "native":
            body["options"] = {"num_predict": max_tokens, "temperature": 0}
        else:
            body.update(max_tokens=max_tokens, temperature=0)
    return body


async def _read(response: httpx.Response, api: str, stream: bool) -> tuple[str, bool]:
    """The reply text and whether the server said it was complete (done / finish_reason and [DONE])."""
    if not stream:
        data = json.loads(await response.aread())
        if api == "native":
            return data["message"]["content"], data["done"] is True
        choice = data["choices"][0]
        return choice["message"]["content"], choice["finish_reason"] is not None
    pieces: list[str] = []
    done = finish = False
    async for line in response.aiter_lines():
        if api == "native" and line.strip():
            record = json.loads(line)
            pieces.append(record["message"]["content"])
            done = done or record["done"] is True
        elif line.startswith("data: ") and line != "data: [DONE]":
            choice = json.loads(line[6:])["choices"][0]
            pieces.append(choice["delta"].get("content") or "")
            finish = finish or choice["finish_reason"] is not None
        elif line == "data: [DONE]":
            done = True
    return "".join(pieces), done and (api == "native" or finish)


async def _client(
    url: str, work: Iterator[int], run: LoadRun, model: str, max_tokens: int | None, timeout: float
) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=timeout) as client:
        for index in work:
            api, stream = KINDS[index % len(KINDS)]
            path = "/api/chat" if api == "native" else "/v1/chat/completions"
            started = time.perf_counter()
            try:
                body = _body(api, stream, model, f"load {index}", max_tokens)
                async with client.stream("POST", path, json=body) as response:
                    response.raise_for_status()
                    text, finished = await _read(response, api, stream)
            except (httpx.HTTPError, ValueError, KeyError) as error:
                run.failures.append(f"{index} {api} stream={stream}: {type(error).__name__}: {error}")
                continue
            run.answers.append(Answer(index, api, stream, text, finished, time.perf_counter() - started))


async def drive(
    url: str, total: int, clients: int, model: str, *, max_tokens: int | None = None, timeout: float = 60.0
) -> LoadRun:
    """Send `total` requests from `clients` concurrent clients, cycling through the four kinds."""
    run = LoadRun()
    work = iter(range(total))  # shared: each client takes the next index when it is free
    started = time.perf_counter()
    await asyncio.gather(*(_client(url, work, run, model, max_tokens, timeout) for _ in range(clients)))
    run.seconds = time.perf_counter() - started
    return run


def rss_mb(pid: int) -> float:
    """The resident set size of a process, from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"no VmRSS for process {pid}")
