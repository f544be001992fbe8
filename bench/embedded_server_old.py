"""The embedded server against llama.cpp called directly, side by side in one run.

Prints: decode tokens/s through `/api/chat` streaming vs `Llama.create_chat_completion(stream=True)`
on the same prompt and options (ratio, target >= 0.95), the time to first token each way (added
median, target <= 15 ms), and the server's cold start (process start to first answer).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time

import httpx

from alloy_nb.server.llama_engine import DEFAULT_CONTEXT, DEFAULTS, bundled_smollm2

ROUNDS = 5
MAX_TOKENS = 128
MESSAGES = [{"role": "user", "content": "Write a short story about a lighthouse keeper and a storm."}]
OPTIONS = {**DEFAULTS, "temperature": 0.0, "seed": 1}


def direct_round(llm: object) -> tuple[float, float, int]:
    """(ttft seconds, decode tokens/s, tokens) for one streamed completion in this process."""
    started = time.perf_counter()
    first = last = 0.0
    tokens = 0
    for chunk in llm.create_chat_completion(  # type: ignore[attr-defined]
        messages=MESSAGES, stream=True, max_tokens=MAX_TOKENS, **OPTIONS
    ):
        if chunk["choices"][0]["delta"].get("content"):
            last = time.perf_counter()
            first = first or last
            tokens += 1
    return first - started, (tokens - 1) / (last - first), tokens


def server_round(client: httpx.Client) -> tuple[float, float, int]:
    """The same through the embedded server's NDJSON stream, timed at the client."""
    body = {"model": "smollm2:135m", "messages": MESSAGES, "stream": True,
            "options": {**OPTIONS, "num_predict": MAX_TOKENS}}
    started = time.perf_counter()
    first = last = 0.0
    tokens = 0
    with client.stream("POST", "/api/chat", json=body) as reply:
        for line in reply.iter_lines():
            if json.loads(line)["message"].get("content"):
                last = time.perf_counter()
                first = first or last
                tokens += 1
    return first - started, (tokens - 1) / (last - first), tokens


def start_server() -> tuple[subprocess.Popen[bytes], str, float]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "alloy_nb.server", "serve", "--engine", "llama",
                                "--port", str(port)], stderr=subprocess.DEVNULL)
    body = {"model": "smollm2:135m", "messages": [{"role": "user", "content": "Hi"}], "stream": False,
            "options": {"num_predict": 1}}
    while True:
        try:
            httpx.post(f"{url}/api/chat", json=body, timeout=60).raise_for_status()
            return process, url, time.perf_counter() - started
        except httpx.TransportError:
            time.sleep(0.02)


def main() -> None:
    from llama_cpp import Llama

    process, url, cold_start = start_server()
    try:
        llm = Llama(model_path=str(bundled_smollm2()), n_ctx=DEFAULT_CONTEXT, n_threads=os.cpu_count(), verbose=False)
        direct, served = [], []
        with httpx.Client(base_url=url, timeout=120) as client:
            direct_round(llm), server_round(client)  # warm both prompt caches
            for _ in range(ROUNDS):  # interleaved, so drift hits both sides alike
                direct.append(direct_round(llm))
                served.append(server_round(client))
    finally:
        process.terminate()
        process.wait()
    d_ttft, d_rate = statistics.median(r[0] for r in direct), statistics.median(r[1] for r in direct)
    s_ttft, s_rate = statistics.median(r[0] for r in served), statistics.median(r[1] for r in served)
    print(f"{ROUNDS} interleaved rounds, {MAX_TOKENS} tokens max, tokens per round: "
          f"direct {[r[2] for r in direct]}, server {[r[2] for r in served]}")
    print(f"{'':28}{'direct llama.cpp':>18}{'/api/chat stream':>18}")
    print(f"{'decode tokens/s (median)':28}{d_rate:18.1f}{s_rate:18.1f}")
    print(f"{'time to first token (ms)':28}{d_ttft * 1000:18.1f}{s_ttft * 1000:18.1f}")
    print(f"decode ratio server/direct: {s_rate / d_rate:.3f} (target >= 0.95)")
    print(f"added time to first token: {(s_ttft - d_ttft) * 1000:.1f} ms median (target <= 15 ms)")
    print(f"server cold start, process start to first answer: {cold_start:.2f} s")


if __name__ == "__main__":
    main()
