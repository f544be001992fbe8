"""Issue 32's last gaps in a real IPython shell against the scripted server: `%alloy help` as HTML that
wraps at spaces, the note under a `--chat` reply on the history sent with it, and `-f yaml`."""

from __future__ import annotations

import re

from IPython.core.interactiveshell import InteractiveShell

from alloy_nb.testing import ScriptedTurn as Reply


def published(shell: InteractiveShell, mime: str) -> list:
    return [output[mime] for output in shell.display_pub.outputs if mime in output]


def run(shell: InteractiveShell, source: str):
    return shell.run_cell(source, store_history=True)


def test_help_is_html_that_wraps_only_at_spaces_with_the_plain_text_beside_it(shell) -> None:
    shell.display_pub.outputs.clear()
    shell.run_line_magic("alloy", "help")
    [output] = shell.display_pub.outputs
    text, page = output["text/plain"], output["text/html"]
    assert "  %alloy chat     A chat panel: streamed replies" in text
    assert ".av-help>div{white-space:pre-wrap;word-break:normal" in page and "<pre" not in page
    assert ".av-help .av-hang-18{padding-left:18ch;text-indent:-18ch}" in page
    lines = re.findall(r'<div class="av-hang-(\d+)">(.*?)</div>', page)
    chat = next(shown for _, shown in lines if shown.startswith("  %alloy chat "))
    assert dict((shown, hang) for hang, shown in lines)[chat] == str(len("  %alloy chat     "))  # hangs under
    usage = next(shown for _, shown in lines if "%%alloy" in shown and "[-m" in shown)
    kept = re.findall(r'<span class="av-word">(.*?)</span>', usage)  # one line, each flag kept whole
    assert {"[-m MODEL]", "[--think [LEVEL]]", "[--max-tokens MAX_TOKENS]", "[--map NAME]"} <= set(kept)
    assert '<span class="av-word">Ollama-compatible</span>' in page and ".av-help .av-word{white-space:pre}" in page
    assert re.sub(r"<[^>]+>", "", page.split("</style>")[1]).count("%alloy chat ") == 1


def test_a_chat_reply_says_what_history_went_with_it_and_what_ignoring_it_means(shell, server) -> None:
    """The issue's case: told "My name is Ada", the 135M model later says Elara. The note shows the
    history was sent (so the model ignored it), and a first --chat cell says it sent none."""
    server.script(Reply(text="Hello! Nice to meet you."), Reply(text="Nice to meet you, Ada!"))
    assert run(shell, "%%alloy --no-stream\nMy name is Ada.").success  # not --chat: not remembered
    shell.display_pub.outputs.clear()
    assert run(shell, "%%alloy --chat --no-stream\nMy name is Ada.").success
    first = published(shell, "text/plain")[-1]
    assert first.startswith("--chat sent no earlier exchange") and "without --chat is not remembered" in first
    assert len(server.requests[-1].body["messages"]) == 1

    server.script(Reply(text="Your name is Elara."))
    shell.display_pub.outputs.clear()
    assert run(shell, "%%alloy --chat\nWhat is my name?").success  # streamed: the same note
    sent = [m["content"] for m in server.requests[-1].body["messages"]]
    assert sent == ["My name is Ada.", "Nice to meet you, Ada!", "What is my name?"]
    note = published(shell, "text/plain")[-1]
    assert note.startswith("--chat sent 1 earlier exchange (2 messages) before this prompt.")
    assert "A reply that ignores it had it and did not use it" in note and "%alloy trace" in note
    assert note.splitlines()[1:] == ["  you:   My name is Ada.", "  model: Nice to meet you, Ada!"]
    page = published(shell, "text/html")[-1]
    assert "<summary>the 2 messages sent</summary>" in page and "Nice to meet you, Ada!" in page
    assert "Your name is Elara." not in page  # the note is the history, not the reply

    server.script(Reply(text="<b>bold</b>"), Reply(text="ok"))
    run(shell, "%%alloy --chat --no-stream\n<script>x</script>")
    run(shell, "%%alloy --chat --no-stream\nagain")
    page = published(shell, "text/html")[-1]
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>" not in page and "<b>bold" not in page
    assert "sent 3 earlier exchanges (6 messages)" in published(shell, "text/plain")[-1]


def test_an_unknown_format_is_a_usage_error_naming_every_format(shell, server, capsys) -> None:
    assert not run(shell, "%%alloy -f yaml\nhi").success
    err = capsys.readouterr().err
    assert "UsageError" in err and "argument -f/--format: invalid choice: 'yaml'" in err, err
    assert "(choose from 'markdown', 'text', 'code', 'json', 'html')" in err
    assert "Did you mean" not in err  # no format is close to yaml: none is offered
    assert "Traceback" not in err
    assert not run(shell, "%%alloy -f jsn\nhi").success
    assert "Did you mean 'json'?" in capsys.readouterr().err
    assert server.requests == []


def test_the_sent_history_note_shows_control_characters_as_stand_ins() -> None:
    from alloy_nb._notebook.chat_history import sent_history_note

    note = sent_history_note(
        [{"role": "user", "content": "copy \x1b]52;c;aGk=\x07 this"}, {"role": "assistant", "content": "ok\u202e"}]
    )
    assert "\x1b" not in note and "\x07" not in note and "\u202e" not in note
    assert "copy ␛]52;c;aGk=␇ this" in note and "ok<U+202E>" in note
