"""The package's import graph: no cycles, and the dependency direction of the design.

Every import statement counts, lazy ones inside functions included; only imports under
`if TYPE_CHECKING:` (never executed) are left out.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "alloy_nb"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The package modules `path` imports at run time."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in modules else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return {module for module in found if module in modules and module != name}


@functools.cache
def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(path) for path in paths}
    return {module_name(path): imported_modules(path, modules) for path in paths}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected group of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in graph:
        if node not in index:
            connect(node)
    return groups


def test_the_package_has_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_the_checker_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_core_never_imports_the_notebook_server_or_testing_layers() -> None:
    outer = ("alloy_nb._notebook", "alloy_nb.server", "alloy_nb.testing")
    for module, imports in import_graph().items():
        if module.startswith(outer) or module == "alloy_nb" or module.startswith("alloy_nb.cli"):
            continue
        assert not {target for target in imports if target.startswith(outer)}, module


# The leaves the server shares with the core: they import nothing from alloy_nb.
SHARED_WITH_SERVER = ("alloy_nb._model_names",)


def test_the_server_depends_on_nothing_in_the_core() -> None:
    for module, imports in import_graph().items():
        if module.startswith("alloy_nb.server"):
            outside = {target for target in imports if not target.startswith("alloy_nb.server")}
            assert outside <= set(SHARED_WITH_SERVER), (module, imports)


def test_what_the_server_shares_with_the_core_imports_nothing_from_it() -> None:
    graph = import_graph()
    assert all(graph[module] == set() for module in SHARED_WITH_SERVER)


# The rooms in rank order: a module may import its own rank and those below it, never above.
# The leaves (the trace, the call log, the HTML views) sit beside the ranks: anything may import them, and they
# import only the foundation and each other. The server and the testing helpers are checked above.
RANKS: dict[str, int] = {
    **dict.fromkeys(
        (
            "errors",
            "_visible",
            "_choices",
            "_config",
            "_nesting",
            "_images",
            "_messages",
            "_client_cache",
            "_outputs",
            "_tools",
            "_tool_threads",
            "_hooks",
            "_model_names",
        ),
        0,
    ),
    **dict.fromkeys(("_strategies", "_host", "_capabilities"), 1),
    "_call": 2,
    **dict.fromkeys(("_commands", "_replay", "logs", "_local", "otel", "_rendering"), 3),
    **dict.fromkeys(("_notebook", "cli", ""), 4),
}
LEAVES = ("_trace", "_log", "_views")
OUTSIDE = ("server", "testing")
COMMAND_LINE = "cli"  # `alloy-nb serve` starts the server: the one edge into it


def room(module: str) -> str:
    """The room a module lives in: its top-level name under alloy_nb ("" for the package itself)."""
    return module.removeprefix("alloy_nb").removeprefix(".").split(".")[0]


def wrong_edges(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Each import that goes up the ranks, or out of a leaf into a room above the foundation."""
    found = []
    for module, imports in graph.items():
        source = room(module)
        if source in OUTSIDE:
            continue
        for target in imports:
            goal = room(target)
            if goal in LEAVES or goal == source:
                continue
            ceiling = 0 if source in LEAVES else RANKS[source]
            if goal in OUTSIDE:
                if not (source == COMMAND_LINE and goal == "server"):
                    found.append((module, target))
            elif RANKS[goal] > ceiling:
                found.append((module, target))
    return sorted(found)


def test_every_room_has_a_rank() -> None:
    rooms = {room(module) for module in import_graph()}
    assert rooms - set(RANKS) - set(LEAVES) - set(OUTSIDE) == set()


def test_no_import_goes_up_the_ranks() -> None:
    assert wrong_edges(import_graph()) == []


def test_the_rank_check_sees_a_wrong_edge() -> None:
    graph = {
        "alloy_nb._log.replay": {"alloy_nb._commands", "alloy_nb._trace.model", "alloy_nb._config"},
        "alloy_nb._strategies.native": {"alloy_nb._call.retries", "alloy_nb._tools"},
        "alloy_nb._notebook.magics": {"alloy_nb._commands", "alloy_nb._log.store"},
    }
    assert wrong_edges(graph) == [
        ("alloy_nb._log.replay", "alloy_nb._commands"),
        ("alloy_nb._strategies.native", "alloy_nb._call.retries"),
    ]
