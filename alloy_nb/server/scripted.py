"""ScriptedEngine: replays queued turns so tests read as conversations."""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Any

from alloy_nb.server.demo import demo_turn
from alloy_nb.server.engines import (
    ChatRequest,
    DropConnection,
    EngineError,
    Event,
    Finish,
    ModelCard,
    RawBody,
    TextDelta,
    ToolCallOut,
    ToolCalls,
)
from alloy_nb.server.turns import ScriptedTurn

DEFAULT_MODELS = ("smollm2:135m", "llama3.1:8b", "gpt-oss:20b", "qwen3:0.6b")

Responder = Callable[[ChatRequest], ScriptedTurn]

PULL_CHUNKS = 4
PULL_CHUNK_DELAY = 0.02


class ScriptedEngine:
    """Replays queued turns; with an empty queue, answers like a demo model.

    Thread-safe: tests queue turns from their own thread while the server
    runs in another.
    """

    def __init__(
        self, model_names: Sequence[str] = DEFAULT_MODELS, responder: Responder = demo_turn
    ) -> None:
        self._served = tuple(model_names)
        self._cards = [fake_card(name) for name in model_names]
        self._responder = responder
        self._lock = threading.Lock()
        self._turns: deque[ScriptedTurn] = deque()
        self._requests: list[ChatRequest] = []
        self._active = 0

    def script(self, *turns: ScriptedTurn) -> None:
        """Queue turns; each chat request to a known model consumes one."""
        with self._lock:
            self._turns.extend(turns)

    def reset(self) -> None:
        """Forget queued turns, recorded requests and pulled models."""
        with self._lock:
            self._cards = [fake_card(name) for name in self._served]
            self._turns.clear()
            self._requests.clear()

    @property
    def requests(self) -> list[ChatRequest]:
        """Chat requests received so far (unknown models included), oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def pending(self) -> int:
        """How many scripted turns are still queued."""
        with self._lock:
            return len(self._turns)

    @property
    def active(self) -> int:
        """How many generations are running right now."""
        with self._lock:
            return self._active

    def models(self) -> list[ModelCard]:
        return list(self._cards)

    async def generate(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
        turn = self._take_turn(request)
        self._change_active(+1)
        try:
            async for event in _play(turn, request):
                yield event
        finally:
            self._change_active(-1)

    async def pull(self, name: str) -> AsyncGenerator[dict[str, Any], None]:
        """A fake download for a new name (then served); ``nonexistent…`` names fail."""
        if name not in {card.name for card in self.models()}:
            yield {"status": "pulling manifest"}
            if name.startswith("nonexistent"):
                raise EngineError(500, "pull model manifest: file does not exist")
            card = fake_card(name)
            for step in range(PULL_CHUNKS + 1):
                await asyncio.sleep(PULL_CHUNK_DELAY)
                yield {
                    "status": f"pulling {card.digest[:12]}",
                    "digest": f"sha256:{card.digest}",
                    "total": card.size,
                    "completed": card.size * step // PULL_CHUNKS,
                }
            yield {"status": "verifying sha256 digest"}
            yield {"status": "writing manifest"}
            with self._lock:
                if card.name not in {served.name for served in self._cards}:
                    self._cards.append(card)
        yield {"status": "success"}

    def _take_turn(self, request: ChatRequest) -> ScriptedTurn:
        with self._lock:
            self._requests.append(request)
            if request.model not in {card.name for card in self._cards}:
                raise EngineError.model_not_found(request.model)
            scripted = self._turns.popleft() if self._turns else None
        return self._responder(request) if scripted is None else scripted

    def _change_active(self, step: int) -> None:
        with self._lock:
            self._active += step


async def _play(turn: ScriptedTurn, request: ChatRequest) -> AsyncGenerator[Event, None]:
    """The events of one scripted turn, with its delays and faults."""
    started = time.perf_counter_ns()
    await asyncio.sleep(turn.delay)
    if turn.status is not None:
        raise EngineError(turn.status, turn.error)
    if turn.raw_body is not None:
        raise RawBody(turn.raw_body)
    events: list[Event] = [TextDelta(chunk) for chunk in turn.chunks or []]
    if turn.tool_calls:
        events.append(ToolCalls([ToolCallOut(c.name, c.arguments, c.id) for c in turn.tool_calls]))
    for index, event in enumerate(events):
        if index == turn.close_after_chunks:
            raise DropConnection()
        if index:
            await asyncio.sleep(turn.chunk_delay)
        yield event
    if turn.close_after_chunks is not None:
        raise DropConnection()
    yield _finish(turn, request, time.perf_counter_ns() - started)


def _finish(turn: ScriptedTurn, request: ChatRequest, elapsed_ns: int) -> Finish:
    prompt = " ".join(str(message.get("content") or "") for message in request.messages)
    completion = turn.text + "".join(f"{c.name} {c.arguments}" for c in turn.tool_calls)
    return Finish(
        done_reason=turn.done_reason,
        prompt_tokens=_given(turn.prompt_tokens, rough_tokens(prompt)),
        completion_tokens=_given(turn.completion_tokens, rough_tokens(completion)),
        prompt_eval_ns=1_000_000,
        eval_ns=max(elapsed_ns, 1),
    )


def _given(value: int | None, default: int) -> int:
    return default if value is None else value


def rough_tokens(text: str) -> int:
    """A rough token count: words and punctuation marks."""
    return len(re.findall(r"\w+|[^\w\s]", text))


def fake_card(name: str) -> ModelCard:
    """A plausible model card derived from the model name (e.g. ``llama3.1:8b``)."""
    family, _, tag = name.partition(":")
    match = re.search(r"(\d+(?:\.\d+)?)([mb])", tag.lower())
    amount, unit = (float(match[1]), match[2]) if match else (1.0, "b")
    parameters = amount * (1e6 if unit == "m" else 1e9)
    return ModelCard(
        name=name,
        size=int(parameters * 0.6),
        digest=hashlib.sha256(name.encode()).hexdigest(),
        family=family,
        parameter_size=f"{amount:g}{unit.upper()}",
        quantization_level="Q4_K_M",
    )
