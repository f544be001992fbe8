"""`@tool`: a Python function the model may call, with a parameter schema from its signature,
and alloy-ai's `@require` / `@ensure` contracts checked around every run."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import re
import typing
import warnings
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic_core import PydanticSerializationError, to_json, to_jsonable_python

from ._nesting import MAX_NESTING, text_too_deep, value_depth
from ._outputs import portable_type, strip_titles
from ._tool_threads import awaited, in_own_thread, in_thread, late, settled
from .errors import ConfigurationError, ContractFailed, ToolError

_GOOGLE_ARG = re.compile(r"^\s+(\w+)\s*(?:\([^)]*\))?\s*:\s*(.+)$")
_SPHINX_ARG = re.compile(r"^\s*:param\s+(?:[\w\[\], ]+\s+)?(\w+)\s*:\s*(.+)$")
_CONTRACTS = "__alloy_nb_contracts__"  # where @require / @ensure put theirs on a function not yet a tool


@dataclass(frozen=True)
class Contract:
    """A check around a tool: `require` sees the bound arguments before it runs, `ensure` its result."""

    kind: Literal["require", "ensure"]
    predicate: Callable[[Any], Any]
    message: str

    def check(self, value: Any) -> None:
        """Raise `ContractFailed(message)` when the predicate is false or raises."""
        try:
            held = bool(self.predicate(value))
        except Exception:
            held = False
        if not held:
            raise ContractFailed(self.message, kind=self.kind)


@dataclass(frozen=True)
class Tool:
    """A callable tool: still callable as the plain function; `spec()` is what the model sees."""

    func: Callable[..., Any]
    name: str
    description: str
    arguments_model: type[BaseModel] = field(repr=False)
    timeout: float | None = None
    contracts: tuple[Contract, ...] = ()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function, contracts included (a failed one raises `ToolError` with its message)."""
        if not self.contracts:
            return self.func(*args, **kwargs)
        bound = self.signature.bind_partial(*args, **kwargs)
        bound.apply_defaults()
        self._check("require", bound)
        result = self.func(*args, **kwargs)
        if inspect.isawaitable(result):  # an async function, or a sync wrapper around one
            return self._ensured_async(result)
        return self._ensured(result)

    @cached_property
    def signature(self) -> inspect.Signature:
        return inspect.signature(self.func)

    def _check(self, kind: str, value: Any) -> None:
        for contract in self.contracts:
            if contract.kind == kind:
                contract.check(value)

    def _ensured(self, result: Any) -> Any:
        self._check("ensure", result)
        return result

    async def _ensured_async(self, pending: Any) -> Any:
        return self._ensured(await pending)

    @cached_property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.func)

    @cached_property
    def parameters(self) -> dict[str, Any]:
        """JSON schema of the arguments object."""
        schema: dict[str, Any] = strip_titles(self.arguments_model.model_json_schema())
        return schema

    def spec(self) -> dict[str, Any]:
        """The tool as both Ollama and OpenAI chat APIs describe it."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Check the model's arguments against the signature; raises `ToolError` saying what is wrong."""
        try:
            model = self._validated(arguments)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()
            )
            raise ToolError(f"Invalid arguments for tool {self.name!r}: {problems}.") from None
        return {name: getattr(model, name) for name in type(model).model_fields}

    def _validated(self, arguments: dict[str, Any]) -> BaseModel:
        """The arguments read as the JSON they came as (a strict model takes a date from its text there,
        as its schema tells the model to send it); values JSON cannot hold are read as they are."""
        try:
            text = to_json(arguments)
        except (PydanticSerializationError, ValueError, RecursionError):
            return self.arguments_model.model_validate(arguments)
        return self.arguments_model.model_validate_json(text)

    def run(self, arguments: dict[str, Any], timeout: float | None = None) -> Any:
        """Validate and call synchronously (an async tool runs on a private event loop).

        With a `timeout`, the call runs in a worker thread and is abandoned when it is late.
        """
        kwargs = self.validate(arguments)
        if self.is_async:
            return in_thread(lambda: asyncio.run(awaited(self(**kwargs))), timeout, self.name)
        value = self(**kwargs) if timeout is None else in_thread(lambda: self(**kwargs), timeout, self.name)
        if inspect.isawaitable(value):  # a sync wrapper around an async function
            return in_thread(lambda: asyncio.run(awaited(value)), timeout, self.name)
        return value

    async def run_async(self, arguments: dict[str, Any], timeout: float | None = None) -> Any:
        """Validate and call without blocking the event loop. A sync tool runs in a worker thread: with
        a `timeout`, a thread of its own, so a late one abandoned never holds up the loop's shutdown."""
        kwargs = self.validate(arguments)
        if self.is_async:
            call = self(**kwargs)
        elif timeout is None:
            call = asyncio.to_thread(self, **kwargs)
        else:
            call = in_own_thread(lambda: self(**kwargs), self.name)
        try:
            return await asyncio.wait_for(settled(call), timeout)
        except asyncio.TimeoutError:
            raise late(self.name, timeout) from None


def tool(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
) -> Any:
    """Decorate a function as a tool: `@tool` or `@tool(name=..., description=..., timeout=seconds)`."""

    def wrap(target: Callable[..., Any]) -> Tool:
        return _make_tool(target, name, description, timeout)

    return wrap(func) if func is not None else wrap


def require(predicate: Callable[[inspect.BoundArguments], Any], message: str) -> Callable[[Any], Any]:
    """A precondition: `predicate(bound_arguments)` (defaults applied) must hold before the tool runs;
    otherwise the model gets `message` as the tool's result (and Python callers a `ToolError`)."""
    return _contract(Contract("require", predicate, message))


def ensure(predicate: Callable[[Any], Any], message: str) -> Callable[[Any], Any]:
    """A postcondition: `predicate(result)` must hold after the tool runs; otherwise as `require`."""
    return _contract(Contract("ensure", predicate, message))


def _contract(contract: Contract) -> Callable[[Any], Any]:
    if not callable(contract.predicate):
        raise ConfigurationError(f"@{contract.kind} needs a function as its predicate, got {contract.predicate!r}.")

    def add(target: Any) -> Any:
        if isinstance(target, Tool):  # written above @tool: the tool gains the contract
            return dataclasses.replace(target, contracts=(*target.contracts, contract))
        if not callable(target):
            raise ConfigurationError(f"@{contract.kind} decorates a function, not {target!r}.")
        setattr(target, _CONTRACTS, (*getattr(target, _CONTRACTS, ()), contract))
        return target

    return add


def as_tools(items: Iterable[Callable[..., Any]] | None) -> list[Tool]:
    """Accept decorated tools and plain functions alike; names must be unique."""
    tools = [item if isinstance(item, Tool) else _plain_function_tool(item) for item in items or ()]
    names = [t.name for t in tools]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigurationError(f"Two tools share the name(s) {', '.join(duplicates)}; give each a unique name.")
    return tools


_function_tools: weakref.WeakKeyDictionary[Callable[..., Any], Tool] = weakref.WeakKeyDictionary()


def _plain_function_tool(func: Callable[..., Any]) -> Tool:
    """The tool of an undecorated function, built once per function (a schema is costly to derive)."""
    try:
        return _function_tools[func]
    except TypeError:  # not weak-referenceable (e.g. a builtin): build it each time
        return _make_tool(func, None, None, None)
    except KeyError:
        tool = _function_tools[func] = _make_tool(func, None, None, None)
        return tool


def result_content(result: Any) -> str:
    """A tool's return value as message content: strings as they are, anything else as JSON.

    Lone surrogates (`os.listdir` on names that are not UTF-8) become U+FFFD, as Ollama does,
    since no JSON encoder can send them.

    >>> result_content("caf\\udce9"), result_content({"n": 1}), result_content(["caf\\udce9"])
    ('caf\ufffd', '{"n":1}', '["caf\ufffd"]')
    """
    if isinstance(result, str):
        return valid_text(result)
    try:
        return to_json(result, fallback=repr).decode()
    except PydanticSerializationError:  # a lone surrogate somewhere inside, or bytes that are not UTF-8
        pass
    try:
        data = to_jsonable_python(result, fallback=repr)
    except UnicodeDecodeError:  # bytes that are not text: sent as URL-safe base64 (RFC 4648, section 5)
        data = to_jsonable_python(result, fallback=repr, bytes_mode="base64")
    return valid_text(json.dumps(data, ensure_ascii=False))


def valid_text(text: str) -> str:
    """`text` with any lone surrogate replaced by U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def tool_call_arguments(raw: Any) -> dict[str, Any]:
    """Arguments arrive as an object (native) or a JSON string (openai_chat); raises `ToolError`."""
    depth = value_depth(raw) if isinstance(raw, dict) else text_too_deep(raw) if isinstance(raw, str) else None
    if depth is not None and depth > MAX_NESTING:
        raise ToolError(f"The arguments are nested {depth} levels deep; tools take at most {MAX_NESTING} levels.")
    if isinstance(raw, dict):
        return raw
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ToolError(
                f"The arguments are not valid JSON ({exc.msg} at position {exc.pos}): {raw[:200]!r}"
            ) from None
        except RecursionError:
            raise ToolError(f"The arguments are nested too deeply to read as JSON: {raw[:200]!r}") from None
        if isinstance(value, dict):
            return value
    raise ToolError(f"The arguments must be a JSON object, got {type(raw).__name__}: {str(raw)[:200]!r}")


def _make_tool(func: Callable[..., Any], name: str | None, description: str | None, timeout: float | None) -> Tool:
    if not callable(func):
        raise ConfigurationError(f"{func!r} is not a function, so it cannot be a tool.")
    doc = inspect.getdoc(func) or ""
    summary, param_docs = _parse_docstring(doc)
    tool_name = str(name or getattr(func, "__name__", None) or type(func).__name__)
    _warn_if_undescribed(func, tool_name, has_description=bool(description or summary))
    return Tool(
        func=func,
        name=tool_name,
        description=description or summary or tool_name.replace("_", " "),
        arguments_model=_arguments_model(func, tool_name, param_docs),
        timeout=timeout,
        contracts=tuple(getattr(func, _CONTRACTS, ())),
    )


def _warn_if_undescribed(func: Callable[..., Any], name: str, *, has_description: bool) -> None:
    """The model chooses and fills a tool from its description and parameter types alone: say when either is missing."""
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return
    untyped = [
        p.name for p in parameters if p.annotation is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    missing = []
    if not has_description:
        missing.append("no docstring, so the model sees only its name as the description (add a line on what it does)")
    if untyped:
        missing.append(
            f"no type on {', '.join(untyped)}, so the model is told any value will do (annotate, e.g. {untyped[0]}: int)"
        )
    if missing:
        warnings.warn(f"Tool {name!r} has {' and '.join(missing)}.", UserWarning, stacklevel=_outside_this_module())


def _outside_this_module() -> int:
    """The stack level of the first caller outside this module: the line that applied `@tool`."""
    level, frame = 1, inspect.currentframe()
    while frame is not None and frame.f_code.co_filename == __file__:
        level, frame = level + 1, frame.f_back
    return level - 1


def _arguments_model(func: Callable[..., Any], name: str, docs: dict[str, str]) -> type[BaseModel]:
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as exc:
        raise ConfigurationError(f"Tool {name!r} has annotations that cannot be resolved: {exc}") from None
    fields: dict[str, Any] = {}
    for param in inspect.signature(func).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ConfigurationError(f"Tool {name!r} uses *{param.name}; tools need named parameters only.")
        annotation = portable_type(hints.get(param.name, Any))
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (annotation, Field(default, description=docs.get(param.name)))
    try:
        return create_model(f"{name}_arguments", __config__=ConfigDict(extra="forbid"), **fields)
    except Exception as exc:
        raise ConfigurationError(f"Tool {name!r} has a parameter pydantic cannot describe: {exc}") from None


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """First paragraph as the description, plus Google (`Args:`) or Sphinx (`:param x:`) parameter docs."""
    summary = doc.split("\n\n", 1)[0].strip().replace("\n", " ")
    params: dict[str, str] = {}
    in_args = False
    for line in doc.splitlines():
        sphinx = _SPHINX_ARG.match(line)
        if sphinx:
            params[sphinx.group(1)] = sphinx.group(2).strip()
            continue
        if line.strip() in ("Args:", "Arguments:", "Parameters:"):
            in_args = True
            continue
        if in_args:
            google = _GOOGLE_ARG.match(line)
            if google:
                params[google.group(1)] = google.group(2).strip()
            elif line.strip() and not line.startswith((" ", "\t")):
                in_args = False
    if summary.startswith(("Args:", ":param")):
        summary = ""
    return summary, params
