"""The architecture's boundaries, checked: the shop never imports recommendations; the
web process loads no training code and no TensorFlow; serving and the API never import
training; no import circle inside ``recommendations``."""

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "recommendations"


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, root: Path = ROOT) -> set[str]:
    """Absolute names of every module ``path`` imports, lazy imports included."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module_name(path, root)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            return  # annotations only, never executed
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def _graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (imported names that are modules)."""
    modules = {
        _module_name(p, root): p
        for p in (root / "recommendations").rglob("*.py")
        if "migrations" not in p.parts
    }
    return {
        name: {m for m in _imports(path, root) if m in modules and m != name}
        for name, path in modules.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[str]:
    """Every import circle found by a depth-first walk, as "a -> b -> a"."""
    cycles, state = [], {}

    def walk(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*stack[stack.index(target) :], target]))
            elif target not in state:
                walk(target, [*stack, target])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            walk(node, [node])
    return cycles


def test_shop_never_imports_recommendations():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "shop").rglob("*.py")
        if any(m.split(".")[0] == "recommendations" for m in _imports(path))
    ]
    assert offenders == []


def test_serving_and_api_never_import_training_or_tasks():
    offenders = [
        f"{name} -> {target}"
        for name, targets in _graph().items()
        if name.startswith(("recommendations.serving", "recommendations.api"))
        for target in targets
        if target.startswith("recommendations.training") or target == "recommendations.tasks"
    ]
    assert offenders == []


def test_registry_imports_only_models():
    """Every module of the registry package imports only models and its own modules."""
    graph = _graph()
    package = {
        n
        for n in graph
        if n == "recommendations.registry" or n.startswith("recommendations.registry.")
    }
    assert len(package) > 1  # the package and its modules, not a lone file
    offenders = [
        f"{name} -> {target}"
        for name in sorted(package)
        for target in sorted(graph[name] - package - {"recommendations.models"})
    ]
    assert offenders == []


def test_no_import_circle_inside_recommendations():
    assert _cycles(_graph()) == []


def test_cycle_detector_sees_a_lazy_relative_circle(tmp_path):
    """Relative and function-level imports are edges (else the test above proves nothing)."""
    pkg = tmp_path / "recommendations"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from . import b\n")
    (pkg / "b.py").write_text("from .a import f\n")
    assert _cycles(_graph(tmp_path)) == [
        "recommendations.a -> recommendations.b -> recommendations.a"
    ]


def test_web_process_loads_no_training_code_and_no_tensorflow():
    code = """
import sys, django
django.setup()
from django.urls import get_resolver
from django.contrib import admin
get_resolver().url_patterns  # imports every view module
admin.autodiscover()
import recommendations.tasks
loaded = sorted(
    m for m in sys.modules
    if m.split(".")[0] in ("tensorflow", "keras") or m.startswith("recommendations.training")
)
print(",".join(loaded[:8]))
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "", f"web process loaded: {out.stdout.strip()}"
