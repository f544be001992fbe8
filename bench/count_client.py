"""The client that `bench.instructions` runs under valgrind: one kind of call, `calls` times, after
a warm-up, against a server already running. `python -m bench.count_client URL CASE CALLS`"""

from __future__ import annotations

import sys
from collections.abc import Callable


def _call(url: str, case: str) -> Callable[[], object]:
    import ollama

    from alloy_nb import ask

    options = {"model": "ollama:smollm2:135m", "host": url, "api": "native"}
    if case == "sdk":
        client = ollama.Client(host=url)
        body = ask.traced("Name a city.", log=False, **options).trace.requests[0].body
        return lambda: client.chat(**body)
    log = {"ask": True, "ask-log-off": False}[case]
    return lambda: ask("Name a city.", log=log, **options)


def main(url: str, case: str, calls: int) -> None:
    from alloy_nb.logs import flush

    call = _call(url, case)
    for _ in range(200 + calls):  # the first 200 warm every cache; the difference of two runs is `calls`
        call()
    flush()  # the call log's writer thread does its share inside the count


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
