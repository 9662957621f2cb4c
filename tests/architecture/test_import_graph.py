"""The app graph: dependencies go one way, down the layers, and every module imports cleanly
whatever was imported before it (docs/architecture.md)."""

from __future__ import annotations

import ast
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Lowest first: a layer may import the layers before it, never one after it.
LAYERS = (
    "conversations",
    "store",
    "actions",
    "assistant",
    "escalation",
    "outcomes",
    "widget",
    "desk",
)
MAX_INNER_CROSS_APP_IMPORTS = 3
MAX_MODULE_LINES = 600


@dataclass(frozen=True)
class Import:
    path: str
    line: int
    source: str
    target: str
    inner: bool


def _modules() -> list[Path]:
    return sorted(
        p
        for app in LAYERS
        for p in (ROOT / app).rglob("*.py")
        if "migrations" not in p.parts
    )


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _cross_app_imports() -> list[Import]:
    found = []
    for path in _modules():
        source = path.relative_to(ROOT).parts[0]
        tree = ast.parse(path.read_text(), filename=str(path))
        top_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                target = name.split(".")[0]
                if target in LAYERS and target != source:
                    found.append(
                        Import(
                            str(path.relative_to(ROOT)),
                            node.lineno,
                            source,
                            target,
                            inner=id(node) not in top_level,
                        )
                    )
    return found


def test_apps_import_only_the_layers_below_them() -> None:
    upward = [
        i for i in _cross_app_imports() if LAYERS.index(i.target) > LAYERS.index(i.source)
    ]
    assert upward == [], "a lower layer imports a higher one: tell it through an event instead"


def test_imports_inside_functions_seldom_cross_apps() -> None:
    inner = [i for i in _cross_app_imports() if i.inner]
    assert len(inner) <= MAX_INNER_CROSS_APP_IMPORTS, inner


def test_no_app_module_is_over_600_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in _modules()
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_module_imports_in_any_order(seed: int) -> None:
    names = [_module_name(p) for p in _modules()]
    random.Random(seed).shuffle(names)
    script = (
        "import os, importlib, django\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings.test')\n"
        "django.setup()\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_each_app_imports_first_of_all() -> None:
    """Imported alone, first thing after setup, each app's modules load (no hidden order)."""
    for path in _modules():
        name = _module_name(path)
        script = (
            "import os, importlib, django\n"
            "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings.test')\n"
            "django.setup()\n"
            f"importlib.import_module({name!r})\n"
        )
        if not name.endswith((".tasks", ".lifecycle", ".routing", ".services", ".views")):
            continue
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, f"{name}: {done.stderr[-2000:]}"
