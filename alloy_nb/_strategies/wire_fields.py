"""The request fields and reply readers that more than one wire API shares: token log
probabilities, the switches that shape tool calling, and the schema the server should enforce."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._trace.events import TokenChoice, TokenLogprob
from .base import Outgoing


def token_logprobs(entries: Iterable[Any] | None) -> list[TokenLogprob] | None:
    """The SDKs' token records (ollama's `Logprob`, openai's `ChatCompletionTokenLogprob`: both have
    `token`, `logprob` and `top_logprobs`) as the trace keeps them; None when the reply has none."""
    if entries is None:
        return None
    return [
        TokenLogprob(
            token=entry.token,
            logprob=entry.logprob,
            alternatives=[TokenChoice(token=top.token, logprob=top.logprob) for top in entry.top_logprobs or ()],
        )
        for entry in entries
    ]


def logprob_fields(logprobs: bool | None, top_logprobs: int | None) -> dict[str, Any]:
    """`logprobs` / `top_logprobs` as both wire APIs name them, when asked for (`top_logprobs` alone
    asks too); nothing otherwise.

    >>> logprob_fields(None, 3), logprob_fields(True, None), logprob_fields(False, 0)
    ({'logprobs': True, 'top_logprobs': 3}, {'logprobs': True}, {})
    """
    if not logprobs and not top_logprobs:
        return {}
    return {"logprobs": True, **({"top_logprobs": top_logprobs} if top_logprobs else {})}


def tool_call_fields(offered: bool, *, constrained: bool | None, parallel: bool | None) -> dict[str, Any]:
    """The fields that shape tool calling, on a request that offers tools (`offered`): OpenAI's
    `parallel_tool_calls` when set, and `_tool_grammar: false` when the call is unconstrained (the
    embedded server's extension, like Ollama's `_debug_render_only`: a server without it ignores it).

    >>> tool_call_fields(True, constrained=False, parallel=False)
    {'parallel_tool_calls': False, '_tool_grammar': False}
    >>> tool_call_fields(True, constrained=None, parallel=None), tool_call_fields(False, constrained=False, parallel=False)
    ({}, {})
    """
    if not offered:
        return {}  # OpenAI refuses `parallel_tool_calls` without tools
    fields: dict[str, Any] = {} if parallel is None else {"parallel_tool_calls": parallel}
    return fields | ({"_tool_grammar": False} if constrained is False else {})


def enforced_schema(outgoing: Outgoing, constrained: bool | None) -> dict[str, Any] | None:
    """The output schema the server should enforce: on requests without tools (with tools the reply
    must be free to call them) unless the call is unconstrained; the prompt asks for it either way."""
    if outgoing.tools or constrained is False:
        return None
    return outgoing.output.schema
