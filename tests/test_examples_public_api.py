"""Plugin authors: the third-party example under ``examples/`` imports only
Jishi's PUBLIC API, the short list of modules in
docs/writing-a-marketing-plugin.md (between the ``public-api`` markers).

Every ``.py`` file under ``examples/`` is parsed (ast, never imported); an
``import jishi.x`` / ``from jishi.x import y`` / ``from jishi import x`` of a
module outside the list, or of a name starting with an underscore, fails.
The list here and the one in the guide must be the same, and every listed
module must import.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GUIDE = ROOT / "docs" / "writing-a-marketing-plugin.md"

#: The modules third-party plugins may import (keep in step with the guide).
PUBLIC_API = (
    "jishi.hookspecs",
    "jishi.sellers",
    "jishi.db",
    "jishi.signals",
    "jishi.money",
    "jishi.i18n",
    "jishi.settings",
    "jishi.errors",
    "jishi.checkout.errors",
    "jishi.api.common",
    "jishi.catalog.models",
    "jishi.testing",
    "jishi.testing.factories",
    "jishi.testing.principals",
    "jishi.testing.flows",
    "jishi.testing.authz",
    "jishi.testing.i18n",
)


def violations(source: str, filename: str = "<src>") -> list[str]:
    """Every import of jishi outside PUBLIC_API in ``source`` ("line: what")."""
    tree = ast.parse(source, filename)
    found = []

    def check_module(module: str, lineno: int) -> None:
        if any(part.startswith("_") for part in module.split(".")):
            found.append(f"{lineno}: {module} (private module)")
        elif module not in PUBLIC_API:
            found.append(f"{lineno}: {module} (not in the public API)")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "jishi" or alias.name.startswith("jishi."):
                    check_module(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level or not (module == "jishi" or module.startswith("jishi.")):
                continue
            for alias in node.names:
                if module == "jishi":  # from jishi import signals -> the module jishi.signals
                    check_module(f"jishi.{alias.name}", node.lineno)
                    continue
                check_module(module, node.lineno)
                if alias.name.startswith("_") or alias.name == "*":
                    found.append(f"{node.lineno}: {module}.{alias.name} (private or star import)")
    # import jishi.db as x, then x._private: an attribute that is private
    aliases = _jishi_aliases(tree)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{node.lineno}: {node.value.id}.{node.attr} (private name)")
    return sorted(set(found))


def _jishi_aliases(tree) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("jishi"):
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jishi"):
            for alias in node.names:
                names.add(alias.asname or alias.name)
    return names


def example_files() -> list[Path]:
    return sorted(p for p in EXAMPLES.rglob("*.py") if "egg-info" not in str(p) and "/build/" not in str(p))


def test_there_is_an_example_to_check():
    """K3: the example exists, with its package and its tests."""
    files = example_files()
    assert any(p.name == "plugin.py" for p in files), files
    assert any(p.parent.name == "tests" for p in files), files


@pytest.mark.parametrize("path", example_files(), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_imports_only_the_public_api(path):
    """K3: the example plugin (its package and its tests) stays on the public API."""
    assert violations(path.read_text(encoding="utf-8"), str(path)) == []


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("import jishi.checkout.service", "jishi.checkout.service"),
        ("from jishi.orders.models import Order", "jishi.orders.models"),
        ("from jishi import plugins", "jishi.plugins"),
        ("from jishi.db import _sqlite_begin_statement", "_sqlite_begin_statement"),
        ("from jishi._private import x", "jishi._private"),
        ("import jishi.db as d\nd._sqlite_pragmas", "d._sqlite_pragmas"),
        ("def f():\n    from jishi.web_helpers import console_menu", "jishi.web_helpers"),
    ],
)
def test_the_check_catches_private_imports(source, bad):
    """The checker itself fails on what it must refuse..."""
    assert any(bad in v for v in violations(source)), violations(source)


def test_the_check_lets_the_public_api_through():
    """...and lets the public API through."""
    ok = "from jishi import signals\nimport jishi.money\nfrom jishi.hookspecs import Discount, hookimpl\nfrom jishi_other import _x\n"
    assert violations(ok) == []


def test_guide_lists_the_same_modules():
    """K3: docs/writing-a-marketing-plugin.md lists exactly PUBLIC_API."""
    text = GUIDE.read_text(encoding="utf-8")
    section = re.search(r"<!-- public-api -->(.*?)<!-- /public-api -->", text, re.DOTALL)
    assert section, "the guide has no <!-- public-api --> section"
    listed = re.findall(r"^\|\s*`(jishi[\w.]*)`", section.group(1), re.MULTILINE)
    assert tuple(listed) == PUBLIC_API


@pytest.mark.parametrize("module", PUBLIC_API)
def test_public_modules_import(module):
    """K3: every module of the public API exists."""
    importlib.import_module(module)
