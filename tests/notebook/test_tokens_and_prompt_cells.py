"""`%%alloy --logprobs N` shows the reply as tinted, escaped tokens with their alternatives; `%%alloy
--show-prompt` shows the rendered prompt, escaped, and generates nothing."""

from __future__ import annotations

import html
import time

from alloy_nb.testing import ScriptedTurn as Reply

HOSTILE = ["<img src=x onerror=alert(1)>", " ok", "\x1b]52;c;aGk=\x07"]


def _html(shell) -> list[str]:
    return [bundle["text/html"] for bundle in shell.display_pub.outputs if "text/html" in bundle]


def test_logprobs_shows_escaped_tokens_with_their_alternatives(shell, server) -> None:
    server.script(Reply(chunks=HOSTILE))
    assert shell.run_cell("%%alloy --logprobs 5\nSay something.").success
    body = server.requests[0].body
    assert (body["logprobs"], body["top_logprobs"]) == (True, 5)
    [tokens] = [page for page in _html(shell) if "av-tokens" in page]
    assert "<img" not in tokens and "&lt;img src=x onerror=alert(1)&gt;" in tokens
    assert "\x1b" not in tokens and "␛]52;c;aGk=␇" in tokens  # control characters as stand-ins
    assert tokens.count('class="av-tok av-p') >= len(HOSTILE)  # each token tinted by its band
    assert "<details><summary>3 tokens: probabilities and alternatives</summary>" in tokens
    assert html.escape('" the"') in tokens and " title=" in tokens  # alternatives in the table and the hover
    assert shell.user_ns["_alloy_trace"].tokens().text == "".join(HOSTILE)


def test_show_prompt_renders_only_and_escapes_the_template(shell, server) -> None:
    settled = time.monotonic() + 10  # an earlier test's reply may still be playing on the shared server
    while server.engine.active and time.monotonic() < settled:
        time.sleep(0.01)
    server.engine.reset_peak()
    assert shell.run_cell("%%alloy --show-prompt -s 'Be brief.'\n<b>Capital of France?</b>").success
    [request] = server.requests
    assert request.render_only and server.engine.peak_active == 0
    [page] = _html(shell)
    assert "&lt;|system|&gt;\nBe brief.&lt;|end|&gt;" in page and "&lt;b&gt;Capital of France?&lt;/b&gt;" in page
    assert "<b>" not in page and "No grammar: the reply is free text." in page


def test_show_prompt_on_openai_chat_says_what_can_render(shell, server, capsys) -> None:
    result = shell.run_cell("%%alloy --show-prompt --api openai_chat\nHi")
    assert not result.success and server.requests == []
    assert "api='native'" in str(result.error_in_exec)


def test_the_trace_shows_the_tokens_under_the_reply(shell, server) -> None:
    server.script(Reply(chunks=HOSTILE))
    assert shell.run_cell("%%alloy --logprobs 3 --trace\nSay something.").success
    [view] = [page for page in _html(shell) if 'class="alloy-trace"' in page]
    response = view[view.index('<div class="at-response">') :]
    tokens = response[: response.index('<div class="at-meta">')]  # under the reply, above its figures
    assert '<div class="av-tokens">' in tokens and tokens.count('class="av-tok av-p') >= len(HOSTILE)
    assert "<img" not in view and "&lt;img src=x onerror=alert(1)&gt;" in tokens and "\x1b" not in view
    assert "<details><summary>3 tokens: probabilities and alternatives</summary>" in tokens
    assert ".av-p1{" in view and ".av-table{" in view  # the token view's stylesheet came with it
    trace = shell.user_ns["_alloy_trace"]
    assert '<div class="av-tokens">' in type(trace).from_json(trace.to_json())._repr_html_()  # as the log keeps it


def test_a_trace_without_logprobs_shows_no_tokens(shell, server) -> None:
    server.script(Reply(chunks=["Hi", " there"]))
    assert shell.run_cell("%%alloy --trace\nSay something.").success
    [view] = [page for page in _html(shell) if 'class="alloy-trace"' in page]
    assert "av-tokens" not in view and ".av-p1{" not in view
