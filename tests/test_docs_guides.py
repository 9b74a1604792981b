"""K3: the plugin guides name what really exists: every ``/api/v1/...``
endpoint they cite is a route of an app with the first-party plugins and the
example enabled, and every hook they cite as ``name(args)`` has exactly those
arguments (a stale signature such as ``line_price_rules(line, user)`` fails)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from jishi.cli.docs import FIRST_PARTY_PLUGINS, hook_specs, plugin_hook_specs

ROOT = Path(__file__).resolve().parents[1]
GUIDES = [ROOT / "docs" / "writing-plugins.md", ROOT / "docs" / "writing-a-marketing-plugin.md"]
SPECS = {name: list(inspect.signature(f).parameters) for name, f, _o in hook_specs()} | {
    name: list(inspect.signature(f).parameters) for _p, name, f, _o in plugin_hook_specs()
}


@pytest.fixture
def app_plugins():
    return [*FIRST_PARTY_PLUGINS, "buy_n_get_m"]


def _text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in GUIDES)


def test_guides_cite_real_endpoints(app):
    """Every ``/api/v1/...`` path in the guides starts a real route."""
    rules = [r.rule for r in app.url_map.iter_rules()]
    cited = set(re.findall(r"/api/v1/[a-z0-9_/-]*[a-z0-9_-]", _text()))
    assert "/api/v1/checkout/place" in cited and "/api/v1/checkout/preview" in cited
    unknown = sorted(path for path in cited if not any(rule == path or rule.startswith(path + "/") for rule in rules))
    assert not unknown, f"the guides cite endpoints that do not exist: {unknown}"


def test_guides_cite_hooks_with_their_arguments():
    """A hook cited in prose as ``name(args)`` names exactly its arguments."""
    cited = re.findall(r"`(\w+)\(([^)`]*)\)`", _text())
    wrong = sorted(
        {
            f"{name}({args})"
            for name, args in cited
            if name in SPECS and [a.strip() for a in args.split(",") if a.strip()] != SPECS[name]
        }
    )
    assert ("line_price_rules", "line, user, options") in cited
    assert not wrong, f"hooks cited with the wrong arguments: {wrong}"


def test_guides_take_the_seller_scope_with_via():
    """The guides show ``current_scope(via=...)`` (console pages and API differ)."""
    text = _text()
    assert 'current_scope(via="console")' in text and 'current_scope(via="api")' in text
