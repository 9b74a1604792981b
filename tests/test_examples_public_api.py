"""Plugin authors: the third-party example under ``examples/`` and every
first-party plugin under ``plugins/`` import only Jishi's PUBLIC API, the list
of modules in docs/writing-plugins.md (between the ``public-api`` markers).

Every ``.py`` file under ``examples/`` and ``plugins/`` is parsed (ast, never
imported); an ``import jishi.x`` / ``from jishi.x import y`` / ``from jishi
import x`` of a module outside the list, or of a name starting with an
underscore, fails. ``from jishi.orders import state`` imports the module
``jishi.orders.state``.
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
PLUGINS = ROOT / "plugins"
GUIDE = ROOT / "docs" / "writing-plugins.md"

#: The modules third-party plugins may import (keep in step with the guide).
PUBLIC_API = (
    "jishi.hookspecs",
    "jishi.gateways",
    "jishi.sellers",
    "jishi.access",
    "jishi.roles",
    "jishi.db",
    "jishi.signals",
    "jishi.money",
    "jishi.i18n",
    "jishi.metrics",
    "jishi.settings",
    "jishi.errors",
    "jishi.checkout.errors",
    "jishi.api.common",
    "jishi.api.schemas",
    "jishi.catalog.models",
    "jishi.forms",
    "jishi.promotions",
    "jishi.checkout.entry",
    "jishi.catalog.service",
    "jishi.accounts.models",
    "jishi.accounts.external",
    "jishi.orders.models",
    "jishi.orders.state",
    "jishi.orders.service",
    "jishi.aftersales.models",
    "jishi.aftersales.service",
    "jishi.reviews.models",
    "jishi.reviews.service",
    "jishi.reports.service",
    "jishi.reports.sheets",
    "jishi.media",
    "jishi.demo",
    "jishi.testing",
    "jishi.testing.factories",
    "jishi.testing.principals",
    "jishi.testing.flows",
    "jishi.testing.authz",
    "jishi.testing.i18n",
    "jishi.testing.faults",
    "jishi.testing.browser",
    "jishi.testing.deploy",
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
                if module == "jishi" or f"{module}.{alias.name}" in PUBLIC_API:
                    # from jishi import signals / from jishi.orders import state: the module
                    check_module(f"{module}.{alias.name}", node.lineno)
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
                if alias.name == "jishi" or alias.name.startswith("jishi."):
                    names.add(alias.asname or alias.name.split(".")[0])
        elif (
            isinstance(node, ast.ImportFrom)
            and not node.level
            and (node.module == "jishi" or (node.module or "").startswith("jishi."))
        ):
            for alias in node.names:
                names.add(alias.asname or alias.name)
    return names


def example_files() -> list[Path]:
    return sorted(p for p in EXAMPLES.rglob("*.py") if "egg-info" not in str(p) and "/build/" not in str(p))


def plugin_files() -> list[Path]:
    return sorted(p for p in PLUGINS.rglob("*.py") if "egg-info" not in str(p) and "/build/" not in str(p))


def test_there_is_an_example_to_check():
    """K3: the example exists, with its package and its tests."""
    files = example_files()
    assert any(p.name == "plugin.py" for p in files), files
    assert any(p.parent.name == "tests" for p in files), files


@pytest.mark.parametrize("path", example_files(), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_imports_only_the_public_api(path):
    """K3: the example plugin (its package and its tests) stays on the public API."""
    assert violations(path.read_text(encoding="utf-8"), str(path)) == []


@pytest.mark.parametrize("path", plugin_files(), ids=lambda p: str(p.relative_to(PLUGINS)))
def test_plugin_imports_only_the_public_api(path):
    """K3: a first-party plugin stays on the public API too (no private names,
    no kernel module outside the list)."""
    assert violations(path.read_text(encoding="utf-8"), str(path)) == []


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("import jishi.checkout.service", "jishi.checkout.service"),
        ("from jishi.payments.sandbox import create_trade", "jishi.payments.sandbox"),
        ("from jishi.payments import service", "jishi.payments"),
        ("from jishi.extensions import limiter", "jishi.extensions"),
        ("from jishi.models import Setting", "jishi.models"),
        ("from jishi.api.orders import order_detail", "jishi.api.orders"),
        ("from jishi.console.catalog import product_data", "jishi.console.catalog"),
        ("from jishi.aftersales.service import _execute", "_execute"),
        ("from jishi.payments.service import refund_money", "jishi.payments.service"),
        ("from jishi import plugins", "jishi.plugins"),
        ("from jishi.db import _sqlite_begin_statement", "_sqlite_begin_statement"),
        ("from jishi._private import x", "jishi._private"),
        ("import jishi.db as d\nd._sqlite_pragmas", "d._sqlite_pragmas"),
        ("def f():\n    from jishi.web_helpers import console_menu", "jishi.web_helpers"),
        ("from jishi.web.shopping import _options", "jishi.web.shopping"),
        ("from jishi.api.checkout import CheckoutArgsSchema, _args", "jishi.api.checkout"),
        ("from jishi.api.common import _first_field", "_first_field"),
        ("from jishi.checkout import service", "jishi.checkout"),
        ("from jishi.checkout.entry import _private", "_private"),
    ],
)
def test_the_check_catches_private_imports(source, bad):
    """The checker itself fails on what it must refuse..."""
    assert any(bad in v for v in violations(source)), violations(source)


def test_the_check_lets_the_public_api_through():
    """...and lets the public API through."""
    ok = (
        "import jishi_flashsale.gate as g\ng._prefix\n"
        "from jishi import signals\nimport jishi.money\nfrom jishi.hookspecs import Discount, hookimpl\nfrom jishi_other import _x\n"
        "from jishi.orders import state\nfrom jishi.checkout import entry\nfrom jishi import promotions\n"
        "from jishi.orders.models import Order, OrderLine\nfrom jishi.access import rate_limit\nfrom jishi.demo import pay\n"
    )
    assert violations(ok) == []


def test_guide_lists_the_same_modules():
    """K3: docs/writing-plugins.md lists exactly PUBLIC_API."""
    text = GUIDE.read_text(encoding="utf-8")
    section = re.search(r"<!-- public-api -->(.*?)<!-- /public-api -->", text, re.DOTALL)
    assert section, "the guide has no <!-- public-api --> section"
    listed = re.findall(r"^\|\s*`(jishi[\w.]*)`", section.group(1), re.MULTILINE)
    assert tuple(listed) == PUBLIC_API


@pytest.mark.parametrize("module", PUBLIC_API)
def test_public_modules_import(module):
    """K3: every module of the public API exists."""
    importlib.import_module(module)


def test_translation_helpers_the_guide_lists_exist():
    """Issue 13 A4: the helpers of a plugin's own translation domain the
    guide's jishi.i18n row names are there (and named in the row)."""
    import jishi.i18n

    text = GUIDE.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `jishi.i18n` |"))
    for name in (
        "gettext",
        "lazy_gettext",
        "ngettext",
        "pgettext",
        "N_",
        "note_text",
        "gettext_in",
        "to_shop_time",
        "parse_shop_time",
    ):
        assert f"`{name}`" in row and callable(getattr(jishi.i18n, name)), name
