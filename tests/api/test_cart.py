"""K6, K14, K15: the cart — add (merging lines), quantities checked against
stock, selection, grouping by the split hook, member prices, ownership."""

from __future__ import annotations

import pytest
from jishi.accounts.models import MemberLevel
from jishi.cart import service
from jishi.cart.models import CartLine
from jishi.db import db
from jishi.hookspecs import CartGroup, hookimpl


def lines(api, user):
    resp = api.get("/cart", user=user)
    assert resp.status_code == 200, resp.json
    return resp.json


def test_add_merge_update_select_remove(api, factory):
    """K6: adding the same SKU adds to its line; change, select, remove."""
    buyer = factory.user()
    a = factory.product("甲", price=1000, stock=10)
    b = factory.product("乙", price=250, stock=10)
    r1 = api.post("/cart/items", user=buyer, json={"sku_id": a.skus[0].id, "quantity": 2})
    assert r1.status_code == 201 and r1.json["quantity"] == 2 and r1.json["selected"] is True
    r2 = api.post("/cart/items", user=buyer, json={"sku_id": a.skus[0].id, "quantity": 3})
    assert r2.json["id"] == r1.json["id"] and r2.json["quantity"] == 5
    rb = api.post("/cart/items", user=buyer, json={"sku_id": b.skus[0].id})
    assert rb.json["quantity"] == 1

    cart = lines(api, buyer)
    assert cart["total_amount"] == 5 * 1000 + 250 and cart["selected_quantity"] == 6
    [group] = cart["groups"]
    assert {line["name"] for line in group["lines"]} == {"甲", "乙"}

    resp = api.patch(f"/cart/items/{r1.json['id']}", user=buyer, json={"quantity": 1, "selected": False})
    assert resp.status_code == 200 and resp.json == {
        "id": r1.json["id"],
        "sku_id": a.skus[0].id,
        "quantity": 1,
        "selected": False,
    }
    cart = lines(api, buyer)
    assert cart["total_amount"] == 250 and cart["quantity"] == 2 and cart["all_selected"] is False

    resp = api.post("/cart/select", user=buyer, json={"ids": [r1.json["id"], rb.json["id"]], "selected": True})
    assert resp.json == {"updated": 2}
    assert lines(api, buyer)["total_amount"] == 1250

    assert api.delete(f"/cart/items/{rb.json['id']}", user=buyer).status_code == 204
    assert lines(api, buyer)["total_amount"] == 1000
    assert api.delete(f"/cart/items/{rb.json['id']}", user=buyer).status_code == 404


def test_quantity_checked_against_stock(api, factory):
    """K6: the cart refuses more than the stock (also when merging lines)."""
    buyer = factory.user()
    p = factory.product("限量", stock=3)
    sku = p.skus[0].id
    assert api.post("/cart/items", user=buyer, json={"sku_id": sku, "quantity": 4}).status_code == 409
    line = api.post("/cart/items", user=buyer, json={"sku_id": sku, "quantity": 2}).json
    resp = api.post("/cart/items", user=buyer, json={"sku_id": sku, "quantity": 2})
    assert resp.status_code == 409 and resp.json["code"] == "out_of_stock" and resp.json["field"] == "quantity"
    resp = api.patch(f"/cart/items/{line['id']}", user=buyer, json={"quantity": 4})
    assert resp.status_code == 409
    assert db.session.get(CartLine, line["id"]).quantity == 2
    # Stock falling later shows up as a problem in the cart, and the line leaves the totals.
    p.skus[0].stock = 1
    db.session.commit()
    cart = lines(api, buyer)
    [vline] = cart["groups"][0]["lines"]
    assert vline["available"] is False and vline["problem_code"] == "out_of_stock" and vline["problem"]
    assert cart["total_amount"] == 0


@pytest.mark.parametrize(
    "body, field",
    [
        ({"sku_id": 1, "quantity": 2.5}, "quantity"),
        ({"sku_id": 1, "quantity": "2"}, "quantity"),
        ({"sku_id": 1, "quantity": 0}, "quantity"),
        ({"sku_id": 1, "quantity": -1}, "quantity"),
        ({"sku_id": 1, "quantity": 10**6}, "quantity"),
        ({"sku_id": "1", "quantity": 1}, "sku_id"),
        ({"quantity": 1}, "sku_id"),
        ({"sku_id": 1, "quantity": 1, "price": 1}, "price"),
    ],
)
def test_bad_input_names_the_field(api, factory, body, field):
    """K14: bad cart input is a 422 naming the field; nothing is written."""
    buyer = factory.user()
    factory.product(stock=5)
    resp = api.post("/cart/items", user=buyer, json=body)
    assert resp.status_code == 422, resp.json
    assert resp.json["field"] == field, resp.json
    assert db.session.execute(db.select(CartLine)).first() is None


def test_unknown_and_off_shelf_skus(api, factory):
    """K6/K15: unknown SKUs are 404; a SKU of an off-shelf product cannot be
    added and answers exactly like an unknown one (its product page is a
    404 too): same status, code and message, no product name."""
    buyer = factory.user()
    off = factory.product(name="秘密新品", on_shelf=False)
    unknown_id = off.skus[0].id + 1000
    unknown = api.post("/cart/items", user=buyer, json={"sku_id": unknown_id, "quantity": 1})
    assert unknown.status_code == 404
    resp = api.post("/cart/items", user=buyer, json={"sku_id": off.skus[0].id, "quantity": 1})
    assert resp.status_code == 404 and resp.json["code"] == "not_found", resp.json
    assert resp.json == {
        **unknown.json,
        "message": unknown.json["message"].replace(str(unknown_id), str(off.skus[0].id)),
    }
    assert "秘密新品" not in resp.get_data(as_text=True)
    assert api.get(f"/products/{off.id}", user=buyer).status_code == 404
    assert db.session.execute(db.select(CartLine)).first() is None


def test_another_buyers_line_is_404(api, factory):
    """K15: a buyer cannot see, change, select or delete another buyer's cart line."""
    owner, other = factory.user(), factory.user()
    p = factory.product(stock=5)
    line = api.post("/cart/items", user=owner, json={"sku_id": p.skus[0].id, "quantity": 1}).json
    assert api.patch(f"/cart/items/{line['id']}", user=other, json={"quantity": 2}).status_code == 404
    assert api.delete(f"/cart/items/{line['id']}", user=other).status_code == 404
    assert api.post("/cart/select", user=other, json={"ids": [line["id"]], "selected": False}).json == {"updated": 0}
    assert lines(api, other)["groups"] == []
    cart = lines(api, owner)
    assert cart["groups"][0]["lines"][0]["quantity"] == 1 and cart["groups"][0]["lines"][0]["selected"] is True
    assert api.get("/cart").status_code == 401
    assert api.post("/cart/items", json={"sku_id": p.skus[0].id, "quantity": 1}).status_code == 401


def test_member_price_in_cart(api, factory):
    """K5, K6: a buyer with a member level pays the member price in the cart."""
    level = MemberLevel(name="银卡")
    db.session.add(level)
    db.session.commit()
    member = factory.user(member_level_id=level.id)
    plain = factory.user()
    p = factory.product(skus=[{"price": 1000, "member_price": 800, "stock": 9}])
    for u in (member, plain):
        api.post("/cart/items", user=u, json={"sku_id": p.skus[0].id, "quantity": 2})
    m = lines(api, member)["groups"][0]["lines"][0]
    assert (m["unit_price"], m["base_price"], m["amount"], m["price_source"]) == (800, 1000, 1600, "member")
    assert lines(api, plain)["total_amount"] == 2000


class SplitBySeller:
    """A throwaway split_cart plugin: one group per seller."""

    @hookimpl
    def split_cart(self, lines, user):
        groups = {}
        for line in lines:
            groups.setdefault(line.seller_id, []).append(line.key)
        return [
            CartGroup(
                key=f"seller:{sid or 0}",
                title=f"店铺{sid or 0}",
                line_keys=tuple(keys),
                seller_id=sid,
                tags=("营业中",),
            )
            for sid, keys in sorted(groups.items(), key=lambda kv: kv[0] or 0)
        ]


@pytest.fixture
def extra_plugins():
    return [SplitBySeller()]


def test_lines_grouped_by_split_hook(api, factory):
    """K6: the cart is one cart across sellers, grouped by the split_cart hook."""
    buyer = factory.user()
    p1 = factory.product("自营", price=100, seller_id=None)
    p2 = factory.product("A店", price=200, seller_id=5)
    p3 = factory.product("A店2", price=300, seller_id=5)
    for p in (p1, p2, p3):
        api.post("/cart/items", user=buyer, json={"sku_id": p.skus[0].id, "quantity": 1})
    cart = lines(api, buyer)
    assert [(g["key"], g["selected_amount"], len(g["lines"])) for g in cart["groups"]] == [
        ("seller:0", 100, 1),
        ("seller:5", 500, 2),
    ]
    assert cart["groups"][1]["tags"] == ["营业中"] and cart["groups"][1]["seller_id"] == 5
    assert cart["total_amount"] == 600


def test_service_view_for_templates(app, factory):
    """K6: the service CartView used by the storefront templates."""
    buyer = factory.user()
    p = factory.product(price=500, stock=5)
    line = service.add(buyer, p.skus[0].id, 2)
    view = service.view(buyer)
    [vline] = view.lines
    assert vline.id == line.id and vline.amount == 1000 and vline.product.id == p.id
    assert view.total_amount == 1000 and service.count(buyer) == 2
    with pytest.raises(service.CartError) as err:
        service.set_quantity(buyer, line.id, 6)
    assert err.value.field == "quantity"


def test_add_read_by_the_held_statement(app, factory, monkeypatch):
    """Issue 20: ``add`` reads the SKU, its product and the buyer's line by
    a held Core statement (``_held_sellable``) whose rows become clean
    persistent instances, ``Sku.product`` loaded, as the ORM's read made
    them; a session already holding one of them reads through the ORM."""
    from jishi.accounts.models import User
    from jishi.catalog.models import Sku
    from sqlalchemy import inspect

    buyer = factory.user()
    sku = factory.product("甲", price=1000, stock=10).skus[0]
    buyer_id, sku_id = buyer.id, sku.id
    db.session.commit()
    real = service._held_sellable
    seen = []

    def recorded(held, params):
        row = real(held, params)
        seen.append(row)
        return row

    monkeypatch.setattr(service, "_held_sellable", recorded)
    for quantity, existing in ((2, False), (3, True)):
        db.session.expunge_all()
        buyer = db.session.get(User, buyer_id)
        line = service.add(buyer, sku_id, quantity)
        row = seen[-1]
        assert row is not service._NOT_HELD and (row[1] is not None) is existing
        held_sku = row[0]
        assert inspect(held_sku).persistent and not inspect(held_sku).expired_attributes
        assert "product" in held_sku.__dict__ and held_sku.product.name == "甲" and held_sku.stock == 10
        assert line.sku is held_sku and line.quantity == (5 if existing else 2)
        if existing:
            assert row[1] is line and not inspect(line).modified
    db.session.expunge_all()
    buyer = db.session.get(User, buyer_id)
    held = db.session.get(Sku, sku_id)  # the session holds the SKU: the ORM reads the row
    line = service.add(buyer, sku_id, 1)
    assert seen[-1] is service._NOT_HELD and line.sku is held and line.quantity == 6
    db.session.expire_all()
    assert db.session.get(CartLine, line.id).quantity == 6


def test_add_written_by_held_statements(app, factory, monkeypatch):
    """K6 / issue 20: ``add`` writes its line with held Core statements
    (no unit-of-work flush); the line answered is a clean persistent
    instance with its SKU, a second add updates it, and a line another
    request inserted meanwhile (the unique (user, SKU) refuses the INSERT)
    is added to instead."""
    from sqlalchemy import inspect

    buyer = factory.user()
    sku = factory.product("甲", price=1000, stock=10).skus[0]
    line = service.add(buyer, sku.id, 2)
    state = inspect(line)
    assert state.persistent and not state.modified and line.sku is sku and line.selected is True
    assert (line.user_id, line.sku_id, line.quantity) == (buyer.id, sku.id, 2) and line.created_at is not None
    again = service.add(buyer, sku.id, 3)
    assert again is line and line.quantity == 5 and not inspect(line).modified
    db.session.expire_all()
    assert db.session.get(CartLine, line.id).quantity == 5

    real = service._sellable_sku
    calls = []

    def stale(sku_id, user):  # as if the line did not exist yet when read
        found, held = real(sku_id, user)
        calls.append(held)
        return (found, None) if len(calls) == 1 else (found, held)

    monkeypatch.setattr(service, "_sellable_sku", stale)
    merged = service.add(buyer, sku.id, 1)
    assert len(calls) == 2 and merged.id == line.id and merged.quantity == 6
    db.session.expire_all()
    assert db.session.execute(db.select(CartLine)).scalars().all() == [merged]


def test_add_to_a_line_removed_meanwhile_adds_it_anew(app, factory, monkeypatch):
    """K6: a line another request removed between ``add``'s read and its
    UPDATE (which then changes no row) is inserted anew with the quantity
    asked for, never answered as a line the cart does not hold."""
    from sqlalchemy import delete

    buyer = factory.user()
    sku = factory.product("甲", price=1000, stock=10).skus[0]
    service.add(buyer, sku.id, 2)
    real = service._sellable_sku
    calls = []

    def removed(sku_id, user):  # read the line, then another request removes it
        found, held = real(sku_id, user)
        calls.append(held)
        if len(calls) == 1:
            assert held is not None
            db.session.execute(delete(CartLine).where(CartLine.id == held.id))
            db.session.commit()
        return found, held

    monkeypatch.setattr(service, "_sellable_sku", removed)
    line = service.add(buyer, sku.id, 3)
    assert len(calls) == 2 and calls[1] is None
    assert line.quantity == 3  # (SQLite may give the new row the removed one's id)
    db.session.expire_all()
    assert [(ln.id, ln.quantity) for ln in db.session.execute(db.select(CartLine)).scalars()] == [(line.id, 3)]


def test_add_writes_run_from_held_sql(app, factory):
    """Issue 20: the INSERT and the UPDATE of ``add`` run from their SQL held
    per dialect (``jishi.loaders.held_rows``), not through SQLAlchemy's
    execute each time."""
    buyer = factory.user()
    sku = factory.product("甲", price=1000, stock=10).skus[0]
    service.add(buyer, sku.id, 1)
    service.add(buyer, sku.id, 1)
    dialect = db.session.get_bind().dialect
    for name in ("insert", "update"):
        _stmt, forms = service._WRITES[name]
        assert forms.get(dialect) is not None, name
