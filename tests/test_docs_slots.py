"""K3/K12: every template slot a page calls is documented in docs/themes.md
with its context (plugin authors read that table)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_slot_is_documented():
    used = set()
    for folder in (ROOT / "core" / "jishi" / "templates", ROOT / "core" / "jishi" / "themes_builtin"):
        for path in folder.rglob("*.html"):
            used |= set(re.findall(r'slot\("([a-z_]+)"', path.read_text(encoding="utf-8")))
    documented = set(
        re.findall(r"^\| `([a-z_]+)` \|", (ROOT / "docs" / "themes.md").read_text(encoding="utf-8"), re.MULTILINE)
    )
    assert used, "no slots found: the template folders moved?"
    assert used - documented == set(), f"slots missing from docs/themes.md: {sorted(used - documented)}"


def test_every_plugin_slot_is_declared_and_in_the_reference():
    """K3: a slot a first-party plugin's page calls is declared in its template
    (``{# slot NAME: where; context: names #}``, with a place and a context)
    and listed in the generated hook reference; nothing declared is unused."""
    from jishi.cli.docs import HOOKS_DOC, plugin_slot_calls, plugin_slots

    calls = plugin_slot_calls()
    declared = {(plugin, slot) for plugin, slot, _where, _ctx in plugin_slots()}
    assert ("multistore", "multistore_shop_top") in calls, "no plugin slots found: the templates moved?"
    assert calls - declared == set(), f"plugin slots without a declaration: {sorted(calls - declared)}"
    assert declared - calls == set(), f"declared plugin slots no template calls: {sorted(declared - calls)}"
    reference = HOOKS_DOC.read_text(encoding="utf-8")
    for plugin, slot, where, context in plugin_slots():
        assert where and context, (plugin, slot)
        assert f"| `{slot}` | `{plugin}` |" in reference
    kernel = set(
        re.findall(r"^\| `([a-z_]+)` \|", (ROOT / "docs" / "themes.md").read_text(encoding="utf-8"), re.MULTILINE)
    )
    assert not {slot for _p, slot in calls} & kernel, "a plugin slot reuses a kernel slot's name"
