"""The exercises of the class notebooks: through the real notebook cells, every check says "Right" when each
answer cell holds its solution from notebooks/solutions/, and "Not yet" when it holds the empty answer the
notebook ships (test_course.py runs 02–09 as shipped and asserts that with `assert_checks_say_not_yet`). The
check functions' hints for wrong answers are tested directly, without a kernel."""

from __future__ import annotations

import ast
import enum
import math
import re
import time
from pathlib import Path
from typing import Any, Literal

import nbformat
import pytest
from nbclient import NotebookClient
from pydantic import BaseModel, Field

from alloy_nb import ask, tool
from alloy_nb._trace.events import TokenChoice, TokenLogprob
from alloy_nb._trace.tokens import TokenTable
from alloy_nb.testing import ScriptedToolCall, ScriptedTurn, scripted_server
from alloy_nb.testing.course import (
    check_checked_city,
    check_country,
    check_least_sure,
    check_linked_call,
    check_review,
    check_schema_paths,
    check_system_prompt,
    check_tool,
    check_tool_result,
)

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"
CLASS_TRACK = (
    "01_quickstart",
    "02_structured_outputs",
    "03_tools_and_traces",
    "04_three_wire_apis",
    "09_what_the_model_sees",
)
ANSWER = re.compile(r"# Exercise (\d+\.\d+): your answer\n")
SOLUTION = re.compile(r"^# %% Exercise (\d+\.\d+)\n(.*?)(?=^# %% Exercise |\Z)", re.S | re.M)
CHECK = "from alloy_nb.testing.course import check_"


def answer_cells(notebook: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    """Each exercise's answer cell, by its number ("1.2")."""
    return {m.group(1): c for c in notebook.cells if c.cell_type == "code" and (m := ANSWER.match(c.source))}


def check_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in notebook.cells if c.cell_type == "code" and c.source.startswith(CHECK)]


def solutions(stem: str) -> dict[str, str]:
    """The solution blocks of a notebook, by exercise number."""
    text = (NOTEBOOKS / "solutions" / f"{stem}.py").read_text()
    return {number: code.strip() for number, code in SOLUTION.findall(text)}


def checks_said(notebook: nbformat.NotebookNode) -> list[str]:
    """What each check cell printed (errors included), in order."""
    said = []
    for cell in check_cells(notebook):
        outputs = cell.get("outputs", [])
        said.append("".join(o.get("text", "") or f"{o.get('ename')}: {o.get('evalue')}" for o in outputs))
    return said


def assert_checks_say_not_yet(notebook: nbformat.NotebookNode) -> None:
    said = checks_said(notebook)
    assert said and all(text.startswith("Not yet: ") for text in said), said


def _run(notebook: nbformat.NotebookNode, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("ALLOY_MODEL", "ALLOY_EXTRA_JSON", "ALLOY_SYSTEM", "ALLOY_MAX_TOKENS", "ALLOY_MAX_TOOL_TURNS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")  # nothing there: each notebook starts its own server
    started = time.perf_counter()
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    print(f"\n{name} executed in {time.perf_counter() - started:.1f}s")


@pytest.mark.parametrize("stem", CLASS_TRACK)
def test_each_exercise_has_an_empty_answer_a_check_and_a_solution(stem: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)
    answers = answer_cells(notebook)
    assert answers and set(answers) == set(solutions(stem)), (sorted(answers), sorted(solutions(stem)))
    code = [c for c in notebook.cells if c.cell_type == "code"]
    for number, cell in answers.items():
        assert re.search(r"\bNone\b|\.\.\.", cell.source), f"{stem} {number} ships an answer: {cell.source}"
        following = code[code.index(cell) + 1]
        assert following.source.startswith(CHECK), f"{stem} {number}: no check cell under the answer"
    assert len(check_cells(notebook)) == len(answers)


def test_the_readme_names_every_class_notebook_and_exercise() -> None:
    readme = (NOTEBOOKS / "README.md").read_text()
    for stem in CLASS_TRACK:
        assert f"`{stem}`" in readme, stem
        for number in answer_cells(nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)):
            assert f"\n| {number} | " in readme, f"notebooks/README.md does not list exercise {number}"


@pytest.mark.parametrize("stem", CLASS_TRACK)
def test_the_solutions_pass_every_check_in_a_real_kernel(stem: str, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)
    blocks = solutions(stem)
    for number, cell in answer_cells(notebook).items():
        cell.source = f"# Exercise {number}: a solution\n{blocks[number]}"
    _run(notebook, f"{stem}.ipynb with the solutions", monkeypatch)
    said = checks_said(notebook)
    assert said and all(text.startswith("Right: ") for text in said), said


def test_the_quickstart_as_shipped_says_not_yet_and_runs_to_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """The other class notebooks run as shipped in test_course.py, which asserts the same."""
    notebook = nbformat.read(NOTEBOOKS / "01_quickstart.ipynb", as_version=4)
    _run(notebook, "01_quickstart.ipynb as shipped", monkeypatch)
    assert_checks_say_not_yet(notebook)
    assert "still running" in notebook.cells[-1].outputs[0]["text"]


# --- the hints, on answers of known shape --------------------------------------------------------------------


class _PopulationAsText(BaseModel):
    name: str
    capital: str
    population_millions: str


class _FreeSentiment(BaseModel):
    sentiment: str
    stars: int
    keywords: list[str]


class _Review(BaseModel):
    sentiment: Literal["positive", "negative"]
    stars: int
    keywords: list[int]


class _UncheckedCity(BaseModel):
    name: str
    country: str
    population_millions: float


class _NeverCity(BaseModel):
    name: str
    country: str
    population_millions: float = Field(gt=100)


class _AtLeastZeroCity(BaseModel):
    name: str
    country: str
    population_millions: float = Field(ge=0)


class _Sentiment(str, enum.Enum):
    POSITIVE = "positive"
    NEGATIVE = "negative"


class _Mood(str, enum.Enum):
    GOOD = "good"
    BAD = "bad"


class _EnumReview(BaseModel):
    sentiment: _Sentiment = Field(description="how the reviewer felt")
    stars: int
    keywords: list[str]


class _MoodReview(BaseModel):
    sentiment: _Mood
    stars: int
    keywords: list[str]


def _floored(celsius: float) -> float:
    """Convert Celsius to Fahrenheit."""
    return celsius * 9 // 5 + 32


def _untyped(celsius):  # type: ignore[no-untyped-def]
    """Convert Celsius to Fahrenheit."""
    return celsius * 9 / 5 + 32


def _no_doc(celsius: float) -> float:
    return celsius * 9 / 5 + 32


def _wrong(celsius: float) -> float:
    """Convert Celsius to Fahrenheit."""
    return celsius * 5 / 9 + 32


@pytest.mark.parametrize(
    ("check", "answer", "hint"),
    [
        (check_country, None, "Not yet: write a class Country with the fields name (text), capital (text)"),
        (check_country, 42, "Not yet: Country should be a class (a pydantic model or a dataclass), not 42."),
        (check_country, _FreeSentiment, "Not yet: Country has no field name; its fields are ['sentiment',"),
        (
            check_country,
            _PopulationAsText,
            "Not yet: population_millions is text in the schema; it should be a number.",
        ),
        (check_review, _FreeSentiment, "Not yet: sentiment may be any text. Use Literal["),
        (
            check_review,
            _Review,
            "Not yet: keywords should be a list of text, list[str]; the schema says its items are a whole number.",
        ),
        (check_review, _MoodReview, "Not yet: sentiment may be one of ['good', 'bad'], the values of your Enum _Mood;"),
        (
            check_checked_city,
            ...,
            "Not yet: write a class CheckedCity with the fields name (text), country (text), population_millions",
        ),
        (check_checked_city, _UncheckedCity, "Not yet: the reply with population_millions -3 was accepted"),
        (check_checked_city, _AtLeastZeroCity, "Not yet: -3 was refused, but the reply with population_millions 0"),
        (
            check_checked_city,
            _NeverCity,
            "Not yet: the reply with 2.1 was refused too, but a population of 2.1 million",
        ),
        (check_tool, None, "Not yet: write a function to_fahrenheit(celsius: float) -> float with @tool"),
        (check_tool, _wrong, "Not yet: put @tool on the line above def to_fahrenheit"),
        (check_tool, tool(_wrong), "Not yet: to_fahrenheit(100) returned 87.55555555555556, not 212"),
        (check_tool, tool(_floored), "Not yet: to_fahrenheit(37) returned 98.0, not 98.6 (F = C × 9/5 + 32)."),
        (check_linked_call, None, "Not yet: write a function linked_call(body)"),
        (check_linked_call, lambda body: body["messages"][-1]["tool_name"], "Not yet: linked_call(tool_bodies"),
    ],
)
def test_a_wrong_answer_says_what_to_look_at(
    check: Any, answer: Any, hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if check is check_linked_call:
        check(answer, _tool_bodies())
    else:
        check(answer)
    said = capsys.readouterr().out
    assert said.startswith(hint) and "Right" not in said, said
    assert_reads_well(said)


def assert_reads_well(said: str) -> None:
    """Notebook output is plain text: no Markdown backticks, and no word too long to wrap at 800 px."""
    assert "`" not in said, said
    assert max(map(len, said.split()), default=0) <= 60, said


def test_the_checks_print_no_markdown_backticks() -> None:
    """A check's output is plain text in a notebook, where `name` shows its backticks: no printed string has any."""
    tree = ast.parse(Path(check_country.__code__.co_filename).read_text())
    documented = {id(node.body[0].value) for node in ast.walk(tree) if _has_docstring(node)}  # type: ignore[attr-defined]
    printed = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in documented
    ]
    assert not [text for text in printed if "`" in text]


def _has_docstring(node: ast.AST) -> bool:
    return isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef) and ast.get_docstring(node) is not None


def test_a_bound_that_refuses_a_real_population_speaks_of_the_exercise(capsys: pytest.CaptureFixture[str]) -> None:
    check_checked_city(_NeverCity)
    said = capsys.readouterr().out
    assert "the constraint is too strict" in said and "Input should be greater than 100" in said, said
    assert "auto_finalize" not in said and "Raw reply" not in said, said
    assert_reads_well(said)


def test_a_str_enum_with_the_two_words_is_right(capsys: pytest.CaptureFixture[str]) -> None:
    check_review(_EnumReview)
    said = capsys.readouterr().out
    assert said.startswith("Right: the schema says sentiment is one of ['positive', 'negative']"), said


def test_an_untyped_celsius_is_told_float_next_to_the_warning_that_says_int(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.warns(UserWarning, match=r"e\.g\. celsius: int"):
        untyped = tool(_untyped)
    check_tool(untyped)
    said = capsys.readouterr().out
    assert said.startswith("Not yet: the model is told celsius is any value. Annotate it as celsius: float"), said
    assert "(the warning above suggests int; this exercise wants float: temperatures have decimals)" in said, said
    assert_reads_well(said)


def test_a_tool_without_a_docstring_is_told_the_model_sees_no_description(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.warns(UserWarning, match="has no docstring"):
        undescribed = tool(_no_doc)
    check_tool(undescribed)
    assert capsys.readouterr().out.startswith("Not yet: the model sees no description of the tool.")


_SCHEMA = {"properties": {"name": {"type": "string"}, "hex": {"type": "string"}}, "type": "object"}
_MESSAGES = [{"role": "user", "content": "Describe teal."}]
_TYPED_BODIES = {
    "native": {"model": "m", "messages": _MESSAGES, "format": _SCHEMA},
    "openai_chat": {"model": "m", "messages": _MESSAGES, "response_format": {"json_schema": {"schema": _SCHEMA}}},
    "openai_responses": {"model": "m", "input": _MESSAGES, "text": {"format": {"schema": _SCHEMA}}},
}
_CHAT_PATH = ["response_format", "json_schema", "schema"]


@pytest.mark.parametrize(
    ("schema_at", "hint"),
    [
        (
            {"native": ["messages", 0, "content"]},
            "Not yet: on native, body['messages'] is a list of messages, not the schema:"
            " which field of the body holds the schema?",
        ),
        (
            {"native": ["format"], "openai_chat": _CHAT_PATH, "openai_responses": _CHAT_PATH},
            "Not yet: on openai_responses, the /v1/responses body has no 'response_format';"
            " its keys are: model, input, text.",
        ),
        (
            {"native": ["format"], "openai_chat": ["response_format"]},
            "Not yet: on openai_chat, body['response_format'] is {'json_schema': {'schema':",
        ),
        (
            {"native": ["format"], "openai_chat": ["response_format", "schema"]},
            "Not yet: on openai_chat, body['response_format'] has no 'schema'; its keys are: json_schema.",
        ),
        (
            {"native": ["model"]},
            "Not yet: on native, body['model'] is the text 'm', not the schema: which field of the body holds the schema?",
        ),
        (
            {"native": ["format", "properties", "name"]},
            "Not yet: on native, the list goes past the schema: body['format'] is the schema (the dict with 'properties'),",
        ),
        ({"native": [["format"]]}, "Not yet: on native, the /api/chat body has no ['format']; its keys are: model,"),
    ],
)
def test_a_wrong_schema_path_says_what_is_there(
    schema_at: dict[str, Any], hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    check_schema_paths(schema_at, _TYPED_BODIES)
    said = capsys.readouterr().out
    assert said.startswith(hint), said
    assert_reads_well(said)


def test_a_call_without_a_system_prompt_is_told_where_to_put_one(capsys: pytest.CaptureFixture[str]) -> None:
    with scripted_server() as scripted:
        scripted.script(*[ScriptedTurn(text="Ahoy.")] * 3)
        _, plain = ask.traced("Where is Lyon?", model="ollama:smollm2:135m")
        _, pirate = ask.traced("Where is Lyon?", system="Answer like a pirate.", model="ollama:smollm2:135m")
        _, empty = ask.traced("Where is Lyon?", system="", model="ollama:smollm2:135m")
    for answer, hint in [
        ("Ahoy.", "Not yet: set my_trace to the trace of your call (it is a str):"),
        (plain, "Not yet: the first message sent was 'user', not 'system'."),
        (empty, "Not yet: system='' gives the model no instruction: an empty system prompt is not sent."),
        (pirate, "Right: the request began with {'role': 'system', 'content': 'Answer like a pirate.'}."),
    ]:
        check_system_prompt(answer)
        said = capsys.readouterr().out
        assert said.startswith(hint), said
        assert_reads_well(said)


def test_reading_the_scripted_trace(capsys: pytest.CaptureFixture[str]) -> None:
    @tool
    def apply_discount(price: float, percent: float) -> float:
        """Apply a percentage discount to a price."""
        return round(price * (1 - percent / 100), 2)

    with scripted_server() as scripted:
        scripted.script(
            ScriptedTurn(tool_calls=[ScriptedToolCall("apply_discount", {"price": 3.0, "percent": 20})]),
            ScriptedTurn(text="2.40 euros."),
        )
        _, trace = ask.traced("Tea, 20% off?", tools=[apply_discount], api="openai_chat", model="ollama:smollm2:135m")
    call_id = trace.requests[1].body["messages"][-1]["tool_call_id"]
    for number, quoted, hint in [
        (None, None, "Not yet: set request_number to a whole number"),
        (0, call_id, "Not yet: request 0 went out before apply_discount had run."),
        (1, None, "Not yet: request 1 is right. Now quoted_id"),
        (1, call_id, f"Right: request 1 carried the result with tool_call_id {call_id!r}"),
    ]:
        check_tool_result(number, quoted, trace)
        said = capsys.readouterr().out
        assert said.startswith(hint), said


def _tool_bodies() -> dict[str, dict[str, Any]]:
    return {
        "native": {"messages": [{"role": "tool", "content": "5", "tool_name": "add"}]},
        "openai_chat": {"messages": [{"role": "tool", "tool_call_id": "call_1", "content": "5"}]},
        "openai_responses": {"input": [{"type": "function_call_output", "call_id": "call_2", "output": "5"}]},
    }


# --- notebook 09: the least sure token of a reply of known tokens ---------------------------------------------


def _token(text: str, chance: float, *others: tuple[str, float]) -> TokenLogprob:
    choices = sorted([(text, chance), *others], key=lambda pair: -pair[1])
    return TokenLogprob(
        token=text,
        logprob=math.log(chance),
        alternatives=[TokenChoice(token=t, logprob=math.log(p)) for t, p in choices],
    )


# position 2 is the least sure, and the model liked " Lyon" more there (temperature 1 picked the other)
REPLY = TokenTable(
    [_token("The", 0.4), _token(" capital", 0.9), _token(" Paris", 0.05, (" Lyon", 0.2)), _token(".", 0.7)]
)


def test_the_least_sure_solution_is_right(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, Any] = {"reply_tokens": REPLY}
    exec(solutions("09_what_the_model_sees")["9.1"], namespace)
    assert namespace["answer"] == 2
    check_least_sure(namespace["answer"], REPLY)
    said = capsys.readouterr().out
    assert said.startswith("Right: token 2, ' Paris', had only 5.0%."), said
    assert "The model liked ' Lyon' more (20.0%)" in said, said


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (None, "Not yet: set answer to a position, a number from the # column"),
        (..., "Not yet: set answer to a position"),
        ("2", "Not yet: answer should be a whole number from 0 to 3, not '2'."),
        (9, "Not yet: answer should be a whole number from 0 to 3, not 9."),
        (True, "Not yet: answer should be a whole number"),
        (0, "Not yet: token 0, 'The', had 40.0%, and another token had less."),
    ],
)
def test_an_empty_or_wrong_position_says_what_to_look_at(
    answer: Any, hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    check_least_sure(answer, REPLY)
    said = capsys.readouterr().out
    assert said.startswith(hint) and "Right" not in said, said


def test_a_first_choice_that_was_still_unlikely_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    check_least_sure(0, TokenTable([_token("Hm", 0.1, ("Oh", 0.05)), _token(".", 0.8)]))
    assert "It was still the model's first choice there" in capsys.readouterr().out
