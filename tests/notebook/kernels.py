"""Running code in a real kernel through jupyter_client, as a front end would."""

from __future__ import annotations

from typing import Any


def execute(client: Any, code: str, timeout: float = 60) -> tuple[str, str]:
    """Run code in the kernel; (status, everything it printed or displayed as text)."""
    shown: list[str] = []

    def collect(message: dict) -> None:
        content = message["content"]
        if message["msg_type"] == "stream":
            shown.append(content["text"])
        elif message["msg_type"] in ("display_data", "update_display_data", "execute_result"):
            shown.append(content["data"].get("text/plain", ""))
        elif message["msg_type"] == "error":
            shown.append("\n".join(content["traceback"]))

    reply = client.execute_interactive(code, timeout=timeout, output_hook=collect)
    return reply["content"]["status"], "".join(shown)
