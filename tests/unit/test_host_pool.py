"""Which host takes a batch's next request: an item that failed on a host waits for another one that
is only busy, and goes back to the failed host only while every other host is cooling down."""

from __future__ import annotations

import asyncio

from alloy_nb._call.host_pool import HostMove, HostPool, offer, taken_move, withdraw
from alloy_nb._config import Config


async def test_an_item_that_failed_on_a_host_waits_for_a_busy_healthy_one() -> None:
    pool = HostPool(["http://a", "http://b"], per_host=1)
    assert await pool.acquire() == "http://a"
    assert await pool.acquire() == "http://b"  # b is busy from now on
    await pool.release("http://a", host_failed=True)  # a's request failed: it cools down for a second
    pool.loads[0].cool_until = 0.0  # ... and the cool-down is over
    retry = asyncio.create_task(pool.acquire(avoid="http://a"))
    await asyncio.sleep(0.05)
    assert not retry.done(), "went back to the host that just failed while a healthy one was only busy"
    await pool.release("http://b", host_failed=False)
    assert await asyncio.wait_for(retry, 1) == "http://b"


async def test_the_failed_host_is_taken_when_every_other_one_cools_down() -> None:
    pool = HostPool(["http://a", "http://b"], per_host=1)
    for host in ("http://a", "http://b"):
        assert await pool.acquire() == host
        await pool.release(host, host_failed=True)
    pool.loads[0].cool_until = 0.0  # a is back; b still cools down
    assert await asyncio.wait_for(pool.acquire(avoid="http://a"), 1) == "http://a"


async def test_one_host_is_taken_again_after_it_failed() -> None:
    pool = HostPool(["http://a"], per_host=1)
    await pool.acquire()
    await pool.release("http://a", host_failed=False)
    assert await asyncio.wait_for(pool.acquire(avoid="http://a"), 1) == "http://a"


async def test_a_move_goes_to_the_item_s_own_call_only_and_as_often_as_allowed() -> None:
    pool = HostPool(["http://a", "http://b"], per_host=1)
    configs = {host: Config(host=host) for host in ("http://a", "http://b")}
    move = HostMove(pool, await pool.acquire(), moves=1, config_for=configs.__getitem__)
    token = offer(move)
    try:
        assert taken_move(Config(host="http://a")) is None  # a call with other settings: its prompt's, its tools'
        assert taken_move(configs["http://a"]) is move  # the item's own call
        assert taken_move(configs["http://a"]) is None  # once
    finally:
        withdraw(token)
    config = await asyncio.wait_for(move.away(), 1)
    assert config is configs["http://b"] is move.config and move.host == "http://b" and move.moved == 1
    assert [(load.in_flight, load.failures) for load in pool.loads] == [(0, 1), (1, 0)]
    assert await move.away() is None and move.host == "http://b"  # no moves left: the slot stays held


async def test_a_stopping_batch_moves_no_item() -> None:
    pool = HostPool(["http://a", "http://b"], per_host=1)
    move = HostMove(
        pool, await pool.acquire(), moves=3, config_for=lambda host: Config(host=host), stopping=lambda: True
    )
    assert await move.away() is None and move.host == "http://a" and pool.loads[0].in_flight == 1
