"""`rendered_prompt()`: the exact text the model would read for a call, from the server, generating nothing.

Ollama's native `/api/chat` takes `_debug_render_only: true` and answers with the chat template applied
(`_debug_info.rendered_template`) instead of a reply: the system prompt, the output instruction, the tools
and every special token, as the model sees them. The request is the call's first one, built by the call's
own strategy, so what is rendered is what `ask` would send. The OpenAI-compatible API has no such request,
and an Ollama before 0.12 ignores the flag and generates: both are said plainly, naming what can render.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from typing_extensions import Unpack

from ._call.options import CallOptions, call_spec
from ._config import redact_host
from ._host import Host
from ._strategies.registry import strategy_for
from ._visible import visible
from .errors import cannot_render_on, render_ignored


@dataclass(frozen=True)
class RenderedPrompt:
    """The prompt text a model would read (`text`, exact), for which model and host; `grammar` is
    what would constrain the reply when the server says (the embedded server does)."""

    text: str
    model: str
    host: str
    image_count: int = 0
    grammar: dict[str, Any] | None = None

    def __str__(self) -> str:
        """The text with control and invisible characters shown (see `visible`)."""
        return visible(self.text)

    def _repr_html_(self) -> str:
        from ._views.prompt import rendered_prompt_html

        return rendered_prompt_html(self.text, f"{self.model} at {self.host}", self.grammar)


def rendered_prompt(
    prompt: str,
    *,
    output: Any = str,
    tools: Iterable[Callable[..., Any]] | None = None,
    **options: Unpack[CallOptions],
) -> RenderedPrompt:
    """The prompt `ask(prompt, output=..., tools=..., **options)` would put before the model, rendered by
    the server's chat template without generating (native API only; see the module docstring)."""
    spec = call_spec(prompt, output, tools, options)
    config = spec.config
    strategy = strategy_for(config)
    if strategy.name != "native":
        raise cannot_render_on(strategy.name, config.model)
    body = spec.send(strategy, spec.first_messages(), stream=False).request
    host = Host(config, timeout=config.timeout)
    answer = host.render_only(body)
    info = answer.get("_debug_info")
    if not isinstance(info, dict) or not isinstance(info.get("rendered_template"), str):
        raise render_ignored(host.shown)
    grammar = info.get("grammar")
    return RenderedPrompt(
        text=info["rendered_template"],
        model=config.model_name,
        host=redact_host(config.host),
        image_count=int(info.get("image_count") or 0),
        grammar=grammar if isinstance(grammar, dict) else None,
    )
