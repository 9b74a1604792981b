"""Shop time everywhere (issue 13 A5, K16): a day typed in a filter, a
report's day, an export's times and the visit counters are the shop's
(Asia/Shanghai by default), not UTC's. An order paid at 20:00 UTC on
1 March belongs to 2 March in the shop."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from jishi.db import db
from jishi.i18n import shop_day_bounds
from jishi.models import Order, PageVisit
from jishi.reports import service
from jishi.testing import flows

EVENING_UTC = datetime(2026, 3, 1, 20, 0)  # 2026-03-02 04:00 in Shanghai


def test_shop_day_bounds():
    assert shop_day_bounds(date(2026, 3, 2), date(2026, 3, 2)) == (datetime(2026, 3, 1, 16), datetime(2026, 3, 2, 16))
    assert shop_day_bounds() == (None, None)
    assert shop_day_bounds(date.min, date.max) == (datetime.min, datetime.max)
    assert shop_day_bounds(date(1000, 1, 1))[0] == datetime.min  # before the stored calendar
    assert shop_day_bounds(end=date(9998, 12, 31))[1] == datetime(9998, 12, 31, 16)
    assert shop_day_bounds(end=date(9999, 1, 1))[1] == datetime.max


def paid_in_the_evening(factory):
    buyer = factory.user()
    sku = factory.product(name="晚茶", price=1000, stock=5).skus[0]
    [payment] = flows.place(buyer, [(sku.id, 1)], factory.address(buyer), key="evening")
    flows.pay(payment)
    order = db.session.get(Order, payment.orders[0].id)
    order.created_at = order.paid_at = EVENING_UTC
    db.session.commit()
    return order


def test_reports_and_exports_count_the_shops_day(app, api, factory):
    order = paid_in_the_evening(factory)
    admin = factory.admin()
    march2 = service.overview(date(2026, 3, 2), date(2026, 3, 2))
    march1 = service.overview(date(2026, 3, 1), date(2026, 3, 1))
    assert (march2["paid_orders"], march1["paid_orders"]) == (1, 0)
    assert service.sales_by_day(date(2026, 3, 1), date(2026, 3, 2)) == [
        {"day": "2026-03-02", "orders": 1, "amount": order.pay_amount}
    ]
    rows = list(csv.reader(io.StringIO("".join(service.iter_csv(date(2026, 3, 2), date(2026, 3, 2))))))
    created = rows[0].index("created_at") if "created_at" in rows[0] else 1
    assert rows[1][created] == "2026-03-02 04:00:00", rows
    ids = [o["id"] for o in api.get("/admin/orders?start=2026-03-02&end=2026-03-02", user=admin).json["items"]]
    assert ids == [order.id]
    assert api.get("/admin/orders?start=2026-03-01&end=2026-03-01", user=admin).json["items"] == []


def test_visits_are_counted_on_the_shops_day(app, monkeypatch):
    monkeypatch.setattr(service, "utcnow", lambda: EVENING_UTC)
    service.record_visit("site")
    assert db.session.execute(db.select(PageVisit.day).where(PageVisit.kind == "site")).scalars().all() == [
        "2026-03-02"
    ]


def test_reports_take_any_range_of_days(app):
    """Days at the ends of the calendar clamp instead of overflowing."""
    for start, end in (
        (date.min, date.min),
        (date.min, date.max),
        (date(1, 1, 2), date(1, 1, 1)),
        (date.max, date.max),
    ):
        assert service.overview(start, end)["orders"] == 0
        assert service.funnel(start, end)["visits"] == 0


def test_today_is_the_shops_day(app, api, factory, monkeypatch):
    """K16: "today" (an export's default range) is the shop's day, not the
    server's: at 20:00 UTC on 1 March the shop is in 2 March, and an export
    without dates holds the order placed then (from 16:00 UTC every day the
    server's date.today() was a day behind the Shanghai shop)."""
    import jishi.db
    from jishi.i18n import shop_today

    assert shop_today(EVENING_UTC) == date(2026, 3, 2)
    assert shop_today(datetime(2026, 3, 1, 15, 59)) == date(2026, 3, 1)
    order = paid_in_the_evening(factory)
    monkeypatch.setattr(jishi.db, "utcnow", lambda: EVENING_UTC)
    assert shop_today() == date(2026, 3, 2)
    body = api.get("/admin/orders/export", user=factory.admin()).data.decode("utf-8-sig")
    assert order.number in body


def test_utcnow_is_naive_utc_now(monkeypatch):
    """``jishi.db.utcnow`` (date and time of the aware now combined) is the
    aware UTC now without its zone, microseconds kept."""
    from datetime import UTC

    import jishi.db

    moment = datetime(2026, 3, 1, 20, 0, 5, 123456, tzinfo=UTC)

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            assert tz is UTC
            return moment

    monkeypatch.setattr(jishi.db, "datetime", Clock)
    got = jishi.db.utcnow()
    assert got == moment.replace(tzinfo=None) and got.tzinfo is None and type(got) is datetime
    monkeypatch.undo()
    before = datetime.now(UTC).replace(tzinfo=None)
    now = jishi.db.utcnow()
    assert now.tzinfo is None and before <= now <= datetime.now(UTC).replace(tzinfo=None)
