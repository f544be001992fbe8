"""Which strategy a config routes to, made once per config (the SDKs are imported here, lazily)."""

from __future__ import annotations

from .._config import Config
from .base import ChatStrategy

_made: dict[int, tuple[Config, ChatStrategy]] = {}
_MADE_LIMIT = 64


def strategy_for(config: Config) -> ChatStrategy:
    """The strategy object that `config` routes to.

    Strategies hold nothing but their config, so one is kept per config object (configs are
    immutable and `current()` hands out the same object for the same settings)."""
    made = _made.get(id(config))
    if made is not None and made[0] is config:
        return made[1]
    strategy = _make_strategy(config)
    if len(_made) >= _MADE_LIMIT:
        _made.clear()
    _made[id(config)] = (config, strategy)  # the config is kept alive, so its id is not reused meanwhile
    return strategy


def _make_strategy(config: Config) -> ChatStrategy:
    if config.strategy == "openai_chat":
        from .openai_chat import OpenAIChatStrategy

        return OpenAIChatStrategy(config)
    if config.strategy == "openai_responses":
        from .openai_responses import OpenAIResponsesStrategy

        return OpenAIResponsesStrategy(config)
    from .native import NativeStrategy

    return NativeStrategy(config)
