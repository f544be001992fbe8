"""LlamaCppEngine: real GGUF models through llama-cpp-python, several requests decoded at once.

Requests are rendered with the model's chat template and handed to a `SlotDecoder`, which decodes
up to `parallel` of them together in one llama.cpp batch per token (continuous batching) on its
worker thread; tokens cross to the event loop through an asyncio queue. Closing the event
generator (client disconnect) cancels the job, which frees its slot at the next step. Typed output
and tool calls are enforced with llama.cpp grammars compiled from the JSON schemas. Rendering a
prompt and building a grammar take a thread of their own, so the event loop keeps answering.
Embeddings come from the same model, read by the same worker between decoding steps (`llama_embed`),
so the model cards say "embedding" too.

Every model file is checked when the engine is made: a file llama.cpp cannot read stops the start
with an error naming it, rather than failing every later listing and chat.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

from alloy_nb._model_names import same_model
from alloy_nb.server.engine_events import EngineEvent, Finish, TextDelta, TokenLogprob, ToolCallOut, ToolCalls
from alloy_nb.server.engines import (
    ChatRequest,
    Embeddings,
    EmbedRequest,
    EngineError,
    ModelCard,
    Rendered,
    ToolSpec,
)
from alloy_nb.server.llama_jobs import EmbedJob, Job, default_max_queue, default_parallel
from alloy_nb.server.llama_sampling import DEFAULTS, Sampling
from alloy_nb.server.llama_slots import SlotDecoder
from alloy_nb.server.schema_grammar import SchemaError, schema_grammar
from alloy_nb.server.tool_grammar import (
    parse_free_reply,
    parse_tool_reply,
    reply_grammar,
    template_messages,
    uncalled_tools,
)

DEFAULT_CONTEXT = 4096
GGUF_MAGIC = b"GGUF"
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
CHATML = (
    "{% for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@dataclass
class GGUFModel:
    """A servable GGUF file and what its header says about it."""

    name: str
    path: Path

    @cached_property
    def _header(self) -> tuple[dict[str, str], str, str]:
        """The metadata and the text of the BOS and EOS tokens, read with the vocabulary only."""
        from llama_cpp import Llama

        vocab = Llama(model_path=str(self.path), vocab_only=True, verbose=False)
        bos, eos = (
            vocab.detokenize([token], special=True).decode(errors="replace")
            for token in (vocab.token_bos(), vocab.token_eos())
        )
        return dict(vocab.metadata), bos, eos

    @property
    def metadata(self) -> dict[str, str]:
        return self._header[0]

    def check(self) -> None:
        """Raise ValueError, naming the file and what is wrong, unless llama.cpp can read its header."""
        with self.path.open("rb") as handle:
            magic = handle.read(len(GGUF_MAGIC))
        if magic != GGUF_MAGIC:
            raise ValueError(
                f"cannot serve {self.name!r}: {self.path} is not a GGUF file (it starts with {magic!r}, "
                f"not {GGUF_MAGIC!r}); pass a .gguf model file"
            )
        try:
            self._header  # noqa: B018 (reading the header is the check)
        except ValueError as error:
            raise ValueError(
                f"cannot serve {self.name!r}: llama.cpp cannot read {self.path} ({error}); the file may be cut "
                "short or need a newer llama-cpp-python: download it again, or update llama-cpp-python"
            ) from None

    @cached_property
    def _formatter(self) -> Any:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        metadata, bos, eos = self._header
        return Jinja2ChatFormatter(metadata.get("tokenizer.chat_template") or CHATML, eos_token=eos, bos_token=bos)

    def render(self, messages: list[dict[str, str]]) -> str:
        """The prompt text for `messages`, from the file's chat template (ChatML if it has none)."""
        return str(self._formatter(messages=messages).prompt)

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
            capabilities=("completion", "tools", "embedding"),
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


class LlamaCppEngine:
    """Serves GGUF models by name on `parallel` slots of the one loaded model (see `llama_slots`)."""

    def __init__(
        self,
        models: Mapping[str, Path | str],
        threads: int | None = None,
        parallel: int | None = None,
        max_queue: int | None = None,
        tool_grammar: bool = True,
    ) -> None:
        if not models:
            raise ValueError("LlamaCppEngine needs at least one model: {'name': 'path/to/model.gguf'}")
        self._models = {name: GGUFModel(name, Path(path)) for name, path in models.items()}
        for model in self._models.values():
            if not model.path.is_file():
                raise FileNotFoundError(f"GGUF file for {model.name!r} not found: {model.path}")
            model.check()
        self._decoder = SlotDecoder(
            parallel=parallel or default_parallel(),
            threads=threads or max(1, os.cpu_count() or 1),
            max_queue=max_queue or default_max_queue(),
        )
        self._tool_grammar = tool_grammar  # False: `alloy-nb serve --no-tool-grammar`, for every request

    @property
    def parallel(self) -> int:
        """How many requests decode at once."""
        return self._decoder.parallel

    def models(self) -> list[ModelCard]:
        return [model.card() for model in self._models.values()]

    def loaded_context(self, name: str) -> int | None:
        """Tokens of context each request gets while `name` is loaded (what `/api/ps` reports)."""
        model = self._models.get(name)
        return self._decoder.context_per_slot(model.path) if model is not None else None

    def preload(self) -> None:
        """Load the first model now, so the first request does not wait for it. Synchronous: the
        model's own loading output must not interleave with the server's messages."""
        model = next(iter(self._models.values()))
        model.render([{"role": "user", "content": ""}])  # reads the header and compiles the template
        done = threading.Event()
        n_ctx = context_size(None, model.card().context_length)
        self._decoder.submit(Job(model.path, n_ctx, "", Sampling(), emit=lambda item: done.set(), load_only=True))
        done.wait()  # a model that fails to load fails again, with its error, on the first request

    def active_slots(self) -> int:
        """Requests decoding right now."""
        return self._decoder.active()

    def embedding(self) -> bool:
        """Whether an embedding job is being read right now."""
        return self._decoder.embedding()

    def queued(self) -> int:
        """Requests waiting for a slot."""
        return self._decoder.queued()

    def close(self) -> None:
        """Stop decoding and free the model."""
        self._decoder.close()

    async def pull(self, name: str) -> AsyncGenerator[dict[str, Any], None]:
        """Success for a served model; nothing can be downloaded, so any other name fails."""
        if name not in self._models:
            raise EngineError(
                404,
                f"cannot pull {name!r}: the embedded server has no network access and cannot download "
                f"models. To serve a local GGUF file, run: alloy-nb serve --model {name}=PATH.gguf",
            )
        yield {"status": "success"}

    async def generate(self, request: ChatRequest) -> AsyncGenerator[EngineEvent, None]:
        model = self._model(request.model)
        request = self._switched(request)
        tools = uncalled_tools(request)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[EngineEvent | BaseException] = asyncio.Queue()

        def emit(item: EngineEvent | BaseException) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the event loop is gone (server shut down): nobody is listening
                job.cancelled = True

        n_ctx, prompt, sampling = await asyncio.to_thread(_prepared, model, request, tools)
        top = request.top_logprobs if request.logprobs else None
        job = Job(model_path=model.path, n_ctx=n_ctx, prompt=prompt, sampling=sampling, emit=emit, top_logprobs=top)
        self._decoder.submit(job)
        pieces: list[str] = []
        logprobs: list[TokenLogprob] = []
        try:
            while not isinstance(item := await queue.get(), Finish):
                if isinstance(item, BaseException):
                    raise item
                if not request.tools:
                    yield item
                elif isinstance(item, TextDelta):
                    pieces.append(item.text)
                    logprobs.extend(item.logprobs)
            for event in _tool_reply(request, "".join(pieces), tuple(logprobs)) if request.tools else ():
                yield event
            yield item
        finally:
            self._decoder.cancel(job)

    async def render(self, request: ChatRequest) -> Rendered:
        """The prompt `generate` would decode, from the same template and tool instructions, and the
        grammar its reply would follow; nothing is decoded."""
        model = self._model(request.model)
        request = self._switched(request)
        tools = uncalled_tools(request)
        _, prompt, _ = await asyncio.to_thread(_prepared, model, request, tools)
        return Rendered(prompt, reply_grammar(request, tools))

    async def embed(self, request: EmbedRequest) -> Embeddings:
        """Each input's tokens' last hidden states, averaged (see `llama_embed`), read by the decoder's
        worker between its decoding steps; cancelled if the caller is."""
        model = self._model(request.model)
        loop = asyncio.get_running_loop()
        result: asyncio.Future[Embeddings] = loop.create_future()

        def emit(item: Embeddings | BaseException) -> None:
            try:
                loop.call_soon_threadsafe(_settle, result, item)
            except RuntimeError:  # the event loop is gone (server shut down): nobody is listening
                job.cancelled = True

        n_ctx = context_size(request.options.get("num_ctx"), model.card().context_length)
        job = EmbedJob(model.path, n_ctx, request.inputs, request.truncate, emit)
        self._decoder.submit(job)
        try:
            return await result
        finally:
            self._decoder.cancel(job)

    def _switched(self, request: ChatRequest) -> ChatRequest:
        """The request with the server-wide switch applied: no tool-call grammar when the server was
        started without one, whatever the request asks."""
        return request if self._tool_grammar else replace(request, tool_grammar=False)

    def _model(self, name: str) -> GGUFModel:
        model = next((model for served, model in self._models.items() if same_model(served, name)), None)
        if model is None:
            raise EngineError.model_not_found(name)
        return model


def _settle(future: asyncio.Future[Embeddings], item: Embeddings | BaseException) -> None:
    if future.done():  # cancelled: the client went away
        return
    if isinstance(item, BaseException):
        future.set_exception(item)
    else:
        future.set_result(item)


def _prepared(model: GGUFModel, request: ChatRequest, tools: Sequence[ToolSpec]) -> tuple[int, str, Sampling]:
    """The context size, prompt and sampling of a request (work for a thread: templates and grammars)."""
    n_ctx = context_size(request.options.get("num_ctx"), model.card().context_length)
    prompt = request.messages[-1]["content"] if request.raw else model.render(template_messages(request, tools))
    return n_ctx, prompt, Sampling.from_options(request.options, _grammar(request, tools))


def _grammar(request: ChatRequest, tools: Sequence[ToolSpec]) -> str | None:
    """The GBNF a reply must follow: the tool-call envelope, the `format` schema, any JSON, or none;
    a schema no grammar can follow is the client's error (400)."""
    from llama_cpp.llama_grammar import JSON_GBNF

    grammar = reply_grammar(request, tools)
    if grammar is None:  # free text; with tools, the model's own attempt is read as calls only if a valid envelope
        return None
    if grammar["schema"] is None:
        return JSON_GBNF
    try:
        return schema_grammar(grammar["schema"])
    except SchemaError as error:
        where = "tool parameters" if request.tools else "response_format" if request.api == "openai" else "format"
        raise EngineError(400, f"invalid JSON schema in {where}: {error}") from None


def _tool_reply(request: ChatRequest, text: str, logprobs: tuple[TokenLogprob, ...]) -> Iterator[EngineEvent]:
    """The reply to a request with tools -> tool calls, or text content (never the envelope itself): a
    grammar-constrained reply read as far as it is complete, a free one (no tool grammar) as tool calls
    only when it is a whole valid envelope, else as the text the model wrote. With `parallel_tool_calls`
    off only the first call is kept. The log probabilities, if asked, are the reply's tokens."""
    calls, content = parse_tool_reply(text) if request.tool_grammar else parse_free_reply(text)
    calls = calls if request.parallel_tool_calls else calls[:1]
    if calls:
        if logprobs:
            yield TextDelta("", logprobs)
        yield ToolCalls([ToolCallOut(name=str(c.get("name", "")), arguments=c.get("arguments", {})) for c in calls])
    elif content or logprobs:
        yield TextDelta(content, logprobs)
