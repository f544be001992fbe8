"""``alloy-nb serve``: port conflicts, non-loopback warning, and a real foreground run."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
from serve_process import serve_command, wait_until_answering

from alloy_nb.cli import main


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_busy_port_is_a_clear_error_and_exit_code_2(busy_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", str(busy_port)]) == 2
    error = capsys.readouterr().err
    assert f"port {busy_port}" in error and "--port" in error and "warning" not in error


def test_non_loopback_host_warns(busy_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--host", "0.0.0.0", "--port", str(busy_port)]) == 2
    assert "warning: listening on 0.0.0.0" in capsys.readouterr().err


def test_unknown_engine_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--engine", "nope"])
    assert exited.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_python_m_serves_until_interrupted() -> None:
    port, command = serve_command()
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}/api/tags"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                assert "smollm2:135m" in httpx.get(url).text
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        else:
            pytest.fail("alloy-nb serve did not start")
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0 and f"http://127.0.0.1:{port}" in stderr


def test_scripted_engine_think_time_delays_each_reply() -> None:
    port, command = serve_command("--engine", "scripted", "--think-time", "0.3")
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    body = {"model": "smollm2:135m", "messages": [{"role": "user", "content": "Hi"}], "stream": False}
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/api/version", 20)
        started = time.monotonic()
        reply = httpx.post(f"http://127.0.0.1:{port}/api/chat", json=body, timeout=10)
        assert time.monotonic() - started >= 0.3
        assert reply.json()["message"]["content"] == "You said: Hi"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_threads_must_be_a_positive_number(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--threads", "0"])
    assert exited.value.code == 2 and "0 is not a positive number" in capsys.readouterr().err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_generation_stops_it_and_exits_within_a_second(signum: int) -> None:
    import threading

    port, command = serve_command("--threads", "2")
    server = subprocess.Popen(command, stderr=subprocess.DEVNULL, start_new_session=True)  # the embedded model
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/api/version", 60)
        body = {
            "model": "smollm2:135m",
            "options": {"num_predict": 2000, "temperature": 0},
            "messages": [{"role": "user", "content": "Write a long essay about the history of Rome."}],
        }
        generating = threading.Thread(
            target=lambda: _quietly(lambda: httpx.post(f"{url}/api/chat", json=body, timeout=60))
        )
        generating.start()
        time.sleep(1.5)  # well into the reply
        sent = time.monotonic()
        server.send_signal(signum)
        server.wait(timeout=10)
        assert time.monotonic() - sent < 1.0, "the generation stops at the next step and the server exits"
        generating.join(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()


def _quietly(call) -> None:
    try:
        call()
    except httpx.HTTPError:  # the server went away mid-reply, as it should
        pass
