"""What every part of the alloy_nb magics shares: the settings (traitlets), the notebook's namespace
and the state kept between cells (chat history, errors, the embedded server, the picker)."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics
from traitlets import CaselessStrEnum, Dict, Integer, Unicode

from .._choices import STRATEGIES
from .result_view import FORMATS


class MagicsState(Magics):
    """The defaults are traitlets, settable with %config AlloyMagics.NAME or ipython_config.py."""

    default_model = Unicode(None, allow_none=True, help="Model for %%alloy cells without -m.").tag(config=True)
    default_api = CaselessStrEnum(
        ("auto", *STRATEGIES),
        "auto",
        help="auto, native, openai_chat or openai_responses for %%alloy cells without --api.",
    ).tag(config=True)
    default_format = CaselessStrEnum(FORMATS, "markdown", help="How %%alloy shows text replies without -f.").tag(
        config=True
    )
    max_history = Integer(10, min=0, help="Earlier exchanges that --chat sends as context.").tag(config=True)
    aliases = Dict(help="Short model names: {'small': 'ollama:smollm2:135m'}.").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.chat_history: list[dict[str, str]] = []
        self.chat_calls: set[str] = set()  # ids of the traces of --chat cells, marked in %alloy history
        self.errors: dict[int, str] = {}
        self.local_server: Any = None
        self.picker: Any = None
        self._host_before_serve: str | None = None

    def take_over(self, previous: Any) -> None:
        """Carry on from the magics a `%reload_ext` replaces: settings, aliases, the --chat history, the
        recorded errors and the embedded server (so `%alloy stop` still finds it)."""
        for name in previous.trait_names(config=True):
            setattr(self, name, getattr(previous, name))
        for name in ("chat_history", "chat_calls", "errors", "local_server", "picker", "_host_before_serve"):
            setattr(self, name, getattr(previous, name))

    @property
    def namespace(self) -> dict[str, Any]:
        """The notebook's variables."""
        if self.shell is None:
            raise UsageError("The alloy_nb magics need an IPython shell: run %load_ext alloy_nb.")
        user_ns: dict[str, Any] = self.shell.user_ns
        return user_ns
