"""Cart API (SPEC K6, K14): one cart across every seller, grouped by the
``split_cart`` hook and priced by ``line_price_rules`` like the checkout.

``POST /cart/items`` costs three statements whatever the cart size and the
plugins enabled (the token lookup; the SKU with its product, the buyer's
line of it and every plugin's ``purchase_loaders`` rows; the INSERT or
UPDATE): it answers with the changed line, not the whole cart.
"""

from __future__ import annotations

from flask_login import current_user
from marshmallow import Schema, fields, validate

from jishi.api.common import Blueprint, Money, StrictBool, StrictInt, login_required
from jishi.api.fastload import FastLoadSchema, int_in
from jishi.cart import service
from jishi.cart.service import MAX_QUANTITY
from jishi.catalog.service import MAX_ID

blp = Blueprint("cart", __name__, url_prefix="/api/v1", description="The shopping cart")


class CartAddSchema(FastLoadSchema):
    sku_id = StrictInt(required=True, validate=validate.Range(min=1, max=MAX_ID))
    quantity = StrictInt(load_default=1, validate=validate.Range(min=1, max=MAX_QUANTITY))

    def fast_load(self, data: dict) -> dict | None:
        """What ``load`` answers for a plainly valid body (see
        :mod:`jishi.api.fastload`), else None."""
        sku_id, quantity = data.get("sku_id"), data.get("quantity", 1)
        if len(data) > 2 or not int_in(sku_id, 1, MAX_ID) or not int_in(quantity, 1, MAX_QUANTITY):
            return None
        if len(data) == 2 and "quantity" not in data:
            return None
        return {"sku_id": sku_id, "quantity": quantity}


class CartLinePatchSchema(Schema):
    quantity = StrictInt(validate=validate.Range(min=1, max=MAX_QUANTITY))
    selected = StrictBool()


class CartSelectSchema(Schema):
    ids = fields.List(
        StrictInt(validate=validate.Range(min=1, max=MAX_ID)), required=True, validate=validate.Length(max=500)
    )
    selected = StrictBool(required=True)


class CartLineRefSchema(Schema):
    id = StrictInt()
    sku_id = StrictInt()
    quantity = StrictInt()
    selected = fields.Boolean()


class CartSelectResultSchema(Schema):
    updated = StrictInt()


class CartViewLineSchema(Schema):
    id = StrictInt()
    sku_id = StrictInt(attribute="sku.id")
    product_id = StrictInt(attribute="product.id")
    name = fields.String(attribute="product.name")
    image = fields.String(attribute="product.image")
    spec_text = fields.String(attribute="sku.spec_text")
    stock = StrictInt(attribute="sku.stock")
    quantity = StrictInt()
    selected = fields.Boolean()
    base_price = Money()
    unit_price = Money(metadata={"description": "price this buyer pays (member price applied)"})
    price_source = fields.String()
    price_label = fields.String()
    amount = Money()
    available = fields.Boolean()
    problem = fields.String(allow_none=True)
    problem_code = fields.String(allow_none=True)


class CartViewGroupSchema(Schema):
    key = fields.String()
    title = fields.String()
    seller_id = StrictInt(allow_none=True)
    tags = fields.List(fields.String())
    selected_amount = Money()
    lines = fields.List(fields.Nested(CartViewLineSchema))


class CartViewSchema(Schema):
    groups = fields.List(fields.Nested(CartViewGroupSchema))
    total_amount = Money(metadata={"description": "selected, available lines (before order discounts)"})
    selected_quantity = StrictInt()
    quantity = StrictInt()
    all_selected = fields.Boolean()


def _line(line) -> dict:
    return {"id": line.id, "sku_id": line.sku_id, "quantity": line.quantity, "selected": line.selected}


@blp.get("/cart")
@login_required
@blp.response(200, CartViewSchema)
def get_cart():
    """The cart, grouped (one group per future order) with selected totals."""
    return service.view(current_user)


@blp.post("/cart/items")
@login_required
@blp.arguments(CartAddSchema())  # an instance: webargs makes a class anew per request
@blp.response(201, CartLineRefSchema)
def add_item(data):
    """Add a SKU (adding to its line when already in the cart); checked against stock."""
    line = service.add(current_user, data["sku_id"], data["quantity"])
    return _line(line)


@blp.patch("/cart/items/<int(max=2147483647):line_id>")
@login_required
@blp.arguments(CartLinePatchSchema)
@blp.response(200, CartLineRefSchema)
def update_item(data, line_id: int):
    """Change a line's quantity (checked against stock) and/or selection."""
    line = service.update_line(current_user, line_id, data.get("quantity"), data.get("selected"))
    return _line(line)


@blp.delete("/cart/items/<int(max=2147483647):line_id>")
@login_required
@blp.response(204)
def delete_item(line_id: int):
    service.remove(current_user, line_id)


@blp.post("/cart/select")
@login_required
@blp.arguments(CartSelectSchema)
@blp.response(200, CartSelectResultSchema)
def select_lines(data):
    """Select or unselect several lines at once (ids of other buyers' lines are ignored)."""
    n = service.set_selected(current_user, data["ids"], data["selected"])
    return {"updated": n}
