"""The architecture's boundaries, checked: the shop never imports recommendations, and
the web process (URLs, views, admin, tasks module) never loads TensorFlow."""

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_shop_never_imports_recommendations():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "shop").rglob("*.py")
        if any(m.split(".")[0] == "recommendations" for m in _imported_modules(path))
    ]
    assert offenders == []


def test_web_process_does_not_load_tensorflow():
    code = """
import sys, importlib, django
django.setup()
from django.urls import get_resolver
from django.contrib import admin
get_resolver().url_patterns  # imports every view module
admin.autodiscover()
for name in ("recommendations.tasks", "recommendations.pipeline", "recommendations.serving"):
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
print(",".join(loaded[:5]))
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
