"""Model picker widget: the model, strategy and host the next `ask()` / `%%alloy` call uses."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .. import _config as alloy_config
from .._capabilities import ModelInfo, known
from .._choices import API_CHOICES
from .._config import Config, redact_host
from .._host import Host, HostInfo
from .._model_names import same_model
from .._views.capabilities import capability_line_html
from .._views.status import error_html, host_status_html
from ..errors import ConfigurationError

if TYPE_CHECKING:
    import ipywidgets

_STRATEGY_LABELS = {
    "auto": "auto (gpt-oss → openai_chat, others → native)",
    "native": "native (/api/chat)",
    "openai_chat": "openai_chat (/v1/chat/completions)",
    "openai_responses": "openai_responses (/v1/responses)",
}
STRATEGY_OPTIONS: tuple[tuple[str, str], ...] = tuple((_STRATEGY_LABELS[c], c) for c in API_CHOICES)


ThinkOption = tuple[str, bool | str]
DEFAULT_THINK = "default"  # the option for `think=None` (a dropdown treats a None value as no selection)


class WidgetView(ABC):
    """A front end made of ipywidgets: `box` is what shows, `_widgets` close together, and `summary()`
    is the text shown where widgets cannot render (and instead of the box once closed)."""

    box: ipywidgets.VBox
    _widgets: list[ipywidgets.Widget]
    _closed = False

    @abstractmethod
    def summary(self) -> str:
        """One line on the view, for front ends that cannot render widgets."""

    def _close_widgets(self) -> None:
        self._closed = True
        for widget in self._widgets:
            widget.close()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        data = {} if self._closed else dict(self.box._repr_mimebundle_(**kwargs) or {})
        data["text/plain"] = self.summary()
        return data


class ModelPicker(WidgetView):
    """Dropdowns for model, strategy and thinking, a host field, a refresh button, the selected
    model's capabilities and a status line, bound to `configure()`."""

    def __init__(self) -> None:
        import ipywidgets as widgets

        config = alloy_config.current()
        self._info = HostInfo(Host(config).url)
        self._syncing = False
        # flexible widths that wrap onto a new row when the notebook is narrow (no label cut off)
        field = {
            "layout": widgets.Layout(flex="1 1 24em", width="auto", min_width="14em"),
            "style": {"description_width": "initial"},
        }
        self.model: ipywidgets.Dropdown = widgets.Dropdown(
            description="Model", options=((config.model, config.model),), **field
        )
        self.strategy: ipywidgets.Dropdown = widgets.Dropdown(description="Strategy", options=STRATEGY_OPTIONS, **field)
        self.think: ipywidgets.Dropdown = widgets.Dropdown(
            description="Think", options=_think_options(None, None), **field
        )
        self.host: ipywidgets.Text = widgets.Text(description="Host", continuous_update=False, **field)
        self.refresh_button: ipywidgets.Button = widgets.Button(
            description="Refresh", icon="refresh", tooltip="Re-read /api/tags and /api/version"
        )
        self.capabilities: ipywidgets.HTML = widgets.HTML()
        self.status: ipywidgets.HTML = widgets.HTML()
        wrap = widgets.Layout(flex_flow="row wrap", width="100%")
        rows = [
            widgets.HBox([self.model, self.strategy], layout=wrap),
            widgets.HBox([self.think, self.host, self.refresh_button], layout=wrap),
        ]
        self.box: ipywidgets.VBox = widgets.VBox([*rows, self.capabilities, self.status])
        self._widgets: list[ipywidgets.Widget] = [
            self.box,
            *rows,
            self.model,
            self.strategy,
            self.think,
            self.host,
            self.refresh_button,
            self.capabilities,
            self.status,
        ]
        self.model.observe(lambda change: self._apply(model=change["new"]), names="value")
        self.strategy.observe(lambda change: self._apply(api=change["new"]), names="value")
        self.think.observe(self._on_think, names="value")
        self.host.observe(self._on_host, names="value")
        self.refresh_button.on_click(lambda _: self.refresh())
        self._unsubscribe = alloy_config.subscribe(self._on_config)
        self.refresh()

    def refresh(self) -> None:
        """Re-read the host's version and models, then redraw the widgets from the current alloy_config."""
        config = alloy_config.current()
        self._info = Host(config).info()
        self._show(config)

    def summary(self) -> str:
        """One line saying what the next call uses, for front ends that cannot render widgets."""
        config = alloy_config.current()
        return (
            f"ModelPicker: model={config.model} strategy={config.strategy} host={redact_host(config.host)} "
            "(widgets need Jupyter with ipywidgets)"
        )

    def close(self) -> None:
        """Stop following `configure()` and close every widget."""
        self._unsubscribe()
        self._close_widgets()

    def _apply(self, **changes: Any) -> None:
        """A user edit: pass it to `configure()` (whose listener redraws), unless we are redrawing."""
        if self._syncing:
            return
        try:
            alloy_config.configure(**changes)
        except ConfigurationError as exc:
            self.status.value = error_html(str(exc))

    def _on_think(self, change: dict[str, Any]) -> None:
        if change["new"] != DEFAULT_THINK:
            self._apply(think=change["new"])
        elif not self._syncing:  # back to what the environment or the model decides
            alloy_config.forget("think")

    def _on_host(self, change: dict[str, Any]) -> None:
        configured = alloy_config.current().host
        if change["new"] != redact_host(configured):
            self._apply(host=_with_credentials_kept(change["new"], configured))

    def _on_config(self, config: Config) -> None:
        """Listener: settings changed (here or in code); re-read the host only if it moved."""
        if Host(config).url != self._info.host:  # (info.host is the URL as sent: without credentials)
            self._info = Host(config).info()
        self._show(config)

    def _show(self, config: Config) -> None:
        options = _model_options(self._info, config.model)
        described = None if self._info.error else known(config)  # /api/show, once per model and host
        thinking = _think_options(described, config.think)
        with self._sync():
            if tuple(self.model.options) != options:
                self.model.options = options
            self.model.value = config.model
            self.strategy.value = config.extra.get("ollama_api", "auto")
            if tuple(self.think.options) != thinking:
                self.think.options = thinking
            self.think.value = DEFAULT_THINK if config.think is None else config.think
            self.host.value = redact_host(config.host)
        self.capabilities.value = _capabilities_html(described)
        self.status.value = _status_html(self._info, config.strategy)

    @contextmanager
    def _sync(self) -> Iterator[None]:
        """Widget updates made inside do not call `configure()` (no feedback loop)."""
        self._syncing = True
        try:
            yield
        finally:
            self._syncing = False


def model_picker() -> ModelPicker:
    """A picker for the model, strategy and host of the next call; display it as a cell's last expression."""
    return ModelPicker()


def _with_credentials_kept(shown: str, configured: str) -> str:
    """The host typed into the field, with the configured `user:password@` where the field shows `***@`.

    >>> _with_credentials_kept("https://***@proxy:8443", "https://me:pw@proxy:443")
    'https://me:pw@proxy:8443'
    """
    if "***@" not in shown or "@" not in configured:
        return shown
    credentials = configured.partition("://")[2].rpartition("@")[0]
    return shown.replace("***@", f"{credentials}@", 1)


def _model_options(info: HostInfo, model: str) -> tuple[tuple[str, str], ...]:
    """The host's models as `(label, "ollama:<name>")`, plus the configured model if the host does not list it.

    The host's entry for the configured model keeps the configured spelling (`ollama:llama3.1` for the
    listed `llama3.1:latest`), so the dropdown shows it as chosen."""
    wanted = alloy_config.model_name(model)
    options = tuple(
        (m.label, model if same_model(m.name, wanted) else alloy_config.MODEL_PREFIX + m.name) for m in info.models
    )
    if model not in (value for _, value in options):
        options += ((f"{wanted} (not listed by the host)", model),)
    return options


def _think_options(info: ModelInfo | None, think: bool | str | None) -> tuple[ThinkOption, ...]:
    """The `think` values that make sense for the model, plus the configured one if it is not among them."""
    if info is None:  # not described (older server, host down): offer everything
        options: tuple[ThinkOption, ...] = (("model default", DEFAULT_THINK), ("on", True), ("off", False))
        options += tuple((level, level) for level in alloy_config.THINK_LEVELS)
    elif not info.can("thinking"):
        options = (("cannot think", DEFAULT_THINK), ("off", False))
    elif info.think_levels:
        options = ((f"model default ({info.think_default})", DEFAULT_THINK),)
        options += tuple((level, level) for level in info.think_levels)
    else:
        options = (("model default", DEFAULT_THINK), ("on", True), ("off", False))
    if think is not None and think not in [value for _, value in options]:
        options += ((f"{think} (not offered by this model)", think),)
    return options


def _capabilities_html(info: ModelInfo | None) -> str:
    if info is None:
        return ""
    context = f"context {info.context_length:,} tokens" if info.context_length else ""
    return capability_line_html(info.capabilities, [context, info.parameter_size, info.quantization])


def _status_html(info: HostInfo, strategy: str) -> str:
    if info.error:
        return error_html(info.error)
    count = len(info.models)
    version = info.version or "(version unknown)"
    name = f"{info.server} {version} (the embedded server)" if info.embedded else f"Ollama {version}"
    return host_status_html(
        f"{name} at {redact_host(info.host)} · {count} model{'' if count == 1 else 's'} · next call: ", strategy
    )
