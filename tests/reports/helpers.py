"""Helpers the report tests share (issue 19)."""

from __future__ import annotations

from jishi.db import db
from jishi.models import PageVisit
from jishi.reports.models import VisitorDay
from jishi.testing import flush_visits

UA = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) MicroMessenger/8.0"}


def counters() -> dict[tuple[str, int], int]:
    """page_visits as {(kind, ref_id): count} (every day). The test's
    transaction ends after reading too (outside a request SQLite starts it
    as a write: it would keep the visit writer out)."""
    db.session.rollback()
    out = {(v.kind, v.ref_id): v.count for v in db.session.execute(db.select(PageVisit)).scalars()}
    db.session.rollback()
    return out


def uniques() -> dict[tuple[str, int], set[str]]:
    """visitor_days as {(kind, ref_id): {visitor}} (every day)."""
    db.session.rollback()
    out: dict[tuple[str, int], set[str]] = {}
    for row in db.session.execute(db.select(VisitorDay)).scalars():
        out.setdefault((row.kind, row.ref_id), set()).add(row.visitor)
    return out


#: end the test's own transaction (SQLite's single writer), then write the visit buffer
flush = flush_visits


def place(api, client, buyer, addr, sku, qty, key, pay=True) -> dict:
    """Place (and pay, by the sandbox) one order through the API; its JSON."""
    from urllib.parse import urlparse

    r = api.post(
        "/checkout/place",
        user=buyer,
        json={"items": [{"sku_id": sku.id, "quantity": qty}], "address_id": addr.id},
        headers={"Idempotency-Key": key},
    )
    assert r.status_code == 201, r.json
    if pay:
        r2 = api.post(f"/payments/{r.json['payments'][0]['number']}/pay", user=buyer, json={"method": "sandbox"})
        client.post(urlparse(r2.json["redirect_url"]).path, data={"action": "pay"})
    return r.json["orders"][0]


def refund_one(api, buyer, admin, order_id: int) -> None:
    """The buyer asks for one unit of the order's first line back
    (refund only) and the platform approves it: the refund is executed."""
    line = api.get(f"/orders/{order_id}", user=buyer).json["lines"][0]
    rid = api.post(
        "/refunds",
        user=buyer,
        json={"order_id": order_id, "kind": "refund_only", "lines": [{"order_line_id": line["id"], "quantity": 1}]},
    ).json["id"]
    assert api.post(f"/admin/refunds/{rid}/approve", user=admin, json={}).status_code == 200


def at(day, hour: int = 12):
    """The stored (naive UTC) moment of ``hour`` o'clock on the shop's ``day``."""
    from datetime import datetime, time

    from jishi.i18n import from_shop_time

    return from_shop_time(datetime.combine(day, time(hour)))


def move_order(order_id: int, *, created=None, paid=None, seller_id=None) -> None:
    from jishi.models import Order

    values: dict = {}
    if created is not None:
        values["created_at"] = created
    if paid is not None:
        values["paid_at"] = paid
    if seller_id is not None:
        values["seller_id"] = seller_id
    db.session.execute(db.update(Order).where(Order.id == order_id).values(**values))
    db.session.commit()


def history(api, client, factory):
    """The hand-computed fixture of the report tests (issue 19).

    Day 1 (two days ago): buyer A pays o1 (p1 x2 = 100.00, free delivery)
    and o2 (p2 x1 = 12.00 + 10.00 delivery); buyer B places o3 (p1 x1 =
    50.00 + 10.00), paid on day 2, and o4 (p2 x3, never paid). A refund of
    one p1 of o1 (50.00) is paid back today. o2 and p2 belong to seller 7.
    Visits on day 1: visitor v1 views p1 twice, v2 views p1 and the home
    page, A adds p1 to the cart; v2 also views p2 (seller 7).
    """
    from datetime import timedelta

    from jishi.db import utcnow
    from jishi.i18n import to_shop_time
    from jishi.models import Product
    from jishi.reports import tracking

    today = to_shop_time(utcnow()).date()
    d1, d2 = today - timedelta(days=2), today - timedelta(days=1)
    admin = factory.admin()
    a, b = factory.user(), factory.user()
    aa, ab = factory.address(a), factory.address(b)
    p1 = factory.product(name="茶叶", price=5000, stock=100)
    p2 = factory.product(name="茶杯", price=1200, stock=100)
    o1 = place(api, client, a, aa, p1.skus[0], 2, "1")
    o2 = place(api, client, a, aa, p2.skus[0], 1, "2")
    o3 = place(api, client, b, ab, p1.skus[0], 1, "3")
    o4 = place(api, client, b, ab, p2.skus[0], 3, "4", pay=False)
    move_order(o1["id"], created=at(d1, 9), paid=at(d1, 9))
    move_order(o2["id"], created=at(d1, 10), paid=at(d1, 10), seller_id=7)
    move_order(o3["id"], created=at(d1, 23), paid=at(d2, 1))
    move_order(o4["id"], created=at(d1, 11))
    db.session.execute(db.update(Product).where(Product.id == p2.id).values(seller_id=7))
    db.session.commit()
    refund_one(api, a, admin, o1["id"])
    day = d1.isoformat()
    events = [
        [day, "product", p1.id, 0, "cv1xxxxxxxx"],
        [day, "product", p1.id, 0, "cv1xxxxxxxx"],
        [day, "product", p1.id, 0, "cv2xxxxxxxx"],
        [day, "home", 0, 0, "cv2xxxxxxxx"],
        [day, "product", p2.id, 7, "cv2xxxxxxxx"],
        [day, "cart", p1.id, 0, f"u{a.id}"],
    ]
    db.session.commit()  # SQLite's one writer: the test's transaction ends first
    tracking.write(events)
    return {"admin": admin, "a": a, "b": b, "p1": p1, "p2": p2, "d1": d1, "d2": d2, "today": today, "o1": o1}
