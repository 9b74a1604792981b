"""footprints (浏览足迹): the products a signed-in buyer opened come back
under 我的足迹 and ``GET /api/v1/footprints`` (K14), newest first, through
the kernel's visit tracking (K16, hook ``products_viewed``); one row per
buyer and product, never moved back, at most 200 a buyer."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from jishi.db import db, utcnow
from jishi.hookspecs import ProductView
from jishi.testing import flush_visits
from jishi.testing.principals import sign_in_form
from jishi_footprints import service
from jishi_footprints.models import Footprint
from sqlalchemy import func, select

UA = {"User-Agent": "Mozilla/5.0 (iPhone) MicroMessenger/8.0"}


def _rows(user_id: int) -> list[tuple[int, datetime]]:
    db.session.rollback()
    return [
        (r.product_id, r.viewed_at)
        for r in db.session.execute(
            select(Footprint)
            .where(Footprint.user_id == user_id)
            .order_by(Footprint.viewed_at.desc(), Footprint.id.desc())
        ).scalars()
    ]


def test_what_a_buyer_opens_becomes_a_footprint(app, client, api, factory):
    """K16: the product page and the product detail, signed in, through the
    tracking's batch; opened again, the footprint moves to the top; a
    visitor leaves none."""
    buyer = factory.user()
    tea, cup, pot = factory.product(name="龙井", price=5000), factory.product(name="茶杯"), factory.product(name="茶壶")
    client.get(f"/product/{pot.id}", headers=UA)  # a visitor
    sign_in_form(client, buyer)
    assert client.get(f"/product/{tea.id}", headers=UA).status_code == 200
    assert api.get(f"/products/{cup.id}", user=buyer, headers=UA).status_code == 200
    assert api.get("/footprints", user=buyer).json["total"] == 0  # not yet: views are written in batches
    flush_visits(app)
    body = api.get("/footprints", user=buyer).json
    assert {i["product_id"] for i in body["items"]} == {tea.id, cup.id} and body["total"] == 2
    item = next(i for i in body["items"] if i["product_id"] == tea.id)
    assert (item["name"], item["price"], item["available"]) == ("龙井", 5000, True)
    assert item["viewed_at"].endswith("+00:00")
    service.record([ProductView(buyer.id, tea.id, utcnow() + timedelta(minutes=1))])  # back to the tea
    assert api.get("/footprints", user=buyer).json["items"][0]["product_id"] == tea.id


def test_record_keeps_the_latest_and_skips_what_is_gone(app, factory):
    buyer = factory.user()
    tea, cup = factory.product(), factory.product()
    t0 = datetime(2026, 12, 1, 8, 0, 0)
    batch = [
        ProductView(buyer.id, tea.id, t0 + timedelta(minutes=5)),
        ProductView(buyer.id, tea.id, t0),  # older, same batch
        ProductView(buyer.id, cup.id, t0 + timedelta(minutes=1, microseconds=900)),
        ProductView(buyer.id, 999999, t0),  # no such product
        ProductView(888888, tea.id, t0),  # no such buyer
    ]
    assert service.record(batch) == 2
    assert _rows(buyer.id) == [(tea.id, t0 + timedelta(minutes=5)), (cup.id, t0 + timedelta(minutes=1))]
    assert service.record([ProductView(buyer.id, tea.id, t0 - timedelta(days=1))]) == 1  # a late batch, older
    assert _rows(buyer.id)[0] == (tea.id, t0 + timedelta(minutes=5))  # never moved back
    assert service.record([]) == 0


def test_at_most_200_a_buyer_the_oldest_go(app, factory):
    buyer, other = factory.user(), factory.user()
    products = [factory.product(name=f"商品{i}").id for i in range(service.MAX_FOOTPRINTS + 5)]
    t0 = datetime(2026, 12, 1, 8, 0, 0)
    service.record([ProductView(other.id, products[0], t0)])
    service.record([ProductView(buyer.id, pid, t0 + timedelta(seconds=i)) for i, pid in enumerate(products)])
    rows = _rows(buyer.id)
    assert len(rows) == service.MAX_FOOTPRINTS and rows[-1][0] == products[5] and rows[0][0] == products[-1]
    assert len(_rows(other.id)) == 1  # another buyer's untouched


def test_pages_of_the_list(api, factory):
    buyer = factory.user()
    ids = [factory.product().id for _ in range(5)]
    t0 = datetime(2026, 12, 1, 8, 0, 0)
    service.record([ProductView(buyer.id, pid, t0 + timedelta(seconds=i // 2)) for i, pid in enumerate(ids)])  # ties
    seen, before = [], None
    while True:
        body = api.get("/footprints?limit=2" + (f"&before={before}" if before else ""), user=buyer).json
        seen += [i["product_id"] for i in body["items"]]
        before = body["next_before"]
        if before is None:
            break
    assert seen == [ids[4], ids[3], ids[2], ids[1], ids[0]]
    for bad in ("x", "1.2.3", "-5.1", "99999999999999.1", "1.99999999999"):
        r = api.get(f"/footprints?before={bad}", user=buyer)
        assert r.status_code == 422 and r.json["field"] == "before", (bad, r.json)


def test_forget_one_and_all_only_one_s_own(api, factory):
    buyer, other = factory.user(), factory.user()
    tea, cup = factory.product(), factory.product()
    t0 = datetime(2026, 12, 1, 8, 0, 0)
    service.record([ProductView(u.id, p.id, t0) for u in (buyer, other) for p in (tea, cup)])
    assert api.delete(f"/footprints/products/{tea.id}", user=buyer).status_code == 204
    assert api.delete(f"/footprints/products/{tea.id}", user=buyer).status_code == 204  # again: nothing to forget
    assert [i["product_id"] for i in api.get("/footprints", user=buyer).json["items"]] == [cup.id]
    assert api.delete("/footprints", user=buyer).status_code == 204
    assert api.get("/footprints", user=buyer).json == {"items": [], "next_before": None, "total": 0}
    assert api.get("/footprints", user=other).json["total"] == 2  # the principal's own only
    for pid in (0, 2**31):
        r = api.delete(f"/footprints/products/{pid}", user=buyer)
        assert r.status_code == 404, r.json


def test_signed_out_is_401(api, factory):
    tea = factory.product()
    assert api.get("/footprints").status_code == 401
    assert api.delete("/footprints").status_code == 401
    assert api.delete(f"/footprints/products/{tea.id}").status_code == 401


def test_an_unavailable_product_stays_listed_not_linked(client, api, factory):
    buyer = factory.user()
    gone = factory.product(name="下架茶")
    service.record([ProductView(buyer.id, gone.id, utcnow())])
    gone.on_shelf = False
    db.session.commit()
    assert api.get("/footprints", user=buyer).json["items"][0]["available"] is False
    sign_in_form(client, buyer)
    page = client.get("/footprints").get_data(as_text=True)
    assert "下架茶" in page and "已失效" in page and f'href="/product/{gone.id}"' not in page


def test_the_page_by_day_remove_and_clear(client, factory):
    buyer = factory.user()
    tea, cup = factory.product(name="龙井", price=5000), factory.product(name="茶杯")
    now = utcnow().replace(microsecond=0)
    service.record([ProductView(buyer.id, tea.id, now), ProductView(buyer.id, cup.id, now - timedelta(days=3))])
    sign_in_form(client, buyer)
    assert 'href="/footprints"' in client.get("/account").get_data(as_text=True)  # 我的足迹 on the account page
    page = client.get("/footprints").get_data(as_text=True)
    assert "我的足迹" in page and "今天" in page and "¥50.00" in page
    assert page.index("今天") < page.index("龙井") < page.index("茶杯")
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post(f"/footprints/products/{tea.id}/remove", data={"csrf_token": token})
    assert r.status_code == 302
    page = client.get("/footprints").get_data(as_text=True)
    assert "龙井" not in page and "茶杯" in page
    assert client.post("/footprints/clear", data={"csrf_token": token}).status_code == 302
    page = client.get("/footprints").get_data(as_text=True)
    assert "还没有足迹" in page and "data-footprints-clear" not in page
    assert client.get("/footprints?before=junk").status_code == 200  # a bad "more" link: the first page


@pytest.mark.parametrize("path", ["/footprints"])
def test_signed_out_page_asks_to_sign_in(client, path):
    r = client.get(path)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_demo_data(app, factory):
    from jishi_footprints import demo

    buyer = factory.user()
    products = [factory.product() for _ in range(6)]
    assert demo.demo_data({"buyer": buyer, "products": products}) == "the demo buyer opened 5 products"
    assert db.session.execute(select(func.count()).select_from(Footprint)).scalar() == 5


def test_through_the_redis_buffer(app, client, api, factory, monkeypatch):
    """K16: with JISHI_REDIS_URL a view waits in Redis as JSON (the buyer and
    the second with it) until a flush, e.g. the worker's flush_visits job."""
    from jishi.testing import redis_server_or_skip

    buyer, tea = factory.user(), factory.product(name="龙井")
    with redis_server_or_skip() as url:
        monkeypatch.setitem(app.config, "JISHI_REDIS_URL", url)
        sign_in_form(client, buyer)
        assert client.get(f"/product/{tea.id}", headers=UA).status_code == 200
        import json

        import redis
        from jishi.reports import tracking

        (raw,) = redis.Redis.from_url(url).lrange(tracking.REDIS_KEY, 0, -1)
        event = json.loads(raw)
        assert event[1:4] == ["product", tea.id, tea.seller_id or 0] and event[5] == buyer.id
        assert flush_visits(app) == 1
    assert [i["product_id"] for i in api.get("/footprints", user=buyer).json["items"]] == [tea.id]
