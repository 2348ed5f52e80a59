"""The layout's contract, checked on the source: who may import whom, and no circles.

- The domain (``masking`` minus its adapters) knows nothing of Asterisk, the web, the
  CLI, the composition root or the lab, nor of their frameworks.
- ``agi`` (the telephony adapter) and ``masking.web`` know neither each other, nor the
  CLI, the composition root or the lab.
- The product does not depend on the lab (only the CLI root offers the lab's verbs).
- The import graph of the product has no circle (imports inside functions count too;
  ``if TYPE_CHECKING:`` imports do not, they never run).
- No test module imports another test module or a conftest: shared helpers live in
  ``tests/support``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("masking", "agi", "lab", "dialplan")

ADAPTERS = ("masking.web", "masking.cli", "masking.runtime")
FRAMEWORKS = ("fastapi", "starlette", "uvicorn", "typer", "rich", "panoramisk", "asterisk")
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "domain": ("agi", "lab", "dialplan", *ADAPTERS, *FRAMEWORKS),
    "agi": ("lab", *ADAPTERS),
    "masking.web": ("agi", "lab", "dialplan", "masking.cli", "masking.runtime"),
    "masking.runtime": ("lab", "masking.cli"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources(*tops: str) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for top in tops:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


def layer(module: str) -> str:
    for adapter in ("masking.web", "masking.cli", "masking.runtime"):
        if module == adapter or module.startswith(adapter + "."):
            return adapter
    top = module.split(".")[0]
    return "domain" if top == "masking" else top


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except the bodies of ``if TYPE_CHECKING:`` blocks."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for stmt in node.orelse for n in [stmt, *_runtime_nodes(stmt)])
            continue
        yield node
        yield from _runtime_nodes(node)


def imports(module: str, path: Path, known: set[str]) -> set[str]:
    """Modules (ours or third-party tops) that ``module`` imports when it runs."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
    return found


def graph() -> dict[str, set[str]]:
    modules = sources(*PACKAGES)
    known = set(modules)
    return {name: imports(name, path, known) for name, path in modules.items()}


def reaches(imported: str, forbidden: str) -> bool:
    return imported == forbidden or imported.startswith(forbidden + ".")


def test_layers_import_only_what_they_may() -> None:
    violations = [
        f"{module} ({layer(module)}) imports {imported}"
        for module, targets in graph().items()
        for imported in sorted(targets)
        for forbidden in FORBIDDEN.get(layer(module), ())
        if reaches(imported, forbidden)
    ]
    assert not violations, "\n".join(violations)


def test_the_product_does_not_depend_on_the_lab() -> None:
    product = {m: t for m, t in graph().items() if not m.startswith("lab")}
    users = sorted(
        f"{module} imports {imported}"
        for module, targets in product.items()
        for imported in targets
        if reaches(imported, "lab") and module != "masking.cli.main"
    )
    assert not users, "\n".join(users)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in edges:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles() -> None:
    edges = graph()
    # a package's __init__ importing its own submodules is how a package exposes them
    for module, targets in edges.items():
        edges[module] = {t for t in targets if not t.startswith(module + ".")}
    assert cycles(edges) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_test_module_imports_another_test_module() -> None:
    tests = sources("tests")
    known = set(tests)
    offenders = sorted(
        f"{module} imports {imported}"
        for module, path in tests.items()
        for imported in imports(module, path, known)
        if imported.startswith("tests.")
        and (imported.rpartition(".")[2].startswith("test_") or imported.endswith("conftest"))
    )
    assert not offenders, "\n".join(offenders)


def test_the_contract_sees_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from agi.server import FastAGIServer\nimport fastapi\n")
    found = imports("masking.bad", bad, {"agi.server"})
    assert {"agi.server", "fastapi"} <= found
    guarded = tmp_path / "guarded.py"
    guarded.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import agi\n")
    assert "agi" not in imports("masking.guarded", guarded, set())
