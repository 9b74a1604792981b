"""K3: the hook contract and its documentation stay together.

- ``docs/plugin-hooks.md`` is exactly what ``jishi docs hooks`` generates;
- every hook's argument names appear in its entry;
- every hook has a ``test_hook_<name>`` somewhere under ``tests/``.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from jishi.cli.docs import HOOKS_DOC, hook_specs, render

TESTS = Path(__file__).parent
HOOK_NAMES = [name for name, _f, _o in hook_specs()]


def test_hookspecs_are_found():
    """K3: the generator sees every hook of the contract."""
    assert {"split_cart", "line_price_rules", "delivery_options", "order_discounts", "allocate_discount",
            "validate_checkout", "reserve_stock", "payment_methods", "settle_order", "blueprints",
            "register_commands", "template_slot", "console_menu_items"} <= set(HOOK_NAMES)


def test_committed_doc_is_current():
    """K3: docs/plugin-hooks.md == the generated reference (run `jishi docs hooks`)."""
    assert HOOKS_DOC.read_text(encoding="utf-8") == render()


def _entries() -> dict[str, str]:
    text = HOOKS_DOC.read_text(encoding="utf-8")
    parts = re.split(r"^## ", text, flags=re.MULTILINE)
    return {p.split("\n", 1)[0].strip(): p for p in parts[1:]}


@pytest.mark.parametrize("name", HOOK_NAMES)
def test_every_argument_is_documented(name):
    """K3: each hook's entry shows its exact signature and names each argument."""
    entry = _entries()[name]
    func = {n: f for n, f, _o in hook_specs()}[name]
    args = list(inspect.signature(func).parameters)
    assert f"{name}({', '.join(args)})" in entry
    described = entry.split("- Calling:", 1)[1]  # the docstring part
    for arg in args:
        assert re.search(rf"\b{arg}\b", described), f"{name}: argument {arg!r} not described"
    assert ("firstresult" in entry) == bool({n: o for n, _f, o in hook_specs()}[name].get("firstresult"))
    assert "Default implementation" in entry


def test_every_hook_has_a_test():
    """K3: every hook has a test function named ``test_hook_<name>``."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in TESTS.rglob("test_*.py"))
    defined = set(re.findall(r"^\s*def (test_hook_\w+)\(", source, flags=re.MULTILINE))
    missing = [n for n in HOOK_NAMES if f"test_hook_{n}" not in defined]
    assert not missing, f"hooks without a test_hook_<name>: {missing}"
