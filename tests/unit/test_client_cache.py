"""Synchronous clients kept between calls: one per key, a bounded number, all closed by `close()`."""

from __future__ import annotations

from alloy_nb._client_cache import ClientCache


class Client:
    """Stands for an SDK's client: only `close` matters to the cache."""

    def __init__(self, *key: object) -> None:
        self.key = key
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_the_same_key_gets_the_same_client_and_another_key_its_own() -> None:
    cache = ClientCache(Client)
    first = cache.get("http://a", 30.0)
    assert cache.get("http://a", 30.0) is first
    other = cache.get("http://b", 30.0)
    assert other is not first and other.key == ("http://b", 30.0)


def test_beyond_its_size_the_least_recently_used_client_is_let_go_unclosed() -> None:
    cache = ClientCache(Client, size=2)
    a, b = cache.get("a"), cache.get("b")
    assert cache.get("a") is a  # a is now the more recently used
    cache.get("c")
    assert cache.get("a") is a and cache.get("b") is not b  # b went
    assert not b.closed  # a call in another thread may still be using it


def test_close_closes_every_kept_client_and_later_gets_make_new_ones() -> None:
    cache = ClientCache(Client)
    clients = [cache.get(name) for name in "abc"]
    cache.close()
    assert all(client.closed for client in clients)
    fresh = cache.get("a")
    assert fresh is not clients[0] and not fresh.closed


class ClientWithoutClose:
    """Stands for an ollama < 0.6 client, which has no `close`."""

    def __init__(self, *key: object) -> None:
        self.key = key


def test_clients_without_close_are_let_go_and_the_others_still_closed() -> None:
    closing = ClientCache(Client)
    kept = closing.get("a")
    bare = ClientCache(ClientWithoutClose)
    bare.get("b")
    bare.close()  # an ollama 0.5 client: nothing to call, no AttributeError at exit
    closing.close()
    assert kept.closed
