"""The code stays easy to read: no function in the product's packages is longer than
60 lines (ruff's C901/PLR0912/PLR0915 in pyproject.toml bound complexity; ruff has no
rule for length)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("shop", "recommendations", "config", "demo")
MAX_LINES = 60


def long_functions(root: Path, packages: tuple[str, ...], limit: int) -> list[str]:
    """'path:line name (n lines)' for every function longer than ``limit`` lines."""
    found = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = node.end_lineno - node.lineno + 1
                    if length > limit:
                        where = path.relative_to(root)
                        found.append(f"{where}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_no_function_is_longer_than_sixty_lines():
    assert long_functions(ROOT, PACKAGES, MAX_LINES) == []


@pytest.mark.parametrize("body, expected", [(59, 0), (60, 1)])
def test_the_check_counts_a_function_from_def_to_last_line(tmp_path, body, expected):
    (tmp_path / "pkg").mkdir()
    source = "def f():\n" + "    x = 1\n" * body
    (tmp_path / "pkg" / "mod.py").write_text(source)
    assert len(long_functions(tmp_path, ("pkg",), MAX_LINES)) == expected
