"""Engine protocol and the neutral requests and errors (the events an engine yields: engine_events.py).

The HTTP app translates every wire format (Ollama's ``/api/chat`` and ``/api/generate``, the
OpenAI-compatible ``/v1/chat/completions``) into one :class:`ChatRequest`, and turns the engine's
events back into each wire format; the embedding endpoints share one :class:`EmbedRequest`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, Protocol

from alloy_nb.server.engine_events import EngineEvent

Api = Literal["ollama", "openai"]


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model may call: name, description, JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass
class ChatRequest:
    """One chat request, independent of the wire format it arrived in.

    ``messages`` are dicts with ``role`` (system/user/assistant/tool),
    ``content`` and, when present, ``tool_calls`` (``[{"id", "name",
    "arguments"}]``, arguments a dict or the raw text), ``tool_name`` and
    ``tool_call_id``, and ``images`` (base64 strings, from either API). ``options``
    use Ollama's option names (temperature, top_p, top_k, seed, num_predict, stop,
    num_ctx, ...); ``think`` is the thinking setting (``reasoning_effort`` on /v1).
    ``logprobs`` asks for each reply token's log probability, with the ``top_logprobs`` likeliest
    alternatives. ``raw`` (``/api/generate``) makes the one user message the whole prompt, with no
    chat template; ``suffix`` is text to come after the reply (a model without "insert" refuses it).
    ``keep_alive`` is how long the model stays loaded after the reply (None: the default).
    ``render_only`` (Ollama's ``_debug_render_only``) asks for the prompt text, not a reply.
    ``tool_grammar`` False (``_tool_grammar: false``, or ``alloy-nb serve --no-tool-grammar``) lets the
    model answer a request with tools in free text, read as tool calls only when it is a valid envelope;
    ``parallel_tool_calls`` False allows one tool call per reply. ``path``,
    ``body`` and ``headers`` record the endpoint, JSON body and HTTP headers as received.
    """

    model: str
    messages: list[dict[str, Any]]
    tools: list[ToolSpec] = field(default_factory=list)
    format: dict[str, Any] | Literal["json"] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    stream: bool = False
    think: bool | str | None = None
    logprobs: bool = False
    top_logprobs: int = 0
    raw: bool = False
    suffix: str = ""
    keep_alive: timedelta | None = None
    render_only: bool = False
    tool_grammar: bool = True
    parallel_tool_calls: bool = True
    api: Api = "ollama"
    path: str = ""
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # may hold an Authorization secret


@dataclass(frozen=True)
class Rendered:
    """The prompt a request would be decoded from, exactly as the model reads it, and the grammar that
    would constrain the reply (``{"kind": "tool_calls" | "format" | "json", "schema": ...}``; None: free text)."""

    template: str
    grammar: dict[str, Any] | None = None


@dataclass
class EmbedRequest:
    """Texts to embed with one model: ``truncate`` cuts an input longer than the model's context
    (else it is refused); ``options`` and ``keep_alive`` as on :class:`ChatRequest` (``num_ctx``);
    ``dimensions`` keeps that many leading numbers of each vector (None: all); ``body`` is the JSON
    body as received."""

    model: str
    inputs: list[str]
    truncate: bool = True
    options: dict[str, Any] = field(default_factory=dict)
    keep_alive: timedelta | None = None
    dimensions: int | None = None
    body: Any = None


@dataclass(frozen=True)
class Embeddings:
    """One pooled vector per input, not normalized (the wire formats normalize as theirs do), and the
    tokens read."""

    vectors: list[list[float]]
    prompt_tokens: int = 0
    load_ns: int = 0


class EngineError(Exception):
    """A failure the app reports to the client with an HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    @classmethod
    def model_not_found(cls, model: str) -> EngineError:
        """The 404 Ollama answers for a model it does not have."""
        return cls(404, f'model "{model}" not found, try pulling it first')


@dataclass(frozen=True)
class ModelCard:
    """What the listing endpoints say about one model."""

    name: str
    size: int
    digest: str
    family: str
    parameter_size: str
    quantization_level: str
    format: str = "gguf"
    modified_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    template: str = "{{ .Prompt }}"
    parameters: str = ""
    context_length: int = 8192
    capabilities: tuple[str, ...] = ("completion", "tools")
    think_values: tuple[bool | str, ...] = ()  # what `think` takes, as /api/show's "thinking" reports it
    think_default: bool | str | None = None

    @property
    def images(self) -> bool:
        return "vision" in self.capabilities


def refusal(card: ModelCard, request: ChatRequest) -> str | None:
    """Ollama's error text for a request the model cannot serve (HTTP 400), or None (also when
    the card declares no capabilities, as an older Ollama reports none)."""
    if not card.capabilities:
        return None
    if request.tools and "tools" not in card.capabilities:
        return f"registry.ollama.ai/library/{card.name} does not support tools"
    if request.suffix and "insert" not in card.capabilities:
        return f"registry.ollama.ai/library/{card.name} does not support insert"
    if request.think not in (None, False) and "thinking" not in card.capabilities:
        return f'"{card.name}" does not support thinking'
    if not card.images and any(message.get("images") for message in request.messages):
        return "this model is missing data required for image input"
    return None


class Engine(Protocol):
    """Something that can list its models, answer a chat request, embed texts and pull a model."""

    def models(self) -> list[ModelCard]:
        """The models this engine serves."""
        ...

    def generate(self, request: ChatRequest) -> AsyncGenerator[EngineEvent, None]:
        """Stream the reply: text deltas and/or tool calls, then one Finish.

        Raise :class:`EngineError` (e.g. ``EngineError.model_not_found``) before
        the first event to answer with an HTTP error. The app closes the
        generator when the client disconnects, so ``finally`` blocks run.
        """
        ...

    async def render(self, request: ChatRequest) -> Rendered:
        """The prompt `generate` would decode for `request` and the grammar on its reply, generating
        nothing (Ollama's ``_debug_render_only``); raise :class:`EngineError` to fail."""
        ...

    async def embed(self, request: EmbedRequest) -> Embeddings:
        """A pooled vector per input of `request`, in order; raise :class:`EngineError` to fail."""
        ...

    def preload(self) -> None:
        """Get ready for the first request (load a model); the server calls it once its socket is
        bound, before it serves. It may do nothing."""
        ...

    def loaded_context(self, name: str) -> int | None:
        """The context, in tokens, each request to model `name` gets while it is loaded
        (what ``/api/ps`` reports); None when it is the model card's ``context_length``."""
        ...

    def pull(self, name: str) -> AsyncGenerator[dict[str, Any], None]:
        """Stream the progress of fetching model ``name``, in Ollama's ``/api/pull`` shape.

        Yields ``{"status": ...}`` dicts (download steps add ``digest``, ``total``
        and ``completed``) and ends with ``{"status": "success"}``. Raise
        :class:`EngineError` to fail; the app reports it like a chat error.
        """
        ...
