"""The package's import graph: no circle, and dependencies that run one way
(imputers -> _dask -> _data / training; the torch layers free of scikit-learn)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "deepimpute"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Package modules that ``name`` imports anywhere in its file (a function's
    import is a dependency too): ``from pkg import x`` depends on ``pkg.x`` when
    that is a module, else on ``pkg``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                for a in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {n: _imports(n, p, set(modules)) for n, p in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_import_graph_has_no_circle():
    found = _cycle(_graph())
    assert found is None, " -> ".join(found)


def test_a_circle_is_found():  # the check itself can fail
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


@pytest.mark.parametrize(
    "module, forbidden",
    [
        ("deepimpute._dask", "deepimpute.imputers"),
        ("deepimpute._data", "deepimpute.imputers"),
        ("deepimpute.training", "deepimpute.imputers"),
        ("deepimpute.persistence", "deepimpute.imputers"),
    ],
)
def test_dependencies_run_one_way(module, forbidden):
    deps = _graph()[module]
    assert not any(d == forbidden or d.startswith(forbidden + ".") for d in deps), (
        f"{module} imports {sorted(deps)}"
    )


def test_torch_layers_do_not_import_scikit_learn():
    for name, path in _modules().items():
        if name.startswith(("deepimpute.models", "deepimpute.nn")) or name in (
            "deepimpute.training", "deepimpute.schema", "deepimpute.missingness"
        ):
            text = path.read_text()
            assert "sklearn" not in text, f"{name} mentions sklearn"
