"""`%alloy pull NAME`: pull a model through the ollama SDK with a throttled progress bar."""

from __future__ import annotations

import time
from typing import Any, Protocol

from .._capabilities import forget
from .._config import Config, redact_host
from .._host import Host, human_size
from .._visible import visible, visible_html
from ..errors import ServerError

UPDATE_INTERVAL = 0.1


class _View(Protocol):
    def update(self, status: str, completed: int, total: int) -> None: ...

    def flush(self) -> None: ...

    def discard(self) -> None: ...


def pull_with_progress(config: Config, name: str) -> None:
    """Pull model `name` on the configured host, showing progress while it runs, then print `Pulled NAME.`."""
    import ollama

    view = _progress_view(name)
    try:
        for update in Host(config).pull(name):
            view.update(update.status or "", update.completed or 0, update.total or 0)
    except ollama.ResponseError as exc:
        view.discard()  # the error says it all: no half-drawn bar above it
        message = f"Could not pull {name!r} from {redact_host(config.host)}: {exc.error}"
        raise ServerError(message, exc.status_code if exc.status_code > 0 else None, exc.error) from None
    except BaseException:
        view.discard()
        raise
    view.flush()
    forget(config.host)  # a pulled model may be a new version: read what it can do again
    print(f"Pulled {name}.")


def _progress_view(name: str) -> _View:
    try:
        import ipywidgets
    except ImportError:
        return _TextView(name)
    return _WidgetView(ipywidgets, name)


class _WidgetView:
    """An `IntProgress` bar (0..total) and an escaped status label, redrawn at most every UPDATE_INTERVAL s."""

    def __init__(self, widgets: Any, name: str) -> None:
        from IPython.display import display

        self._name = name
        self.bar = widgets.IntProgress(value=0, min=0, max=1, description="Pulling")
        self.label = widgets.HTML(value=visible_html(f"{name}: starting"))
        self._latest = ("starting", 0, 0)
        self._drawn = float("-inf")
        self.box = widgets.VBox([self.label, self.bar])
        display(self.box)

    def update(self, status: str, completed: int, total: int) -> None:
        self._latest = (status, completed, total)
        if time.monotonic() - self._drawn >= UPDATE_INTERVAL:
            self.flush()

    def flush(self) -> None:
        status, completed, total = self._latest
        if total:
            self.bar.max = total
            self.bar.value = min(completed, total)
            status = f"{status}: {human_size(completed)} of {human_size(total)}"
        elif status == "success":
            self.bar.value = self.bar.max
        self.label.value = visible_html(f"{self._name}: {status}")
        self._drawn = time.monotonic()

    def discard(self) -> None:
        """Take the bar off the page."""
        self.box.close()


class _TextView:
    """Without ipywidgets: one printed line per new status."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._status = ""

    def update(self, status: str, completed: int, total: int) -> None:
        if status != self._status:
            self._status = status
            print(visible(f"{self._name}: {status}"))  # a server's words: shown, never obeyed by a terminal

    def flush(self) -> None:
        """Nothing is held back: every new status is printed at once."""

    def discard(self) -> None:
        """Printed lines stay: they are the record of what happened."""
