"""Loading alloy_nb costs little: `import alloy_nb` and `%load_ext alloy_nb` import neither pydantic
nor the SDKs, httpx or OpenTelemetry (so an extension loaded in every kernel's profile costs a kernel
that never calls a model almost nothing); the first call imports them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

HEAVY = ("pydantic", "ollama", "openai", "httpx", "opentelemetry")

SCRIPT = textwrap.dedent(f"""
    import json, sys
    from IPython.core.interactiveshell import InteractiveShell

    def loaded():
        return [name for name in {HEAVY!r} if name in sys.modules]

    before = loaded()  # IPython's own imports, to be fair to it
    import alloy_nb
    after_import = loaded()
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "alloy_nb")
    after_load = loaded()
    shell.run_line_magic("alloy", "help")
    print(json.dumps([before, after_import, after_load]))
""")


def test_import_and_load_ext_leave_pydantic_the_sdks_httpx_and_opentelemetry_unimported() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    *help_text, last = done.stdout.strip().splitlines()
    before, after_import, after_load = json.loads(last)
    assert before == [] and after_import == [] and after_load == []
    assert "%%alloy" in "\n".join(help_text)  # the magics are registered and answer
