"""The deterministic demo model: `alloy-nb serve --engine scripted` and the base of the test engine.

It calls the first tool offered, else fills the `format` schema, else echoes the user; asked to render
only, it writes the conversation in a simple documented template (`demo_prompt`); it lists a
few plausible models and "pulls" new names with a short fake download. Its log probabilities and
embeddings are deterministic stand-ins (see `synthetic`). Filling a schema and looking
at images take time, so a request that asks for either is answered from a worker thread; an image
over MAX_IMAGE_PIXELS is refused before it is decoded (a 12 KB PNG can hold 81 million pixels).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import threading
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Any

import anyio

from alloy_nb.server.engine_events import EngineEvent, Finish, TextDelta, ThinkingDelta, ToolCallOut, ToolCalls
from alloy_nb.server.engines import ChatRequest, Embeddings, EmbedRequest, EngineError, ModelCard, Rendered
from alloy_nb.server.schema_example import example
from alloy_nb.server.synthetic import embedding, with_logprobs
from alloy_nb.server.tool_grammar import reply_grammar, template_messages, uncalled_tools
from alloy_nb.server.turns import ScriptedToolCall, TurnScript, split_words
from alloy_nb.server.wire import find_card

DEFAULT_MODELS = ("smollm2:135m", "llama3.1:8b", "gpt-oss:20b", "qwen3:0.6b", "gemma3:4b")
# What real Ollama reports for these families: which think, which see, which take tools.
_THINKING = ("qwen3", "deepseek-r1", "gpt-oss", "magistral")
_VISION = ("gemma3", "llava", "vision", "qwen2.5vl", "minicpm-v", "llama4")
_NO_TOOLS = ("gemma3", "llava", "deepseek-r1")
_LEVELS = ("gpt-oss",)  # takes low / medium / high, not on / off
PULL_CHUNKS = 4
PULL_CHUNK_DELAY = 0.02
MAX_IMAGE_PIXELS = 25_000_000  # a 6000×4000 photo; Pillow's own bomb check starts at 89 million

Responder = Callable[[ChatRequest], TurnScript]


class DemoEngine:
    """Answers every chat request with `responder(request)` (the demo model by default), played
    with the turn's delays; thread-safe. With `parallel=N`, at most N generations run at once and
    the others wait their turn, as Ollama does with `OLLAMA_NUM_PARALLEL`."""

    def __init__(
        self,
        model_names: Sequence[str] = DEFAULT_MODELS,
        responder: Responder | None = None,
        parallel: int | None = None,
    ) -> None:
        self._served = tuple(model_names)
        self._cards = [fake_card(name) for name in model_names]
        self._responder = responder or demo_turn
        self._lock = threading.Lock()
        self._parallel = parallel
        self._slots: asyncio.Semaphore | None = None  # made on the server's event loop

    def models(self) -> list[ModelCard]:
        return list(self._cards)

    def preload(self) -> None:
        """Nothing to load: the demo model answers at once."""

    def loaded_context(self, name: str) -> int | None:
        return None

    def forget_pulled(self) -> None:
        """Serve only the models it started with."""
        with self._lock:
            self._cards = [fake_card(name) for name in self._served]

    async def generate(self, request: ChatRequest) -> AsyncGenerator[EngineEvent, None]:
        if find_card(self.models(), request.model) is None:
            raise EngineError.model_not_found(request.model)
        if self._parallel is not None and self._slots is None:
            self._slots = asyncio.Semaphore(self._parallel)
        async with self._slots or contextlib.nullcontext():
            turn = await self.turn_for(request)
            async with contextlib.aclosing(self.play(turn, request)) as events:
                async for event in events:
                    yield event

    async def turn_for(self, request: ChatRequest) -> TurnScript:
        """The reply to give, from a worker thread when the request has schemas or images to work on
        (subclasses may answer from a script)."""
        if request.tools or isinstance(request.format, dict) or any(m.get("images") for m in request.messages):
            return await anyio.to_thread.run_sync(self._responder, request)
        return self._responder(request)

    async def play(self, turn: TurnScript, request: ChatRequest) -> AsyncGenerator[EngineEvent, None]:
        """The events of one turn, with its delays; `status` answers with that HTTP error."""
        started = time.perf_counter_ns()
        await asyncio.sleep(turn.delay)
        if turn.status is not None:
            raise EngineError(turn.status, turn.error)
        for index, event in enumerate(turn_events(turn)):
            if index:
                await asyncio.sleep(turn.chunk_delay)
            if request.logprobs and isinstance(event, TextDelta):
                event = with_logprobs(event, request.top_logprobs)
            yield event
        yield _finish(turn, request, time.perf_counter_ns() - started)

    async def render(self, request: ChatRequest) -> Rendered:
        """The prompt in the demo template (see `demo_prompt`), with the tool instructions the embedded
        model gets, and the grammar the embedded model's reply would follow."""
        if find_card(self.models(), request.model) is None:
            raise EngineError.model_not_found(request.model)
        tools = uncalled_tools(request)
        return Rendered(demo_prompt(template_messages(request, tools)), reply_grammar(request, tools))

    async def embed(self, request: EmbedRequest) -> Embeddings:
        """Synthetic vectors of the whole texts (see `synthetic.embedding`); with `truncate` off, an
        input over the context (`num_ctx`, else the card's, in rough tokens) is refused."""
        card = find_card(self.models(), request.model)
        if card is None:
            raise EngineError.model_not_found(request.model)
        asked = request.options.get("num_ctx")
        limit = asked if isinstance(asked, int) and not isinstance(asked, bool) and asked > 0 else card.context_length
        counts = [rough_tokens(text) for text in request.inputs]
        if not request.truncate and any(count > limit for count in counts):
            raise EngineError(400, "the input length exceeds the context length")
        vectors = await anyio.to_thread.run_sync(lambda: [embedding(text) for text in request.inputs])
        return Embeddings(vectors=vectors, prompt_tokens=sum(min(count, limit) for count in counts))

    async def pull(self, name: str) -> AsyncGenerator[dict[str, Any], None]:
        """A fake download for a new name (then served); ``nonexistent…`` names fail."""
        if find_card(self.models(), name) is None:
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


def demo_prompt(messages: list[dict[str, str]]) -> str:
    """The demo model's template: each message as `<|role|>` on a line of its own, then its text and
    `<|end|>`; last, `<|assistant|>` where the reply would begin.

    >>> demo_prompt([{"role": "user", "content": "Hi"}])
    '<|user|>\\nHi<|end|>\\n<|assistant|>\\n'
    """
    return "".join(f"<|{m['role']}|>\n{m['content']}<|end|>\n" for m in messages) + "<|assistant|>\n"


def turn_events(turn: TurnScript) -> list[EngineEvent]:
    """A turn's text pieces, then its tool calls (if any), as engine events."""
    events: list[EngineEvent] = [ThinkingDelta(piece) for piece in split_words(turn.thinking)]
    events += [TextDelta(chunk) for chunk in turn.chunks or []]
    if turn.tool_calls:
        events.append(
            ToolCalls([ToolCallOut(c.name, c.arguments, c.id, tuple(c.pieces or ())) for c in turn.tool_calls])
        )
    return events


def demo_turn(request: ChatRequest) -> TurnScript:
    """Call the first tool, else fill the ``format`` schema, else echo the user (and describe
    the images sent, for a vision model).

    A tool is called only while the last message is not a tool result, so a tool loop ends
    after one round. A thinking model thinks first (unless ``think`` is off), as Ollama streams it.
    """
    turn = _reply(request)
    card = fake_card(request.model)
    if "thinking" in card.capabilities and request.think is not False:
        turn.thinking = _thoughts(request, turn)
    return turn


def _reply(request: ChatRequest) -> TurnScript:
    last_role = request.messages[-1].get("role") if request.messages else None
    if request.tools and last_role != "tool":
        tool = request.tools[0]
        return TurnScript(tool_calls=[ScriptedToolCall(tool.name, _arguments(tool.parameters))])
    if isinstance(request.format, dict):
        return TurnScript(text=json.dumps(_fill(request.format, "format")))
    if request.format == "json":
        return TurnScript(text="{}")
    seen = [describe_image(image) for image in _last_user(request).get("images") or []]
    saw = f"I see {len(seen)} image{'s' if len(seen) > 1 else ''}: {'; '.join(seen)}. " if seen else ""
    return TurnScript(text=f"{saw}You said: {_last_user_text(request)}")


def _thoughts(request: ChatRequest, turn: TurnScript) -> str:
    level = f" Effort: {request.think}." if isinstance(request.think, str) else ""
    words = len(_last_user_text(request).split())
    if turn.tool_calls:
        plan = f"A tool can answer this: I will call {turn.tool_calls[0].name}."
    elif isinstance(request.format, dict):
        plan = "The reply must be JSON that fits the schema, so I will fill in each field."
    else:
        plan = "I will repeat it back."
    return f"The user wrote {words} word{'' if words == 1 else 's'}.{level} {plan}"


_COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (230, 210, 40),
    "orange": (240, 140, 30),
    "purple": (130, 50, 170),
    "white": (245, 245, 245),
    "grey": (128, 128, 128),
    "black": (15, 15, 15),
}


def describe_image(data: str) -> str:
    """What the demo model "sees": an image's format, size and main colour (from its base64); an
    image over MAX_IMAGE_PIXELS is the client's error (400), found before it is decoded."""
    import base64
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(base64.b64decode(data, validate=True))) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise _too_large(f"{width * height / 1e6:.0f} megapixels ({width}×{height})")
            mean = image.convert("RGB").resize((1, 1)).getpixel((0, 0))
            shape = f"a {width}×{height} {image.format or 'image'}"
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):  # Pillow refused it as it opened
        raise _too_large(f"over {(Image.MAX_IMAGE_PIXELS or 0) / 1e6:.0f} megapixels") from None
    except (ValueError, OSError, UnidentifiedImageError):
        return "something that is not an image"
    colour = min(_COLOURS, key=lambda name: sum((a - b) ** 2 for a, b in zip(_COLOURS[name], mean, strict=True)))
    return f"{shape}, mostly {colour}"


def _too_large(size: str) -> EngineError:
    return EngineError(
        400,
        f"an image has {size}; the demo model looks at images of at most {MAX_IMAGE_PIXELS / 1e6:.0f} "
        "megapixels: send a smaller one",
    )


def _arguments(parameters: dict[str, Any]) -> dict[str, Any]:
    value = _fill(parameters, "tool parameters")
    return value if isinstance(value, dict) else {}


def _fill(schema: dict[str, Any], where: str) -> Any:
    """An instance of a schema from the request; a schema with malformed keywords is the client's error (400)."""
    try:
        return example(schema)
    except (TypeError, AttributeError, LookupError, ValueError, RecursionError) as error:
        raise EngineError(400, f"invalid JSON schema in {where}: {type(error).__name__}: {error}") from None


def _last_user(request: ChatRequest) -> dict[str, Any]:
    return next((m for m in reversed(request.messages) if m.get("role") == "user"), {})


def _last_user_text(request: ChatRequest) -> str:
    return str(_last_user(request).get("content") or "")


def _finish(turn: TurnScript, request: ChatRequest, elapsed_ns: int) -> Finish:
    prompt = " ".join(str(message.get("content") or "") for message in request.messages)
    completion = turn.text + "".join(f"{c.name} {c.arguments}" for c in turn.tool_calls)
    context = request.options.get("num_ctx")
    prompt_tokens = _given(turn.prompt_tokens, rough_tokens(prompt))
    if isinstance(context, int) and context > 0:  # as Ollama does, a prompt longer than the context is cut to fit
        prompt_tokens = min(prompt_tokens, context)
    return Finish(
        done_reason=turn.done_reason,
        prompt_tokens=prompt_tokens,
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
    capabilities = ["completion"]
    capabilities += [] if family.startswith(_NO_TOOLS) else ["tools"]
    capabilities += ["vision"] if any(mark in name for mark in _VISION) else []
    thinks = family.startswith(_THINKING)
    levels = family.startswith(_LEVELS)
    return ModelCard(
        name=name,
        size=int(parameters * 0.6),
        digest=hashlib.sha256(name.encode()).hexdigest(),
        family=family,
        parameter_size=f"{amount:g}{unit.upper()}",
        quantization_level="Q4_K_M",
        capabilities=(*capabilities, *(["thinking"] if thinks else [])),
        think_values=("low", "medium", "high") if levels else (False, True) if thinks else (),
        think_default="medium" if levels else True if thinks else None,
    )
