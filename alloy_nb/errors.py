"""The exceptions alloy_nb raises, and the user-facing messages for what goes wrong on the wire.

    AlloyError                      every alloy_nb error; `.trace` holds the call up to the failure
    ├── ConfigurationError          (ValueError) a setting or combination is invalid; nothing was sent
    ├── CommandError                the call produced no value (alloy-ai's name); `.raw_text`
    │   ├── ToolLoopLimitExceeded   the model kept asking for tools past `max_tool_turns`
    │   ├── OllamaUnavailable       (ConnectionError) nothing answers at the host
    │   ├── ModelNotFound           (LookupError) the host does not have the model; `.available`
    │   └── ServerError             an HTTP error or a reply not in the API's shape; `.status_code`
    ├── ToolError                   a tool could not run (goes back to the model inside the loop)
    │   └── ContractFailed          a `@require` / `@ensure` predicate did not hold; `.kind`
    ├── BatchError                  an item of `map(..., on_error="raise")` failed; `.result`, `.item`
    └── RemoteError                 an item's error on a Dask worker that could not travel back as itself
    BatchInterrupted                (KeyboardInterrupt) Ctrl-C stopped a `map`; `.result` keeps what finished
    CallNotFound                    (KeyError) no logged call has the id asked for
    AlloyLogWarning                 (UserWarning) the call log could not be written; calls go on

The last three are not `AlloyError`s on purpose: Ctrl-C must stay a `KeyboardInterrupt`, a
missing id is a lookup like `dict[key]`, and a log that cannot be written never stops a call.

As in alloy-ai, `except CommandError` catches every way a call can fail once it is sent.
`.transient` is true for faults worth retrying as they are (a dropped connection, 502/503/504,
a timeout). Each message says what happened, what was expected and what to do next. Hosts in messages are
always shown redacted (no credentials). A `CommandError`'s message may quote a reply or a server's answer:
its control and invisible characters are shown as stand-ins (`visible`), so printing it runs nothing;
`.raw_text` keeps the reply as it came.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ._call.batch_result import BatchResult, ItemResult
    from ._trace import Trace


class AlloyError(Exception):
    """Base class of every alloy_nb error; `trace` holds what happened up to the failure."""

    trace: Trace | None = None
    transient: bool = False


class ConfigurationError(AlloyError, ValueError):
    """A setting, model string or call combination is invalid; raised before any request."""


class CommandError(AlloyError):
    """The call did not produce a value: the reply could not become the output, or the server failed."""

    def __init__(self, message: str, raw_text: str | None = None) -> None:
        from ._visible import visible  # here: %load_ext imports the errors, and needs none of this

        super().__init__(visible(message))
        self.raw_text = raw_text


class ToolError(AlloyError):
    """A tool could not run; raise it inside a tool to send a clean message back to the model."""


class ContractFailed(ToolError):
    """A tool's `@require` (`kind="require"`) or `@ensure` contract did not hold; the message is the contract's."""

    def __init__(self, message: str, kind: Literal["require", "ensure"]) -> None:
        super().__init__(message)
        self.kind = kind


class ToolLoopLimitExceeded(CommandError):
    """The model kept asking for tools past `max_tool_turns` (alloy-ai's attributes included)."""

    def __init__(
        self,
        message: str,
        *,
        max_turns: int | None = None,
        turns_taken: int | None = None,
        partial_text: str | None = None,
    ) -> None:
        super().__init__(message, raw_text=partial_text)
        self.max_turns = max_turns
        self.turns_taken = turns_taken
        self.partial_text = partial_text


class OllamaUnavailable(CommandError, ConnectionError):
    """No server answered at the configured host."""


class ModelNotFound(CommandError, LookupError):
    """The host answered 404 for the model."""

    def __init__(self, message: str, available: list[str] | None = None) -> None:
        super().__init__(message)
        self.available = available or []


class ServerError(CommandError):
    """The host answered with an HTTP error or a body that is not the API's shape."""

    def __init__(
        self, message: str, status_code: int | None = None, body: Any = None, *, transient: bool = False
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
        self.transient = transient


class BatchError(AlloyError):
    """An item of a `map(..., on_error="raise")` failed; `.result` holds what finished, `.item` the failure."""

    def __init__(self, item: ItemResult, result: BatchResult) -> None:
        super().__init__(
            f"Item {item.index} of {len(result)} failed: {type(item.error).__name__}: {item.error}. "
            "The items that finished are in this error's .result; pass on_error='collect' to keep going past failures."
        )
        self.item = item
        self.result = result
        self.trace = item.trace


class RemoteError(AlloyError):
    """An item's error raised on a worker that could not travel back as itself; the message says what it was."""


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a `map` outside a notebook; `.result` holds every item that finished (`.resume()`)."""

    def __init__(self, result: BatchResult) -> None:
        super().__init__(result.interrupted_message())
        self.result = result


class CallNotFound(KeyError):
    """No logged call has the id asked for, or several start with it."""

    def __str__(self) -> str:  # KeyError's own str() shows the message's repr, quotes and escapes included
        return str(self.args[0]) if self.args else super().__str__()


class AlloyLogWarning(UserWarning):
    """The call log could not be written; calls go on without it."""


TRANSIENT_STATUSES = frozenset({502, 503, 504})  # a proxy or a server between restarts: worth another try


def no_server(host: str) -> OllamaUnavailable:
    """The one "nothing answers" error, wherever it is found."""
    return OllamaUnavailable(
        f"No Ollama server at {host}. Start `ollama serve`, or run `alloy-nb serve` "
        "(in a notebook: `%alloy serve`) for the embedded model; set OLLAMA_HOST if it runs elsewhere."
    )


def unresolvable_host(host: str) -> OllamaUnavailable:
    return OllamaUnavailable(
        f"The host name in {host} does not resolve. Check OLLAMA_HOST (or host=...) for a typo; "
        "for a server on this machine use http://127.0.0.1:11434."
    )


RENDERERS = "api='native' against Ollama 0.12 or later, or the embedded server (`alloy-nb serve`, `%alloy serve`)"


def cannot_render_on(strategy: str, model: str) -> ConfigurationError:
    """The rendered prompt asked of a wire API that has no render-only request."""
    return ConfigurationError(
        f"The rendered prompt cannot be shown for this call: it uses {strategy} (model {model!r}), and only "
        f"Ollama's native /api/chat can render a prompt without generating (`_debug_render_only`). "
        f"Pass {RENDERERS}."
    )


def render_ignored(host: str) -> ServerError:
    """A render-only request the server answered with a generated reply (an Ollama too old to render)."""
    return ServerError(
        f"The server at {host} generated a reply instead of rendering the prompt: it ignores "
        f"`_debug_render_only` (Ollama before 0.12 does), so it cannot show the prompt the model reads. "
        f"Use {RENDERERS}."
    )


def lost_mid_reply(host: str) -> ServerError:
    return _stopped_short(f"The server at {host} closed the connection before the reply was complete.")


def failed_mid_reply(host: str, detail: str) -> ServerError:
    return ServerError(
        f"The server at {host} failed in the middle of the reply: {one_line(detail, 300).rstrip('.')}. "
        "Retry; the call's trace keeps what arrived before the failure.",
        body=detail,
    )


def tool_calls_cut_off(host: str, names: str) -> ServerError:
    """A streamed reply ended early while the model was asking for tools: none of them runs."""
    return _stopped_short(
        f"The stream from {host} ended before the reply was complete, while the model was asking for tools "
        f"({names}): a call cut off may lack arguments, so none was run."
    )


def _stopped_short(what: str) -> ServerError:
    """A reply that stopped short: worth another try, and the server's log says why if it keeps happening."""
    return ServerError(
        f"{what} Retry; if it keeps happening, check the server's log (it may have crashed or run out of memory).",
        transient=True,
    )


def timed_out(host: str, seconds: float) -> ServerError:
    return ServerError(
        f"The server at {host} did not answer within {seconds:g}s. "
        "The model may still be loading; retry, or raise the limit with configure(timeout=...).",
        transient=True,
    )


def http_failure(host: str, status: int, detail: str, *, credentials: str | None = None) -> ServerError:
    """An HTTP error answer; `credentials` names the Authorization the request carried (its scheme:
    "Bearer", "Basic"; None: none), so a 401 or 403 says whether a key was missing or refused."""
    hint = _auth_hint(credentials) if status in (401, 403) else _status_hint(status)
    said = f": {one_line(detail, 500).rstrip('.')}" if detail.strip() else ""
    return ServerError(
        f"The server at {host} answered HTTP {status}{said}. {hint}",
        status_code=status,
        body=detail,
        transient=status in TRANSIENT_STATUSES,
    )


def malformed_reply(host: str, problem: BaseException) -> ServerError:
    return ServerError(
        f"The server at {host} sent a reply that is not the API's shape "
        f"({type(problem).__name__}: {one_line(problem, 300)}). Is OLLAMA_HOST pointing at an Ollama server?"
    )


def not_json(host: str, reply: str) -> ServerError:
    """The host answered, and not with JSON: a proxy's login or error page, not Ollama. `status_code` is
    200 (the answer said OK): unlike a failing item, another host may serve the same request."""
    start = one_line(reply, 60)
    what = f"a reply that is not JSON, beginning {start!r}" if start else "an empty reply"
    return ServerError(
        f"The server at {host} answered with {what}. "
        "Is OLLAMA_HOST pointing at an Ollama server? A proxy in front of it may want a login first.",
        status_code=200,
        body=one_line(reply, 500),
    )


def no_valid_chunks(host: str) -> ServerError:
    return ServerError(
        f"The server at {host} sent no valid chunks: the stream ended without text or a final "
        "chunk. Is OLLAMA_HOST pointing at an Ollama server? Retry without streaming to see the raw reply."
    )


def model_missing(
    model: str, host: str, available: list[str], *, embedded: bool = False, started_by: str | None = None
) -> ModelNotFound:
    """The host lacks the model: what it has, and how to get this one. Ollama pulls it; alloy_nb's embedded
    server serves only the GGUF files it was started with, so the advice names the way it was started
    (`started_by`: "notebook" or "cli", as its /api/version says).

    >>> print(model_missing("qwen3:0.6b", "http://127.0.0.1:11434", ["smollm2:135m"]))
    Model 'qwen3:0.6b' is not available at http://127.0.0.1:11434. Models there: smollm2:135m. Pull it with `ollama pull qwen3:0.6b` (in a notebook: `%alloy pull qwen3:0.6b`), or choose one of those with model='ollama:<name>'.
    """
    listing = ", ".join(available) if available else "none"
    return ModelNotFound(
        f"Model {model!r} is not available at {host}. Models there: {listing}. "
        f"{_how_to_get(model, embedded, started_by)}, or choose one of those with model='ollama:<name>'.",
        available=available,
    )


def _how_to_get(model: str, embedded: bool, started_by: str | None) -> str:
    """How to make `model` available: pulled on Ollama, or served by an embedded server started as it was."""
    flag = f"--model {model}=PATH.gguf"
    if not embedded:
        return f"Pull it with `ollama pull {model}` (in a notebook: `%alloy pull {model}`)"
    if started_by == "notebook":  # start_local_server(), which %alloy serve calls
        return (
            f"The embedded server started from this notebook serves only these; serve a GGUF file as well with "
            f"`%alloy stop` then `%alloy serve {flag}` (from Python: "
            f"`alloy_nb.start_local_server(reuse=False, models={{{model!r}: 'PATH.gguf'}})`)"
        )
    if started_by == "cli":
        return (
            f"The embedded server serves only these; serve a GGUF file as well by stopping `alloy-nb serve` "
            f"and starting it again with `{flag}` added to its options"
        )
    return f"The embedded server serves only these; serve a GGUF file as well with `alloy-nb serve {flag}`"


def one_line(problem: object, limit: int) -> str:
    """An error detail on one line (a validation error as its first problem), at most `limit` characters.

    >>> one_line("a\\n  b", 10), one_line("x" * 20, 5)
    ('a b', 'xxxx…')
    """
    from pydantic import ValidationError  # here: importing the errors must not import pydantic

    if isinstance(problem, ValidationError) and problem.errors():
        error = problem.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        problem = f"{where}: {error['msg']}"
    text = " ".join(str(problem).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _auth_hint(credentials: str | None) -> str:
    if credentials is None:
        return (
            "No key was sent, and the host wants one: set OLLAMA_API_KEY (for ollama.com, a key from "
            "ollama.com/settings/keys) or configure(api_key=...), or headers={'Authorization': ...} for a proxy."
        )
    if credentials.lower() == "basic":
        return (
            "It refused the user and password sent (Authorization: Basic, from user:password@ in the host or "
            "from headers=): check them."
        )
    return (
        f"It refused the key sent (Authorization: {credentials}, from OLLAMA_API_KEY, configure(api_key=...) or "
        "headers=): check it, or make a new one (for ollama.com at ollama.com/settings/keys)."
    )


def _status_hint(status: int) -> str:
    if 300 <= status < 400:
        return (
            "That is a redirect, which alloy_nb never follows: it would send the conversation and your headers "
            "to another address. If you trust where it points, set OLLAMA_HOST (or host=) to that address."
        )
    if status == 503:
        return "It is busy or still loading the model; retry in a moment."
    if status >= 500:
        return "It failed while answering; retry, and check the server's log if this repeats."
    return "It refused the request; the call's trace has the request body exactly as sent."
