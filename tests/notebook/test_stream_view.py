"""Streamed rendering: bounded display updates on a long fast stream, the full text at the end."""

from __future__ import annotations

import time

from alloy_nb.testing import ScriptedTurn as Reply


def test_long_fast_stream_gives_bounded_updates_and_the_full_text(shell, server) -> None:
    pieces = [f"t{i} " for i in range(5000)]
    server.script(Reply(chunks=pieces))
    started = time.monotonic()
    assert shell.run_cell("%%alloy\nA long answer, please.").success
    elapsed = time.monotonic() - started
    updates = shell.display_pub.updates
    assert updates <= 15 * elapsed + 2, f"{updates} display updates in {elapsed:.2f}s"
    assert updates >= 2  # it did show progress, then the final render
    final = [o["text/html"] for o in shell.display_pub.outputs if "text/html" in o][-1]
    assert final.startswith("<p>" + "".join(pieces).strip())
    assert shell.user_ns["_alloy"] == "".join(pieces)


def test_slow_stream_shows_each_piece(shell, server) -> None:
    server.script(Reply(chunks=["one ", "two ", "three"], chunk_delay=0.3))
    assert shell.run_cell("%%alloy -f text\nCount.").success
    texts = [o["text/plain"] for o in shell.display_pub.outputs if "text/plain" in o]
    assert "one " in texts and "one two " in texts  # each piece rendered as it came
    assert texts[-1].startswith("one two three\n\n— smollm2:135m · native")


def test_thinking_shows_live_then_folds_above_the_answer(shell, server) -> None:
    server.script(Reply(thinking="<b>hmm</b> let me see", chunks=["The ", "answer."], chunk_delay=0.1))
    assert shell.run_cell("%%alloy\nThink, then answer.").success
    html_bundles = [o["text/html"] for o in shell.display_pub.outputs if "text/html" in o]
    assert any('<details class="alloy-thinking" open>' in b and "answer." not in b for b in html_bundles), (
        "the thinking shows, open, before the answer starts"
    )
    final = html_bundles[-1]
    assert '<details class="alloy-thinking"><summary' in final  # folded once the answer is there
    assert final.index('<details class="alloy-thinking">') < final.index("<p>The answer.</p>")  # above it
    assert "&lt;b&gt;hmm&lt;/b&gt; let me see" in final and "<b>hmm</b>" not in final
    assert "<p>The answer.</p>" in final
    assert "· thought " in final and " s (~" in final and " tokens)</sub>" in final
    assert shell.user_ns["_alloy"] == "The answer."
