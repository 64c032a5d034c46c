"""The arrows point one way: `bot -> storage -> routines`, `bot -> routines`, and no circles.

The import graph is read from the source with `ast`, so it holds every import the
project writes down: at the top of a module, inside a function (the usual way to dodge a
circular import at run time) and under `if TYPE_CHECKING:` (a type still ties the two
modules together, even when the import never runs). An import names the project module
it loads: `from bot.services import users` is an edge to `bot.services.users`, and
`from bot.context import BotData` an edge to `bot.context`. The packages' `__init__`
modules on the way are left out: they hold no imports of their own.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "storage", "routines")


@dataclass
class Module:
    name: str
    path: Path
    # Project modules this one imports, and the top-level names of everything else.
    imports: set[str] = field(default_factory=set)
    external: set[str] = field(default_factory=set)


def _name_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def project() -> dict[str, Module]:
    """Every module of bot/, storage/ and routines/, with what it imports."""
    modules = {
        _name_of(path): Module(_name_of(path), path)
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    for module in modules.values():
        source = module.path.read_text(encoding="utf-8")
        is_package = module.path.name == "__init__.py"
        package = module.name if is_package else module.name.rpartition(".")[0]
        for imported in imported_names(source, package):
            target = _project_module(imported, modules)
            if target is None:
                module.external.add(imported.split(".")[0])
            elif target != module.name:
                module.imports.add(target)
    return modules


def imported_names(source: str, package: str) -> Iterator[str]:
    """Each dotted name an import statement of `source` loads, wherever the statement is.

    `package` is the package the module is in, to resolve relative imports.
    """
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from a import b` loads a.b when b is a module; the caller finds out which.
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _project_module(dotted: str, modules: dict[str, Module]) -> str | None:
    """The most specific project module `dotted` names, or None for other libraries."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def _in(package: str, name: str) -> bool:
    return name == package or name.startswith(package + ".")


def _path_to_external(start: str, library: str) -> list[str] | None:
    """The shortest chain of project imports from `start` to a module importing `library`."""
    modules = project()
    came_from: dict[str, str | None] = {start: None}
    queue = [start]
    while queue:
        current = queue.pop(0)
        if library in modules[current].external:
            chain = [library, current]
            while (previous := came_from[chain[-1]]) is not None:
                chain.append(previous)
            return chain[::-1]
        for imported in sorted(modules[current].imports):
            if imported not in came_from:
                came_from[imported] = current
                queue.append(imported)
    return None


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, without recursion; sorted, largest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    found.append(sorted(component))
    return sorted(found, key=lambda c: (-len(c), c))


def test_the_reader_finds_imports_at_the_top_in_functions_and_for_type_checking() -> None:
    source = """
from __future__ import annotations
import telegram.ext
from typing import TYPE_CHECKING
from . import sibling
from ..render import texts

if TYPE_CHECKING:
    from bot.app import BotApplication

def later() -> None:
    import sqlalchemy.orm
"""
    assert sorted(imported_names(source, "bot.handlers")) == [
        "__future__.annotations",
        "bot.app.BotApplication",
        "bot.handlers.sibling",
        "bot.render.texts",
        "sqlalchemy.orm",
        "telegram.ext",
        "typing.TYPE_CHECKING",
    ]


def test_an_import_names_the_most_specific_project_module() -> None:
    modules = project()
    assert _project_module("bot.services.users", modules) == "bot.services.users"
    assert _project_module("storage.records.PairRecord", modules) == "storage.records"
    assert _project_module("telegram.ext.Application", modules) is None
    assert "storage.records" in modules["storage.repositories.pairs"].imports
    assert "sqlalchemy" in modules["storage.repositories.pairs"].external


def test_the_cycle_finder_finds_a_cycle_and_nothing_else() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert strongly_connected(graph) == [["a", "b", "c"], ["d"], ["e"]]


def test_no_module_of_bot_imports_sqlalchemy() -> None:
    offenders = sorted(
        name
        for name, module in project().items()
        if _in("bot", name) and "sqlalchemy" in module.external
    )
    assert offenders == [], f"bot/ reaches SQLAlchemy only through storage/: {offenders}"


def test_no_service_reaches_telegram_even_through_other_modules() -> None:
    services = sorted(name for name in project() if _in("bot.services", name))
    chains = {
        name: " -> ".join(chain)
        for name in services
        if (chain := _path_to_external(name, "telegram")) is not None
    }
    assert "bot.services.users" in services
    listed = "\n".join(chains.values())
    assert chains == {}, f"services take plain values, never Telegram's types:\n{listed}"


def test_importing_every_service_loads_no_telegram_module() -> None:
    """The same rule at run time, in a fresh interpreter: what Python really loads."""
    services = sorted(name for name in project() if _in("bot.services", name))
    script = (
        "import importlib, sys\n"
        f"for name in {services!r}:\n"
        "    importlib.import_module(name)\n"
        "    if 'telegram' in sys.modules:\n"
        "        print(name)\n"
        "        break\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    first = result.stdout.strip()
    assert first == "", f"importing {first} loads python-telegram-bot"


def test_routines_import_neither_telegram_nor_sqlalchemy_nor_the_layers_above() -> None:
    offenders = {
        name: sorted(
            {"telegram", "sqlalchemy"} & module.external
            | {i for i in module.imports if not _in("routines", i)}
        )
        for name, module in project().items()
        if _in("routines", name)
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_storage_never_imports_bot() -> None:
    offenders = {
        name: sorted(i for i in module.imports if _in("bot", i))
        for name, module in project().items()
        if _in("storage", name)
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_no_two_modules_import_each_other_in_a_circle() -> None:
    graph = {name: module.imports for name, module in project().items()}
    circles = [component for component in strongly_connected(graph) if len(component) > 1]
    listed = "\n".join(", ".join(circle) for circle in circles)
    assert circles == [], f"modules that import each other, directly or round a circle:\n{listed}"


def test_the_bot_proper_never_imports_the_playground() -> None:
    """The playground plays Telegram for the bot; the bot must not know it is there."""
    offenders = {
        name: sorted(i for i in module.imports if _in("bot.playground", i))
        for name, module in project().items()
        if _in("bot", name) and not _in("bot.playground", name)
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_playground_meets_the_bot_only_over_http() -> None:
    """It imports none of the bot, storage or routines: it speaks the Bot API, nothing else.

    It may use telegram (its types in tests of its answers) and starlette (its page).
    """
    offenders = {
        name: sorted(i for i in module.imports if not _in("bot.playground", i))
        for name, module in project().items()
        if _in("bot.playground", name)
    }
    assert "bot.playground.double" in project()
    assert {name: found for name, found in offenders.items() if found} == {}
