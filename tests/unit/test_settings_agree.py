"""Config is the one list of settings: CallOptions, the environment and the README agree with it."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

import alloy_nb
from alloy_nb import ConfigurationError, _config as config
from alloy_nb._call.options import CallOptions

README = Path(__file__).parents[2] / "README.md"
CALL_ONLY = {"api", "history", "images"}
KEYWORD_ALIASES = {"default_system": "system", "parallel_tools_max": "tool_concurrency"}  # alloy-ai's names

# variable -> (setting, raw value, value it gives): the documented variables, aliases included.
SAMPLES: dict[str, tuple[str, str, Any]] = {
    "ALLOY_MODEL": ("model", "ollama:qwen3:0.6b", "ollama:qwen3:0.6b"),
    "ALLOY_TEMPERATURE": ("temperature", "0.5", 0.5),
    "ALLOY_MAX_TOKENS": ("max_tokens", "64", 64),
    "ALLOY_DEFAULT_SYSTEM": ("system", "Be brief.", "Be brief."),
    "ALLOY_SYSTEM": ("system", "Be terse.", "Be terse."),
    "ALLOY_MAX_TOOL_TURNS": ("max_tool_turns", "3", 3),
    "ALLOY_MAX_TOOL_CALLS": ("max_tool_calls", "4", 4),
    "ALLOY_THINK": ("think", "high", "high"),
    "ALLOY_LOGPROBS": ("logprobs", "true", True),
    "ALLOY_TOP_LOGPROBS": ("top_logprobs", "5", 5),
    "ALLOY_CONSTRAINED": ("constrained", "false", False),
    "ALLOY_PARALLEL_TOOL_CALLS": ("parallel_tool_calls", "0", False),
    "ALLOY_AUTO_FINALIZE_MISSING_OUTPUT": ("auto_finalize_missing_output", "false", False),
    "ALLOY_AUTO_FINALIZE": ("auto_finalize_missing_output", "0", False),
    "ALLOY_EXTRA_JSON": ("extra", '{"ollama_api": "openai_chat"}', {"ollama_api": "openai_chat"}),
    "OLLAMA_HOST": ("host", "gpu-box", "http://gpu-box:11434"),
    "ALLOY_TIMEOUT": ("timeout", "30", 30.0),
    "ALLOY_PARALLEL_TOOLS_MAX": ("tool_concurrency", "2", 2),
    "ALLOY_TOOL_TIMEOUT": ("tool_timeout", "1.5", 1.5),
    "ALLOY_TRACE_MAX_CHARS": ("trace_max_chars", "500", 500),
    "ALLOY_TRACE_HISTORY": ("trace_history", "5", 5),
    "ALLOY_RETRY": ("retry", "3", 3),
    "ALLOY_CONTEXT_LENGTH": ("context_length", "8192", 8192),
    "ALLOY_KEEP_ALIVE": ("keep_alive", "10m", "10m"),
    "ALLOY_RETRY_BACKOFF": ("retry_backoff", "0.1", 0.1),
    "ALLOY_RETRY_BACKOFF_MAX": ("retry_backoff_max", "2", 2.0),
    "ALLOY_TRANSIENT_RETRIES": ("transient_retries", "0", 0),
    "OLLAMA_HOSTS": ("hosts", "gpu-a, gpu-b:8080", ("http://gpu-a:11434", "http://gpu-b:8080")),
    "ALLOY_LOG": ("log", "0", False),
    "ALLOY_LOG_DB": ("log_db", "/tmp/alloy-calls.db", "/tmp/alloy-calls.db"),
    "OLLAMA_API_KEY": ("api_key", "k-123", SecretStr("k-123")),
}
# alloy-ai's name -> the name alloy_nb read before, which stays an alias
ALIASES = {"ALLOY_DEFAULT_SYSTEM": "ALLOY_SYSTEM", "ALLOY_AUTO_FINALIZE_MISSING_OUTPUT": "ALLOY_AUTO_FINALIZE"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in {*SAMPLES, *config.ENV_NAMES}:
        monkeypatch.delenv(var, raising=False)
    alloy_nb.reset_configuration()
    yield
    alloy_nb.reset_configuration()


def _loose(hint: Any) -> Any:
    """The type without `None` (CallOptions leaves a setting out rather than passing None), and a
    tuple of a setting as any sequence of its items, and a secret as its text (what a caller may pass)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return typing.Union[tuple(_loose(arg) for arg in typing.get_args(hint) if arg is not type(None))]
    if hint is SecretStr:
        return str
    if typing.get_origin(hint) is tuple and typing.get_args(hint)[1:] == (...,):
        return Sequence[typing.get_args(hint)[0]]  # type: ignore[valid-type]
    return hint


def test_call_options_are_the_config_fields_plus_call_only_keys_and_alloy_names() -> None:
    extra = CALL_ONLY | KEYWORD_ALIASES.keys()
    assert CallOptions.__annotations__.keys() - extra == config.Config.model_fields.keys()
    assert CallOptions.__annotations__.keys() >= extra
    assert config.KEYWORD_ALIASES == KEYWORD_ALIASES


def test_call_option_types_match_the_config_fields() -> None:
    hints = typing.get_type_hints(CallOptions)
    fields = {name: _loose(field.annotation) for name, field in config.Config.model_fields.items()}
    assert {name: _loose(hints[name]) for name in fields} == fields
    assert {alias: _loose(hints[alias]) for alias in KEYWORD_ALIASES} == {
        alias: fields[name] for alias, name in KEYWORD_ALIASES.items()
    }


@pytest.mark.parametrize(("alias", "name"), KEYWORD_ALIASES.items())
def test_alloy_ai_keyword_names_set_the_same_setting(alias: str, name: str) -> None:
    value = "Be brief." if name == "system" else 3
    assert getattr(config.current(**{alias: value}), name) == value
    alloy_nb.configure(**{alias: value})
    assert getattr(config.current(), name) == value
    with alloy_nb.settings(**{alias: value}) as scoped:
        assert getattr(scoped, name) == value


def test_environment_variables_are_exactly_the_documented_ones() -> None:
    derived = {var: field for field, names in config.ENV_VARS.items() for var in names}
    assert derived == {var: field for var, (field, _, _) in SAMPLES.items()}
    assert "headers" not in config.ENV_VARS


def test_alloy_ai_names_are_primary_and_old_names_aliases() -> None:
    for primary, alias in ALIASES.items():
        assert config.ENV_VARS[SAMPLES[primary][0]] == (primary, alias)


def test_readme_table_is_up_to_date() -> None:
    found = re.search(r"<!-- settings:start -->\n(.*?)<!-- settings:end -->", README.read_text(), re.S)
    assert found, "README.md lost its <!-- settings:start --> / <!-- settings:end --> markers"
    assert found[1] == config.settings_table_markdown(), (
        "README.md's settings table is out of date; run `.venv/bin/python scripts/settings_table.py`"
    )


@pytest.mark.parametrize("var", SAMPLES)
def test_each_variable_sets_its_setting(monkeypatch: pytest.MonkeyPatch, var: str) -> None:
    field, raw, value = SAMPLES[var]
    assert getattr(config.current(), field) != value
    monkeypatch.setenv(var, raw)
    assert getattr(config.current(), field) == value


@pytest.mark.parametrize(("primary", "alias"), ALIASES.items())
def test_alloy_ai_name_wins_over_the_alias(monkeypatch: pytest.MonkeyPatch, primary: str, alias: str) -> None:
    field, raw, value = SAMPLES[primary]
    monkeypatch.setenv(alias, SAMPLES[alias][1])
    assert getattr(config.current(), field) == SAMPLES[alias][2]
    monkeypatch.setenv(primary, raw)
    assert getattr(config.current(), field) == value


@pytest.mark.parametrize(
    ("var", "bad"),
    [
        ("ALLOY_AUTO_FINALIZE_MISSING_OUTPUT", "maybe"),
        ("ALLOY_AUTO_FINALIZE", "maybe"),
        ("ALLOY_PARALLEL_TOOLS_MAX", "0"),
        ("ALLOY_TOOL_TIMEOUT", "0"),
        ("ALLOY_TRACE_MAX_CHARS", "many"),
        ("ALLOY_TRACE_HISTORY", "-1"),
        ("ALLOY_RETRY", "0"),
        ("ALLOY_TRANSIENT_RETRIES", "-1"),
    ],
)
def test_bad_values_name_the_variable_that_was_read(monkeypatch: pytest.MonkeyPatch, var: str, bad: str) -> None:
    monkeypatch.setenv(var, bad)
    with pytest.raises(ConfigurationError, match=f"Environment variable {var}='{bad}' is invalid"):
        config.current()
