"""pyproject allows `ollama>=0.5`: a 0.5 SDK's replies have no `logprobs` attribute (it came in 0.6.1),
and a call must read them all the same (alloy-ai's benchmark runs alloy_nb on ollama 0.5.4)."""

from __future__ import annotations

from types import SimpleNamespace

from alloy_nb._strategies.native import _chunk, _turn


def _reply_of_ollama_0_5(content: str, *, done: bool) -> SimpleNamespace:
    """A ChatResponse as ollama 0.5 shapes it: every field it has, and no `logprobs`."""
    message = SimpleNamespace(role="assistant", content=content, thinking=None, images=None, tool_calls=None)
    return SimpleNamespace(
        model="tiny:1b",
        message=message,
        done=done,
        done_reason="stop" if done else None,
        prompt_eval_count=3 if done else None,
        eval_count=2 if done else None,
        eval_duration=2_000_000 if done else None,
    )


def test_a_whole_reply_without_logprobs_reads_as_a_turn_without_tokens() -> None:
    turn = _turn(_reply_of_ollama_0_5("Paris", done=True))  # type: ignore[arg-type]
    assert (turn.text, turn.tokens, turn.completion_tokens) == ("Paris", None, 2)


def test_a_streamed_line_without_logprobs_reads_as_a_chunk_without_tokens() -> None:
    chunk = _chunk(_reply_of_ollama_0_5("Par", done=False))  # type: ignore[arg-type]
    assert (chunk.text, chunk.tokens, chunk.done) == ("Par", (), False)
