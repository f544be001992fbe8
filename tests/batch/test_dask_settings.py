"""`map(..., engine=client)` runs every item with the caller's settings, never the worker process's own;
no secret of those settings is in what the cluster names or shows."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator

import distributed
import pytest

import alloy_nb
from alloy_nb import ask, command

TOKEN = "s3cret-token-7f3a"  # a proxy's token, sent as a header
PASSWORD = "hunter2-9c1e"  # credentials in the host URL
SECRETS = (TOKEN, PASSWORD, base64.b64encode(f"alice:{PASSWORD}".encode()).decode())


@pytest.fixture
def worker_environment(cluster_client: distributed.Client) -> Iterator[None]:
    """The workers' own environment says otherwise (a temperature, another model); the caller's wins."""
    changes = {"ALLOY_TEMPERATURE": "0.9", "ALLOY_MODEL": "ollama:gemma3:4b"}
    cluster_client.run(lambda: os.environ.update(changes))  # a lambda: the worker's os.environ, not a copy
    yield
    cluster_client.run(lambda: [os.environ.pop(name, None) for name in changes])


def _greet(name: str) -> str:
    return f"Greet {name}."


@pytest.mark.parametrize(("entry", "api"), [("ask", "native"), ("command", "openai_chat")])
def test_the_callers_settings_reach_the_workers(
    entry: str, api: str, cluster_client: distributed.Client, server, worker_environment: None
) -> None:
    credentialed = server.url.replace("http://", f"http://alice:{PASSWORD}@")
    alloy_nb.configure(model="ollama:qwen3:0.6b", system="Answer in French.", headers={"X-Proxy-Token": TOKEN}, api=api)
    with alloy_nb.settings(host=credentialed, max_tokens=7), distributed.get_task_stream(cluster_client) as tasks:
        if entry == "ask":
            result = ask.map(["a", "b", "c"], engine=cluster_client, progress=False)
        else:
            result = command(_greet).map(["a", "b", "c"], engine=cluster_client, progress=False)
    assert len(result.ok) == 3, result.summary()

    path = "/api/chat" if api == "native" else "/v1/chat/completions"
    assert [request.path for request in server.requests] == [path] * 3
    for request in server.requests:
        assert request.model == "qwen3:0.6b"
        assert request.messages[0] == {"role": "system", "content": "Answer in French."}
        assert request.headers["x-proxy-token"] == TOKEN
        assert request.headers["authorization"] == f"Basic {SECRETS[2]}"
        assert request.options.get("num_predict") == 7 and "temperature" not in request.options

    shown = [str(record) for record in tasks.data]  # what the dashboard's task stream shows: keys, names
    shown += cluster_client.run_on_scheduler(lambda dask_scheduler: [str(p) for p in dask_scheduler.task_prefixes])
    assert len(tasks.data) == 3 and all("alloy-map-" in line for line in shown[:3])
    assert not [line for line in shown if any(secret in line for secret in SECRETS)]


def test_map_takes_the_call_only_options_too(server) -> None:
    """`history=` goes with every item (resolving the batch's settings once must not read it as a setting)."""
    earlier = [{"role": "user", "content": "My name is Ada."}, {"role": "assistant", "content": "Hello Ada."}]
    result = ask.map(["a", "b"], history=earlier, progress=False)
    assert len(result.ok) == 2, result.summary()
    assert all(request.messages[:2] == earlier for request in server.requests)
