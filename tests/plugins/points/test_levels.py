"""Issue 16 "Member growth levels (会员等级)" (SPEC K5 member levels): growth
value from completed paid amounts, reduced by refunds in proportion (exact
over several partial refunds, a refund before completion reduces what
completion adds), levels reached and left automatically (the kernel's member
level follows growth), the level's member discount / member price through
``price_rules`` (cart, product page and checkout alike), the points
multiplier on earned points, the buyer's level API and fragment."""

from __future__ import annotations

from jishi import settings
from jishi.accounts.models import MemberLevel, User
from jishi.db import commit, db
from jishi.orders.models import Order, OrderLine
from jishi.testing import flows
from jishi_points import levels, service
from jishi_points.models import GrowthEntry, PointsLevel
from sqlalchemy import func, select

from .helpers import balance, goods_paid, make_ladder


def _paid_order(factory, buyer, price, qty=1, **sku):
    product = factory.product(skus=[{"price": price, "stock": 50, **sku}])
    [payment] = flows.place(buyer, [(product.skus[0], qty)], factory.address(buyer))
    flows.pay(payment)
    return flows.fetch(payment.orders[0])


def growth(user) -> int:
    """The buyer's growth, checked equal to the sum of the growth ledger."""
    got = levels.growth_of(user.id)
    assert got == levels.ledger_growth(user.id), (got, levels.ledger_growth(user.id))
    return got


def level_name(user) -> str | None:
    db.session.expire_all()
    u = db.session.get(User, user.id)
    return u.member_level.name if u.member_level else None


def test_growth_on_completion_once(app, factory):
    """Issue 16/Levels: ¥123.45 of goods completed at 1 growth per yuan ->
    123 growth (the delivery fee adds none), nothing at payment; a
    redelivered completion adds nothing."""
    buyer = factory.user()
    order = _paid_order(factory, buyer, 12345)
    assert growth(buyer) == 0
    order = flows.complete(order)
    assert growth(buyer) == goods_paid(order) // 100 == 123
    levels.on_completed(order)  # redelivered
    commit()
    assert growth(buyer) == 123
    assert db.session.scalar(select(func.count(GrowthEntry.id))) == 1


def test_two_partial_refunds_reduce_growth_exactly(app, factory):
    """Issue 16/Levels: at 7 growth per yuan, ¥30.03 of goods give 210
    growth; refunding one unit, then another, leaves exactly
    ``210 - floor(210 * refunded / paid)`` each time (cumulative targets),
    and the last refund takes the rest: the sum of the entries is exact."""
    settings.set_many({levels.GROWTH_PER_YUAN: 7})
    commit()
    buyer = factory.user()
    order = flows.complete(_paid_order(factory, buyer, 1001, qty=3))
    paid = goods_paid(order)
    full = paid * 7 // 100
    assert growth(buyer) == full == 210
    line_id = order.lines[0].id
    for expected_refunded in (1001, 2002, 3003):
        flows.refund(order, [(line_id, 1)])
        refunded = db.session.get(OrderLine, line_id).refunded_amount
        assert refunded == expected_refunded
        assert growth(buyer) == full - full * refunded // paid
    assert growth(buyer) == 0
    kinds = db.session.execute(select(GrowthEntry.kind, GrowthEntry.delta).order_by(GrowthEntry.id)).all()
    assert [k for k, _d in kinds] == ["earned", "reduced", "reduced", "reduced"]
    assert sum(d for _k, d in kinds) == 0


def test_refund_before_completion_reduces_what_completion_adds(app, factory):
    """Issue 16/Levels: a refund of a paid, not yet completed order posts no
    growth; completion adds only what is left, and a later refund takes the
    difference of the targets (exact)."""
    settings.set_many({levels.GROWTH_PER_YUAN: 7})
    commit()
    buyer = factory.user()
    order = _paid_order(factory, buyer, 1001, qty=3)
    line_id = order.lines[0].id
    flows.refund(order, [(line_id, 1)])
    assert growth(buyer) == 0
    order = flows.complete(order)
    full = goods_paid(order) * 7 // 100
    assert growth(buyer) == full - full * 1001 // 3003 == 140
    flows.refund(order, [(line_id, 1)])
    assert growth(buyer) == full - full * 2002 // 3003 == 70


def test_level_up_and_down_automatically(app, factory):
    """Issue 16/Levels: the ladder's rungs are kernel member levels; every
    buyer holds the level their growth reaches (a rung at 0: every buyer,
    at once), up at completion, DOWN after a refund (recomputed, documented);
    a level given by hand outside the ladder is kept."""
    buyer = factory.user()
    staff_level = MemberLevel(name="员工价", rank=9)
    db.session.add(staff_level)
    commit()
    vip = factory.user(member_level_id=staff_level.id)
    make_ladder()
    assert level_name(buyer) == "普通会员" and level_name(vip) == "员工价"
    kernel = {lv.name: lv.rank for lv in db.session.scalars(select(MemberLevel))}
    assert kernel == {"员工价": 9, "普通会员": 1, "银卡": 2, "金卡": 3}
    order = flows.complete(_paid_order(factory, buyer, 60000, qty=2))
    assert growth(buyer) == 1200 and level_name(buyer) == "银卡"
    flows.refund(order, [(order.lines[0].id, 1)])
    assert growth(buyer) == 600 and level_name(buyer) == "普通会员"
    big = flows.complete(_paid_order(factory, vip, 600000))
    assert growth(vip) == 6000 and level_name(vip) == "员工价"
    assert big.status == "completed"


def test_ladder_changes_relevel_buyers(app, factory):
    """Issue 16/Levels: raising a threshold above a buyer's growth moves
    them down; deleting the level they hold moves them to the level their
    growth reaches on the ladder left, and its kernel member level goes too."""
    buyer = factory.user()
    bottom, silver, gold = make_ladder()
    flows.complete(_paid_order(factory, buyer, 120000))
    assert level_name(buyer) == "银卡"
    levels.save_level({**levels.rung_dict(silver), "threshold": 1500}, silver)
    commit()
    assert level_name(buyer) == "普通会员"
    levels.save_level({**levels.rung_dict(silver), "threshold": 1000}, silver)
    commit()
    assert level_name(buyer) == "银卡"
    kernel_id = silver.member_level_id
    levels.delete_level(silver)
    commit()
    assert level_name(buyer) == "普通会员"
    assert db.session.get(MemberLevel, kernel_id) is None
    assert [r.name for r in levels.ladder()] == ["普通会员", "金卡"]


def test_registered_buyer_gets_the_bottom_level(app, api, factory):
    """Issue 16/Levels: a buyer who registers after the ladder exists holds
    the level 0 growth reaches."""
    make_ladder()
    r = api.post("/auth/register", json={"phone": "13912345678", "password": "secret1234", "name": "新人"})
    assert r.status_code in (200, 201), r.json
    user = db.session.scalars(select(User).where(User.phone == "13912345678")).one()
    assert level_name(user) == "普通会员"


def test_points_multiplier_on_earned_points(app, factory):
    """Issue 16/Levels: a level's points multiplier (percent, integer
    arithmetic, rounded down once): ¥123.45 of goods at 1 point per yuan earn
    123 points at 100% and floor(12345 * 150 / 10000) = 185 at 150%; the
    rest of the earning (frozen, then usable) is unchanged."""
    plain = factory.user()
    make_ladder(("金卡", 0, 0, True, 150))
    gold = factory.user()
    levels.sync_level(gold.id)
    commit()
    assert level_name(gold) == "金卡"
    staff_level = MemberLevel(name="员工价", rank=9)
    db.session.add(staff_level)
    commit()
    plain.member_level_id = staff_level.id  # outside the ladder: 100%
    commit()
    first = _paid_order(factory, plain, 12345)
    assert balance(plain) == (0, 123)
    order = _paid_order(factory, gold, 12345)
    assert goods_paid(order) == 12345
    assert balance(gold) == (0, 185)
    assert service.earned_for(12345) == 123 and service.earned_for(12345, 150) == 185
    flows.complete(order)
    assert balance(gold) == (185, 0)
    assert first.user_id == plain.id


def _prices(api, user, sku, product_id):
    """The unit price the cart, the product page and the checkout show, and the placed order's line."""
    api.post("/cart/items", user=user, json={"sku_id": sku.id, "quantity": 1})
    cart = api.get("/cart", user=user).json["groups"][0]["lines"][0]["unit_price"]
    page = api.get(f"/products/{product_id}", user=user).json["skus"][0]["your_price"]
    body = flows.checkout_body([(sku, 1)], flows.address_id(user))
    preview = api.post("/checkout/preview", user=user, json=body).json["groups"][0]["lines"][0]["unit_price"]
    placed = api.post("/checkout/place", user=user, json=body, headers={"Idempotency-Key": f"k{user.id}"})
    assert placed.status_code == 201, placed.json
    line = db.session.scalars(
        select(OrderLine)
        .join(OrderLine.order)
        .where(OrderLine.sku_id == sku.id, Order.user_id == user.id)
        .order_by(OrderLine.id.desc())
        .limit(1)
    ).one()
    return cart, page, preview, line.unit_price


def test_member_discount_priced_identically_everywhere(app, api, factory):
    """Issue 16/Levels: the level's price is the same in the cart, on the
    product page and at checkout (one ``price_rules`` hook): 5% off ¥19.99 =
    ¥18.99 (rounded down to the fen) even though the SKU has a member price
    (not this level's benefit); a member-price level pays ¥18.00; a level
    with both pays the lower; no level, the base price; a kernel level
    outside the ladder keeps the kernel's member price."""
    silver, gold, diamond = make_ladder(
        ("银卡", 0, 500, False, 100), ("金卡", 1000, 0, True, 100), ("钻石", 2000, 1000, True, 100)
    )
    product = factory.product(skus=[{"price": 1999, "member_price": 1800, "stock": 50}])
    sku = product.skus[0]
    expected = {silver: 1899, gold: 1800, diamond: 1799}
    for rung, price in expected.items():
        buyer = factory.user()
        factory.address(buyer)
        db.session.get(User, buyer.id).member_level_id = rung.member_level_id
        commit()
        assert _prices(api, buyer, sku, product.id) == (price, price, price, price), rung.name
    staff_level = MemberLevel(name="员工价", rank=9)
    db.session.add(staff_level)
    commit()
    for level_id, price in ((None, 1999), (staff_level.id, 1800)):
        buyer = factory.user(member_level_id=level_id)
        factory.address(buyer)
        assert _prices(api, buyer, sku, product.id) == (price, price, price, price)


def test_level_api_shape(api, factory):
    """Issue 16/Surfaces: ``GET /api/v1/points/level`` answers the signed-in
    buyer's growth, level, next level, the growth needed, progress and the
    whole ladder, private; 401 signed out."""
    make_ladder()
    buyer = factory.user()
    flows.complete(_paid_order(factory, buyer, 120000))
    r = api.get("/points/level", user=buyer)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "private, no-store"
    data = r.json
    assert data["growth"] == 1200 and data["needed"] == 3800 and data["progress_bp"] == 500
    assert data["level"]["name"] == "银卡" and data["level"]["discount_bp"] == 500
    assert data["next"] == {
        "id": data["ladder"][2]["id"],
        "name": "金卡",
        "threshold": 5000,
        "discount_bp": 0,
        "member_price": True,
        "points_percent": 150,
    }
    assert [x["threshold"] for x in data["ladder"]] == [0, 1000, 5000]
    other = api.get("/points/level", user=factory.user()).json
    assert other["growth"] == 0 and other["level"]["name"] == "普通会员" and other["needed"] == 1000
    assert api.get("/points/level").status_code == 401


def test_level_api_without_a_ladder_and_at_the_top(api, factory):
    """Issue 16/Surfaces: no ladder: no level, no next; at the top: no next, 0 needed, full progress."""
    buyer = factory.user()
    assert api.get("/points/level", user=buyer).json == {
        "growth": 0,
        "level": None,
        "next": None,
        "needed": 0,
        "progress_bp": 0,
        "ladder": [],
    }
    make_ladder(("唯一", 0, 0, False, 100))
    top = api.get("/points/level", user=buyer).json
    assert top["level"]["name"] == "唯一" and top["next"] is None and top["progress_bp"] == 10000


def test_level_fragment_zh_and_en(app, factory):
    """Issue 16/Surfaces, C7/i18n: the buyer's level fragment shows the
    level, the progress bar to the next and the benefits, in Chinese by
    default and in English on request."""
    from flask import render_template
    from flask_babel import force_locale

    make_ladder()
    buyer = factory.user()
    flows.complete(_paid_order(factory, buyer, 120000))
    context = levels.level_for(buyer.id)
    with app.test_request_context("/"):
        zh = render_template("points/level.html", level=context)
    assert "银卡" in zh and "再获得 3800 成长值即可升级为金卡" in zh and "全场商品减免 5%" in zh
    assert 'aria-valuenow="5"' in zh and "1.2 倍积分" in zh
    with app.test_request_context("/"), force_locale("en"):
        en = render_template("points/level.html", level=context)
    assert "3800 more growth to reach 金卡." in en and "5% off every price" in en and "1.2× points" in en


def test_demo_ladder(app):
    """Issue 16/Proof: ``jishi demo`` has a level ladder (普通 0, 银卡 1000,
    金卡 5000, 钻石 20000 growth); the demo buyer keeps the kernel demo's
    黄金会员 (a level outside the ladder)."""
    from jishi.demo import load_demo

    with app.test_request_context("/"):
        summary = load_demo({})
    assert "4 member levels" in summary
    assert [(r.name, r.threshold) for r in levels.ladder()] == [
        ("普通会员", 0),
        ("银卡会员", 1000),
        ("金卡会员", 5000),
        ("钻石会员", 20000),
    ]
    assert db.session.scalar(select(func.count(PointsLevel.id))) == 4
    held = {u.member_level.name for u in db.session.scalars(select(User).where(User.role == "buyer")) if u.member_level}
    assert "黄金会员" in held


def test_web_product_page_shows_the_level_price_within_budget(app, client, factory, queries):
    """Issue 16/Levels, issue 13 D: the storefront product page shows the
    buyer's level price of the selected SKU (¥18.99 at 5% off, the price the
    cart charges) with the other SKUs' ready for the picker, hides the
    kernel's member price badge (not this level's benefit), and reads the
    level in the page's one loaders statement (at most six statements)."""
    from jishi.testing.principals import sign_in_form

    make_ladder(("银卡", 0, 500, False, 100))
    product = factory.product(
        skus=[
            {"price": 1999, "member_price": 1800, "stock": 5, "spec_values": {"规格": "小"}},
            {"price": 3000, "stock": 5, "spec_values": {"规格": "大"}},
        ]
    )
    buyer = factory.user()
    levels.sync_level(buyer.id)
    commit()
    sign_in_form(client, buyer)
    url = f"/product/{product.id}"
    client.get(url)
    with queries() as q:
        resp = client.get(url)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert q.count <= 6 and not q.duplicates(), q.statements
    assert "银卡价" in page and "18.99" in page and "28.50" in page
    assert ".price-box .member-price { display: none; }" in page
    visitor = factory.user()
    sign_in_form(client, visitor)
    db.session.get(User, visitor.id).member_level_id = None
    commit()
    assert "银卡价" not in client.get(url).get_data(as_text=True)
