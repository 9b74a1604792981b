"""MS11, MS12, MS16 through the consoles and the merchant data API."""

from __future__ import annotations

from jishi.db import db, utcnow
from jishi.orders.models import Order
from jishi_multistore import ledger
from jishi_multistore.models import CategoryCommission, Merchant, Withdrawal
from sqlalchemy import select

from .finance_helpers import complete, pay, place, refund
from .test_withdrawals_api import earning


def test_merchant_finance_console_withdraw_and_account(app, client, factory, ms, login):
    """MS12: the merchant admin sees balances, applies (account stored), changes
    the account; a clerk gets 403 and no menu entry; records filter."""
    m = ms.merchant("茶铺")
    earning(factory, ms, m, 8000)
    clerk = ms.clerk(m)
    login(clerk)
    assert client.get("/merchant/finance").status_code == 403
    assert client.get("/merchant/data").status_code == 403
    home = client.get("/merchant/").get_data(as_text=True)
    assert "/merchant/finance" not in home and "/merchant/data" not in home
    login(ms.admin_of(m))
    page = client.get("/merchant/finance").get_data(as_text=True)
    assert 'data-balance="withdrawable">¥80.00' in page and "/merchant/data" in page
    r = client.post(
        "/merchant/finance/withdraw", data={"amount": "12.5", "method": "wechat", "name": "王五", "account": "wx_wang"}
    )
    assert r.status_code == 302
    w = db.session.execute(select(Withdrawal)).scalar_one()
    assert (w.amount, w.method, w.status) == (1250, "wechat", "pending")
    db.session.expire_all()
    assert db.session.get(Merchant, m.id).withdraw_account["account"] == "wx_wang"
    r = client.post("/merchant/finance/withdraw", data={"amount": "abc", "use_stored": "1"}, follow_redirects=True)
    assert db.session.scalar(select(db.func.count()).select_from(Withdrawal)) == 1  # refused, flashed
    r = client.post(
        "/merchant/finance/account",
        data={"method": "bank", "name": "王五", "account": "6222", "bank": ""},
        follow_redirects=True,
    )
    db.session.expire_all()
    assert db.session.get(Merchant, m.id).withdraw_account["method"] == "wechat"  # bank needs the bank's name
    client.post(
        "/merchant/finance/account", data={"method": "bank", "name": "王五", "account": "6222", "bank": "建设银行"}
    )
    db.session.expire_all()
    assert db.session.get(Merchant, m.id).withdraw_account == {
        "method": "bank",
        "name": "王五",
        "account": "6222",
        "bank": "建设银行",
    }
    page = client.get("/merchant/finance?status=pending&method=wechat").get_data(as_text=True)
    assert 'data-status="pending"' in page and "wx_wang" in page
    assert 'data-status="pending"' not in client.get("/merchant/finance?status=paid").get_data(as_text=True)


def test_platform_console_review_overview_commission(app, client, factory, ms, login):
    """MS12/MS11: the platform approves, confirms payout, rejects from its
    console; the overview shows per-merchant figures; commission rates are set
    as percentages."""
    m = ms.merchant("一号店")
    earning(factory, ms, m, 9000)
    from jishi_multistore import withdrawals

    w = withdrawals.request_withdrawal(
        db.session.get(Merchant, m.id),
        ms.admin_of(m),
        2000,
        account={"method": "alipay", "name": "张", "account": "a@b"},
    )
    db.session.commit()
    wid = w.id
    platform = factory.admin()
    login(ms.admin_of(m))
    assert client.get("/console/multistore/withdrawals").status_code == 403
    login(platform)
    page = client.get("/console/multistore/withdrawals?status=pending").get_data(as_text=True)
    assert f'data-id="{wid}"' in page and "一号店" in page
    nav = client.get("/console/multistore/settlement").get_data(as_text=True)
    for endpoint in (
        "/console/multistore/withdrawals",
        "/console/multistore/settlement",
        "/console/multistore/commission",
    ):
        assert endpoint in nav
    assert (
        client.post(f"/console/multistore/withdrawals/{wid}/pay").status_code == 302
    )  # refused: not approved (flashed)
    assert db.session.get(Withdrawal, wid).status == "pending"
    client.post(f"/console/multistore/withdrawals/{wid}/approve")
    client.post(f"/console/multistore/withdrawals/{wid}/pay")
    db.session.expire_all()
    assert db.session.get(Withdrawal, wid).status == "paid"
    assert client.post(f"/console/multistore/withdrawals/{wid}/oops").status_code == 404
    page = client.get("/console/multistore/settlement").get_data(as_text=True)
    assert (
        'data-figure="paid_out">¥20.00' in page
        and 'data-figure="withdrawable">¥70.00' in page
        and f'data-merchant="{m.id}"' in page
    )
    assert client.get("/console/multistore/settlement?start=2001-01-01&end=2001-01-31").status_code == 200
    # Commission.
    cat = factory.category("服装")
    assert client.get("/console/multistore/commission").status_code == 200
    client.post("/console/multistore/commission/default", data={"rate": "5.5"})
    client.post("/console/multistore/commission/categories", data={"category_id": str(cat.id), "rate": "3"})
    client.post(f"/console/multistore/commission/merchants/{m.id}", data={"rate": "12.25", "category_id": str(cat.id)})
    client.post("/console/multistore/commission/default", data={"rate": "150"})  # refused
    client.post("/console/multistore/commission/default", data={"rate": "1.234"})  # refused
    from jishi import settings

    db.session.expire_all()
    assert ledger.parse_bp(settings.get(ledger.COMMISSION_SETTING)) == 550
    assert db.session.get(CategoryCommission, cat.id).rate_bp == 300
    merchant = db.session.get(Merchant, m.id)
    assert (merchant.commission_bp, merchant.commission_category_id) == (1225, cat.id)
    client.post(f"/console/multistore/commission/merchants/{m.id}", data={"rate": "", "category_id": ""})
    db.session.expire_all()
    assert db.session.get(Merchant, m.id).commission_bp is None


def test_merchant_data_api_and_page(app, api, client, factory, ms, login):
    """MS16, issue 19: paid, refunded, paid out, awaiting withdrawal,
    non-withdrawable; paid orders, buyers, items, visits (shop page + its
    product pages) and unique visitors; funnel by unique visitor and product
    analysis, by date range, read from the daily aggregates; clerks 403."""
    from jishi.reports import aggregate, tracking

    m, other = ms.merchant("数据店"), ms.merchant()
    p1 = ms.product(m, price=3000, name="红茶")
    p2 = ms.product(m, price=1000, name="绿茶")
    foreign = ms.product(other, price=1000)
    from jishi import settings

    settings.set_many({"delivery.flat_fee": 0})
    db.session.commit()
    b1, b2 = factory.user(), factory.user()
    [pay1] = place(b1, [(p1.skus[0].id, 2)], factory.address(b1))
    pay(pay1)
    o1 = db.session.execute(select(Order).where(Order.payment_id == pay1.id)).scalar_one()
    refund(o1, [(o1.lines[0].id, 1)])
    [pay2] = place(b2, [(p2.skus[0].id, 1), (p1.skus[0].id, 1)], factory.address(b2))
    pay(pay2)
    o2 = db.session.execute(select(Order).where(Order.payment_id == pay2.id)).scalar_one()
    complete(o2)
    place(b2, [(p2.skus[0].id, 1)], factory.address(b2))  # ordered, not paid
    day = tracking.day_of(utcnow())
    events = (
        [[day, "shop", m.id, m.id, "cvisitor-one"]] * 3
        + [[day, "product", p1.id, m.id, "cvisitor-one"]] * 3
        + [[day, "product", p1.id, m.id, "cvisitor-two"]] * 2
        + [[day, "product", p2.id, m.id, "cvisitor-two"]]
        + [
            [day, "product", foreign.id, other.id, "cvisitor-three"],
            [day, "shop", other.id, other.id, "cvisitor-three"],
        ]
    )
    db.session.commit()
    tracking.write(events)
    aggregate.aggregate_recent()
    assert api.get("/merchant/data", user=ms.clerk(m)).status_code == 403
    r = api.get("/merchant/data", user=ms.admin_of(m))
    assert r.status_code == 200, r.json
    ov = r.json["overview"]
    assert ov["paid_amount"] == 6000 + 4000 and ov["refunded_amount"] == 3000
    assert (ov["paid_orders"], ov["buyers"], ov["items"]) == (2, 2, 4)
    assert (ov["visits"], ov["visitors"], ov["shop_visits"], ov["product_visits"]) == (9, 2, 3, 6)
    assert ov["non_withdrawable"] == 3000 and ov["awaiting_withdrawal"] == 4000 and ov["paid_out"] == 0
    f = r.json["funnel"]
    assert (f["visitors"], f["carted"], f["ordered"], f["paid"]) == (2, 0, 2, 2) and f["order_rate_permille"] == 1000
    prods = {row["product_id"]: row for row in r.json["products"]["items"]}
    assert (prods[p1.id]["pv"], prods[p1.id]["uv"], prods[p1.id]["units"], prods[p1.id]["buyers"]) == (5, 2, 3, 2)
    assert prods[p1.id]["paid_amount"] == 9000 and prods[p1.id]["conversion_permille"] == 1000
    assert foreign.id not in prods
    assert r.json["products"]["on_shelf"] == 2 and r.json["products"]["visited"] == 2
    assert r.json["report"]["overview"]["current"]["uv"] == 2
    old = api.get("/merchant/data?start=2001-01-01&end=2001-01-02", user=ms.admin_of(m)).json
    assert old["overview"]["paid_orders"] == 0 and old["overview"]["visits"] == 0
    assert old["overview"]["awaiting_withdrawal"] == 4000  # balances are as of now
    assert api.get("/merchant/data?start=nope", user=ms.admin_of(m)).status_code == 422
    login(ms.admin_of(m))
    page = client.get("/merchant/data").get_data(as_text=True)
    assert 'data-figure="visits">9' in page and "红茶" in page and 'data-chart="funnel"' in page
    # 付款商品件数: the figure, not Jinja's dict.items method.
    assert 'data-figure="items">4<' in page and "built-in method" not in page
