"""Issue 17 "Surfaces" (DS) on the web: the buyer's promoter centre (code,
link, poster, team, commission records, withdrawing), the platform's
console pages (promoters with review / freeze, commission records with
filters and CSV export, withdrawals approve / pay), and the demo's
promoter tree with commissions."""

from __future__ import annotations

from jishi.db import commit, db
from jishi_distribution import ledger, service
from jishi_distribution.models import Promoter, Withdrawal

from .helpers import balances, buy, buyer_of, code, configure, promoter


def test_centre_page_and_withdraw_form(app, client, factory, login):
    """Issue 17/Surfaces (DS): the centre shows the code, link and the
    commission; the withdraw form takes yuan and names errors."""
    configure(withdraw_min=100)
    a = promoter(factory)
    c = buyer_of(factory, a)
    buy(factory, c, [(factory.product(price=10000), 1)])
    ledger.post(a.id, "released", "seed", available=5000)
    commit()
    login(a)
    html = client.get("/distribution").get_data(as_text=True)
    assert code(a) in html and f"ref={code(a)}" in html and "¥10.00" in html
    assert client.get("/distribution/poster.png").headers["Content-Type"] == "image/png"
    r = client.post(
        "/distribution/withdraw", data={"amount": "12.50", "method": "wechat", "name": "甲", "account": "wx1"}
    )
    assert r.status_code == 302
    assert balances(a)["withdrawing"] == 1250
    client.post("/distribution/withdraw", data={"amount": "abc", "method": "wechat"})
    assert balances(a)["withdrawing"] == 1250


def test_console_promoters_commissions_withdrawals(app, client, factory, login):
    """Issue 17/Surfaces (DS): the platform reviews an application, freezes a
    promoter, filters and exports commission records, approves and pays a
    withdrawal."""
    configure(join_mode="apply", withdraw_min=100)
    applicant = factory.user(name="申请人")
    service.apply(applicant.id, {})
    a = factory.user()
    service._create(a.id, "active", "platform")
    commit()
    c = buyer_of(factory, a)
    [order] = buy(factory, c, [(factory.product(price=10000), 1)])
    admin = factory.admin()
    login(admin)
    assert "申请人" in client.get("/console/distribution/promoters?status=pending").get_data(as_text=True)
    client.post(f"/console/distribution/promoters/{applicant.id}/approve")
    client.post(f"/console/distribution/promoters/{a.id}/freeze")
    db.session.expire_all()
    assert db.session.get(Promoter, applicant.id).status == "active"
    assert db.session.get(Promoter, a.id).status == "frozen"
    page = client.get(f"/console/distribution/commissions?promoter_id={a.id}&level=1").get_data(as_text=True)
    assert "¥10.00" in page
    csv = client.get(f"/console/distribution/commissions.csv?order_id={order.id}").get_data(as_text=True)
    assert csv.splitlines()[0].startswith("id,order_id") and len(csv.splitlines()) == 2
    assert (
        len(client.get("/console/distribution/commissions.csv?order_id=999").get_data(as_text=True).splitlines()) == 1
    )
    report = client.get("/console/distribution/report").get_data(as_text=True)
    assert 'id="sales">¥100.00' in report and 'id="cost">¥10.00' in report
    service.unfreeze(a.id, None)
    ledger.post(a.id, "released", "seed", available=5000)
    from jishi_distribution import withdrawals as wd

    w = wd.request_withdrawal(a.id, 3000, "alipay", {"name": "甲", "account": "a@x"})
    commit()
    assert "¥30.00" in client.get("/console/distribution/withdrawals").get_data(as_text=True)
    client.post(f"/console/distribution/withdrawals/{w.id}/approve")
    client.post(f"/console/distribution/withdrawals/{w.id}/pay")
    db.session.expire_all()
    assert db.session.get(Withdrawal, w.id).status == "paid"
    assert balances(a)["paid"] == 3000


def test_demo_has_a_promoter_tree_with_commissions(app):
    """Issue 17/Proof (DS): ``jishi demo`` makes A -> B -> the demo buyer and a
    paid order earning B level 1 and A level 2."""
    from jishi.demo import load_demo
    from jishi_distribution.models import Commission
    from sqlalchemy import select

    with app.test_request_context("/"):
        summary = load_demo({}, history=False)
    assert "2 promoters" in summary
    from jishi.models import User
    from jishi_distribution.demo import PROMOTER_A, PROMOTER_B

    names = dict(db.session.execute(select(User.id, User.phone)).all())
    rows = db.session.execute(select(Commission.level, Commission.promoter_id, Commission.status)).all()
    assert {(level, names[pid], status) for level, pid, status in rows} == {
        (1, PROMOTER_B, "frozen"),
        (2, PROMOTER_A, "frozen"),
    }
    assert len(rows) >= 4  # the kernel's demo order and the plugin's, two levels each


def test_console_sets_category_and_product_rates(app, client, factory, login):
    """Issue 17/Commissions (DS): the platform sets a category's rates and a
    product's fixed amount per unit in the console; bad input names the
    field; the next order earns by them."""
    from jishi_distribution.models import CategoryRate, ProductRule

    from .helpers import commissions

    cat = factory.category("茶")
    tea = factory.product(price=5000, category=cat)
    cup = factory.product(price=5000, category=cat)
    login(factory.admin())
    client.post("/console/distribution/rates/categories", data={"category_id": cat.id, "level1": "20", "level2": "2.5"})
    client.post(
        "/console/distribution/rates/products",
        data={"product_id": cup.id, "enabled": "on", "level1_fixed": "3.50", "level2_fixed": "1"},
    )
    bad = client.post(
        "/console/distribution/rates/categories", data={"category_id": cat.id, "level1": "120", "level2": "1"}
    )
    assert bad.status_code == 302
    page = client.get("/console/distribution/rates").get_data(as_text=True)
    assert "比例须在 0 到 100% 之间" in page and "20%" in page
    db.session.expire_all()
    assert (db.session.get(CategoryRate, cat.id).level1_bp, db.session.get(CategoryRate, cat.id).level2_bp) == (
        2000,
        250,
    )
    assert db.session.get(ProductRule, cup.id).level1_fixed == 350
    a = promoter(factory)
    b = promoter(factory, upline=a)
    c = buyer_of(factory, b)
    [order] = buy(factory, c, [(tea, 1), (cup, 2)])
    got = sorted((r.level, r.rule, r.amount) for r in commissions(order.id))
    assert got == [(1, "fixed:350", 700), (1, "rate:2000", 1000), (2, "fixed:100", 200), (2, "rate:250", 125)]
