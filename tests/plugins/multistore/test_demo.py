"""K13/MS5: ``jishi demo`` with multistore shows a mall with merchants in
every state, an application waiting, a settled cross-store order and a
withdrawal, and the main mall pages render with it."""

from __future__ import annotations

from jishi.db import db
from sqlalchemy import func, select


def test_demo_mall(app, client, login):
    from jishi.demo import load_demo
    from jishi.models import Order, User
    from jishi_multistore import ledger
    from jishi_multistore.models import Merchant, Withdrawal

    logins: dict = {}
    with app.test_request_context("/"):
        summary = load_demo(logins, history=False)
    assert "5 merchants" in summary
    shops = {m.name: m for m in db.session.execute(select(Merchant)).scalars()}
    assert {m.status for m in shops.values() if m.review_status == "approved"} == {
        "open",
        "resting",
        "closed_today",
        "shut",
    }
    assert shops["花艺工坊"].review_status == "pending"
    fruit = shops["鲜果多多"]
    assert ledger.balance(fruit.id, ledger.AVAILABLE) > 0
    assert db.session.execute(select(func.count(Withdrawal.id))).scalar() == 1
    assert db.session.execute(select(func.count(Order.id)).where(Order.seller_id.is_not(None))).scalar() == 2

    listing = client.get("/shops").get_data(as_text=True)
    assert "鲜果多多" in listing and "旧货铺" not in listing  # shut shops are not listed
    # Issue 13 B: shops and their products show pictures from their own media library
    from jishi.models import MediaAsset, Product

    assert fruit.logo.startswith("/media/") and fruit.logo in listing and fruit.images == [fruit.logo]
    own = {
        a.files["large"]
        for a in db.session.execute(select(MediaAsset).where(MediaAsset.owner_id == fruit.id)).scalars()
    }
    goods = db.session.execute(select(Product).where(Product.seller_id == fruit.id)).scalars().all()
    assert goods and all(p.image.removeprefix("/media/") in own for p in goods)
    assert client.get(goods[0].image).status_code == 200
    assert client.get(f"/shops/{shops['旧货铺'].id}").status_code in (200, 404)
    for role, (phone, _password) in logins.items():
        assert db.session.execute(select(User).where(User.phone == phone)).scalar_one() is not None, role
    client.post(
        "/login", data={"phone": logins["merchant (鲜果多多)"][0], "password": logins["merchant (鲜果多多)"][1]}
    )
    for path in (
        "/merchant/",
        "/merchant/orders",
        "/merchant/products",
        "/merchant/finance",
        "/merchant/data",
        "/merchant/profile",
    ):
        assert client.get(path).status_code == 200, path
