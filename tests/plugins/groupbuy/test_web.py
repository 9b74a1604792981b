"""GB on the storefront and consoles: product page box, buy with group,
group checkout, share page, order page; the activities console."""

from __future__ import annotations

import re

import pytest
from jishi.db import db
from jishi.orders.models import Order
from jishi_groupbuy import service
from jishi_groupbuy.models import Activity

from . import helpers as gb


def test_product_page_shows_the_group_buy_and_open_groups(client, factory, login):
    """GB: the product page shows the group price, a "Buy with group" button and the open groups."""
    p = factory.product(price=1000, stock=10)
    activity = gb.activity(p, size=2, price=750)
    leader = gb.buyer(factory)
    first = gb.place(leader, p.skus[0].id, activity.id)
    gb.pay(first)
    html = client.get(f"/product/{p.id}").get_data(as_text=True)
    assert "groupbuy-box" in html and "7.50" in html
    assert gb.group_of(first).token in html
    login(gb.buyer(factory))
    html = client.get(f"/product/{p.id}").get_data(as_text=True)
    assert "data-groupbuy-start" in html


def test_buy_with_group_on_the_web_opens_then_joins(client, factory, login):
    """GB: web flow: "Buy with group" -> group checkout -> pay page; the share page's join places a member order."""
    p = factory.product(price=1000, stock=10)
    activity = gb.activity(p, size=2, price=750)
    a, b = gb.buyer(factory), gb.buyer(factory)
    login(a)
    resp = client.post("/groupbuy/buy", data={"sku_id": p.skus[0].id, "quantity": 1, "activity_id": activity.id})
    assert resp.status_code == 302 and "/groupbuy/checkout" in resp.headers["Location"]
    page = client.get(resp.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "7.50" in html and "data-groupbuy-place" in html
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
    resp = client.post(
        "/groupbuy/checkout",
        data={
            "sku_id": p.skus[0].id,
            "quantity": 1,
            "activity_id": activity.id,
            "address_id": gb.address_id(a),
            "idempotency_key": key,
            "action": "place",
        },
    )
    assert resp.status_code == 302 and "/pay/" in resp.headers["Location"], resp.headers.get("Location")
    first = db.session.execute(db.select(Order).where(Order.user_id == a.id)).scalar_one()
    assert first.goods_amount == 750
    gb.pay(first)
    token = gb.group_of(first).token
    login(b)
    html = client.get(f"/groupbuy/groups/{token}").get_data(as_text=True)
    assert "data-groupbuy-join" in html and f"/groupbuy/groups/{token}" in html
    resp = client.post(
        "/groupbuy/buy", data={"sku_id": p.skus[0].id, "quantity": 1, "activity_id": activity.id, "group_token": token}
    )
    loc = resp.headers["Location"]
    assert "group_token=" in loc
    html = client.get(loc).get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
    resp = client.post(
        "/groupbuy/checkout",
        data={
            "sku_id": p.skus[0].id,
            "quantity": 1,
            "activity_id": activity.id,
            "group_token": token,
            "address_id": gb.address_id(b),
            "idempotency_key": key,
            "action": "place",
        },
    )
    assert "/pay/" in resp.headers["Location"]
    second = db.session.execute(db.select(Order).where(Order.user_id == b.id)).scalar_one()
    gb.pay(second)
    assert gb.group_of(first).state == service.SUCCEEDED
    html = client.get(f"/orders/{second.id}").get_data(as_text=True)
    assert "groupbuy-order" in html


def test_group_page_of_unknown_token_is_404(client):
    """GB: an unknown share token is a 404 page."""
    assert client.get("/groupbuy/groups/nope").status_code == 404


def test_console_creates_an_activity(client, factory, login):
    """GB: the platform console creates an activity with prices in yuan and a time limit in hours."""
    p = factory.product(price=1000)
    admin = factory.admin()
    login(admin)
    assert client.get("/seller/groupbuy/activities").status_code == 200
    assert client.get(f"/seller/groupbuy/activities/new?product_id={p.id}").status_code == 200
    resp = client.post(
        "/seller/groupbuy/activities/new",
        data={
            "action": "save",
            "product_id": p.id,
            "title": "控制台团",
            "group_size": "3",
            "time_limit": "2",
            "time_unit": "hours",
            "per_user_limit": "1",
            "starts_at": "2030-01-01T10:00",
            "ends_at": "2030-01-02T10:00",
            "enabled": "1",
            f"price-{p.skus[0].id}": "8.80",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    a = db.session.execute(db.select(Activity)).scalar_one()
    assert (a.group_size, a.time_limit_minutes, a.per_user_limit, a.skus[0].group_price) == (3, 120, 1, 880)
    assert a.starts_at.hour == 2  # 10:00 in Asia/Shanghai is 02:00 UTC
    # a bad price is refused, naming it, and nothing changes
    resp = client.post(
        f"/seller/groupbuy/activities/{a.id}",
        data={
            "title": "控制台团",
            "group_size": "3",
            "time_limit": "2",
            "time_unit": "hours",
            "per_user_limit": "1",
            "starts_at": "2030-01-01T10:00",
            "ends_at": "2030-01-02T10:00",
            "enabled": "1",
            f"price-{p.skus[0].id}": "12.345",
        },
    )
    assert resp.status_code == 200
    db.session.expire_all()
    assert db.session.get(Activity, a.id).skus[0].group_price == 880


def test_demo_has_a_running_activity_and_an_open_group(app):
    """GB: the demo creates a running activity on a demo product and one open group paid by the demo buyer."""
    from jishi.demo import load_demo
    from jishi_groupbuy.models import Group

    with app.test_request_context("/"):
        load_demo(history=False)
    activity = db.session.execute(db.select(Activity)).scalar_one()
    assert service.is_running(activity)
    group = db.session.execute(db.select(Group)).scalar_one()
    assert group.state == service.FORMING and group.paid == 1


@pytest.mark.jishi_plugins("multistore", "groupbuy")
def test_demo_with_multistore(app):
    """GB: the demo also builds with multistore on (merchants first, then the group buy)."""
    from jishi.demo import load_demo
    from jishi_groupbuy.models import Group

    with app.test_request_context("/"):
        load_demo(history=False)
    assert db.session.execute(db.select(Group)).scalar_one().state == service.FORMING


def test_console_activity_list_counts_groups_in_one_statement(client, factory, login, queries):
    """GB/perf: the console's activity list reads every activity's group counts in one grouped statement, however many activities."""
    admin = factory.admin()
    login(admin)

    def statements() -> int:
        client.get("/seller/groupbuy/activities")  # a first request may read what a process caches (settings)
        with queries() as q:
            assert client.get("/seller/groupbuy/activities").status_code == 200
        return q.count

    gb.activity(factory.product(price=1000))
    one = statements()
    for _ in range(4):
        gb.activity(factory.product(price=1000))
    assert statements() == one
