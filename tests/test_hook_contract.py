"""K3: the hook contract and its documentation stay together.

- ``docs/plugin-hooks.md`` is exactly what ``jishi docs hooks`` generates;
- every hook (the kernel's and those first-party plugins declare) names its
  arguments in its entry and ends with an example implementation that parses
  and takes only the hook's arguments;
- every hook has a ``test_hook_<name>`` somewhere under ``tests/``;
- every signal documents its sender and keyword arguments, and every send in
  the kernel and the plugins passes exactly documented keyword arguments.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
from pathlib import Path

import pytest
from jishi.cli.docs import (
    FIRST_PARTY_PLUGINS,
    HOOKS_DOC,
    hook_specs,
    plugin_hook_specs,
    render,
    signal_specs,
    split_example,
)

TESTS = Path(__file__).parent
ROOT = TESTS.parent
HOOK_NAMES = [name for name, _f, _o in hook_specs()]
#: name -> (function, spec options) for the kernel's hooks and the plugins' declared ones
ALL_SPECS = {name: (f, o) for name, f, o in hook_specs()} | {name: (f, o) for _p, name, f, o in plugin_hook_specs()}


def test_hookspecs_are_found():
    """K3: the generator sees every hook of the contract."""
    assert {
        "split_cart",
        "line_price_rules",
        "delivery_options",
        "order_discounts",
        "allocate_discount",
        "validate_checkout",
        "reserve_stock",
        "payment_gateways",
        "settle_order",
        "blueprints",
        "register_commands",
        "template_slot",
        "console_menu_items",
    } <= set(HOOK_NAMES)


def test_committed_doc_is_current():
    """K3: docs/plugin-hooks.md == the generated reference (run `jishi docs hooks`)."""
    assert HOOKS_DOC.read_text(encoding="utf-8") == render()


@functools.cache
def _entries() -> dict[str, str]:
    text = HOOKS_DOC.read_text(encoding="utf-8")
    parts = re.split(r"^## ", text, flags=re.MULTILINE)
    return {p.split("\n", 1)[0].strip(): p for p in parts[1:]}


def test_plugin_declared_hooks_are_found():
    """K3: the generator sees the hooks first-party plugins declare."""
    assert [(p, n) for p, n, _f, _o in plugin_hook_specs()] == [("delivery_express", "tracking_provider")]


def test_first_party_plugins_are_all_documented():
    """K3: the reference covers every plugin shipped under plugins/."""
    shipped = set()
    for pyproject in (ROOT / "plugins").glob("*/pyproject.toml"):
        section = pyproject.read_text(encoding="utf-8").split('[project.entry-points."jishi.plugins"]', 1)[1]
        shipped |= set(re.findall(r"^(\w+)\s*=", section, re.MULTILINE)[:1])
    assert shipped == set(FIRST_PARTY_PLUGINS)


@pytest.mark.parametrize("name", list(ALL_SPECS))
def test_every_argument_is_documented(name):
    """K3: each hook's entry shows its exact signature and names each argument
    in its description (not only in its example)."""
    entry = _entries()[name]
    func, opts = ALL_SPECS[name]
    args = list(inspect.signature(func).parameters)
    assert f"{name}({', '.join(args)})" in entry
    described = entry.split("- Calling:", 1)[1].split("\nExample:\n", 1)[0]  # the docstring's text
    for arg in args:
        assert re.search(rf"\b{arg}\b", described), f"{name}: argument {arg!r} not described"
    assert ("firstresult" in entry) == bool(opts.get("firstresult"))
    assert "Default implementation" in entry


@pytest.mark.parametrize("name", list(ALL_SPECS))
def test_every_hook_has_an_example(name):
    """K3: each hook's docstring ends with ``Example::``: a ``@hookimpl``
    function named like the hook, taking only the hook's arguments (pluggy
    would refuse others), rendered into the reference."""
    func, _opts = ALL_SPECS[name]
    _text, example = split_example(func.__doc__)
    assert example, f"{name}: no Example:: block in its docstring"
    tree = ast.parse(example)
    impls = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
    assert len(impls) == 1, f"{name}: the example defines no function {name}()"
    impl = impls[0]
    assert any(
        (isinstance(d, ast.Name) and d.id == "hookimpl")
        or (isinstance(d, ast.Call) and getattr(d.func, "id", "") == "hookimpl")
        for d in impl.decorator_list
    ), f"{name}: the example is not marked @hookimpl"
    taken = [a.arg for a in impl.args.args]
    allowed = list(inspect.signature(func).parameters)
    assert set(taken) <= set(allowed), f"{name}: the example takes {taken}, the hook has {allowed}"
    assert f"```python\n{example}\n```" in _entries()[name]


def test_the_example_check_fails_without_an_example():
    """The example check itself: a docstring without ``Example::`` has none."""
    assert split_example("Text.\n\n:param x: a thing.") == ("Text.\n\n:param x: a thing.", None)
    assert (
        split_example("Text.\n\nExample::\n\n    @hookimpl\n    def h(x):\n        return x\n")[1]
        == "@hookimpl\ndef h(x):\n    return x"
    )


@functools.cache
def _signal_sends() -> list[tuple[str, str, set[str]]]:
    """(file:line, signal name, keyword names) for every signal queued or
    sent in the kernel and the plugins: ``signals.queue(signals.X, sender,
    k=...)`` directly, or through an order transition (its extra keywords go
    to the target status's signal)."""
    from jishi import signals
    from jishi.orders.state import _SIGNAL, TRANSITIONS

    attr_to_name = {attr: name for attr, name, _sig, _args in signal_specs()}
    transition_params = {"actor", "actor_kind", "note", "set_paid_at", "set_columns"}
    found = []
    files = [
        p
        for base in (ROOT / "core" / "jishi", ROOT / "plugins")
        for p in base.rglob("*.py")
        if "/tests/" not in str(p) and "egg-info" not in str(p)
    ]
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            fname = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            keywords = {k.arg for k in node.keywords if k.arg}
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if (
                fname in ("queue", "send")
                and node.args
                and isinstance(node.args[0], ast.Attribute)
                and node.args[0].attr in attr_to_name
            ):
                found.append((where, attr_to_name[node.args[0].attr], keywords))
            elif (
                fname == "transition"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value in TRANSITIONS
            ):
                signal = _SIGNAL.get(TRANSITIONS[node.args[1].value].target)
                found.append((where, signal.name if signal else "", keywords - transition_params))
    assert signals.ALL
    return found


@pytest.mark.parametrize("attr,name", [(a, n) for a, n, _s, _g in signal_specs()])
def test_every_signal_is_documented(attr, name):
    """K3: each signal has its entry in the reference, with what happened,
    its sender and each keyword argument; no send passes an undocumented
    keyword, and each documented keyword is passed somewhere."""
    from jishi import signals

    args = signals.ARGUMENTS[name]
    entry = _entries()[name]
    assert f"`jishi.signals.{attr}`" in entry and args.sender and "Sender:" in entry
    for key in args.kwargs:
        assert f"- `{key}`:" in entry
    sends = [(where, kw) for where, sig, kw in _signal_sends() if sig == name]
    assert sends, f"{name} is never sent"
    for where, kw in sends:
        assert kw <= set(args.kwargs), f"{where}: {name} sent with undocumented {sorted(kw - set(args.kwargs))}"
    passed = set().union(*(kw for _w, kw in sends))
    assert set(args.kwargs) <= passed, f"{name}: documented {sorted(set(args.kwargs) - passed)} never passed"


def test_transitions_without_a_signal_take_no_signal_arguments():
    """K3: an order transition whose target has no signal gets no extra keywords."""
    bad = [(where, kw) for where, sig, kw in _signal_sends() if not sig and kw]
    assert not bad, bad


def test_every_hook_has_a_test():
    """K3: every hook has a test function named ``test_hook_<name>``."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in TESTS.rglob("test_*.py"))
    defined = set(re.findall(r"^\s*def (test_hook_\w+)\(", source, flags=re.MULTILINE))
    missing = [n for n in ALL_SPECS if f"test_hook_{n}" not in defined]
    assert not missing, f"hooks without a test_hook_<name>: {missing}"
