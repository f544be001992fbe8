"""The rendered prompt: one render-only request (`_debug_render_only`), nothing generated; the server's
template text with the system prompt, output instruction and tool instructions; refusals that say
what can render instead."""

from __future__ import annotations

import httpx
import pytest
from sample_tools import add
from sample_types import City

import alloy_nb
from alloy_nb import rendered_prompt
from alloy_nb.testing import ScriptedEngine, ServerThread


def test_the_server_renders_and_generates_nothing(server) -> None:
    rendered = rendered_prompt("Capital of France?", system="Be brief.")
    [request] = server.requests
    assert request.render_only and request.body["_debug_render_only"] is True and request.body["stream"] is False
    assert server.engine.pending == 0 and server.engine.peak_active == 0  # no reply was played
    assert rendered.text == "<|system|>\nBe brief.<|end|>\n<|user|>\nCapital of France?<|end|>\n<|assistant|>\n"
    assert rendered.grammar is None and rendered.model == "smollm2:135m"


def test_tools_and_a_typed_output_are_rendered_with_their_grammar(server) -> None:
    with_tools = rendered_prompt("Add 2 and 3.", tools=[add])
    assert "You can call these tools:\n- add:" in with_tools.text and '{"tool_calls": [' in with_tools.text
    assert with_tools.grammar is not None and with_tools.grammar["kind"] == "tool_calls"
    typed = rendered_prompt("Largest city?", output=City)
    assert typed.grammar == {"kind": "format", "schema": server.requests[-1].body["format"]}
    assert typed.text.startswith("<|system|>\nReply with only a JSON value") and '"country"' in typed.text


def test_the_openai_chat_refusal_names_what_can_render(server) -> None:
    with pytest.raises(alloy_nb.ConfigurationError, match=r"uses openai_chat.*api='native'.*embedded server"):
        rendered_prompt("Hi", api="openai_chat")
    assert server.requests == []


class _OlderOllama(ScriptedEngine):
    """An Ollama from before `_debug_render_only`: it generates whatever the request says."""

    async def render(self, request):  # type: ignore[no-untyped-def]
        raise AssertionError("an older server never renders")


def test_a_server_that_ignores_the_flag_is_named_not_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _OlderOllama()
    with ServerThread(engine) as thread:
        real_post = httpx.post

        def without_flag(url: str, *, json: dict, **kwargs):  # type: ignore[no-untyped-def]
            return real_post(url, json={k: v for k, v in json.items() if k != "_debug_render_only"}, **kwargs)

        monkeypatch.setattr(httpx, "post", without_flag)
        alloy_nb.configure(host=thread.url)
        with pytest.raises(alloy_nb.ServerError, match=r"generated a reply instead of rendering.*Ollama 0\.12"):
            rendered_prompt("Hi")
    alloy_nb.reset_configuration()


def test_special_tokens_are_escaped_in_the_view(server) -> None:
    html = rendered_prompt("<script>alert(1)</script>\x1b[2J")._repr_html_()
    assert "&lt;|user|&gt;" in html and "&lt;script&gt;" in html and "<script>" not in html
    assert "␛[2J" in html and "\x1b" not in html
