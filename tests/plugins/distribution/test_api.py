"""Issue 17 "Surfaces" (DS): the promoter centre API — summary, team (first
and second level with counts), commission records, orders, withdrawals,
applying — always about the signed-in user; withdrawal rules (minimum,
agreement, account fields) answered as 4xx naming the field."""

from __future__ import annotations

from jishi.db import commit
from jishi_distribution import ledger, service

from .helpers import buy, buyer_of, code, configure, promoter

ACCOUNT = {"name": "乙", "account": "b@example.com"}


def test_centre_summary_team_commissions_orders(app, factory, api):
    """Issue 17/Surfaces (DS): B sees their code and link, one first-level and
    one second-level member, the commission on C's order; A sees only theirs."""
    a = promoter(factory)
    b = promoter(factory, upline=a)
    c = buyer_of(factory, b)
    d = buyer_of(factory, c) if service.ensure_promoter(c.id) else None
    commit()
    [order] = buy(factory, c, [(factory.product(price=10000), 1)])
    me = api.get("/distribution/me", user=b).json
    assert me["status"] == "active" and me["code"] == code(b) and f"ref={code(b)}" in me["link"]
    assert me["team"] == {"level1": 1, "level2": 1} and me["balances"]["frozen"] == 1000
    team = api.get("/distribution/team?level=2", user=b).json
    assert [m["user_id"] for m in team["members"]] == [d.id]
    rows = api.get("/distribution/commissions", user=b).json
    assert [(r["order_id"], r["level"], r["amount"], r["status"]) for r in rows] == [(order.id, 1, 1000, "frozen")]
    assert [(o["order_id"], o["commission"]) for o in api.get("/distribution/orders", user=b).json] == [
        (order.id, 1000)
    ]
    assert [r["level"] for r in api.get("/distribution/commissions", user=a).json] == [2]
    assert api.get("/distribution/team?level=3", user=b).status_code == 422


def test_apply_and_review(app, factory, api):
    """Issue 17/Promoters (DS): by application: the fields the platform asks
    are required (422 naming the field); the platform approves; only then a code."""
    configure(join_mode="apply", apply_fields="真实姓名\n推广渠道")
    user = factory.user()
    assert api.get("/distribution/me", user=user).json["status"] == "none"
    r = api.post("/distribution/apply", user=user, json={"answers": {"真实姓名": "张三"}})
    assert r.status_code == 422 and r.json["field"] == "answers.推广渠道"
    r = api.post("/distribution/apply", user=user, json={"answers": {"真实姓名": "张三", "推广渠道": "朋友圈"}})
    assert r.status_code == 201 and r.json["status"] == "pending" and r.json["code"] is None
    assert api.post("/distribution/apply", user=user, json={"answers": {}}).status_code == 409
    service.review(user.id, True, None)
    commit()
    assert api.get("/distribution/me", user=user).json["code"]


def test_withdrawal_rules_and_lifecycle(app, factory, api):
    """Issue 17/Payouts (DS): minimum, agreement, account fields; reject gives
    the money back (and does not count for the interval); pay moves it to paid."""
    configure(withdraw_min=1000, withdraw_agreement="我同意")
    p = promoter(factory)
    ledger.post(p.id, "released", "seed", available=5000)
    commit()
    body = {"amount": 500, "method": "alipay", "account": ACCOUNT, "agree": True}
    assert api.post("/distribution/withdrawals", user=p, json=body).json["field"] == "amount"
    body["amount"] = 2000
    assert api.post("/distribution/withdrawals", user=p, json={**body, "agree": False}).json["field"] == "agree"
    bad = api.post("/distribution/withdrawals", user=p, json={**body, "account": {"name": "乙"}})
    assert bad.status_code == 422 and bad.json["field"] == "account.account"
    r = api.post("/distribution/withdrawals", user=p, json=body)
    assert r.status_code == 201 and r.json["status"] == "pending"
    assert api.post("/distribution/withdrawals", user=p, json=body).status_code == 409  # one per day
    from jishi.db import db
    from jishi_distribution import withdrawals as wd
    from jishi_distribution.models import Withdrawal

    w = db.session.get(Withdrawal, r.json["id"])
    wd.reject(w, "账号有误")
    commit()
    assert ledger.balances(p.id)["available"] == 5000
    r = api.post("/distribution/withdrawals", user=p, json=body)
    assert r.status_code == 201
    w = db.session.get(Withdrawal, r.json["id"])
    wd.approve(w)
    wd.confirm_paid(w)
    commit()
    assert ledger.balances(p.id) == {"frozen": 0, "available": 3000, "withdrawing": 0, "paid": 2000, "debt": 0}
    assert [x["status"] for x in api.get("/distribution/withdrawals", user=p).json] == ["paid", "rejected"]


def test_frozen_promoter_cannot_withdraw(app, factory, api):
    """Issue 17/Promoters (DS): a frozen promoter cannot withdraw (409)."""
    p = promoter(factory)
    ledger.post(p.id, "released", "seed", available=5000)
    service.freeze(p.id, None)
    commit()
    r = api.post("/distribution/withdrawals", user=p, json={"amount": 2000, "method": "alipay", "account": ACCOUNT})
    assert r.status_code == 409 and r.json["field"] == "status"


def test_poster_png(app, factory, api):
    """Issue 17/Referral binding (DS): the share poster is a PNG with the QR code of the promoter's link."""
    import io

    from PIL import Image

    p = promoter(factory)
    product = factory.product(price=4990, name="有机大米")
    r = api.get(f"/distribution/poster?product_id={product.id}", user=p)
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(r.data)).size == (600, 860)
    assert api.get("/distribution/poster?product_id=999999", user=p).status_code == 404


def test_platform_api_review_freeze_commissions_withdrawals(app, factory, api):
    """Issue 17/Surfaces (DS): the platform's API: review an application,
    freeze a promoter, filter commissions, approve / pay / reject
    withdrawals; conflicts are 409, unknown ids 404."""
    configure(join_mode="apply", withdraw_min=100, withdraw_interval_days=0)
    admin = factory.admin()
    applicant = factory.user()
    api.post("/distribution/apply", user=applicant, json={"answers": {}})
    r = api.post(f"/admin/distribution/promoters/{applicant.id}/approve", user=admin, json={})
    assert r.status_code == 200 and r.json["status"] == "active"
    assert api.post(f"/admin/distribution/promoters/{applicant.id}/approve", user=admin, json={}).status_code == 409
    assert api.post("/admin/distribution/promoters/999999/freeze", user=admin, json={}).status_code == 404
    c = buyer_of(factory, applicant)
    [order] = buy(factory, c, [(factory.product(price=10000), 1)])
    rows = api.get(f"/admin/distribution/commissions?promoter_id={applicant.id}&level=1", user=admin).json
    assert [(x["order_id"], x["amount"], x["buyer_id"]) for x in rows] == [(order.id, 1000, c.id)]
    ledger.post(applicant.id, "released", "seed", available=5000)
    commit()
    ids = [
        api.post(
            "/distribution/withdrawals", user=applicant, json={"amount": 1000, "method": "alipay", "account": ACCOUNT}
        ).json["id"]
        for _i in range(2)
    ]
    assert api.post(f"/admin/distribution/withdrawals/{ids[0]}/pay", user=admin, json={}).status_code == 409
    assert (
        api.post(f"/admin/distribution/withdrawals/{ids[0]}/approve", user=admin, json={}).json["status"] == "approved"
    )
    assert api.post(f"/admin/distribution/withdrawals/{ids[0]}/pay", user=admin, json={}).json["status"] == "paid"
    bad = api.post(f"/admin/distribution/withdrawals/{ids[1]}/reject", user=admin, json={})
    assert bad.status_code == 422 and bad.json["field"] == "reason"
    r = api.post(f"/admin/distribution/withdrawals/{ids[1]}/reject", user=admin, json={"reason": "账号有误"})
    assert r.json["status"] == "rejected"
    assert ledger.balances(applicant.id)["available"] == 4000
    assert [w["status"] for w in api.get("/admin/distribution/withdrawals", user=admin).json] == ["rejected", "paid"]
    r = api.post(f"/admin/distribution/promoters/{applicant.id}/freeze", user=admin, json={"reason": "刷单"})
    assert r.json["status"] == "frozen" and r.json["reason"] == "刷单"
