"""MS12: withdrawal rules, requests, review and payout through the API;
MS11 commission settings and the platform's settlement overview."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from jishi.db import db
from jishi.orders.models import Order
from jishi_multistore import ledger, withdrawals
from jishi_multistore.models import Merchant, Withdrawal
from sqlalchemy import select

from .finance_helpers import complete, pay, place


def _setting(key, value):
    from jishi import settings

    settings.set_many({key: value})
    db.session.commit()


def earning(factory, ms, m, price=10000, buyer=None):
    """A completed online order of ``m`` worth ``price`` (no delivery fee)."""
    _setting("delivery.flat_fee", 0)
    buyer = buyer or factory.user()
    addr = factory.address(buyer)
    [payment] = place(buyer, [(ms.product(m, price=price).skus[0].id, 1)], addr)
    pay(payment)
    order = db.session.execute(select(Order).where(Order.payment_id == payment.id)).scalar_one()
    return complete(order)


ALIPAY = {"method": "alipay", "name": "张三", "account": "zhang@example.com"}


def _age(withdrawal_id, days):
    w = db.session.get(Withdrawal, withdrawal_id)
    w.created_at = w.created_at - timedelta(days=days)
    db.session.commit()


def test_withdrawal_lifecycle(app, api, factory, ms):
    """MS12: apply with an account (stored, reused next time), platform approves
    and confirms the offline payout, or rejects (money back to withdrawable);
    balances follow; records filter by status and method."""
    m = ms.merchant()
    earning(factory, ms, m, 10000)
    admin, clerk, platform = ms.admin_of(m), ms.clerk(m), factory.admin()
    assert api.get("/merchant/finance", user=clerk).status_code == 403
    assert api.post("/merchant/withdrawals", user=clerk, json={"amount": 1000, "account": ALIPAY}).status_code == 403
    r = api.get("/merchant/finance", user=admin)
    assert r.status_code == 200
    assert r.json["withdrawable"] == 10000 and r.json["rules"]["min_amount"] == 500 and r.json["account"] == {}
    r = api.post("/merchant/withdrawals", user=admin, json={"amount": 499, "account": ALIPAY})
    assert r.status_code == 422 and r.json["code"] == "below_minimum" and r.json["field"] == "amount"
    r = api.post("/merchant/withdrawals", user=admin, json={"amount": 1000})
    assert r.status_code == 422 and r.json["field"] == "account"
    r = api.post("/merchant/withdrawals", user=admin, json={"amount": 3000, "account": {**ALIPAY, "method": "bank"}})
    assert r.status_code == 422 and r.json["field"] == "account.bank"
    r = api.post("/merchant/withdrawals", user=admin, json={"amount": 3000, "account": ALIPAY})
    assert r.status_code == 201, r.json
    first = r.json
    assert (
        first["status"] == "pending"
        and first["method"] == "alipay"
        and first["account"]["account"] == "zhang@example.com"
    )
    fin = api.get("/merchant/finance", user=admin).json
    assert (fin["withdrawable"], fin["pending_payout"], fin["paid_out"]) == (7000, 3000, 0)
    assert fin["account"]["method"] == "alipay" and fin["next_allowed_day"]
    assert api.get("/merchant/withdraw-account", user=admin).json["name"] == "张三"
    # One per day (default): the second is refused today.
    r = api.post("/merchant/withdrawals", user=admin, json={"amount": 1000})
    assert r.status_code == 409 and r.json["code"] == "too_soon"
    _age(first["id"], 1)
    r = api.post("/merchant/withdrawals", user=admin, json={"amount": 2000})  # reuses the stored account
    assert r.status_code == 201 and r.json["account"] == {**ALIPAY, "bank": ""}
    second = r.json
    # Platform review.
    assert (
        api.post(f"/admin/multistore/withdrawals/{first['id']}/pay", user=platform).status_code == 409
    )  # not approved yet
    assert api.post(f"/admin/multistore/withdrawals/{first['id']}/approve", user=admin).status_code == 403
    r = api.post(f"/admin/multistore/withdrawals/{first['id']}/approve", user=platform)
    assert r.status_code == 200 and r.json["status"] == "approved"
    assert api.post(f"/admin/multistore/withdrawals/{first['id']}/approve", user=platform).status_code == 409
    r = api.post(f"/admin/multistore/withdrawals/{first['id']}/pay", user=platform)
    assert r.status_code == 200 and r.json["status"] == "paid" and r.json["paid_at"]
    r = api.post(f"/admin/multistore/withdrawals/{second['id']}/reject", user=platform, json={"reason": ""})
    assert r.status_code == 422 and r.json["field"] == "reason"
    r = api.post(f"/admin/multistore/withdrawals/{second['id']}/reject", user=platform, json={"reason": "账户信息有误"})
    assert r.status_code == 200 and r.json["status"] == "rejected" and r.json["reject_reason"] == "账户信息有误"
    assert (
        api.post(
            f"/admin/multistore/withdrawals/{second['id']}/reject", user=platform, json={"reason": "x"}
        ).status_code
        == 409
    )
    fin = api.get("/merchant/finance", user=admin).json
    assert (fin["withdrawable"], fin["pending_payout"], fin["paid_out"]) == (7000, 0, 3000)
    # Records and filters.
    assert [w["id"] for w in api.get("/merchant/withdrawals", user=admin).json["items"]] == [second["id"], first["id"]]
    assert [w["id"] for w in api.get("/merchant/withdrawals?status=paid", user=admin).json["items"]] == [first["id"]]
    assert api.get("/merchant/withdrawals?method=bank", user=admin).json["items"] == []
    assert api.get("/merchant/withdrawals?status=nope", user=admin).status_code == 422
    assert [
        w["id"]
        for w in api.get("/admin/multistore/withdrawals?status=rejected&method=alipay", user=platform).json["items"]
    ] == [second["id"]]
    assert api.get(f"/merchant/withdrawals/{first['id']}", user=admin).json["status"] == "paid"


def test_change_account_and_other_merchants(app, api, factory, ms):
    """MS12/MS17: the account is changeable; another merchant's withdrawal is
    404; the platform filters by merchant."""
    m1, m2 = ms.merchant(), ms.merchant()
    earning(factory, ms, m1, 5000)
    earning(factory, ms, m2, 5000)
    a1, a2, platform = ms.admin_of(m1), ms.admin_of(m2), factory.admin()
    r = api.put(
        "/merchant/withdraw-account",
        user=a1,
        json={"method": "bank", "name": "李四", "account": "6222000011112222", "bank": "工商银行"},
    )
    assert r.status_code == 200 and r.json["bank"] == "工商银行"
    assert (
        api.put(
            "/merchant/withdraw-account", user=a1, json={"method": "paypal", "name": "x", "account": "y"}
        ).status_code
        == 422
    )
    w1 = api.post("/merchant/withdrawals", user=a1, json={"amount": 600}).json
    assert w1["method"] == "bank"
    w2 = api.post("/merchant/withdrawals", user=a2, json={"amount": 700, "account": ALIPAY}).json
    assert api.get(f"/merchant/withdrawals/{w2['id']}", user=a1).status_code == 404
    assert [w["id"] for w in api.get("/merchant/withdrawals", user=a1).json["items"]] == [w1["id"]]
    assert [
        w["id"] for w in api.get(f"/admin/multistore/withdrawals?merchant_id={m2.id}", user=platform).json["items"]
    ] == [w2["id"]]


def test_interval_of_five_days(app, factory, ms, monkeypatch):
    """MS12: one withdrawal per 5 days: after Jan 1 the next is possible on Jan 6."""
    _setting(withdrawals.INTERVAL_SETTING, 5)
    m = ms.merchant()
    earning(factory, ms, m, 10000)
    user = ms.admin_of(m)
    clock = {"now": datetime(2025, 1, 1, 2, 0)}  # 10:00 in Shanghai
    monkeypatch.setattr(withdrawals, "utcnow", lambda: clock["now"])
    withdrawals.request_withdrawal(m, user, 1000, account=ALIPAY)
    db.session.commit()
    clock["now"] = datetime(2025, 1, 5, 15, 59)  # Jan 5 23:59 in Shanghai
    with pytest.raises(withdrawals.WithdrawalError) as info:
        withdrawals.request_withdrawal(m, user, 1000)
    assert info.value.code == "too_soon" and "2025-01-06" in info.value.message
    db.session.rollback()
    clock["now"] = datetime(2025, 1, 5, 16, 0)  # Jan 6 00:00 in Shanghai
    withdrawals.request_withdrawal(m, user, 1000)
    db.session.commit()
    assert db.session.scalar(select(db.func.count()).select_from(Withdrawal)) == 2


def test_rules_agreement_minimum_and_bad_input(app, api, factory, ms):
    """MS12: the agreement must be accepted when set; the minimum never goes
    below 5 yuan; more than the balance is 409; malformed amounts are 422."""
    _setting(withdrawals.AGREEMENT_SETTING, "提现协议正文")
    _setting(withdrawals.MIN_SETTING, 100)  # below the floor: 5 yuan still applies
    m = ms.merchant()
    earning(factory, ms, m, 2000)
    admin = ms.admin_of(m)
    assert api.get("/merchant/finance", user=admin).json["rules"] == {
        "payout": "manual",
        "min_amount": 500,
        "interval_days": 1,
        "agreement": "提现协议正文",
    }
    r = api.post("/merchant/withdrawals", user=admin, json={"amount": 1000, "account": ALIPAY})
    assert r.status_code == 422 and r.json["field"] == "agree"
    for bad in ("1000", 10.5, None, True, -5, 10**13):
        r = api.post("/merchant/withdrawals", user=admin, json={"amount": bad, "account": ALIPAY, "agree": True})
        assert r.status_code == 422 and r.json["field"] == "amount", (bad, r.json)
    r = api.post("/merchant/withdrawals", user=admin, json={"amount": 2001, "account": ALIPAY, "agree": True})
    assert r.status_code == 409 and r.json["code"] == "insufficient"
    assert (
        api.post(
            "/merchant/withdrawals", user=admin, json={"amount": 2000, "account": ALIPAY, "agree": True}
        ).status_code
        == 201
    )
    assert db.session.scalar(select(db.func.count()).select_from(Withdrawal)) == 1


def test_settlement_overview(app, api, factory, ms):
    """MS12: the platform overview — paid out, pending payout, awaiting
    withdrawal, non-withdrawable — in total and per merchant, by time range."""
    _setting(ledger.COMMISSION_SETTING, 1000)
    m1, m2 = ms.merchant("一号"), ms.merchant("二号")
    platform = factory.admin()
    earning(factory, ms, m1, 10000)  # 9000 withdrawable after 10%
    buyer = factory.user()
    [payment] = place(buyer, [(ms.product(m2, price=4000).skus[0].id, 1)], factory.address(buyer))
    pay(payment)  # m2: 4000 non-withdrawable
    w = withdrawals.request_withdrawal(db.session.get(Merchant, m1.id), ms.admin_of(m1), 5000, account=ALIPAY)
    withdrawals.approve(w)
    withdrawals.confirm_paid(w)
    db.session.commit()
    _age(w.id, 1)
    withdrawals.request_withdrawal(db.session.get(Merchant, m1.id), ms.admin_of(m1), 1000, account=ALIPAY)
    db.session.commit()
    assert api.get("/admin/multistore/settlement", user=ms.admin_of(m1)).status_code == 403
    r = api.get("/admin/multistore/settlement", user=platform)
    assert r.status_code == 200
    assert r.json["totals"] == {
        "withdrawals": 2,
        "paid_out": 5000,
        "pending_payout": 1000,
        "withdrawable": 3000,
        "non_withdrawable": 4000,
        "cod_collected": 0,
    }
    rows = {row["merchant_id"]: row for row in r.json["merchants"]}
    assert (
        rows[m1.id]["merchant_name"] == "一号" and rows[m1.id]["paid_out"] == 5000 and rows[m1.id]["withdrawals"] == 2
    )
    assert rows[m2.id]["non_withdrawable"] == 4000 and rows[m2.id]["withdrawals"] == 0
    assert r.json["platform"]["commission"] == 1000
    r = api.get(f"/admin/multistore/settlement?merchant_id={m2.id}", user=platform)
    assert [row["merchant_id"] for row in r.json["merchants"]] == [m2.id]
    old = "2000-01-01"
    r = api.get(f"/admin/multistore/settlement?start={old}&end={old}", user=platform)
    assert r.json["totals"]["paid_out"] == 0 and r.json["merchants"] == []
    assert api.get("/admin/multistore/settlement?start=2025-02-02&end=2025-01-01", user=platform).status_code == 422


def test_commission_settings_api(app, api, factory, ms):
    """MS11: the platform sets the default, category and merchant rates (basis
    points); the next sale freezes them; bad input is a 4xx naming the field."""
    platform = factory.admin()
    cat = factory.category("数码")
    m = ms.merchant()
    r = api.put("/admin/multistore/commissions/default", user=platform, json={"rate_bp": 600})
    assert r.status_code == 200 and r.json["default_bp"] == 600
    assert api.put("/admin/multistore/commissions/default", user=platform, json={"rate_bp": 10001}).status_code == 422
    assert api.put("/admin/multistore/commissions/default", user=platform, json={"rate_bp": "5"}).status_code == 422
    r = api.put("/admin/multistore/commissions/categories", user=platform, json={"category_id": cat.id, "rate_bp": 250})
    assert r.json["categories"] == [{"category_id": cat.id, "name": "数码", "rate_bp": 250}]
    r = api.put("/admin/multistore/commissions/categories", user=platform, json={"category_id": 999999, "rate_bp": 250})
    assert r.status_code == 422 and r.json["field"] == "category_id"
    r = api.put(f"/admin/multistore/merchants/{m.id}/commission", user=platform, json={"category_id": cat.id})
    assert r.status_code == 200 and r.json["effective_bp"] == 250
    r = api.put(f"/admin/multistore/merchants/{m.id}/commission", user=platform, json={"rate_bp": 1500})
    assert r.json["effective_bp"] == 1500 and r.json["category_id"] == cat.id
    assert (
        api.put(
            f"/admin/multistore/merchants/{m.id}/commission", user=platform, json={"category_id": 999999}
        ).status_code
        == 422
    )
    assert (
        api.put(f"/admin/multistore/merchants/{m.id}/commission", user=ms.admin_of(m), json={"rate_bp": 0}).status_code
        == 403
    )
    listed = api.get("/admin/multistore/commissions", user=platform).json
    assert listed["default_bp"] == 600 and listed["merchants"][0]["rate_bp"] == 1500
    r = api.put(
        "/admin/multistore/commissions/categories", user=platform, json={"category_id": cat.id, "rate_bp": None}
    )
    assert r.json["categories"] == []
    order = earning(factory, ms, m, 10000)
    ledger_view = api.get(f"/admin/multistore/merchants/{m.id}/ledger", user=platform).json
    assert ledger_view["balances"]["available"] == 10000 - 1500
    assert {j["kind"] for j in ledger_view["journals"]} == {"paid", "completed"}
    assert order.status == "completed"
