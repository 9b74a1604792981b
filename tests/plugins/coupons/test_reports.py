"""Issue 19: the coupons' campaign effect in the reports (``report_sections``):
claimed, used, use rate, GMV driven, discount cost and ROI per template,
against a hand-computed fixture; in the platform's report API and export."""

from __future__ import annotations

import csv
import io

from jishi.db import db, utcnow
from jishi.i18n import to_shop_time

from .helpers import body, give, pay_number, template


def test_hook_report_sections(app, api, factory):
    """Issue 19: template A claimed by two buyers and used once on a paid
    order; template B claimed once, unused; an unpaid order's coupon is not
    counted as used."""
    from jishi.reports import service

    admin = factory.admin()
    buyer, other = factory.user(), factory.user()
    addr = factory.address(buyer)
    p = factory.product(price=15000, stock=50)
    ta = template(name="满100减10")
    tb = template(name="无门槛5元", threshold=0, amount=500)
    used = give(buyer, ta)
    give(other, ta)
    unpaid_coupon = give(buyer, tb)
    r = api.post(
        "/checkout/place", user=buyer, json=body([(p.skus[0], 1)], addr, [used.id]), headers={"Idempotency-Key": "a"}
    )
    assert r.status_code == 201, r.json
    pay_number(r.json["payments"][0]["number"])
    gmv = r.json["orders"][0]["pay_amount"]
    r2 = api.post(
        "/checkout/place",
        user=buyer,
        json=body([(p.skus[0], 1)], addr, [unpaid_coupon.id]),
        headers={"Idempotency-Key": "b"},
    )
    assert r2.status_code == 201, r2.json  # never paid
    db.session.commit()
    today = to_shop_time(utcnow()).date()
    [section] = [s for s in service.report_data(today, today)["sections"] if s["key"] == "coupons"]
    rows = {row["name"]: row for row in section["rows"]}
    assert rows["满100减10"] == {
        "template_id": ta.id,
        "name": "满100减10",
        "claimed": 2,
        "used": 1,
        "use_rate": 500,
        "gmv": gmv,
        "cost": 1000,
        "roi": gmv * 1000 // 1000,
    }
    assert (rows["无门槛5元"]["claimed"], rows["无门槛5元"]["used"], rows["无门槛5元"]["gmv"]) == (1, 0, 0)
    assert set(section["money"]) == {"gmv", "cost"}
    api_sections = api.get("/admin/reports/analytics", user=admin).json["sections"]
    assert [s["key"] for s in api_sections] == ["coupons", "activities"]
    exported = api.get("/admin/reports/analytics/export?section=coupons", user=admin).get_data(as_text=True)
    table = list(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
    assert table[0] == ["ID", "优惠券", "已领取", "已使用", "使用率", "带动成交额", "优惠成本", "投入产出比"]
    [row_a] = [r for r in table[1:] if r[1] == "满100减10"]
    assert row_a[2:6] == ["2", "1", "50.0%", f"{gmv // 100}.{gmv % 100:02d}"]
