"""K3/PR-DZ (issue 18): ``page_block_types``: a third-party plugin's block
type joins the designer's palette, its settings are validated against its
schema, its ``resolve`` is called ONCE per page for all its blocks, and its
template renders each block (the API returns its data)."""

from __future__ import annotations

from pathlib import Path

import pytest
from jishi.hookspecs import BlockField, BlockType, hookimpl
from jishi_designer import service
from jishi_designer.schema import DesignError

from .helpers import published

TEMPLATES = Path(__file__).parent / "templates"


class Badges:
    def __init__(self):
        self.calls = []

    @hookimpl
    def template_dirs(self):
        return [str(TEMPLATES)]

    @hookimpl
    def page_block_types(self):
        def resolve(blocks, context):
            self.calls.append([b.id for b in blocks])
            return [{"items": [f"徽章{i}" for i in b.settings.get("badges", [])]} for b in blocks]

        fields = (
            BlockField("title", "Title", required=True),
            BlockField("badges", "Badges", kind="ids", max_items=3),
        )
        return [BlockType("badges.wall", "Badge wall", fields, resolve=resolve, template="badges/wall.html")]


_badges = Badges()


@pytest.mark.parametrize("extra_plugins", [[_badges]], ids=["plugin"])
def test_hook_page_block_types(app, client, api):
    """K3/PR-DZ: a plugin's block type is usable, validated, batched and rendered."""
    assert "badges.wall" in service.block_types()
    with pytest.raises(DesignError) as err:
        published([("badges.wall", {"title": "t", "badges": [1, 2, 3, 4]})], slug="refused")
    assert err.value.field == "settings.badges"
    published([("badges.wall", {"title": "a", "badges": [1]}), ("badges.wall", {"title": "b", "badges": [2, 3]})])
    _badges.calls.clear()
    html = client.get("/").get_data(as_text=True)
    assert "<li>徽章1</li>" in html and "<li>徽章3</li>" in html
    assert len(_badges.calls) == 1 and len(_badges.calls[0]) == 2  # one call for both blocks
    body = api.get("/pages/home").json
    assert [b["data"]["items"] for b in body["blocks"]] == [["徽章1"], ["徽章2", "徽章3"]]
