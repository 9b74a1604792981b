"""PR-DZ (issue 18, 推广 seed 002 #3): promotion slots: the platform's slots
and their entries (image, validated link, schedule, target, sort), the
``designer.ad_slot`` block showing the live entries, recommended merchants
and products as slot kinds, impressions and clicks counted through a buffer
into daily rows, the click redirect ``/p/ad/<id>`` (never an open
redirect) and the per-slot report."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi.db import commit, utcnow
from jishi_designer import promo
from jishi_designer.schema import DesignError

from .helpers import published


@pytest.fixture(autouse=True)
def empty_buffer(app):
    """The in-process buffer lives as long as the app: start each test empty."""
    with app.app_context():
        promo._drain()


def _slot(code="home-top", kind="ads"):
    slot = promo.create_slot(code, "首页顶部", kind)
    commit()
    return slot


def _entry(slot, **kw):
    ad = promo.add_entry(slot, kw)
    commit()
    return ad


def test_slot_and_entry_validation_names_the_field(app, factory):
    """PR-DZ: bad slot codes, kinds, links, schedules are refused naming the
    field; nothing is written."""
    with pytest.raises(DesignError) as err:
        promo.create_slot("Bad Code", "x")
    assert err.value.field == "code"
    with pytest.raises(DesignError) as err:
        promo.create_slot("ok", "x", "banners")
    assert err.value.field == "kind"
    slot = _slot()
    with pytest.raises(DesignError) as err:
        promo.create_slot("home-top", "again")
    assert err.value.field == "code"
    with pytest.raises(DesignError) as err:
        promo.add_entry(slot, {"image": "/a.png", "link": {"kind": "url", "value": "javascript:alert(1)"}})
    assert err.value.field == "entry.link.value"
    with pytest.raises(DesignError) as err:
        promo.add_entry(slot, {"image": "/a.png", "link": {"kind": "product", "value": "999999"}})
    assert err.value.field == "entry.link.value"
    with pytest.raises(DesignError) as err:
        promo.add_entry(slot, {"title": "no picture"})
    assert err.value.field == "entry.image"
    now = utcnow()
    with pytest.raises(DesignError) as err:
        promo.add_entry(slot, {"image": "/a.png", "starts_at": now.isoformat(), "ends_at": now.isoformat()})
    assert err.value.field == "entry.ends_at"
    with pytest.raises(DesignError) as err:
        promo.add_entry(slot, {"image": "/a.png", "target": "vip"})
    assert err.value.field == "entry.target"


def test_block_shows_live_entries_sorted_and_targeted(client, api, factory, login):
    """PR-DZ: the ad-slot block shows entries live now (not before start, not
    after end), by sort; an entry for new buyers is hidden from a buyer with
    a paid order; a disabled slot shows nothing."""
    from jishi.testing import flows

    p = factory.product(name="推广商品")
    slot = _slot()
    now = utcnow()
    second = _entry(slot, title="第二", image="/b.png", sort=2, link={"kind": "product", "value": str(p.id)})
    first = _entry(slot, title="第一", image="/a.png", sort=1)
    _entry(slot, title="未开始", image="/c.png", starts_at=(now + timedelta(hours=1)).isoformat())
    _entry(slot, title="已结束", image="/d.png", ends_at=(now - timedelta(minutes=1)).isoformat())
    newbie = _entry(slot, title="新人专享", image="/e.png", sort=3, target="new")
    published([("designer.ad_slot", {"slot": "home-top", "title": "推荐"})])
    html = client.get("/").get_data(as_text=True)
    assert "推荐" in html and html.index("第一") < html.index("第二") < html.index("新人专享")
    assert "未开始" not in html and "已结束" not in html and f"/p/ad/{second.id}" in html
    data = api.get("/pages/home").json["blocks"][0]["data"]
    assert [i["id"] for i in data["items"]] == [first.id, second.id, newbie.id]
    buyer = factory.user()
    sku = factory.product(price=100).skus[0]
    [payment] = flows.place(buyer, [(sku, 1)], factory.address(buyer))
    flows.pay(payment)
    data = api.get("/pages/home", user=buyer).json["blocks"][0]["data"]
    assert [i["id"] for i in data["items"]] == [first.id, second.id]
    slot.enabled = False
    commit()
    assert api.get("/pages/home").json["blocks"][0]["data"]["items"] == []


def test_impressions_and_clicks_counted_in_batches_and_reported(client, api, factory):
    """PR-DZ: showing the page counts an impression of each shown entry in the
    buffer, not the database; the flush job writes them as daily rows; a
    click counts and redirects to the entry's own link; the report gives
    impressions, clicks and CTR per day."""
    from jishi.db import db
    from jishi_designer.models import PromoStat
    from sqlalchemy import func, select

    p = factory.product(name="推广商品")
    slot = _slot()
    ad = _entry(slot, image="/a.png", link={"kind": "product", "value": str(p.id)})
    published([("designer.ad_slot", {"slot": "home-top"})])
    for _i in range(4):
        assert client.get("/").status_code == 200
    assert db.session.scalar(select(func.count()).select_from(PromoStat)) == 0  # buffered
    resp = client.get(f"/p/ad/{ad.id}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/product/{p.id}")
    assert client.get(f"/p/ad/{ad.id}?next=https://evil.example").headers["Location"].endswith(f"/product/{p.id}")
    assert client.get("/", headers={"User-Agent": "Googlebot/2.1"}).status_code == 200  # a bot counts nothing
    assert promo.flush() == "1 rows"
    [row] = promo.report(slot)
    assert (row["impressions"], row["clicks"], row["ctr"]) == (4, 2, 50.0)
    client.get("/")
    promo.flush()
    assert promo.report(slot)[0]["impressions"] == 5
    assert promo.flush() == "nothing to write"


def test_click_on_missing_or_linkless_entry_is_404(client, factory):
    """PR-DZ: no such entry, a disabled one or one without a link: 404, no redirect."""
    slot = _slot()
    bare = _entry(slot, image="/a.png")
    off = _entry(slot, image="/a.png", link={"kind": "url", "value": "https://example.com/x"})
    off.enabled = False
    commit()
    assert client.get("/p/ad/999999").status_code == 404
    assert client.get(f"/p/ad/{bare.id}").status_code == 404
    assert client.get(f"/p/ad/{off.id}").status_code == 404


def test_recommended_products_slot(api, factory):
    """PR-DZ: a products slot lists recommended products with current prices;
    one taken off the shelf is skipped."""
    shown = factory.product(name="推荐甲", price=1200)
    hidden = factory.product(name="推荐乙")
    slot = _slot("rec-products", "products")
    a = _entry(slot, ref_id=shown.id, sort=1)
    b = _entry(slot, ref_id=hidden.id, sort=2)
    hidden.on_shelf = False
    commit()
    published([("designer.ad_slot", {"slot": "rec-products", "style": "list"})])
    data = api.get("/pages/home").json["blocks"][0]["data"]
    assert [i["id"] for i in data["items"]] == [a.id]
    assert data["items"][0]["product"]["price"] == 1200 and data["items"][0]["title"] == "推荐甲"
    assert data["skipped"] == [{"id": b.id, "reason": "unlisted"}]


@pytest.mark.jishi_plugins("multistore", "designer")
def test_recommended_merchants_slot(client, api, factory, ms):
    """PR-DZ (商家推荐): a merchants slot lists recommended shops by name and
    logo; a click opens the shop."""
    shop = ms.merchant("推荐茶庄")
    slot = _slot("rec-shops", "merchants")
    ad = _entry(slot, ref_id=shop.id)
    published([("designer.ad_slot", {"slot": "rec-shops"})])
    [item] = api.get("/pages/home").json["blocks"][0]["data"]["items"]
    assert item["merchant_id"] == shop.id and item["name"] == "推荐茶庄"
    assert "推荐茶庄" in client.get("/").get_data(as_text=True)
    resp = client.get(f"/p/ad/{ad.id}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/shops/{shop.id}")


def test_console_creates_slot_and_entry_and_shows_report(client, factory, login):
    """PR-DZ: platform staff create a slot and an entry in the console (bad
    input answers the page with 422 naming the field, nothing written),
    turn it off and read the per-day report."""
    from jishi.db import db
    from jishi.testing import principals
    from jishi_designer.models import PromoAd, PromoSlot, PromoStat
    from sqlalchemy import func, select

    staff = principals.standard(factory).users["platform"]
    login(staff)
    resp = client.post("/seller/designer/promo", data={"code": "Bad!", "name": "首页"})
    assert resp.status_code == 422 and db.session.scalar(select(func.count()).select_from(PromoSlot)) == 0
    resp = client.post("/seller/designer/promo", data={"code": "home-top", "name": "首页顶部", "kind": "ads"})
    assert resp.status_code == 302
    slot = db.session.scalars(select(PromoSlot)).one()
    assert "home-top" in client.get("/seller/designer/promo").get_data(as_text=True)
    bad = {"image": "/a.png", "link_kind": "url", "link_value": "javascript:x"}
    resp = client.post(f"/seller/designer/promo/{slot.id}/entries", data=bad)
    assert resp.status_code == 422 and db.session.scalar(select(func.count()).select_from(PromoAd)) == 0
    good = {
        "title": "大促",
        "image": "/a.png",
        "link_kind": "url",
        "link_value": "/search?q=tea",
        "sort": "1",
        "starts_at": "2026-01-01T08:00",
        "target": "new",
    }
    assert client.post(f"/seller/designer/promo/{slot.id}/entries", data=good).status_code == 302
    ad = db.session.scalars(select(PromoAd)).one()
    assert (ad.title, ad.target, ad.link) == ("大促", "new", {"kind": "url", "value": "/search?q=tea"})
    assert ad.starts_at is not None
    db.session.add(PromoStat(day="2026-01-02", ad_id=ad.id, impressions=8, clicks=2))
    db.session.commit()
    page = client.get(f"/seller/designer/promo/{slot.id}").get_data(as_text=True)
    assert "大促" in page and "/search?q=tea" in page
    assert promo.report(slot, today="2026-01-05") == [{"day": "2026-01-02", "impressions": 8, "clicks": 2, "ctr": 25.0}]
    client.post(f"/seller/designer/promo/{slot.id}/entries/{ad.id}/toggle")
    db.session.refresh(ad)
    assert ad.enabled is False


def _levels(*names):
    from jishi.accounts.external import save_member_level

    levels = [save_member_level(name, rank) for rank, name in enumerate(names, start=1)]
    commit()
    return levels


def test_member_level_target_shows_entries_to_those_levels_only(api, factory, queries):
    """PR-DZ (issue 18, targeting by member level): an entry for member levels
    is shown to buyers at one of those levels only (visitors and buyers
    without a level do not see it); the slot's entries are still read in two
    statements (the buyer's level is a column of the signed-in user)."""
    from jishi.accounts.external import set_member_level
    from jishi.db import db

    gold, silver, bronze = _levels("金卡", "银卡", "铜卡")
    slot = _slot()
    everyone = _entry(slot, title="大家", image="/a.png", sort=1)
    vip = _entry(slot, title="会员", image="/v.png", sort=2, target="levels", level_ids=f"{gold.id},{silver.id}")
    assert vip.level_ids == sorted([gold.id, silver.id])
    published([("designer.ad_slot", {"slot": "home-top"})])
    at_gold, at_bronze, plain = factory.user(), factory.user(), factory.user()
    set_member_level(at_gold, gold.id)
    set_member_level(at_bronze, bronze.id)
    commit()

    def shown(user=None):
        return [i["id"] for i in api.get("/pages/home", user=user).json["blocks"][0]["data"]["items"]]

    assert shown() == [everyone.id]
    assert shown(plain) == [everyone.id]
    assert shown(at_bronze) == [everyone.id]
    assert shown(at_gold) == [everyone.id, vip.id]
    set_member_level(at_bronze, silver.id)
    commit()
    assert shown(at_bronze) == [everyone.id, vip.id]
    for user in (None, plain, at_gold):
        if user is not None:
            db.session.refresh(user)  # the signed-in user is loaded before the page
        with queries() as q:
            found = promo.current(["home-top", "other"], user)
        assert q.count == 2, user
    assert [a.id for a in found["home-top"][1]] == [everyone.id, vip.id]


def test_member_level_target_validation(app, factory):
    """PR-DZ: a levels target needs at least one existing member level, else a
    DesignError naming ``entry.level_ids``; nothing is written."""
    from jishi.db import db
    from jishi_designer.models import PromoAd
    from sqlalchemy import func, select

    (gold,) = _levels("金卡")
    slot = _slot()
    for bad in ("", "999999", f"{gold.id},abc"):
        with pytest.raises(DesignError) as err:
            promo.add_entry(slot, {"image": "/a.png", "target": "levels", "level_ids": bad})
        assert err.value.field == "entry.level_ids"
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(PromoAd)) == 0


def test_console_edits_and_deletes_an_entry(client, api, factory, login):
    """PR-DZ (issue 18): platform staff edit an entry (validated like a new
    one: 422 naming the field, nothing changed) and delete it; a deleted
    entry is soft-deleted: gone from the page, the console list and its click
    address, while its stats rows stay and still count in the report."""
    from jishi.db import db
    from jishi.testing import principals
    from jishi_designer.models import PromoAd, PromoStat
    from sqlalchemy import select

    (gold,) = _levels("金卡")
    staff = principals.standard(factory).users["platform"]
    p = factory.product(name="编辑商品")
    slot = _slot()
    ad = _entry(slot, title="旧标题", image="/a.png", link={"kind": "url", "value": "/search?q=old"})
    published([("designer.ad_slot", {"slot": "home-top"})])
    login(staff)
    url = f"/seller/designer/promo/{slot.id}/entries/{ad.id}"
    form = client.get(url)
    assert form.status_code == 200 and "旧标题" in form.get_data(as_text=True)
    bad = {"title": "新标题", "image": "/b.png", "link_kind": "url", "link_value": "javascript:alert(1)"}
    resp = client.post(url, data=bad)
    assert resp.status_code == 422
    db.session.expire_all()
    assert db.session.get(PromoAd, ad.id).title == "旧标题"
    resp = client.post(url, data={**bad, "link_value": "/x", "target": "levels"}, headers={"Accept-Language": "zh-CN"})
    assert resp.status_code == 422 and "请至少选择一个会员等级" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(PromoAd, ad.id).target == "all"
    good = {
        "title": "新标题",
        "image": "/b.png",
        "link_kind": "product",
        "link_value": str(p.id),
        "target": "levels",
        "level_ids": [str(gold.id)],
        "sort": "5",
        "starts_at": "2026-01-01T08:00",
    }
    assert client.post(url, data=good).status_code == 302
    db.session.expire_all()
    edited = db.session.get(PromoAd, ad.id)
    assert (edited.title, edited.image, edited.link, edited.target, edited.level_ids, edited.sort) == (
        "新标题",
        "/b.png",
        {"kind": "product", "value": str(p.id)},
        "levels",
        [gold.id],
        5,
    )
    assert f'value="{gold.id}" checked' in client.get(url).get_data(as_text=True)
    edited.target, edited.level_ids = "all", None
    db.session.add(PromoStat(day="2026-01-02", ad_id=ad.id, impressions=10, clicks=1))
    db.session.commit()
    assert [i["id"] for i in api.get("/pages/home").json["blocks"][0]["data"]["items"]] == [ad.id]
    assert client.post(f"{url}/delete").status_code == 302
    db.session.expire_all()
    gone = db.session.get(PromoAd, ad.id)
    assert gone is not None and gone.deleted_at is not None and gone.enabled is False
    assert api.get("/pages/home").json["blocks"][0]["data"]["items"] == []
    assert client.get(f"/p/ad/{ad.id}").status_code == 404
    assert f'data-entry="{ad.id}"' not in client.get(f"/seller/designer/promo/{slot.id}").get_data(as_text=True)
    assert client.get(url).status_code == 404 and client.post(f"{url}/delete").status_code == 404
    assert client.post(f"{url}/toggle").status_code == 404
    assert db.session.scalars(select(PromoStat).where(PromoStat.ad_id == ad.id)).one().impressions == 10
    assert promo.report(slot, today="2026-01-05") == [
        {"day": "2026-01-02", "impressions": 10, "clicks": 1, "ctr": 10.0}
    ]
