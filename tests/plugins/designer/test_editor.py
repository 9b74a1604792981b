"""PR-DZ (issue 18): the console editor without JavaScript: add a block,
fill its generated settings form (errors name the field, 422), reorder
with the up/down buttons, preview the draft, publish, history, rollback."""

from __future__ import annotations

import re

import pytest
from jishi.db import db
from jishi_designer import service
from jishi_designer.models import DesignPage

pytestmark = pytest.mark.usefixtures("app")


def test_editor_flow_without_javascript(client, factory, login):
    """PR-DZ: the whole edit → publish → rollback loop through plain forms."""
    login(factory.admin())
    listing = client.get("/seller/designer/")
    assert listing.status_code == 200
    home = service.home_page()
    edit = f"/seller/designer/{home.id}"
    # add a notice bar: lands on its settings form, generated from the schema
    r = client.post(f"{edit}/blocks", data={"type": "designer.notice"})
    assert r.status_code == 302 and "/blocks/" in r.headers["Location"]
    form_url = r.headers["Location"]
    page = client.get(form_url).get_data(as_text=True)
    assert 'name="text"' in page and 'name="link.kind"' in page and 'name="color"' in page
    # a bad link: 422 naming the field, nothing saved
    bad = client.post(form_url, data={"text": "公告", "link.kind": "url", "link.value": "javascript:x"})
    assert bad.status_code == 422 and "link.value" in bad.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(DesignPage, home.id).draft[0]["settings"].get("text") is None
    ok = client.post(form_url, data={"text": "公告一", "color": "#ffeecc", "link.kind": "", "link.value": ""})
    assert ok.status_code == 302
    # a banner with two slides (item rows), then move it up
    r = client.post(f"{edit}/blocks", data={"type": "designer.banner"})
    banner_url = r.headers["Location"]
    r = client.post(
        banner_url,
        data={
            "slides.0.image": "https://img.example/1.png",
            "slides.0.title": "一",
            "slides.1.image": "https://img.example/2.png",
            "slides.1.link.kind": "url",
            "slides.1.link.value": "/search",
            "slides.2.image": "",
            "interval": "4",
        },
    )
    assert r.status_code == 302
    db.session.expire_all()
    draft = db.session.get(DesignPage, home.id).draft
    assert [b["type"] for b in draft] == ["designer.notice", "designer.banner"]
    assert len(draft[1]["settings"]["slides"]) == 2 and draft[1]["settings"]["interval"] == 4
    banner_id = draft[1]["id"]
    r = client.post(f"{edit}/blocks/{banner_id}/move", data={"direction": "up"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(DesignPage, home.id).draft[0]["id"] == banner_id
    # drag and drop posts the same form with a target position
    client.post(f"{edit}/blocks/{banner_id}/move", data={"to": "1"})
    db.session.expire_all()
    assert db.session.get(DesignPage, home.id).draft[1]["id"] == banner_id
    # the editor lists the blocks with up/down buttons and two previews
    editor = client.get(edit).get_data(as_text=True)
    assert editor.count('value="up"') == 2 and 'id="dz-phone"' in editor and 'id="dz-desktop"' in editor
    preview = client.get(f"{edit}/preview").get_data(as_text=True)
    assert "公告一" in preview and "https://img.example/2.png" in preview
    # publish, change, publish, roll back to the first version
    assert client.post(f"{edit}/publish").status_code == 302
    client.post(f"{edit}/blocks/{banner_id}/delete")
    client.post(f"{edit}/publish")
    assert "img.example" not in client.get("/").get_data(as_text=True)
    history = client.get(f"{edit}/history").get_data(as_text=True)
    first_rev = min(int(x) for x in re.findall(rf"{edit}/rollback/(\d+)", history))
    assert client.post(f"{edit}/rollback/{first_rev}").status_code == 302
    assert "img.example/1.png" in client.get("/").get_data(as_text=True)


def test_publishing_an_incomplete_block_names_it(client, factory, login):
    """PR-DZ: a block added but never filled in (a required setting empty)
    stops the publish with a 422 naming the block and the field (the
    error's field: ``blocks.1.settings.html``)."""
    login(factory.admin())
    home = service.home_page()
    client.post(f"/seller/designer/{home.id}/blocks", data={"type": "designer.spacer"})
    client.post(f"/seller/designer/{home.id}/blocks", data={"type": "designer.richtext"})
    r = client.post(f"/seller/designer/{home.id}/publish")
    assert r.status_code == 422 and "第 2 个模块（富文本）：内容为必填项。" in r.get_data(as_text=True)
    assert service.live("home") is None


def test_schedule_form(client, factory, login):
    """PR-DZ: the schedule form takes a shop-time moment; a bad one is a 422
    naming ``at``."""
    login(factory.admin())
    home = service.home_page()
    client.post(f"/seller/designer/{home.id}/blocks", data={"type": "designer.spacer"})
    assert client.post(f"/seller/designer/{home.id}/schedule", data={"at": "soon"}).status_code == 422
    assert client.post(f"/seller/designer/{home.id}/schedule", data={"at": "2099-01-01 08:00"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(DesignPage, home.id).scheduled_at is not None
    client.post(f"/seller/designer/{home.id}/schedule/cancel")
    db.session.expire_all()
    assert db.session.get(DesignPage, home.id).scheduled_at is None


def test_custom_page_created_from_the_console(client, factory, login):
    """PR-DZ: platform staff create a custom page; a bad address is a 422 naming it."""
    login(factory.admin())
    bad = client.post("/seller/designer/new", data={"slug": "Bad!", "title": "x"})
    assert bad.status_code == 422 and "slug" in bad.get_data(as_text=True)
    ok = client.post("/seller/designer/new", data={"slug": "spring-sale", "title": "春促"})
    assert ok.status_code == 302
    assert db.session.scalar(db.select(DesignPage).where(DesignPage.slug == "spring-sale")).title == "春促"


@pytest.mark.jishi_plugins("designer", "flashsale", "groupbuy", "coupons", "multistore")
def test_every_block_type_has_a_working_form(client, factory, login):
    """PR-DZ: every block type of every plugin gets a settings form generated
    from its schema (one input per field), the editor and the preview
    render with all of them, and its defaults save as they are."""
    login(factory.admin())
    home = service.home_page()
    types = service.palette(None)
    assert {"designer.banner", "flashsale.strip", "groupbuy.strip", "coupons.coupons", "multistore.merchants"} <= {
        t.code for t in types
    }
    for bt in types:
        r = client.post(f"/seller/designer/{home.id}/blocks", data={"type": bt.code})
        assert r.status_code == 302, bt.code
        form = client.get(r.headers["Location"])
        html = form.get_data(as_text=True)
        assert form.status_code == 200, bt.code
        for f in bt.fields:
            name = f"{f.key}.0." if f.kind == "items" else (f"{f.key}.kind" if f.kind == "link" else f.key)
            assert f'name="{name}' in html, (bt.code, f.key)
    assert client.get(f"/seller/designer/{home.id}").status_code == 200
    assert client.get(f"/seller/designer/{home.id}/preview").status_code == 200
