"""CP at checkout in a single-store shop (platform coupons, seller None):
thresholds, percentage, scope, validity, best choice, explicit choice,
stacking, activities first, other buyers' coupon ids, web form fields."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi.db import db, utcnow

from .helpers import activity, body, coupon, give, template


@pytest.fixture(autouse=True)
def _dump_is_the_schemas(monkeypatch):
    """Issue 20: every preview's ``plugins.coupons`` (``dump_options``, no
    marshmallow) equals ``CouponsCheckoutOptionsSchema().dump`` of it."""
    from jishi_coupons import api as coupons_api

    real = coupons_api.dump_options
    calls = []

    def checked(data):
        out = real(data)
        assert out == coupons_api.CouponsCheckoutOptionsSchema().dump(data)
        calls.append(out)
        return out

    monkeypatch.setattr(coupons_api, "dump_options", checked)
    yield calls


def _shop(factory, *prices, category=None):
    buyer = factory.user()
    addr = factory.address(buyer)
    products = [factory.product(price=p, stock=50, category=category) for p in prices]
    return buyer, addr, products


def _preview(api, buyer, items, addr, coupons=None):
    r = api.post("/checkout/preview", user=buyer, json=body(items, addr, coupons))
    assert r.status_code == 200, r.json
    return r.json


def _options(api, buyer, items, addr, coupons=None):
    r = api.post("/coupons/checkout-options", user=buyer, json=body(items, addr, coupons))
    assert r.status_code == 200, r.json
    return r.json


def test_threshold_not_reached_is_listed_not_applied(api, factory):
    """CP: 满100减10 on 99.99 is listed as not usable with the missing amount."""
    buyer, addr, (p,) = _shop(factory, 9999)
    c = give(buyer, template())
    data = _options(api, buyer, [(p.skus[0], 1)], addr)
    [opt] = data["platform"]["coupons"]
    assert opt["user_coupon_id"] == c.id and not opt["usable"] and opt["amount"] == 0
    assert "0.01" in opt["reason"]
    assert data["chosen"] == [] and _preview(api, buyer, [(p.skus[0], 1)], addr)["totals"]["discount_amount"] == 0


def test_best_coupon_preselected(api, factory):
    """CP: among 满100减10, 9折 max 20 and no-threshold 5, on 150 yuan the 9折
    (15 yuan) is chosen; on 300 yuan the cap makes 9折 20 yuan, still best."""
    buyer, addr, (p,) = _shop(factory, 15000)
    fixed = give(buyer, template(name="满100减10"))
    pct = give(
        buyer, template(name="9折", kind="percent", percent_off=1000, max_discount=2000, threshold=0, amount=None)
    )
    small = give(buyer, template(name="无门槛5元", threshold=0, amount=500))
    data = _options(api, buyer, [(p.skus[0], 1)], addr)
    amounts = {o["user_coupon_id"]: o["amount"] for o in data["platform"]["coupons"]}
    assert amounts == {fixed.id: 1000, pct.id: 1500, small.id: 500}
    assert data["platform"]["chosen"] == pct.id and data["chosen"] == [pct.id]
    assert _preview(api, buyer, [(p.skus[0], 2)], addr)["totals"]["discount_amount"] == 2000  # capped


def test_explicit_choice_none_and_stacking(api, factory):
    """CP: the buyer's list decides; [] uses none; two platform coupons is a
    ``coupon_stacking`` problem and placing is refused naming ``coupons``."""
    buyer, addr, (p,) = _shop(factory, 15000)
    a = give(buyer, template(name="A"))
    b = give(buyer, template(name="B", amount=500))
    items = [(p.skus[0], 1)]
    assert _preview(api, buyer, items, addr, [b.id])["totals"]["discount_amount"] == 500
    assert _preview(api, buyer, items, addr, [])["totals"]["discount_amount"] == 0
    data = _preview(api, buyer, items, addr, [a.id, b.id])
    assert [p["code"] for p in data["problems"]] == ["coupon_stacking"]
    r = api.post("/checkout/place", user=buyer, json=body(items, addr, [a.id, b.id]), headers={"Idempotency-Key": "x"})
    assert r.status_code == 422 and r.json["field"] == "coupons"
    assert coupon(a.id).status == coupon(b.id).status == "unused"


def test_other_buyers_and_bad_coupon_ids(api, factory):
    """CP: another buyer's coupon id reads as unknown (never applied); a
    used, expired or malformed id is a problem on ``coupons``."""
    buyer, addr, (p,) = _shop(factory, 15000)
    other = factory.user()
    theirs = give(other, template(name="theirs"))
    items = [(p.skus[0], 1)]
    data = _preview(api, buyer, items, addr, [theirs.id])
    assert data["totals"]["discount_amount"] == 0
    assert [x["code"] for x in data["problems"]] == ["coupon_unknown"]
    r = api.post("/checkout/place", user=buyer, json=body(items, addr, [theirs.id]), headers={"Idempotency-Key": "y"})
    assert r.status_code == 422 and r.json["code"] == "coupon_unknown"
    assert coupon(theirs.id).status == "unused"
    mine = give(buyer, template(name="mine", valid_days=1))
    row = coupon(mine.id)
    row.valid_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert [x["code"] for x in _preview(api, buyer, items, addr, [mine.id])["problems"]] == ["coupon_expired"]
    assert [x["code"] for x in _preview(api, buyer, items, addr, ["abc"])["problems"]] == ["coupon_invalid"]
    assert [x["code"] for x in _preview(api, buyer, items, addr, {"platform": "x"})["problems"]] == ["coupon_invalid"]
    assert _options(api, buyer, items, addr)["platform"]["coupons"] == []  # expired ones are not offered


@pytest.mark.parametrize("bad_id", [0, -1, -(2**31), "0"])
def test_non_positive_coupon_ids_are_refused_like_unknown_ids(api, factory, bad_id):
    """CP: ``options.coupons`` with an id of 0 or less is not silently
    dropped (the buyer's best coupon is then not applied either): the preview
    shows ``coupon_unknown`` on ``coupons`` and placing answers 422 naming
    the field, nothing used. In the web form's slot dict "0" still means none."""
    buyer, addr, (p,) = _shop(factory, 15000)
    mine = give(buyer, template(name="mine"))
    items = [(p.skus[0], 1)]
    data = _preview(api, buyer, items, addr, [bad_id])
    assert [(x["code"], x["field"]) for x in data["problems"]] == [("coupon_unknown", "coupons")]
    assert data["totals"]["discount_amount"] == 0
    r = api.post("/checkout/place", user=buyer, json=body(items, addr, [bad_id]), headers={"Idempotency-Key": "np"})
    assert r.status_code == 422 and r.json["code"] == "coupon_unknown" and r.json["field"] == "coupons", r.json
    assert coupon(mine.id).status == "unused"
    data = _preview(api, buyer, items, addr, [mine.id, bad_id])
    assert [x["code"] for x in data["problems"]] == ["coupon_unknown"]
    assert _preview(api, buyer, items, addr, {"platform": "0"})["problems"] == []


def test_scope_categories_and_products(api, factory):
    """CP: a category coupon covers that category and below only; a product
    coupon only that product; the threshold counts covered goods only."""
    top = factory.category("茶")
    sub = factory.category("绿茶", parent=top)
    other_cat = factory.category("器")
    buyer = factory.user()
    addr = factory.address(buyer)
    tea = factory.product(price=8000, stock=9, category=sub)
    cup = factory.product(price=8000, stock=9, category=other_cat)
    cat = give(buyer, template(name="茶券", scope="categories", scope_ids=[top.id], threshold=10000))
    prod = give(buyer, template(name="杯券", scope="products", scope_ids=[cup.id], threshold=0, amount=300))
    items = [(tea.skus[0], 1), (cup.skus[0], 1)]
    data = _options(api, buyer, items, addr)
    amounts = {o["user_coupon_id"]: o["amount"] for o in data["platform"]["coupons"]}
    assert amounts == {cat.id: 0, prod.id: 300}  # 80 yuan of tea does not reach 100
    preview = _preview(api, buyer, items, addr, [prod.id])
    lines = {line["product_id"]: line for g in preview["groups"] for line in g["lines"]}
    assert lines[cup.id]["discount"] == 300 and lines[tea.id]["discount"] == 0
    items = [(tea.skus[0], 2), (cup.skus[0], 1)]
    preview = _preview(api, buyer, items, addr, [cat.id])
    lines = {line["product_id"]: line for g in preview["groups"] for line in g["lines"]}
    assert lines[tea.id]["discount"] == 1000 and lines[cup.id]["discount"] == 0


def test_not_yet_valid_coupon_is_not_offered(api, factory):
    """CP: a coupon whose validity has not started is not offered."""
    buyer, addr, (p,) = _shop(factory, 15000)
    c = give(buyer, template())
    row = coupon(c.id)
    row.valid_from = utcnow() + timedelta(days=1)
    db.session.commit()
    assert _options(api, buyer, [(p.skus[0], 1)], addr)["platform"]["coupons"] == []
    assert [x["code"] for x in _preview(api, buyer, [(p.skus[0], 1)], addr, [c.id])["problems"]] == [
        "coupon_not_started"
    ]


def test_activity_first_then_coupon_on_what_remains(api, factory):
    """CP: 满100减10 / 满200减30 activity on 210 yuan takes 30 (highest tier);
    a 满180减20 coupon then sees 180 left and applies: 50 off in all; a
    满190减20 coupon would not."""
    buyer, addr, (p,) = _shop(factory, 21000)
    activity()
    ok = give(buyer, template(name="满180减20", threshold=18000, amount=2000))
    too_high = give(buyer, template(name="满190减20", threshold=19000, amount=2000))
    items = [(p.skus[0], 1)]
    data = _options(api, buyer, items, addr)
    amounts = {o["user_coupon_id"]: o["amount"] for o in data["platform"]["coupons"]}
    assert amounts == {ok.id: 2000, too_high.id: 0}
    assert [d["source"] for d in data["discounts"]] == [data["discounts"][0]["source"], f"coupon:{ok.id}"]
    assert data["discounts"][0]["amount"] == 3000
    assert _preview(api, buyer, items, addr)["totals"]["discount_amount"] == 5000


def test_only_the_best_platform_activity_applies(api, factory):
    """CP: two platform activities do not stack: the one taking the most applies."""
    buyer, addr, (p,) = _shop(factory, 20000)
    activity(name="小", tiers=[[10000, 500]])
    activity(name="大", tiers=[[20000, 2500]])
    preview = _preview(api, buyer, [(p.skus[0], 1)], addr)
    assert [d["label"] for d in preview["discounts"]] == ["大"] and preview["totals"]["discount_amount"] == 2500


def test_web_checkout_offers_and_uses_the_chosen_coupon(client, login, factory):
    """CP: the web checkout shows a platform coupon select (opt.coupons.platform)
    with the best preselected; choosing "none" and recalculating keeps the choice."""
    buyer, addr, (p,) = _shop(factory, 15000)
    a = give(buyer, template(name="满100减10"))
    login(buyer)
    assert client.post("/cart/add", data={"sku_id": p.skus[0].id, "quantity": 1}).status_code in (200, 302, 303)
    page = client.get("/checkout").get_data(as_text=True)
    assert 'name="opt.coupons.platform"' in page and f'value="{a.id}" selected' in page
    page = client.get("/checkout?opt.coupons.platform=0").get_data(as_text=True)
    assert 'value="0" selected' in page
    import re

    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    r = client.post(
        "/checkout",
        data={
            "address_id": addr.id,
            "idempotency_key": key,
            "action": "place",
            "opt.coupons.platform": str(a.id),
            "csrf_token": "",
        },
    )
    assert r.status_code in (302, 303), r.status_code
    assert coupon(a.id).status == "used"


def test_unpaid_timeout_returns_the_coupon_and_an_expired_one_stays_expired(app, api, factory):
    """CP: the unpaid-order job closes the order and gives the coupon back
    (unused); a coupon whose validity ended meanwhile comes back as expired."""
    from jishi.orders.service import close_unpaid

    buyer, addr, (p,) = _shop(factory, 15000)
    keep = give(buyer, template(name="keep"))
    items = [(p.skus[0], 1)]
    r = api.post("/checkout/place", user=buyer, json=body(items, addr, [keep.id]), headers={"Idempotency-Key": "t1"})
    assert r.status_code == 201 and coupon(keep.id).status == "used"
    with app.test_request_context("/"):
        assert close_unpaid(now=utcnow() + timedelta(days=2)) == 1
    row = coupon(keep.id)
    assert row.status == "unused" and row.returned_count == 1 and row.open_orders == 0
    lapse = give(buyer, template(name="lapse", valid_days=1))
    r = api.post("/checkout/place", user=buyer, json=body(items, addr, [lapse.id]), headers={"Idempotency-Key": "t2"})
    assert r.status_code == 201
    row = coupon(lapse.id)
    row.valid_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    with app.test_request_context("/"):
        assert close_unpaid(now=utcnow() + timedelta(days=2)) == 1
    assert coupon(lapse.id).status == "expired"
    assert [c["status"] for c in api.get("/me/coupons?status=expired", user=buyer).json] == ["expired"]


def test_web_form_field_opt_coupons_as_a_list(client, login, factory):
    """CP: the plain ``opt.coupons`` form field (repeated for several) is read
    like the API's list: exactly those coupons, another buyer's id refused."""
    import re

    buyer, addr, (p,) = _shop(factory, 15000)
    a = give(buyer, template(name="A"))
    b = give(buyer, template(name="B", amount=500))
    theirs = give(factory.user(), template(name="C"))
    login(buyer)
    client.post("/cart/add", data={"sku_id": p.skus[0].id, "quantity": 1})
    page = client.get(f"/checkout?opt.coupons={b.id}").get_data(as_text=True)
    assert f'value="{b.id}" selected' in page
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    r = client.post(
        "/checkout",
        data={"address_id": addr.id, "idempotency_key": key, "action": "place", "opt.coupons": [str(theirs.id)]},
    )
    assert r.status_code in (302, 303) and "/checkout" in r.headers["Location"]
    assert coupon(theirs.id).status == "unused"
    r = client.post(
        "/checkout", data={"address_id": addr.id, "idempotency_key": key, "action": "place", "opt.coupons": [str(b.id)]}
    )
    assert r.status_code in (302, 303) and "/pay" in r.headers["Location"]
    assert coupon(b.id).status == "used" and coupon(a.id).status == "unused"
