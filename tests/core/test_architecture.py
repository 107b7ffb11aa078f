"""The house rules of ARCHITECTURE.md, held: no module under functions/tally imports from a
layer above its own, no two modules import each other (directly or round a longer
circle), the layers and modules here and in ARCHITECTURE.md are the same, and no module
outside sources/ compares a kind's name (it asks `kind_of(source)`)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from tally.sources.registry import KINDS

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "functions" / "tally"
ARCHITECTURE = ROOT / "ARCHITECTURE.md"

# Bottom to top: a module may import from its own layer and the layers below it.
LAYERS: list[tuple[str, list[str]]] = [
    (
        "foundation",
        [
            "tally",
            "durations",
            "numbers",
            "formatting",
            "sample",
            "deadlines",
            "secrets",
            "logs",
            "object_names",
            "blob_parts",
            "gc_pause",
            "fetch_threads",
        ],
    ),
    ("sources", ["sources/", "reading/"]),
    ("config", ["config", "config_errors", "config_yaml", "config_object", "schedule"]),
    (
        "storage and outputs",
        [
            "store",
            "merge_write",
            "day_document",
            "group_document",
            "transactions",
            "store_import",
            "metrics",
            "events",
            "fanout/",
        ],
    ),
    ("alerts", ["alerts/"]),
    ("the work", ["collector", "tick_fanout", "importer/", "render/"]),
    ("running it", ["runtime", "local/"]),
    ("command line", ["commands/", "cli"]),
]

# Modules allowed, for now, to compare a kind's name outside sources/ (none: a module
# listed here must still do so, so that the entry goes when it stops).
PENDING_KIND_NAMES: set[str] = set()


def _dotted(name: str) -> str:
    """`sources/` → `tally.sources`, `config` → `tally.config`, `tally` → `tally`."""
    name = name.rstrip("/")
    return "tally" if name == "tally" else f"tally.{name.replace('/', '.')}"


def layer_of(module: str) -> int | None:
    for index, (_, names) in enumerate(LAYERS):
        for name in names:
            dotted = _dotted(name)
            if module == dotted or (name.endswith("/") and module.startswith(dotted + ".")):
                return index
    return None


def modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return found


def imported(tree: ast.Module, known: set[str]) -> set[str]:
    """The tally modules a module imports, anywhere in it (inside functions and
    TYPE_CHECKING blocks too): `from tally.x import y` is `tally.x.y` when that is a
    module, else `tally.x`."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.startswith("tally"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module != "tally" and not node.module.startswith("tally."):
                continue
            for alias in node.names:
                inner = f"{node.module}.{alias.name}"
                names.add(inner if inner in known else node.module)
    return names


def upward_imports(trees: dict[str, ast.Module]) -> list[str]:
    found = []
    for module, tree in trees.items():
        own = layer_of(module)
        assert own is not None, f"{module} has no layer: place it in LAYERS and ARCHITECTURE.md"
        for target in sorted(imported(tree, set(trees))):
            theirs = layer_of(target)
            if theirs is not None and theirs > own:
                found.append(f"{module} ({LAYERS[own][0]}) imports {target} ({LAYERS[theirs][0]})")
    return found


def import_circles(trees: dict[str, ast.Module]) -> list[list[str]]:
    """Every set of modules that import each other round a circle (the strongly connected
    components of the import graph with more than one module, or a module importing
    itself), each sorted, the lot sorted. A package's `__init__` that a submodule's import
    runs implicitly is not an edge: only what a module names in an import statement."""
    graph = {module: imported(tree, set(trees)) & set(trees) for module, tree in trees.items()}
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        for target in sorted(graph[module]):
            if target not in order:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], order[target])
        if low[module] == order[module]:
            component = stack[stack.index(module) :]
            del stack[stack.index(module) :]
            if len(component) > 1 or module in graph[module]:
                circles.append(sorted(component))

    for module in sorted(graph):
        if module not in order:
            visit(module)
    return sorted(circles)


def test_every_module_has_a_layer():
    assert [module for module in modules() if layer_of(module) is None] == []


def test_nothing_imports_from_a_layer_above_its_own():
    assert upward_imports(modules()) == []


def test_an_upward_import_is_caught_wherever_it_hides():
    trees = modules()
    trees["tally.store"] = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "def later():\n    from tally.render import entry\n"
        "if TYPE_CHECKING:\n    import tally.cli\n"
    )
    assert upward_imports(trees) == [
        "tally.store (storage and outputs) imports tally.cli (command line)",
        "tally.store (storage and outputs) imports tally.render.entry (the work)",
    ]


def test_no_modules_import_each_other():
    assert import_circles(modules()) == []


def test_a_circle_is_caught_wherever_it_hides():
    """Two modules of one layer, a function-local import closing the circle; and a
    longer circle through three modules."""
    trees = modules()
    trees["tally.config_object"] = ast.parse("def later():\n    from tally.config import Config\n")
    trees["tally.logs"] = ast.parse("from tally import secrets\n")
    trees["tally.secrets"] = ast.parse("import tally.numbers\n")
    trees["tally.numbers"] = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from tally.logs import x\n"
    )
    assert import_circles(trees) == [
        ["tally.config", "tally.config_object"],
        ["tally.logs", "tally.numbers", "tally.secrets"],
    ]


def test_architecture_md_lists_the_same_layers():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d) ([a-z ]+) \| (.+) \|$", text, flags=re.MULTILINE)
    documented = [(name, re.findall(r"`([a-z_/]+)`", cells)) for _, name, cells in rows]
    assert [int(number) for number, _, _ in rows] == list(range(len(LAYERS)))
    assert documented == LAYERS


def named_module_paths(text: str) -> set[str]:
    """`render/series`, `sources/readers.read_body`: the `package/module` paths a page
    names in backticks, for the packages under functions/tally."""
    packages = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists()}
    found = set()
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    for span in re.findall(r"`([^`\n]+)`", prose):
        match = re.fullmatch(r"([a-z_]+)/([a-z_]+)(?:\.[A-Za-z_]+)?", span)
        if match and match[1] in packages:
            found.add(f"{match[1]}/{match[2]}")
    return found


def package_modules() -> set[str]:
    """`render/series` for every module inside a package (its `__init__` aside)."""
    return {
        "/".join(path.relative_to(PACKAGE).with_suffix("").parts)
        for path in PACKAGE.glob("*/*.py")
        if path.name != "__init__.py"
    }


def test_architecture_md_names_every_module_and_only_modules():
    """Top-level modules are named in the layer table (the test above); a package's
    modules by their path, where their concern is told."""
    named = named_module_paths(ARCHITECTURE.read_text(encoding="utf-8"))
    assert sorted(package_modules() - named) == [], "not named in ARCHITECTURE.md"
    assert sorted(named - package_modules()) == [], "named in ARCHITECTURE.md, not a module"


def test_a_module_missing_from_the_page_is_seen():
    named = named_module_paths(
        "```\n`render/view`\n```\n`render/series`, `sources/readers.read_body`, `render/`"
    )
    assert named == {"render/series", "sources/readers"}
    assert "render/view" in package_modules() - named


def kind_name_comparisons(tree: ast.Module) -> list[str]:
    """`x.kind == "http"`, `kind in ("json", …)`, `{"http": 1}[kind]`: a kind's name
    used to decide something."""
    names = set(KINDS)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            named = [
                sub
                for operand in operands
                for sub in ast.walk(operand)
                if isinstance(sub, ast.Constant) and sub.value in names
            ]
            if named and "kind" in ast.unparse(node):
                found.append(ast.unparse(node))
        elif isinstance(node, ast.Dict) and any(
            isinstance(key, ast.Constant) and key.value in names for key in node.keys
        ):
            found.append(ast.unparse(node))
    return found


def test_no_module_outside_sources_compares_a_kind_name():
    found = {
        module: comparisons
        for module, tree in modules().items()
        if not (module == "tally.sources" or module.startswith("tally.sources."))
        and (comparisons := kind_name_comparisons(tree))
    }
    assert {module: found[module] for module in found if module not in PENDING_KIND_NAMES} == {}
    assert set(found) == PENDING_KIND_NAMES, "switched to kind_of: remove from PENDING_KIND_NAMES"


@pytest.mark.parametrize(
    "code",
    [
        'if source.kind == "http": pass',
        'is_check = kind in ("http", "github")',
        'DEFAULTS = {"http": 1}',
        'up = getattr(source, "kind", "") != "json"',
    ],
)
def test_a_kind_name_comparison_is_caught(code):
    assert kind_name_comparisons(ast.parse(code)) != []


def test_the_reading_modules_import_nothing_of_sources():
    """A reader process loads `reading/` only: `sources/` would bring pydantic along."""
    trees = modules()
    found = {
        module: sorted(
            name for name in imported(tree, set(trees)) if name.startswith("tally.sources")
        )
        for module, tree in trees.items()
        if module.startswith("tally.reading")
    }
    assert {module: names for module, names in found.items() if names} == {}
