"""`_debug_render_only` on /api/chat, in Ollama's shape: an empty, unfinished message and `_debug_info`
with the rendered template, no reply played (scripted) or decoded (SmolLM2)."""

from __future__ import annotations

import httpx

from alloy_nb.testing import ScriptedTurn as Reply

EMBEDDED = "smollm2:135m"
ASK = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi <|im_end|>"}]


def test_the_scripted_server_renders_in_ollamas_shape(server) -> None:
    server.script(Reply(text="never played"))
    body = {"model": "smollm2:135m", "messages": ASK, "stream": False, "_debug_render_only": True}
    answer = httpx.post(f"{server.url}/api/chat", json=body).json()
    assert answer["done"] is False and answer["message"] == {"role": "assistant", "content": ""}
    assert answer["_debug_info"] == {
        "rendered_template": "<|system|>\nBe brief.<|end|>\n<|user|>\nHi <|im_end|><|end|>\n<|assistant|>\n"
    }
    assert server.engine.pending == 1 and [r.render_only for r in server.requests] == [True]
    missing = httpx.post(f"{server.url}/api/chat", json=body | {"model": "nope:1b"})
    assert missing.status_code == 404 and "not found" in missing.json()["error"]


def test_smollm2_renders_with_its_own_template_and_a_format_grammar(embedded_url: str) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    body = {"model": EMBEDDED, "messages": ASK, "format": schema, "_debug_render_only": True, "stream": False}
    info = httpx.post(f"{embedded_url}/api/chat", json=body, timeout=60).json()["_debug_info"]
    assert info["rendered_template"] == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi <|im_end|><|im_end|>\n<|im_start|>assistant\n"
    )
    assert info["grammar"] == {"kind": "format", "schema": schema}
