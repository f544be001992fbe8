"""%%alloy and %alloy in a real IPython shell against the scripted server."""

from __future__ import annotations

import json

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from sample_types import Invoice

import alloy_nb
from alloy_nb.testing import ScriptedToolCall as Call, ScriptedTurn as Reply


def published(shell: InteractiveShell, mime: str) -> list:
    """What the shell displayed with this MIME type, oldest first."""
    return [output[mime] for output in shell.display_pub.outputs if mime in output]


def run(shell: InteractiveShell, source: str):
    return shell.run_cell(source, store_history=True)


def test_flags_reach_the_wire(shell, server) -> None:
    server.script(Reply(text="Bonjour"))
    result = run(
        shell,
        "%%alloy -m ollama:qwen3:0.6b --api openai_chat -s 'Be brief.' --temperature 0.3 --max-tokens 20 --no-stream\nSay hello in French.",
    )
    assert result.success
    [request] = server.requests
    assert request.path == "/v1/chat/completions"
    body = request.body
    assert body["model"] == "qwen3:0.6b" and body["temperature"] == 0.3 and body["max_tokens"] == 20
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hello in French."},
    ]
    assert shell.user_ns["_alloy"] == "Bonjour"
    assert shell.user_ns["_alloy_trace"].strategy == "openai_chat"


def test_streaming_shows_the_full_text_as_rendered_markdown_with_a_footer(shell, server) -> None:
    server.script(Reply(chunks=["**Bold** ", "and ", "done."]))
    assert run(shell, "%%alloy\nWrite something.").success
    final = published(shell, "text/html")[-1]
    assert final.startswith("<p><strong>Bold</strong> and done.</p>")
    assert "smollm2:135m · native" in final and "tokens" in final
    assert shell.user_ns["_alloy"] == "**Bold** and done."


def test_interpolation_of_names_braces_and_cells(shell, server) -> None:
    shell.user_ns["city"] = "Lyon"
    run(shell, "1 + 1")
    number = shell.execution_count - 1
    run(shell, "1 / 0")
    failed = shell.execution_count - 1
    server.script(Reply(text="ok"))
    source = f"%%alloy --no-stream\nAbout {{city}} {{{{literal}}}}: {{In[{number}]}} gave {{Out[{number}]}}; explain {{Err[{failed}]}}"
    assert run(shell, source).success
    prompt = server.requests[0].body["messages"][-1]["content"]
    assert prompt == "About Lyon {literal}: 1 + 1 gave 2; explain ZeroDivisionError: division by zero"


def test_unknown_name_in_prompt_is_a_short_usage_error(shell, server, capsys) -> None:
    result = run(shell, "%%alloy\nWhat about {nowhere}?")
    assert not result.success
    shown = capsys.readouterr()
    assert "UsageError: {nowhere} in the prompt is not a name in the notebook" in shown.err + shown.out
    assert server.requests == []


def test_output_type_tools_and_as_from_the_namespace(shell, server) -> None:
    shell.user_ns["Invoice"] = Invoice
    run(shell, "def add(a: int, b: int) -> int:\n    '''Add.'''\n    return a + b")
    server.script(
        Reply(tool_calls=[Call("add", {"a": 2, "b": 3})]),
        Reply(text='{"number": "A-5", "total": 5}'),
    )
    assert run(shell, "%%alloy -o Invoice -t add --as inv\nMake an invoice totalling 2+3.").success
    assert shell.user_ns["inv"] == Invoice(number="A-5", total=5.0) == shell.user_ns["_alloy"]
    tool_message = [m for m in server.requests[1].body["messages"] if m["role"] == "tool"]
    assert tool_message == [{"role": "tool", "tool_name": "add", "content": "5"}]
    assert any("A-5" in text for text in published(shell, "text/plain"))


def test_output_expression_and_missing_tool(shell, server) -> None:
    server.script(Reply(text='{"value": ["a", "b"]}'))
    assert run(shell, "%%alloy -o list[str]\nTwo letters.").success
    assert shell.user_ns["_alloy"] == ["a", "b"]
    assert not run(shell, "%%alloy -t nope\nx").success
    assert not run(shell, "%%alloy -o NoSuchType\nx").success
    assert len(server.requests) == 1


def test_server_down_gives_a_short_message_and_keeps_the_trace(shell, capsys) -> None:
    shell.run_line_magic("alloy", "config host=http://127.0.0.1:9")
    result = run(shell, "%%alloy --no-stream\nHello?")
    assert not result.success
    shown = capsys.readouterr()
    text = shown.out + shown.err
    assert "OllamaUnavailable: No Ollama server at http://127.0.0.1:9" in text
    assert "Traceback" not in text and "httpx" not in text
    assert shell.user_ns["_alloy_trace"].status == "error"
    assert run(shell, "1 + 1").success


@pytest.mark.parametrize(
    ("fmt", "reply", "mime", "check"),
    [
        ("markdown", "# Title", "text/html", lambda v: v.startswith("<h1>Title</h1>")),
        ("text", "plain <b>", "text/plain", lambda v: v.startswith("plain <b>")),
        ("code", "print(1)", "text/html", lambda v: v.startswith("<pre><code>print(1)</code></pre>")),
        ("json", '{"a": 1}', "application/json", lambda v: v == {"a": 1}),
        (
            "html",
            "<script>alert(1)</script><b>hi</b>",
            "text/html",
            lambda v: (
                '<iframe class="av-frame" sandbox="" srcdoc=' in v and "<script>" not in v and "&lt;script&gt;" in v
            ),
        ),
    ],
)
def test_each_format(shell, server, fmt: str, reply: str, mime: str, check) -> None:
    server.script(Reply(text=reply), Reply(text=reply))
    assert run(shell, f"%%alloy -f {fmt} --no-stream\nreply").success
    assert check(published(shell, mime)[-1])
    if fmt in ("markdown", "text", "code"):
        assert run(shell, f"%%alloy -f {fmt}\nreply, streamed").success
        assert check(published(shell, mime)[-1])


def test_chat_history_is_bounded_and_reset(shell, server, capsys) -> None:
    shell.run_line_magic("config", "AlloyMagics.max_history = 2")
    for number in range(3):
        server.script(Reply(text=f"answer {number}"))
        assert run(shell, f"%%alloy --chat --no-stream\nquestion {number}").success
        dropped_note = "--chat keeps the last 2 exchanges" in capsys.readouterr().err
        assert dropped_note == (number == 2)  # said when the oldest exchange stops being sent, not before
    server.script(Reply(text="answer 3"))
    run(shell, "%%alloy --chat --no-stream\nquestion 3")
    sent = [m["content"] for m in server.requests[-1].body["messages"]]
    assert sent == ["question 1", "answer 1", "question 2", "answer 2", "question 3"]
    shell.run_line_magic("alloy", "reset")
    server.script(Reply(text="fresh"))
    run(shell, "%%alloy --chat --no-stream\nquestion 4")
    assert [m["content"] for m in server.requests[-1].body["messages"]] == ["question 4"]
    server.script(Reply(text="no chat"))
    run(shell, "%%alloy --no-stream\nquestion 5")
    assert [m["content"] for m in server.requests[-1].body["messages"]] == ["question 5"]


def test_history_marks_chat_cells(shell, server, capsys) -> None:
    server.script(Reply(text="a"), Reply(text="b"))
    run(shell, "%%alloy --chat --no-stream\nchatty")
    run(shell, "%%alloy --no-stream\nplain")
    capsys.readouterr()
    shell.run_line_magic("alloy", "history")
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].endswith("· ok · --chat · chatty") and lines[-1].endswith("· ok · plain")


def test_config_defaults_and_aliases(shell, server) -> None:
    shell.run_line_magic("config", 'AlloyMagics.default_model = "ollama:qwen3:0.6b"')
    server.script(Reply(text="a"))
    run(shell, "%%alloy --no-stream\nhi")
    assert server.requests[-1].body["model"] == "qwen3:0.6b"
    shell.run_line_magic("alloy", "alias big ollama:llama3.1:8b")
    server.script(Reply(text="b"))
    run(shell, "%%alloy -m big --no-stream\nhi")
    assert server.requests[-1].body["model"] == "llama3.1:8b"
    assert not run(shell, "%alloy alias bad llama3").success


def test_line_commands(shell, server, capsys) -> None:
    shell.run_line_magic("alloy", "")
    shown = published(shell, "text/plain")[-1]  # with HTML that wraps at spaces (test_help_and_chat_notes.py)
    assert "First steps: %alloy serve" in shown and "%alloy compare" in shown and "--max-tokens" in shown
    assert all(f"%alloy {name} " in shown for name in ("serve", "stop", "trace", "pull", "models", "picker"))
    magics = shell.magics_manager.registry["AlloyMagics"]
    for name in magics.subcommands():  # every command has a line saying what it does
        line = next((line for line in shown.splitlines() if line.strip().startswith(f"%alloy {name}")), "")
        assert len(line.split()) > 3 and line.endswith("."), (name, line)  # a whole sentence, not cut mid-way
    assert "qwen3" not in shown  # every example runs on the embedded model
    assert "::" not in shown.splitlines() and "`" not in shown  # plain text: no reST markers, no raw backticks
    assert any(line.strip().startswith("%%alloy [-m MODEL]") for line in shown.splitlines())
    shell.run_line_magic("alloy", 'config temperature=0.5 system="Be kind."')
    config = alloy_nb._config.current()
    assert config.temperature == 0.5 and config.system == "Be kind."
    server.script(Reply(text="hello"))
    run(shell, "%%alloy --no-stream\nhi")
    capsys.readouterr()
    shell.run_line_magic("alloy", "trace --json")
    assert json.loads(capsys.readouterr().out)["result"] == "hello"
    assert shell.run_line_magic("alloy", "trace").result == "hello"
    shell.run_line_magic("alloy", "history")
    assert "· ok · hi" in capsys.readouterr().out
    table = shell.run_line_magic("alloy", "models")
    assert "llama3.1:8b" in repr(table) and "<td>gpt-oss:20b</td>" in table._repr_html_()
    assert not run(shell, "%alloy frobnicate").success


def test_mistyped_flags_and_commands_get_the_close_match_and_no_prefix_matching(shell, server, capsys) -> None:
    for line, advice in (
        ("--max_tokens 5", "Did you mean --max-tokens?"),
        ("--max-token 5", "Did you mean --max-tokens?"),
        ("--temprature 0.1", "Did you mean --temperature?"),
    ):
        assert not run(shell, f"%%alloy {line}\nhi").success
        assert advice in capsys.readouterr().err
    assert not run(shell, "%alloy histroy").success
    assert "Did you mean %alloy history?" in capsys.readouterr().err
    for line, advice in (
        ("%alloy log --mod x", "Did you mean --model?"),
        ("%alloy serve --eng scripted", "--engine"),
        ("%alloy compare --max-tok 5 hi", "Did you mean --max-tokens?"),
    ):
        assert not run(shell, line).success  # every subcommand: no flag taken for a longer one it begins
        assert advice in capsys.readouterr().err, line
    assert server.requests == []


def test_bad_values_and_misspelt_names_get_what_to_write_instead(shell, server, capsys) -> None:
    shell.run_cell("class Planet: pass\ndef days_until(date: str) -> int:\n    return 3")
    for line, advice in (
        ("--max-tokens lots", "--max-tokens takes a whole number, e.g. --max-tokens 200."),
        ("--temperature hot", "--temperature takes a number, e.g. --temperature 0.2."),
        ("--api natve", "Did you mean 'native'?"),
        ("-o Planett", "Did you mean Planet?"),
        ("-t days_untl", "Did you mean days_until?"),
    ):
        assert not run(shell, f"%%alloy {line}\nhi").success
        err = capsys.readouterr().err
        assert advice in err and "Did you mean --" not in err, (line, err)  # a right flag is never "corrected"
    assert server.requests == []


def test_a_bare_model_name_is_an_ollama_model(shell, server) -> None:
    assert run(shell, "%%alloy -m llama3.1:8b --no-stream\nhi").success
    assert server.requests[-1].body["model"] == "llama3.1:8b"


def test_compare_takes_the_cell_flags_and_caps_tokens(shell, server) -> None:
    server.script(*(Reply(text=letter) for letter in "abcdef"))
    shell.run_line_magic("alloy", 'compare --max-tokens 20 -s "Be brief." "Name a colour."')
    native, openai_chat, responses = (r.body for r in server.requests)
    assert native["options"]["num_predict"] == 20 == openai_chat["max_tokens"] == responses["max_output_tokens"]
    assert native["messages"][-1]["content"] == "Name a colour." == openai_chat["messages"][-1]["content"]
    assert responses["input"] == [{"type": "message", "role": "user", "content": "Name a colour."}]
    assert (
        native["messages"][0] == {"role": "system", "content": "Be brief."} and responses["instructions"] == "Be brief."
    )
    server.engine.reset()
    shell.run_line_magic("alloy", "compare Name a colour.")
    limits = [
        r.body.get("max_tokens") or r.body.get("max_output_tokens") or r.body["options"]["num_predict"]
        for r in server.requests
    ]
    assert limits == [256, 256, 256]


def test_compare_runs_each_strategy_and_apis_picks_them(shell, server) -> None:
    server.script(Reply(text="from native"), Reply(text="from openai"), Reply(text="from responses"))
    comparison = shell.run_line_magic("alloy", 'compare "Same prompt"')
    assert [r.path for r in server.requests] == ["/api/chat", "/v1/chat/completions", "/v1/responses"]
    page = comparison._repr_html_()
    assert page.count('<div class="alloy-compare-col">') == 3
    assert "from native" in page and "from openai" in page and "from responses" in page
    server.engine.reset()
    two = shell.run_line_magic("alloy", 'compare --apis "openai_responses, native" "Same prompt"')
    assert [r.path for r in server.requests] == ["/v1/responses", "/api/chat"]
    assert [trace.strategy for trace in two.traces] == ["openai_responses", "native"]
    for flag, message in [
        ("--apis native", "takes two or three"),
        ("--apis native,openai_chatt", "'openai_chatt' is not a wire API .*Did you mean 'openai_chat'\\?"),
    ]:
        with pytest.raises(UsageError, match=message):
            shell.run_line_magic("alloy", f"compare {flag} hi")


def test_compare_streams_each_side_into_its_own_column(shell, server) -> None:
    server.script(
        Reply(chunks=["from ", "<native>"], chunk_delay=0.1),
        Reply(chunks=["from ", "openai"], chunk_delay=0.1),
        Reply(chunks=["from ", "responses"], chunk_delay=0.1),
    )
    shell.display_pub.outputs.clear()
    shell.run_line_magic("alloy", 'compare "Same prompt"')
    live = [o["text/html"] for o in shell.display_pub.outputs if "alloy-compare-live" in o.get("text/html", "")]
    assert any("<b>native</b> <i>streaming…</i>" in page and "from " in page for page in live), live
    assert any("&lt;native&gt;" in page and "<b>openai_chat</b> <i>streaming…</i>" in page for page in live)
    assert any("<b>openai_responses</b> <i>streaming…</i>" in page for page in live)
    assert "<native>" not in "".join(live)  # escaped
    last = shell.display_pub.outputs[-1]["text/plain"]
    assert last.startswith("native: done in ") and " · openai_chat: done in " in last
    assert " · openai_responses: done in " in last


def test_compare_shows_each_strategys_thinking_folded(shell, server) -> None:
    server.script(
        Reply(thinking="native <b>reasons</b>", text="a"),
        Reply(thinking="openai reasons", text="b"),
        Reply(thinking="responses reasons", text="c"),
    )
    page = shell.run_line_magic("alloy", 'compare --think -m ollama:qwen3:0.6b "Why?"')._repr_html_()
    assert "<details><summary>thinking</summary><pre>native &lt;b&gt;reasons&lt;/b&gt;" in page
    assert "<details><summary>thinking</summary><pre>openai reasons" in page
    assert "<details><summary>thinking</summary><pre>responses reasons" in page


def test_picker_command_shows_the_hosts_models(shell, server) -> None:
    picker = shell.run_line_magic("alloy", "picker")
    try:
        assert "ollama:gpt-oss:20b" in [value for _, value in picker.model.options]
        assert picker.strategy.value == "auto"
    finally:
        picker.close()


def test_serve_and_stop_the_embedded_model(shell, server, capsys) -> None:
    import alloy_nb._config

    server_url = server.url
    shell.run_line_magic("alloy", "serve")
    magics = shell.magics_manager.registry["AlloyMagics"]
    url = magics.local_server.url
    try:
        assert alloy_nb._config.current().host == url
        assert run(shell, "%%alloy --max-tokens 8 -f text\nSay OK.").success
        trace = shell.user_ns["_alloy_trace"]
        assert trace.host == url and trace.status == "ok" and trace.responses[0].usage.completion_tokens
    finally:
        shell.run_line_magic("alloy", "stop")
    assert magics.local_server is None
    assert alloy_nb._config.current().host == server_url  # back to what it was before %alloy serve
    assert "Stopped the embedded server" in capsys.readouterr().out


def test_advice_in_a_cell_fits_the_cell_and_the_server(shell, server, capsys) -> None:
    assert not run(shell, "%%alloy -m ollama:nosuch:1b --no-stream\nhi").success
    shown = capsys.readouterr().err
    assert "with -m ollama:<name> (%alloy models lists them)" in shown and "model='ollama" not in shown
    assert "`%alloy stop` then `%alloy serve --model nosuch:1b=PATH.gguf`" in shown  # what works in a notebook
    picker = shell.run_line_magic("alloy", "picker")
    try:
        assert "(the embedded server) at" in picker.status.value
    finally:
        picker.close()


def test_alloy_serve_serves_another_gguf_file_by_name(shell, server) -> None:
    from alloy_nb._config import current
    from alloy_nb._host import Host
    from alloy_nb.server.embedded_model import bundled_smollm2

    assert not run(shell, "%alloy serve --model tiny").success  # NAME=PATH.gguf, said plainly
    assert run(shell, f"%alloy serve --model tiny={bundled_smollm2()}").success
    try:
        names = [model.name for model in Host(current()).models()]
        assert "tiny" in names and "smollm2:135m" in names, names
    finally:
        assert run(shell, "%alloy stop").success


def test_ctrl_c_in_the_body_of_a_stream_loop_marks_its_trace_interrupted(shell, server) -> None:
    server.script(Reply(chunks=["a ", "b ", "c "]), Reply(text="unused"))
    result = run(
        shell, "from alloy_nb import ask\ns = ask.stream('Count.')\nfor piece in s:\n    raise KeyboardInterrupt"
    )
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert shell.user_ns["s"].trace.status == "interrupted"
    result = run(shell, "never = ask.stream('Not iterated.')\nraise KeyboardInterrupt")
    assert shell.user_ns["never"].trace.status == "interrupted" and len(server.requests) == 1


def test_the_think_flag(shell, server) -> None:
    for flags, expected in (
        ("-m ollama:qwen3:0.6b --think", True),
        ("-m ollama:gpt-oss:20b --api native --think high", "high"),
        ("--think off", False),
    ):
        server.script(Reply(text="ok"))
        assert run(shell, f"%%alloy --no-stream {flags}\nhi").success
        assert server.requests[-1].body["think"] == expected


def test_the_image_flag_takes_variables_and_paths(shell, server, tmp_path) -> None:
    import base64

    picture = b"\x89PNG\r\n\x1a\n" + b"0" * 32
    path = tmp_path / "x.png"
    path.write_bytes(picture)
    shell.user_ns["photo"] = picture
    assert run(shell, f"%%alloy --no-stream -m ollama:gemma3:4b --image photo --image {path}\nWhat is it?").success
    encoded = base64.b64encode(picture).decode()
    assert server.requests[-1].body["messages"][-1]["images"] == [encoded, encoded]
    assert not run(shell, "%%alloy --no-stream --image photo\nWhat is it?").success  # smollm2 cannot see


def test_a_filled_context_is_one_line_under_the_reply(shell, server) -> None:
    for flags in ("--no-stream", ""):
        shell.display_pub.outputs.clear()
        assert run(shell, f"%%alloy --context-length 64 --keep-alive 5m {flags}\n" + "word " * 200).success
        body = server.requests[-1].body
        assert body["options"]["num_ctx"] == 64 and body["keep_alive"] == "5m"
        final = published(shell, "text/html")[-1]
        assert "<br>⚠ The prompt filled the context window: 64 tokens read of 64" in final
        assert "context_length=128" in final


def test_alloy_ps_lists_what_the_host_holds(shell, server) -> None:
    import alloy_nb
    from alloy_nb.testing import ScriptedEngine, ServerThread

    with ServerThread(ScriptedEngine()) as fresh:
        alloy_nb.configure(host=fresh.url)
        assert repr(shell.run_line_magic("alloy", "ps")) == f"No model is loaded at {fresh.url}."
        assert run(shell, "%%alloy --no-stream -m ollama:qwen3:0.6b\nhi").success
        table = shell.run_line_magic("alloy", "ps")
    [row] = table.rows
    assert row[0] == "qwen3:0.6b" and row[3] == "8,192 tokens" and row[4].startswith("in ")
    assert "<td>qwen3:0.6b</td>" in table._repr_html_() and "unloads" in repr(table)


def test_alloy_log_finds_calls_shows_one_and_knows_the_cell(shell, server, tmp_path) -> None:
    import alloy_nb

    alloy_nb.configure(log_db=str(tmp_path / "calls.db"))
    server.script(Reply(text="The <b>moon</b> pulls the tides."), Reply(text="Yeast."))
    assert run(shell, "%%alloy --no-stream\nWhy are there tides?").success
    tide_id = shell.user_ns["_alloy_trace"].id
    cell = f"In[{shell.execution_count - 1}]"
    assert run(shell, "%%alloy --no-stream\nWhy does bread rise?").success
    shell.display_pub.outputs.clear()
    assert run(shell, "%alloy log moon").success
    table = shell.display_pub.outputs[-1]["text/html"]
    assert "Why are there tides?" in table and "bread" not in table
    assert "&lt;b&gt;moon&lt;/b&gt;" in table and "<b>moon" not in table  # the reply is escaped
    shown = shell.run_line_magic("alloy", f"log show {tide_id}")
    assert shown.id == tide_id and shown.responses[0].text == "The <b>moon</b> pulls the tides."
    assert [call.cell for call in alloy_nb.logs.search("moon")] == [cell]
    assert not run(shell, "%alloy log show nosuchid").success


def test_alloy_config_is_a_table_of_every_setting_with_what_set_it(shell, server, monkeypatch) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "sk-never-shown")
    alloy_nb.configure(headers={"X-Proxy-Token": "tok-never-shown"})
    table = shell.run_line_magic("alloy", "config temperature=0.2")
    rows = {row[0]: row[1:] for row in table.rows}
    assert set(rows) == set(alloy_nb.Config.model_fields)
    assert rows["temperature"] == ("0.2", "configure()")
    assert rows["api_key"] == ("set (not shown)", "OLLAMA_API_KEY")
    assert rows["max_tokens"] == ("none", "default")
    shown = repr(table) + table._repr_html_()
    assert "sk-never-shown" not in shown and "tok-never-shown" not in shown and "X-Proxy-Token" in shown
    assert "<table" in table._repr_html_()


ESCAPES = "Done\x1b]52;c;aGk=\x07 \x1b[2J\x1b]8;;http://x.example\x07link\x1b]8;;\x07 invoice\u202efdp.exe \x9b31m"


def obeyed(text: str) -> list[str]:
    """The characters in `text` a terminal would obey or hide: ESC, BEL, C1 controls, bidi overrides."""
    return [c for c in text if c in "\x1b\x07\x9b\u202e"]


@pytest.mark.parametrize("flags", ["-f text --no-stream", "-f text", "--no-stream", ""])
def test_a_replys_plain_text_shows_terminal_escapes_and_keeps_the_value_exact(shell, server, flags: str) -> None:
    """A terminal frontend (jupyter console) prints text/plain: it must not write the clipboard (OSC 52),
    clear the screen, make a link or reverse text because a model said so."""
    server.script(Reply(chunks=[ESCAPES[:20], ESCAPES[20:]]))
    assert run(shell, f"%%alloy {flags}\nSay it.").success
    plain = published(shell, "text/plain")
    assert plain and all(obeyed(text) == [] for text in plain), plain
    assert "␛]52" in plain[-1] and "<U+202E>" in plain[-1]
    assert shell.user_ns["_alloy"] == ESCAPES  # the value itself is what the model sent


def test_the_trace_as_json_escapes_control_characters_and_stays_the_same_json(shell, server, capsys) -> None:
    server.script(Reply(text=ESCAPES))
    run(shell, "%%alloy --no-stream\nSay it.")
    capsys.readouterr()
    shell.run_line_magic("alloy", "trace --json")
    printed = capsys.readouterr().out
    assert obeyed(printed) == [] and json.loads(printed)["result"] == ESCAPES


@pytest.mark.parametrize("name", ["class", "a b", "2x"])
def test_a_bad_as_name_is_refused_before_any_request(shell, server, name: str) -> None:
    shell.user_ns["xs"] = ["a", "b"]
    for cell in (f"%%alloy --as '{name}'\nHi", f"%%alloy --map xs --as '{name}'\nSay {{item}}"):
        result = run(shell, cell)
        assert isinstance(result.error_in_exec, UsageError) and "not a valid variable name" in str(result.error_in_exec)
    assert server.requests == []


@pytest.mark.parametrize("flag", ["--show-prompt", "--trace", "--logprobs 3"])
def test_map_refuses_the_flags_of_one_call_before_any_request(shell, server, flag: str) -> None:
    shell.user_ns["xs"] = ["a", "b", "c"]
    result = run(shell, f"%%alloy --map xs {flag}\nSay {{item}}")
    assert isinstance(result.error_in_exec, UsageError) and "do not go together" in str(result.error_in_exec)
    assert server.requests == []


def test_a_json_reply_nested_too_deep_to_read_is_shown_as_text(shell, server) -> None:
    deep = "[" * 5000 + "]" * 5000
    server.script(Reply(text=deep))
    assert run(shell, "%%alloy -f json --no-stream\nNest.").success
    assert shell.user_ns["_alloy"] == deep and shell.user_ns["_alloy_trace"].status == "ok"
    assert published(shell, "text/plain")[-1].startswith("[[[")


@pytest.mark.parametrize("flag", ["--context-length 2048", "--keep-alive 10m"])
def test_compare_refuses_a_native_only_flag_before_any_call(shell, server, flag: str) -> None:
    result = run(shell, f'%alloy compare {flag} "Hi"')
    assert isinstance(result.error_in_exec, alloy_nb.ConfigurationError) and "native API" in str(result.error_in_exec)
    assert server.requests == []  # not native first, then the failure on openai_chat


def test_reload_ext_carries_on_with_the_aliases_the_chat_and_its_hooks_once(shell, server) -> None:
    shell.run_line_magic("alloy", "alias small ollama:smollm2:135m")
    server.script(Reply(text="Hello."), Reply(text="Still here."))
    assert run(shell, "%%alloy --chat --no-stream\nHi").success
    hooks = {event: len(shell.events.callbacks[event]) for event in ("pre_run_cell", "post_run_cell")}
    shell.run_line_magic("reload_ext", "alloy_nb")
    assert {event: len(shell.events.callbacks[event]) for event in hooks} == hooks  # not one more per reload
    assert run(shell, "%%alloy -m small --chat --no-stream\nAnd now?").success
    last = server.requests[-1].body
    assert last["model"] == "smollm2:135m" and [m["content"] for m in last["messages"]][:2] == ["Hi", "Hello."]


def test_an_empty_model_flag_is_an_error_not_the_default_model(shell, server) -> None:
    result = run(shell, "%%alloy -m '' --no-stream\nHi")
    assert isinstance(result.error_in_exec, alloy_nb.ConfigurationError) and server.requests == []


@pytest.mark.parametrize(("name", "value"), [("default_format", "bogus"), ("default_api", "nope"), ("max_history", -1)])
def test_magic_settings_refuse_values_they_cannot_use(shell, name: str, value: object) -> None:
    from traitlets import TraitError

    magics = shell.magics_manager.registry["AlloyMagics"]
    with pytest.raises(TraitError):
        setattr(magics, name, value)
