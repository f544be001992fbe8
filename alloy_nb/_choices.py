"""The names settings accept that other layers list too, kept free of pydantic so that
`%load_ext alloy_nb` does not import it (the first call does)."""

from __future__ import annotations

from typing import Literal

Strategy = Literal["native", "openai_chat", "openai_responses"]
STRATEGIES: tuple[Strategy, ...] = ("native", "openai_chat", "openai_responses")
API_CHOICES: tuple[str, ...] = ("auto", *STRATEGIES)  # `api=`: auto routes gpt-oss to openai_chat
MODEL_PREFIX = "ollama:"  # models are `ollama:<name>`
