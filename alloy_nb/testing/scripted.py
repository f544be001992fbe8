"""ScriptedEngine: replays queued turns (faults included) so tests read as conversations."""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass

from alloy_nb.server import ChatRequest, DemoEngine, EngineEvent, TurnScript
from alloy_nb.server.demo import DEFAULT_MODELS, Responder, turn_events
from alloy_nb.server.engines import Rendered

from .faults import fault_slot


@dataclass
class ScriptedTurn(TurnScript):
    """A scripted reply (see `alloy_nb.server.TurnScript`) that may also be a fault:
    `raw_body` answers 200 with exactly that body; `close_after_chunks` cuts the connection after
    that many streamed pieces (0: right after the headers)."""

    raw_body: str | None = None
    close_after_chunks: int | None = None


class ScriptedEngine(DemoEngine):
    """Replays queued turns; with an empty queue, answers like the demo model.

    Thread-safe: tests queue turns from their own thread while the server runs in another.
    The last `KEEP_REQUESTS` chat requests are kept in `requests` until `reset()`; `active` and
    `peak_active` count the replies being played (with `parallel`, not those waiting their turn).
    """

    KEEP_REQUESTS = 1000  # a long-running test server stays bounded

    def __init__(
        self,
        model_names: Sequence[str] = DEFAULT_MODELS,
        responder: Responder | None = None,
        parallel: int | None = None,
    ) -> None:
        super().__init__(model_names, responder, parallel)
        self._script_lock = threading.Lock()
        self._turns: deque[TurnScript] = deque()
        self._requests: deque[ChatRequest] = deque(maxlen=self.KEEP_REQUESTS)
        self._active = 0
        self._peak = 0

    def script(self, *turns: TurnScript) -> None:
        """Queue turns; each chat request to a known model consumes one."""
        with self._script_lock:
            self._turns.extend(turns)

    def reset(self) -> None:
        """Forget queued turns, recorded requests, pulled models and the peak concurrency."""
        self.forget_pulled()
        self.reset_peak()
        with self._script_lock:
            self._turns.clear()
            self._requests.clear()

    @property
    def active(self) -> int:
        """How many replies are being played right now."""
        with self._script_lock:
            return self._active

    @property
    def peak_active(self) -> int:
        """The most replies played at once (since `reset_peak`)."""
        with self._script_lock:
            return self._peak

    def reset_peak(self) -> None:
        with self._script_lock:
            self._peak = self._active

    @property
    def requests(self) -> list[ChatRequest]:
        """Recent chat requests (unknown models included), oldest first."""
        with self._script_lock:
            return list(self._requests)

    @property
    def pending(self) -> int:
        """How many scripted turns are still queued."""
        with self._script_lock:
            return len(self._turns)

    async def generate(self, request: ChatRequest) -> AsyncGenerator[EngineEvent, None]:
        with self._script_lock:
            self._requests.append(request)
        async for event in super().generate(request):
            yield event

    async def render(self, request: ChatRequest) -> Rendered:
        """Render as the demo model does; the request is recorded (`render_only` set), no turn consumed."""
        with self._script_lock:
            self._requests.append(request)
        return await super().render(request)

    async def turn_for(self, request: ChatRequest) -> TurnScript:
        with self._script_lock:
            scripted = self._turns.popleft() if self._turns else None
        return await super().turn_for(request) if scripted is None else scripted

    async def play(self, turn: TurnScript, request: ChatRequest) -> AsyncGenerator[EngineEvent, None]:
        self._count(+1)
        try:
            async with contextlib.aclosing(self._play(turn, request)) as events:
                async for event in events:
                    yield event
        finally:
            self._count(-1)

    def _count(self, step: int) -> None:
        with self._script_lock:
            self._active += step
            self._peak = max(self._peak, self._active)

    async def _play(self, turn: TurnScript, request: ChatRequest) -> AsyncGenerator[EngineEvent, None]:
        """The turn's events; a fault turn sets the connection's fault instead of (or after) some."""
        if not isinstance(turn, ScriptedTurn) or (turn.raw_body is None and turn.close_after_chunks is None):
            async for event in super().play(turn, request):
                yield event
            return
        slot = fault_slot()
        if slot is None:
            raise RuntimeError("fault turns need the server from alloy_nb.testing (ServerThread)")
        if turn.raw_body is not None:
            slot.raw_body = turn.raw_body
            return
        events = super().play(turn, request)
        for _ in turn_events(turn)[: turn.close_after_chunks]:
            yield await anext(events)
        await events.aclose()
        slot.drop = True
