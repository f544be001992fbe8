"""Which host takes a batch's next request: an item that failed on a host waits for another one that
is only busy, and goes back to the failed host only while every other host is cooling down."""

from __future__ import annotations

import asyncio

from alloy_nb._call.host_pool import HostPool


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
