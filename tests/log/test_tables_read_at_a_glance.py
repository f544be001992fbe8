"""The batch table and the call log table read at a glance: every cell left-aligned, a failed item's
cause (the error's type and message) before anything else of it, a reply cut by the token limit marked
"cut at max_tokens", and the log's prompt column the user's prompt, not the schema instruction a typed
call sends with it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sample_types import City

import alloy_nb
from alloy_nb import ask, logs
from alloy_nb._log import search
from alloy_nb._views.log_table import log_table_html, log_table_text
from alloy_nb._views.style import stylesheet
from alloy_nb.testing import ScriptedTurn as Reply

CUT = "cut at max_tokens"


@pytest.fixture
def log_db(tmp_path: Path, alloy_at_server) -> Path:
    path = tmp_path / "calls.db"
    alloy_nb.configure(log_db=str(path))
    return path


def _text(markup: str) -> str:
    return re.sub(r"<[^>]+>", "", re.sub(r"<style>.*?</style>", "", markup))


def test_a_failed_items_cause_comes_first_and_a_cut_reply_is_marked(alloy_at_server, server) -> None:
    server.script(
        Reply(text="fine"),
        Reply(status=400, error="bad request: no such field"),
        Reply(text="a reply the limit cut", done_reason="length"),
    )
    batch = ask.map(["one", "two", "three"], concurrency=1, progress=False, retry=1)
    page = batch._repr_html_()
    rows = re.findall(r"<tr[^>]*>.*?</tr>", page.split("<tbody>")[1].split("</tbody>")[0])
    assert len(rows) == 4, "a row per item, and the failed item's cause line before its row"
    cause, failed = rows[1], rows[2]
    assert cause.startswith('<tr class="av-failed av-cause"><td colspan="5"')
    assert re.match(r"✗ \w+Error: .*bad request: no such field", _text(cause)), "the type and message, first"
    assert _text(failed).startswith("1two") and "the cause is above" in failed
    assert CUT in rows[3] and CUT not in rows[0], "only the reply the limit cut is marked"
    assert "av-number" not in page.split("</style>")[1], (
        "every cell left-aligned: nothing in the table is right-aligned"
    )


def test_the_log_shows_the_users_prompt_its_failures_cause_first_and_cut_replies(log_db: Path, server) -> None:
    server.script(
        Reply(text='{"name": "Paris", "country": "France"}'),
        Reply(text="half a rep", done_reason="length"),
        Reply(status=500, error="the model crashed"),
    )
    ask("Which city is the capital of France?", output=City)
    ask("Tell me everything.", max_tokens=3)
    with pytest.raises(alloy_nb.ServerError):
        ask("Fail now.", retry=1, transient_retries=0)
    logs.flush()
    calls = search(path=log_db)  # newest first
    assert calls[2].prompt != "Which city is the capital of France?", "the logged prompt has the instruction too"
    page = log_table_html(calls)
    assert f"<style>{stylesheet('table')}</style>" in page
    rows = re.findall(r"<tr[^>]*>.*?</tr>", page.split("<tbody>")[1], re.DOTALL)
    assert len(rows) == 4
    failed_cause, failed, cut, typed = rows
    assert failed_cause.startswith('<tr class="av-failed av-cause">')
    assert _text(failed_cause).startswith("✗ ServerError: ") and "the model crashed" in _text(failed_cause)
    assert failed.startswith('<tr class="av-failed">') and "the cause is above" in failed
    assert CUT in cut and CUT not in typed and CUT not in failed
    assert ">Which city is the capital of France?</td>" in typed, "the user's prompt, not the schema instruction"
    assert "schema" not in _text(typed).lower()
    text = log_table_text(calls)
    assert "Which city is the capital of France?" in text.splitlines()[3]
    assert "text-align:left" in stylesheet("table")
