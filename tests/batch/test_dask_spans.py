"""Spans of a `map` on a real Dask LocalCluster: the items' call spans, written by instrumented worker
processes, sit under the `map` span of the notebook's process (W3C trace context in the tasks)."""

from __future__ import annotations

import os

from otel_support import instrument_worker, memory_provider, plain_spans, uninstrument_worker, worker_spans

from alloy_nb import ask, otel

PROMPTS = [f"item {i}" for i in range(6)]


def test_a_dask_item_keeps_its_parent_across_the_worker_boundary(cluster_client, server) -> None:
    workers = set(cluster_client.run(instrument_worker).values())
    provider, exporter = memory_provider()
    otel.instrument(tracer_provider=provider)
    try:
        result = ask.map(PROMPTS, engine=cluster_client, progress=False)
        assert otel.flush(timeout=10)
        here = plain_spans(exporter.get_finished_spans())
        there = [span for spans in cluster_client.run(worker_spans).values() for span in spans]
    finally:
        otel.uninstrument()
        cluster_client.run(uninstrument_worker)
    assert result.values == [f"You said: {prompt}" for prompt in PROMPTS]
    assert os.getpid() not in workers
    (batch,) = here  # the notebook's process ran no call itself: only the map span is written here
    assert batch["name"].startswith("map ") and batch["attributes"]["alloy_nb.map.engine"] == "dask"
    assert batch["attributes"]["alloy_nb.map.items"] == len(PROMPTS)
    calls = [span for span in there if span["name"].startswith("call ")]
    assert len(calls) == len(PROMPTS)
    assert {call["parent_id"] for call in calls} == {batch["span_id"]}
    assert {span["trace_id"] for span in there} == {batch["trace_id"]}
    chats = [span for span in there if span["name"].startswith("chat ")]
    assert sorted(chat["parent_id"] for chat in chats) == sorted(call["span_id"] for call in calls)
