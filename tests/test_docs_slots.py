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
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", (ROOT / "docs" / "themes.md").read_text(encoding="utf-8"), re.MULTILINE))
    assert used, "no slots found: the template folders moved?"
    assert used - documented == set(), f"slots missing from docs/themes.md: {sorted(used - documented)}"
