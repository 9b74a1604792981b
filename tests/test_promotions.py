"""K3: ``jishi.promotions``, what promotion plugins share, on its own (no
plugin): the acting seller, the activity lookup (any model with ``id`` and
``seller_id``: here the kernel's ``Product``), the product picker, the form's
price and time fields, and the saving of an activity form."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask_login import login_user
from jishi import promotions
from jishi.catalog.models import Product
from jishi.db import db
from jishi.errors import DomainError
from jishi.hookspecs import SellerScope
from werkzeug.datastructures import MultiDict


def _scope(seller_id):
    return SellerScope(
        seller_id=seller_id, name="s", role="admin", permissions=frozenset({"products"}), console="merchant"
    )


def test_visible_activities_and_activity_for(app, factory):
    shop, mine, other = factory.product(), factory.product(seller_id=7), factory.product(seller_id=8)
    assert {p.id for p in promotions.visible_activities(Product, seller_id=None, platform=True)} >= {
        shop.id,
        mine.id,
        other.id,
    }
    assert [p.id for p in promotions.visible_activities(Product, seller_id=7, platform=False)] == [mine.id]
    assert shop.id in {p.id for p in promotions.visible_activities(Product, seller_id=None, platform=False)}
    assert mine.id not in {p.id for p in promotions.visible_activities(Product, seller_id=None, platform=False)}
    assert promotions.activity_for(Product, mine.id, seller_id=7, platform=False) is mine
    assert (
        promotions.activity_for(Product, other.id, seller_id=7, platform=False) is None
    )  # another seller's: not found
    assert promotions.activity_for(Product, other.id, seller_id=7, platform=True) is other
    assert (
        promotions.activity_for(Product, 2**31, seller_id=None, platform=True) is None
    )  # beyond any id: no query error
    assert promotions.activity_for(Product, 0, seller_id=None, platform=True) is None


def test_product_picker(app, factory):
    mine, other = factory.product(seller_id=7), factory.product(seller_id=8)
    assert [p.id for p in promotions.products_for(_scope(7), False)] == [mine.id]
    assert {mine.id, other.id} <= {p.id for p in promotions.products_for(_scope(None), True)}
    assert promotions.product_for(mine.id, _scope(7), False) is mine
    assert promotions.product_for(other.id, _scope(7), False) is None
    assert promotions.product_for(other.id, _scope(None), True) is other
    assert promotions.product_for(None, _scope(7), False) is None
    assert promotions.product_for(2**40, _scope(None), True) is None


def test_picked_product(app, factory):
    """The form's product: none named, the seller's own, or a 404."""
    import pytest
    from werkzeug.exceptions import NotFound

    mine, other = factory.product(seller_id=7), factory.product(seller_id=8)
    with app.test_request_context("/"):
        assert promotions.picked_product(_scope(7), False) is None
    with app.test_request_context(f"/?product_id={mine.id}"):
        assert promotions.picked_product(_scope(7), False) is mine
    with app.test_request_context("/", method="POST", data={"product_id": str(other.id)}):
        with pytest.raises(NotFound):
            promotions.picked_product(_scope(7), False)


def test_acting(app, factory):
    admin, buyer = factory.admin(), factory.user()
    with app.test_request_context("/"):
        login_user(admin)
        scope, platform = promotions.acting()
        assert scope.seller_id is None and platform is True
    with app.test_request_context("/"):
        login_user(buyer)
        assert promotions.acting() == (None, False)


@pytest.mark.parametrize(
    ("value", "fen"),
    [
        ("12.5", 1250),
        (" 3 ", 300),
        ("0.01", 1),
        ("0", 0),
        ("12.345", None),
        ("-1", None),
        ("abc", None),
        ("NaN", None),
        ("Infinity", None),
        ("1e999999", None),
    ],
)
def test_price_fields_parse_yuan(value, fen):
    """Prices go through ``jishi.money.parse_yuan``: what is not an amount is
    None (the service's validation answers it as a 4xx naming the field),
    never an exception."""
    form = MultiDict([("title", "x"), ("price-5", value), ("price-6", ""), ("price-x", "1"), ("stock-5", "3")])
    assert promotions.price_fields(form) == [(5, fen)]


def test_local_time_fields(app):
    with app.test_request_context("/"):
        moment = promotions.parse_local_input("2026-01-02T08:30")
        assert isinstance(moment, datetime)
        assert promotions.local_input(moment) == "2026-01-02T08:30"
        assert promotions.parse_local_input("soon") is None
        assert promotions.local_input(None) == ""


def test_choice_args_and_carried_fields():
    form = MultiDict(
        [
            ("sku_id", "4"),
            ("quantity", ""),
            ("activity_id", "x"),
            ("delivery-g1", "express"),
            ("message-g1", ""),
            ("opt.coupon", "9"),
            ("other", "y"),
        ]
    )
    args = promotions.choice_args(form, "activity_id")
    assert args == {"sku_id": 4, "quantity": 1, "activity_id": None}
    assert promotions.carried_fields(args, form) == {
        "sku_id": 4,
        "quantity": 1,
        "delivery-g1": "express",
        "opt.coupon": "9",
    }
    assert promotions.idempotency_key({"idempotency_key": " a#b" + "c" * 100}) == ("ab" + "c" * 100)[:72]
    assert promotions.idempotency_key({}) is None


def test_save_form(app, factory):
    product = factory.product()
    with app.test_request_context("/"):

        def fails():
            product.name = "changed"
            raise DomainError("title", "Enter a title.")

        assert promotions.save_form(fails, "console.products") is None  # rolled back, flashed
        db.session.refresh(product)
        assert product.name != "changed"

        def saves():
            product.name = "kept"
            return type("Activity", (), {"id": product.id})()

        answer = promotions.save_form(saves, "console.products")  # committed, on to the endpoint with the activity's id
        assert answer.status_code == 302 and answer.location.endswith(f"?activity_id={product.id}")
    db.session.expire_all()
    assert db.session.get(Product, product.id).name == "kept"
