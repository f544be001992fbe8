"""Config precedence, environment parsing, model strings, hosts and strategy routing."""

from __future__ import annotations

import asyncio

import pytest

import alloy_nb
import alloy_nb._config
from alloy_nb import ConfigurationError, configure, settings
from alloy_nb._config import current, forget, model_name, normalize_host, redact_host


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for names in alloy_nb._config.ENV_VARS.values():
        for var in names:
            monkeypatch.delenv(var, raising=False)
    alloy_nb.reset_configuration()
    yield
    alloy_nb.reset_configuration()


def test_defaults() -> None:
    config = current()
    assert config.model == "ollama:smollm2:135m"
    assert config.host == "http://127.0.0.1:11434"
    assert config.max_tool_turns == 10
    assert config.auto_finalize_missing_output is True


def test_precedence_call_over_scope_over_configure_over_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOY_MODEL", "ollama:env-model")
    monkeypatch.setenv("ALLOY_TEMPERATURE", "0.9")
    assert current().model == "ollama:env-model"
    configure(model="ollama:configured")
    assert current().model == "ollama:configured"
    assert current().temperature == 0.9  # env still supplies what configure() did not set
    with settings(model="ollama:scoped", temperature=0.1):
        assert current().model == "ollama:scoped"
        with settings(model="ollama:inner"):
            assert current().model == "ollama:inner"
            assert current().temperature == 0.1
        assert current(model="ollama:per-call").model == "ollama:per-call"
    assert current().model == "ollama:configured"


def test_settings_scope_is_per_task() -> None:
    async def inside(model: str) -> str:
        with settings(model=model):
            await asyncio.sleep(0.01)
            return current().model

    async def both() -> list[str]:
        return list(await asyncio.gather(inside("ollama:a"), inside("ollama:b")))

    assert asyncio.run(both()) == ["ollama:a", "ollama:b"]
    assert current().model == "ollama:smollm2:135m"


def test_environment_values_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOY_MAX_TOKENS", "64")
    monkeypatch.setenv("ALLOY_MAX_TOOL_TURNS", "3")
    monkeypatch.setenv("ALLOY_SYSTEM", "Be brief.")
    monkeypatch.setenv("ALLOY_EXTRA_JSON", '{"ollama_api": "openai_chat"}')
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0:9999")
    config = current()
    assert (config.max_tokens, config.max_tool_turns, config.system) == (64, 3, "Be brief.")
    assert config.strategy == "openai_chat"
    assert config.host == "http://0.0.0.0:9999"


@pytest.mark.parametrize(
    ("var", "value", "fragment"),
    [
        ("ALLOY_TEMPERATURE", "hot", "temperature"),
        ("ALLOY_MAX_TOKENS", "-3", "max_tokens"),
        ("ALLOY_EXTRA_JSON", "{not json", "ALLOY_EXTRA_JSON is not valid JSON"),
        ("ALLOY_EXTRA_JSON", "[1]", "must be a JSON object"),
        ("ALLOY_MODEL", "llama3", "ollama:<model>"),
    ],
)
def test_bad_environment_values_say_which_setting(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigurationError, match=fragment.replace("(", r"\(").replace("[", r"\[")) as info:
        current()
    assert var in str(info.value)


def test_extra_merges_key_by_key() -> None:
    configure(extra={"ollama_options": {"num_ctx": 2048}})
    with settings(api="openai_chat"):
        config = current()
    assert config.extra == {"ollama_options": {"num_ctx": 2048}, "ollama_api": "openai_chat"}


def test_unknown_setting_is_rejected_with_known_names() -> None:
    with pytest.raises(ConfigurationError, match=r"Unknown setting.*modle.*Known settings: model"):
        configure(modle="ollama:x")


def test_configure_rejects_invalid_values_and_keeps_previous() -> None:
    configure(model="ollama:good")
    with pytest.raises(ConfigurationError):
        configure(model="gpt-4o")
    assert current().model == "ollama:good"


@pytest.mark.parametrize(
    ("model", "name"),
    [
        ("ollama:llama3.1:8b", "llama3.1:8b"),
        ("ollama:qwen3:0.6b", "qwen3:0.6b"),
        ("ollama:hf.co/x/y:Q4", "hf.co/x/y:Q4"),
    ],
)
def test_model_strings(model: str, name: str) -> None:
    assert model_name(model) == name


def test_a_copied_config_works_out_its_model_name_and_request_settings_afresh() -> None:
    config = current(model="ollama:first", think=False)
    assert (config.model_name, config.request_settings()["think"]) == ("first", False)  # worked out, and kept
    copied = config.model_copy(update={"model": "ollama:second", "think": "high"})
    assert (copied.model_name, copied.request_settings()["think"]) == ("second", "high")
    assert (config.model_name, config.request_settings()["think"]) == ("first", False)
    config.request_settings()["think"] = "changed by a caller"
    assert config.request_settings()["think"] is False


@pytest.mark.parametrize("bad", ["llama3.1", "openai:gpt-4o", "ollama:", "ollama:   ", ""])
def test_bad_model_strings_explain_the_format(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="Use 'ollama:<model>'"):
        model_name(bad)


@pytest.mark.parametrize(
    ("model", "api", "strategy"),
    [
        ("ollama:llama3.1:8b", None, "native"),
        ("ollama:gpt-oss:20b", None, "openai_chat"),
        ("ollama:gpt-oss:20b", "native", "native"),
        ("ollama:llama3.1:8b", "openai_chat", "openai_chat"),
        ("ollama:gpt-oss:20b", "openai_responses", "openai_responses"),
        ("ollama:gpt-oss:120b", "auto", "openai_chat"),
    ],
)
def test_strategy_routing(model: str, api: str | None, strategy: str) -> None:
    extra = {"ollama_api": api} if api else {}
    assert current(model=model, extra=extra).strategy == strategy
    assert current(model=model, api=api).strategy == strategy


def test_invalid_ollama_api_names_the_allowed_values() -> None:
    with pytest.raises(ConfigurationError, match="'auto', 'native', 'openai_chat' or 'openai_responses'"):
        current(extra={"ollama_api": "v1"})


def raw_is_plain(raw: str) -> bool:
    """Spellings the SDK takes as they are (it neither strips spaces nor keeps credentials)."""
    return "@" not in raw and raw == raw.strip()


# The cases the ollama SDK documents for OLLAMA_HOST (its _parse_host doctests), plus credentials.
OLLAMA_HOST_CASES = [
    ("", "http://127.0.0.1:11434"),
    ("1.2.3.4", "http://1.2.3.4:11434"),
    (":56789", "http://127.0.0.1:56789"),
    ("1.2.3.4:56789", "http://1.2.3.4:56789"),
    ("http://1.2.3.4", "http://1.2.3.4:80"),
    ("https://1.2.3.4", "https://1.2.3.4:443"),
    ("https://1.2.3.4:56789", "https://1.2.3.4:56789"),
    ("example.com", "http://example.com:11434"),
    ("example.com:56789", "http://example.com:56789"),
    ("http://example.com", "http://example.com:80"),
    ("https://example.com", "https://example.com:443"),
    ("https://example.com:56789", "https://example.com:56789"),
    ("example.com/", "http://example.com:11434"),
    ("example.com:56789/", "http://example.com:56789"),
    ("example.com/path", "http://example.com:11434/path"),
    ("example.com:56789/path", "http://example.com:56789/path"),
    ("https://example.com:56789/path", "https://example.com:56789/path"),
    ("example.com:56789/path/", "http://example.com:56789/path"),
    ("[0001:002:003:0004::1]", "http://[0001:002:003:0004::1]:11434"),
    ("[0001:002:003:0004::1]:56789", "http://[0001:002:003:0004::1]:56789"),
    ("http://[0001:002:003:0004::1]", "http://[0001:002:003:0004::1]:80"),
    ("https://[0001:002:003:0004::1]", "https://[0001:002:003:0004::1]:443"),
    ("https://[0001:002:003:0004::1]:56789", "https://[0001:002:003:0004::1]:56789"),
    ("[0001:002:003:0004::1]/", "http://[0001:002:003:0004::1]:11434"),
    ("[0001:002:003:0004::1]:56789/", "http://[0001:002:003:0004::1]:56789"),
    ("[0001:002:003:0004::1]/path", "http://[0001:002:003:0004::1]:11434/path"),
    ("[0001:002:003:0004::1]:56789/path", "http://[0001:002:003:0004::1]:56789/path"),
    ("https://[0001:002:003:0004::1]:56789/path", "https://[0001:002:003:0004::1]:56789/path"),
    ("[0001:002:003:0004::1]:56789/path/", "http://[0001:002:003:0004::1]:56789/path"),
    ("0.0.0.0", "http://0.0.0.0:11434"),
    ("  HTTP://gpu-box:8080  ", "http://gpu-box:8080"),
    ("https://me:s3cret@proxy.example/ollama/", "https://me:s3cret@proxy.example:443/ollama"),
]


@pytest.mark.parametrize(("raw", "url"), OLLAMA_HOST_CASES)
def test_ollama_host_is_read_as_ollama_reads_it(raw: str, url: str) -> None:
    assert normalize_host(raw) == url


@pytest.mark.parametrize(("raw", "url"), [case for case in OLLAMA_HOST_CASES if raw_is_plain(case[0])])
def test_the_ollama_sdk_sends_to_the_same_url(raw: str, url: str) -> None:
    import httpx
    import ollama

    sent: list[httpx.URL] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.url)
        return httpx.Response(200, json={"models": []})

    ollama.Client(host=raw or None, transport=httpx.MockTransport(answer)).list()
    assert sent == [httpx.URL(url + "/api/tags")]


@pytest.mark.parametrize("raw", ["ftp://gpu-box", "gpu box", "gpu-box:port", "gpu-box:70000", "[::1"])
def test_hosts_ollama_cannot_reach_are_refused_without_credentials(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="OLLAMA_HOST"):
        normalize_host(raw)
    with pytest.raises(ConfigurationError) as refused:
        normalize_host(raw.replace("//", "//me:hunter2@") if "//" in raw else "me:hunter2@" + raw)
    assert "hunter2" not in str(refused.value)


def test_credentials_in_host_are_redacted() -> None:
    assert redact_host("https://user:secret@proxy.local:443/x") == "https://***@proxy.local:443/x"
    assert "secret" not in redact_host(normalize_host("user:secret@proxy.local"))


@pytest.mark.parametrize(
    "host", ["http://me:s3cr/et@127.0.0.1:9", "https://tok3n/x9z@proxy.local", "me:s3cr/et@proxy.local"]
)
def test_a_secret_with_a_slash_is_redacted_too(host: str) -> None:
    """A password or token with an unencoded `/` (base64 has them) never shows, parsed or refused."""
    secret = "s3cr/et" if "s3cr" in host else "tok3n/x9z"
    assert secret not in redact_host(host)
    try:
        shown = redact_host(normalize_host(host))
    except ConfigurationError as refused:
        shown = str(refused)
    assert secret.split("/")[0] not in shown and secret.split("/")[1] not in shown


def test_listeners_see_every_configure_until_unsubscribed() -> None:
    seen: list[str] = []
    unsubscribe = alloy_nb._config.subscribe(lambda config: seen.append(config.model))
    configure(model="ollama:one")
    alloy_nb.reset_configuration()
    unsubscribe()
    configure(model="ollama:two")
    assert seen == ["ollama:one", "ollama:smollm2:135m"]
    assert alloy_nb._config.configured() == {"model": "ollama:two"}


def test_remembered_configs_follow_every_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    first = current(model="ollama:a")
    assert current(model="ollama:a") is first  # the repeated call skips validation
    configure(temperature=0.5)
    assert current(model="ollama:a").temperature == 0.5
    monkeypatch.setenv("ALLOY_MAX_TOKENS", "7")
    assert current(model="ollama:a").max_tokens == 7
    monkeypatch.setenv("ALLOY_MAX_TOKENS", "9")  # a variable already set, changed
    assert current(model="ollama:a").max_tokens == 9
    monkeypatch.delenv("ALLOY_MAX_TOKENS")
    assert current(model="ollama:a").max_tokens is None
    with settings(system="scoped"):
        assert current(model="ollama:a").system == "scoped"
    assert current(model="ollama:a").system is None
    forget("temperature")
    assert current(model="ollama:a").temperature is None
    unhashable = current(extra={"ollama_options": {"stop": ["a"]}})
    assert unhashable.extra["ollama_options"] == {"stop": ["a"]}
    assert current(extra={"ollama_options": {"stop": ["b"]}}).extra["ollama_options"] == {"stop": ["b"]}


@pytest.mark.parametrize("temperature", [float("nan"), float("inf"), "-inf"])
def test_a_temperature_that_is_not_a_finite_number_is_refused_before_any_request(temperature: object) -> None:
    """Not blamed on the server later: the SDKs cannot even write NaN into a request's JSON."""
    with pytest.raises(ConfigurationError, match="temperature: Input should be a finite number"):
        alloy_nb.configure(temperature=temperature)
