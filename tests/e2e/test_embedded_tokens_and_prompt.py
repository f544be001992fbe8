"""The embedded SmolLM2 renders the prompt it decodes (its own chat template, the tool instructions and
envelope the server adds, the grammar on the reply) without decoding, and its token probabilities
spell its replies through alloy_nb, plain and streamed, on both strategies."""

from __future__ import annotations

import pytest
from sample_tools import add

from alloy_nb import ConfigurationError, ask, rendered_prompt


def test_the_prompt_is_smollm2s_chat_template(embedded) -> None:
    rendered = rendered_prompt("Capital of France?", system="Be brief.")
    assert rendered.text == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nCapital of France?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert rendered.grammar is None


def test_tools_bring_their_instructions_and_the_envelope_grammar(embedded) -> None:
    rendered = rendered_prompt("Add 2 and 3.", tools=[add])
    assert rendered.text.startswith("<|im_start|>system\nYou can call these tools:\n- add:")
    assert 'To call tools, reply {"tool_calls": [{"name": "<tool>", "arguments": {...}}]}.' in rendered.text
    assert rendered.grammar is not None and rendered.grammar["kind"] == "tool_calls"
    assert "tool_calls" in rendered.grammar["schema"]["anyOf"][0]["properties"]


@pytest.mark.parametrize("stream", [False, True])
def test_token_probabilities_spell_the_reply(api: str, stream: bool) -> None:
    if api == "openai_responses":
        with pytest.raises(ConfigurationError, match=r"not on Ollama's /v1/responses"):
            ask("Name a colour.", api=api, logprobs=True)
        return
    options = {"api": api, "max_tokens": 12, "logprobs": True, "top_logprobs": 3}
    if stream:
        streamed = ask.stream("Name a colour.", **options)  # type: ignore[arg-type]
        text, trace = "".join(streamed), streamed.trace
    else:
        text, trace = ask.traced("Name a colour.", **options)  # type: ignore[arg-type]
    tokens = trace.tokens()
    assert len(tokens) >= 1 and tokens.text == text
    assert all(token.logprob <= 0 and 1 <= len(token.alternatives) <= 3 for token in tokens)
    assert all(token.alternatives[0].logprob >= token.logprob for token in tokens)  # greedy: the likeliest first
