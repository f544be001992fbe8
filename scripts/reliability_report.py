"""Run the fault matrix and the load test, then write docs/reliability.md from the fault table and the results.

python scripts/reliability_report.py            # from the repository root
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MATRIX = ROOT / "tests" / "faults" / "test_fault_matrix.py"
LOAD = ROOT / "tests" / "load" / "test_load.py"
OUTPUT = ROOT / "docs" / "reliability.md"
ENTRY_NAMES = {"python": "Python", "%%alloy": "%%alloy"}


def run_tests() -> tuple[dict[str, str], dict[str, str], int]:
    """Run both test files once; returns outcome per test name, the recorded load figures, pytest's exit code."""
    with tempfile.TemporaryDirectory() as scratch:
        junit = Path(scratch) / "results.xml"
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "junit_family=xunit1",
            f"--junitxml={junit}",
            str(MATRIX),
            str(LOAD),
        ]
        code = subprocess.run(command, cwd=ROOT, check=False).returncode
        tree = ElementTree.parse(junit)
    outcomes: dict[str, str] = {}
    figures: dict[str, str] = {}
    for case in tree.iter("testcase"):
        failed = any(case.find(kind) is not None for kind in ("failure", "error"))
        outcomes[case.get("name", "")] = (
            "skipped" if case.find("skipped") is not None else "failed" if failed else "passed"
        )
        figures.update({p.get("name", ""): p.get("value", "") for p in case.iter("property")})
    return outcomes, figures, code


def load_table() -> Any:
    """The fault matrix module, imported the way pytest imports it (tests/ and tests/faults/ on the path)."""
    sys.path[:0] = [str(ROOT / "tests"), str(MATRIX.parent)]
    import test_fault_matrix

    return test_fault_matrix


def _code(text: str) -> str:
    """Inline code that survives backticks and table pipes."""
    return f"`` {text.replace('|', chr(92) + '|')} ``" if text else ""


def _shown(fault: Any) -> str:
    if fault.error is None:
        told = f"the model is sent {_code('Error: ' + fault.message)}; " if fault.message else ""
        return f"none: {told}the call returns the reply"
    if fault.error is KeyboardInterrupt:
        return f"KeyboardInterrupt from Python; %%alloy prints {_code(fault.message)}"
    return f"{fault.error.__name__}: {_code(fault.message)}"


def _result(fault: Any, cases: list[Any], outcomes: dict[str, str]) -> str:
    mine = [(case, outcomes.get(f"test_fault[{case.id}]", "not run")) for case in cases if case.values[0] is fault]
    bad = [
        f"{case.values[1] or 'any'}/{ENTRY_NAMES[case.values[2]]}: {outcome}"
        for case, outcome in mine
        if outcome != "passed"
    ]
    return f"pass ({len(mine)}/{len(mine)})" if not bad else "FAIL: " + "; ".join(bad)


def fault_rows(module: Any, outcomes: dict[str, str]) -> list[str]:
    rows = [
        "| Fault | Injection | Strategies | Entry points | Error shown | Trace keeps | Result |",
        "|---|---|---|---|---|---|---|",
    ]
    for fault in module.FAULTS:
        strategies = ", ".join(s or "before routing" for s in fault.strategies)
        entries = ", ".join(ENTRY_NAMES[e] for e in fault.entries)
        status = [] if module.NOTHING_SENT in fault.keeps else [f"status {fault.status}"]
        keeps = "; ".join(status + [keep.what for keep in fault.keeps])
        cells = [
            fault.name,
            fault.injection().replace("|", "\\|"),
            strategies,
            entries,
            _shown(fault),
            keeps,
            _result(fault, module.CASES, outcomes),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def load_rows(figures: dict[str, str], outcomes: dict[str, str]) -> list[str]:
    def figure(name: str) -> str:
        return figures.get(name, "—")

    def outcome(test: str) -> str:
        return outcomes.get(test, "not run")

    return [
        "| Run | Requests | Clients | Failures | Requests/s | p50 ms | p95 ms | Server RSS before → after | Result |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| scripted engine, both APIs, streamed and not | {figure('scripted.requests')} | 32 | {figure('scripted.failures')} "
        f"| {figure('scripted.requests_per_s')} | {figure('scripted.p50_ms')} | {figure('scripted.p95_ms')} "
        f"| {figure('scripted.rss_before_mb')} MB → {figure('scripted.rss_after_mb')} MB "
        f"| {outcome('test_scripted_engine_under_load')} |",
        f"| embedded llama engine (SmolLM2-135M, 8 tokens) | {figure('llama.requests')} | 8 | {figure('llama.failures')} "
        f"| {figure('llama.requests_per_s')} | {figure('llama.p50_ms')} | {figure('llama.p95_ms')} | — "
        f"| {outcome('test_embedded_llama_engine_under_load')} |",
        f"| one keep-alive client, sequential | 60 | 1 | 0 | — | {figure('sequential.p50_ms')} | — | — "
        f"| {outcome('test_keep_alive_requests_do_not_wait_for_delayed_acks')} |",
    ]


def render(module: Any, outcomes: dict[str, str], figures: dict[str, str]) -> str:
    cases = len(module.CASES)
    passed = sum(outcomes.get(f"test_fault[{case.id}]") == "passed" for case in module.CASES)
    lines = [
        "# Reliability",
        "",
        "Generated by `python scripts/reliability_report.py` from the fault table in",
        "`tests/faults/test_fault_matrix.py` and a run of it and of `tests/load/test_load.py`; do not edit by hand.",
        "",
        "## Fault matrix",
        "",
        f"{len(module.FAULTS)} faults, each injected for real and run per strategy and entry point: "
        f"{cases} cases, {passed} passed. Every case also checks that the error is one line without",
        "internals, and ends with one ordinary call through the same entry point to show the adapter is still usable.",
        "Messages are the regular expressions the tests match in full.",
        "",
        *fault_rows(module, outcomes),
        "",
        "## Load",
        "",
        "`alloy-nb serve` in a subprocess on loopback, driven by concurrent `httpx.AsyncClient`s; every reply is read to",
        "its end and compared with what the engine was to say. RSS is read from `/proc/PID/status` after a warm-up",
        "and after the run.",
        "",
        *load_rows(figures, outcomes),
        "",
        "## Beside the matrix",
        "",
        "Faults that need more than a scripted turn are tested next to it, each with real servers, SDKs and kernels:",
        "",
        *(f"- {what}: `{where}`" for what, where in BESIDE_THE_MATRIX),
        "",
        "## Red team, round two",
        "",
        "A second pass as an attacker would try it (crafted traces and log rows, hostile servers, model output and",
        "clients of `alloy-nb serve`). Each finding has a test that failed before its fix:",
        "",
        *(f"- {severity}: {what}: `{where}`" for severity, what, where in ROUND_TWO),
        "",
        "Two decisions from the same pass:",
        "",
        "- **Redirects are never followed.** The ollama SDK and the openai SDK's client follow them by default and",
        "  resend the body and custom headers (httpx drops only `Authorization`, and only across origins). alloy_nb's",
        "  clients turn that off; a 3xx is an error that says where to point the host if it is trusted:",
        "  `tests/wire/test_redirects.py`.",
        "- **The call log's queue is bounded in bytes where bytes are known.** A call's size is known only once its",
        "  row is built, on the writer thread (measuring it on the caller's thread would put serialisation on the hot",
        "  path). Unwritten calls stay bounded by count (10,000, each string capped by `trace_max_chars`); the rows",
        "  kept while the database is locked, where the growth was, are bounded at 128 MB, oldest dropped first:",
        "  `tests/log/test_log_writer.py`.",
        "",
    ]
    return "\n".join(lines)


BESIDE_THE_MATRIX = (
    (
        "hostile replies (script, event handlers, javascript: links, remote images, fence breakouts) in every "
        "%%alloy format, streamed and not",
        "tests/notebook/test_safe_output.py",
    ),
    (
        "the same replies in real JupyterLab: nothing runs, loads or links out",
        "tests/browser/test_model_output_is_inert.py",
    ),
    (
        "credentials in the host: one Authorization rule for both strategies, never shown in reprs, errors or logs",
        "tests/wire/test_credentials.py",
    ),
    ("500 × asyncio.run(ask.async_()) under a 128-file limit", "tests/wire/test_async_resources.py"),
    ("replies and tool arguments nested past the bound; traces that stay serialisable", "tests/wire/test_nesting.py"),
    (
        "lone surrogates from tools, SystemExit in a tool, nested ask() in a tool, {In[-1]}, 404s that are not about "
        "the model, tool calls past the per-turn cap",
        "tests/wire/test_odd_inputs.py, tests/wire/test_tools_loop.py",
    ),
    (
        "server inputs: lone surrogates, NaN/Infinity, 2,000-level arguments, invalid pull names",
        "tests/server/test_hostile_inputs.py",
    ),
    ("foreign Host and Origin headers (DNS rebinding, other sites' pages)", "tests/server/test_host_origin_guard.py"),
    (
        "a client that connects and says nothing, trickles its headers or stalls its body (long generations and "
        "kept-alive connections untouched)",
        "tests/server/test_connection_deadlines.py",
    ),
    (
        "a kernel interrupt, a server killed behind the notebook's back, kernel shutdown",
        "tests/notebook/test_embedded_server_lifetime.py",
    ),
)


ROUND_TWO = (
    (
        "High",
        "a replay goes to the configured host (or an explicit host=), never to the host a trace or log row "
        "names, so a crafted row cannot send the conversation and the configured headers elsewhere; of a trace's "
        "settings only those that shape a request replay (a crafted `request_settings` sets no host, headers, "
        "logging or retries)",
        "tests/log/test_replay.py",
    ),
    (
        "High",
        "a replay binds a logged tool name only to an alloy_nb tool (namespace or tools=); any other name, "
        "`open` and `print` included, answers with its logged result, and the replay view says so; a logged output "
        "type must be a class",
        "tests/log/test_replay.py",
    ),
    (
        "Medium",
        "`alloy-nb logs`, `%alloy log`, `%alloy history`, the status line and error messages that quote a "
        "reply show C0/C1 controls as stand-ins (no OSC 52 clipboard write, no screen clear, no OSC 8 link)",
        "tests/log/test_terminal_safety.py, tests/notebook/test_history_and_batch_shown_safely.py",
    ),
    (
        "Low",
        "a NUL in a log query and `since='800000d'` are one-line errors, in Python, the CLI and the magic",
        "tests/log/test_terminal_safety.py",
    ),
    (
        "Low",
        "a call log named by a `file:` URI is owner-only (0600), its directory too",
        "tests/log/test_terminal_safety.py",
    ),
    (
        "Low",
        "a thumbnail longer than the string cap is dropped with a plain note, never cut inside `<img src>`",
        "tests/wire/test_image_thumbnails.py",
    ),
    (
        "Low",
        "bidi and zero-width characters in tool names, arguments, paths, hosts and server strings show as "
        "`<U+202E>` in every HTML view (the replay's notes, host and model tables, status lines included) and "
        "the CLI",
        "tests/unit/test_invisible_characters.py, tests/log/test_terminal_safety.py",
    ),
    (
        "Medium",
        "the embedded server bounds every JSON-schema repetition count (1,000) and the grammar's size, "
        "nested pattern quantifiers together, answers 400 naming the bound, and builds grammars off the event loop",
        "tests/server/test_schema_bounds.py",
    ),
    (
        "Medium",
        "an image over 25 Mpx is a 400 read from its header, decoded off the event loop",
        "tests/server/test_hostile_inputs.py",
    ),
    (
        "Low",
        "a lone surrogate 950 levels deep is repaired without recursion; a failed request is one log line",
        "tests/server/test_hostile_inputs.py, tests/server/test_engine_failures.py",
    ),
    (
        "Low",
        "a `$ref` that leads nowhere or a schema no grammar can follow is a 400 on every engine",
        "tests/server/test_schema_bounds.py",
    ),
    (
        "Low",
        "a `--model NAME=PATH` that is not a readable GGUF file stops `alloy-nb serve` at start, naming it",
        "tests/server/test_model_files.py",
    ),
    (
        "Medium",
        "`map(engine=<dask Client>)` sends the caller's resolved settings with each task (model, system, "
        "headers, scopes); no secret reaches a task key or the dashboard",
        "tests/batch/test_dask_settings.py",
    ),
    (
        "Medium",
        "`timeout` bounds a whole non-streamed reply (a host trickling a byte at a time), and a miss moves "
        "the item to another host",
        "tests/wire/test_total_deadline.py, tests/batch/test_host_faults.py",
    ),
    (
        "Low",
        "a host answering 200 with a login page is a host fault in `map` (items move on) and one clear error "
        "for a single call",
        "tests/wire/test_not_json_host.py, tests/batch/test_host_faults.py",
    ),
)


def main() -> int:
    outcomes, figures, code = run_tests()
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(render(load_table(), outcomes, figures), encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)} (pytest exit code {code})")
    return code


if __name__ == "__main__":
    sys.exit(main())
