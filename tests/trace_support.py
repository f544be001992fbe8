"""Comparing traces in tests: a streamed call's trace against a whole call's."""

from __future__ import annotations

import json
from typing import Any


def untimed(trace: Any) -> dict[str, Any]:
    """A trace without its timings, ids and raw reply bodies, and with each request body as if not streamed."""
    data = json.loads(trace.to_json())
    for key in ("id", "started_at", "duration_s", "stream"):
        data.pop(key)
    for event in data["events"]:
        for key in ("at_s", "duration_s", "ttft_s", "generation_s", "thinking_s", "thinking_pieces", "raw"):
            event.pop(key, None)
        if event["kind"] == "request":
            event["body"].pop("stream_options", None)
            event["body"]["stream"] = False
    return data
