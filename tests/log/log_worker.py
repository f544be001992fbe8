"""A process that logs calls: `python log_worker.py DB COUNT INTERVAL_S`.

Submits COUNT calls (COUNT 0: until killed), one every INTERVAL_S seconds; after each it prints
`submitted N written W`, W being the calls the writer has committed so far. Ends with `closed W`."""

from __future__ import annotations

import itertools
import sys
import time

from alloy_nb._log import LogWriter
from alloy_nb._trace import RequestEvent, ResponseEvent, Trace


def main(path: str, count: int, interval_s: float) -> None:
    writer = LogWriter(path)
    for number in itertools.count(1) if count == 0 else range(1, count + 1):
        trace = Trace(model="ollama:smollm2:135m", strategy="native", host="http://127.0.0.1:11434")
        body = {"messages": [{"role": "user", "content": f"question {number}"}]}
        trace.add(RequestEvent(turn=0, endpoint="POST /api/chat", url="", body=body))
        trace.add(ResponseEvent(turn=0, text=f"answer {number}"))
        trace.finish("ok", f"answer {number}")
        writer.submit(trace)
        print(f"submitted {number} written {writer.written}", flush=True)
        if interval_s:
            time.sleep(interval_s)
    writer.close()
    print(f"closed {writer.written}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
