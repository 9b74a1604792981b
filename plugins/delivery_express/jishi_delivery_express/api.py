"""JSON API (SPEC DE).

- ``/admin/express/templates...``: the platform admin manages templates.
- ``/seller/express/...``: the seller of the signed-in user
  (:func:`jishi.sellers.current_scope`): chosen templates (``settings``),
  products' templates (``products``), shipping and tracking (``orders``).
- ``/orders/<id>/tracking``: the buyer's own order's carrier, tracking
  number and timeline.

Other sellers' objects answer 404.
"""

from __future__ import annotations

from flask_login import current_user
from jishi.access import platform_api
from jishi.api.common import Blueprint as ApiBlueprint
from jishi.api.common import (
    DateTime,
    Money,
    StrictBool,
    StrictInt,
    login_required,
    not_found,
)
from jishi.i18n import gettext as _
from jishi.orders import service as orders_service
from jishi.sellers import current_scope, seller_api
from marshmallow import Schema, fields, validate

from jishi_delivery_express import carriers, service
from jishi_delivery_express.fees import CHARGE_BY

api = ApiBlueprint(
    "express_api",
    __name__,
    url_prefix="/api/v1",
    description="Express delivery (快递发货): templates, shipping, tracking.",
)


def Units(**kw):
    return StrictInt(validate=validate.Range(min=1, max=service.MAX_UNITS), **kw)


def Fee(**kw):
    return Money(validate=validate.Range(min=0, max=service.MAX_FEE), **kw)


# -- schemas -------------------------------------------------------------------------


class ExpressRegionSchema(Schema):
    province = fields.String(required=True, validate=validate.Length(min=1, max=30))
    city = fields.String(load_default="", validate=validate.Length(max=30))
    served = StrictBool(load_default=True)
    first_units = Units(allow_none=True)
    first_fee = Fee(allow_none=True)
    additional_units = Units(allow_none=True)
    additional_fee = Fee(allow_none=True)


class ExpressTemplateArgs(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    charge_by = fields.String(
        required=True, validate=validate.OneOf(CHARGE_BY), metadata={"description": "piece or weight (grams)"}
    )
    first_units = Units(required=True, metadata={"description": "pieces, or grams when by weight"})
    first_fee = Fee(required=True)
    additional_units = Units(required=True)
    additional_fee = Fee(required=True)
    free_over_amount = Fee(
        load_default=0, metadata={"description": "free shipping from this goods amount (fen); 0: none"}
    )
    free_over_pieces = StrictInt(
        load_default=0,
        validate=validate.Range(min=0, max=service.MAX_UNITS),
        metadata={"description": "and from this many pieces; 0: none"},
    )
    regions = fields.List(fields.Nested(ExpressRegionSchema), load_default=list, validate=validate.Length(max=100))


class ExpressTemplateSchema(ExpressTemplateArgs):
    id = fields.Integer()
    is_default = fields.Boolean()
    regions = fields.List(fields.Nested(ExpressRegionSchema))


class ExpressTemplateListSchema(Schema):
    items = fields.List(fields.Nested(ExpressTemplateSchema))


class ExpressSellerTemplateSchema(ExpressTemplateSchema):
    chosen = fields.Boolean()
    seller_default = fields.Boolean()


class ExpressSellerTemplatesSchema(Schema):
    items = fields.List(fields.Nested(ExpressSellerTemplateSchema))
    platform_default_id = fields.Integer(allow_none=True)


class ExpressChooseArgs(Schema):
    template_ids = fields.List(
        StrictInt(validate=validate.Range(min=1, max=service.MAX_ID)), required=True, validate=validate.Length(max=100)
    )
    default_id = StrictInt(allow_none=True, load_default=None, validate=validate.Range(min=1, max=service.MAX_ID))


class ExpressProductTemplateSchema(Schema):
    product_id = fields.Integer()
    name = fields.String()
    template_id = fields.Integer(allow_none=True)


class ExpressProductListArgs(Schema):
    after = fields.Integer(load_default=None, validate=validate.Range(min=0, max=service.MAX_ID))  # query: text


class ExpressProductListSchema(Schema):
    items = fields.List(fields.Nested(ExpressProductTemplateSchema))


class ExpressProductTemplateArgs(Schema):
    template_id = StrictInt(
        required=True,
        allow_none=True,
        validate=validate.Range(min=1, max=service.MAX_ID),
        metadata={"description": "one of the seller's templates; null: the seller's default"},
    )


class ExpressShipArgs(Schema):
    carrier = fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "a carrier code (" + ", ".join([*carriers.CARRIERS, carriers.OTHER]) + ") or name"},
    )
    carrier_name = fields.String(
        load_default="", validate=validate.Length(max=40), metadata={"description": "the name when carrier is other"}
    )
    tracking_no = fields.String(required=True, validate=validate.Length(max=60))


class ExpressShipItemArgs(ExpressShipArgs):
    # an id out of range is that item's "not found", as any unknown order
    # (the batch answers per item): documented, not refused by the schema
    order_id = StrictInt(required=True, metadata={"minimum": 1, "maximum": service.MAX_ID})


class ExpressBatchArgs(Schema):
    items = fields.List(fields.Nested(ExpressShipItemArgs), required=True, validate=validate.Length(min=1, max=200))


class ExpressShipResultSchema(Schema):
    order_id = fields.Integer(allow_none=True)
    ok = fields.Boolean()
    code = fields.String(allow_none=True)
    field = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    carrier = fields.String()
    tracking_no = fields.String()


class ExpressBatchResultSchema(Schema):
    items = fields.List(fields.Nested(ExpressShipResultSchema))
    shipped = fields.Integer()
    failed = fields.Integer()


class ExpressEventSchema(Schema):
    time = DateTime()
    text = fields.String()
    location = fields.String()


class ExpressTrackingSchema(Schema):
    order_id = fields.Integer()
    number = fields.String()
    status = fields.String()
    delivery_method = fields.String()
    delivery_label = fields.String()
    carrier = fields.String()
    tracking_no = fields.String()
    shipped_at = DateTime(allow_none=True)
    events = fields.List(fields.Nested(ExpressEventSchema))


class ExpressEventArgs(Schema):
    time = fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "ISO time, e.g. 2026-05-01T14:30"},
    )
    text = fields.String(required=True, validate=validate.Length(min=1, max=200))


# -- helpers ---------------------------------------------------------------------------


def template_dict(t) -> dict:
    return {
        "id": t.id,
        "name": t.name,
        "charge_by": t.charge_by,
        "first_units": t.first_units,
        "first_fee": t.first_fee,
        "additional_units": t.additional_units,
        "additional_fee": t.additional_fee,
        "free_over_amount": t.free_over_amount,
        "free_over_pieces": t.free_over_pieces,
        "is_default": t.is_default,
        "regions": [
            {
                "province": r.province,
                "city": r.city,
                "served": r.served,
                "first_units": r.first_units,
                "first_fee": r.first_fee,
                "additional_units": r.additional_units,
                "additional_fee": r.additional_fee,
            }
            for r in t.regions
        ],
    }


def tracking_dict(order) -> dict:
    return {
        "order_id": order.id,
        "number": order.number,
        "status": order.status,
        "delivery_method": order.delivery_method,
        "delivery_label": order.delivery_label,
        "carrier": order.carrier,
        "tracking_no": order.tracking_no,
        "shipped_at": order.shipped_at,
        "events": [{"time": e.time, "text": e.text, "location": e.location} for e in service.tracking_events(order)],
    }


def _seller_id() -> int | None:
    return current_scope("api").seller_id


# -- the platform -------------------------------------------------------------------------


@api.get("/admin/express/templates")
@platform_api("settings")
@api.response(200, ExpressTemplateListSchema)
def admin_list_templates():
    """Every delivery template (the platform's default has ``is_default``)."""
    return {"items": [template_dict(t) for t in service.templates()]}


@api.post("/admin/express/templates")
@platform_api("settings")
@api.arguments(ExpressTemplateArgs)
@api.response(201, ExpressTemplateSchema)
def admin_create_template(args):
    """Create a template; the first one becomes the platform's default."""
    return template_dict(service.save_template(args))


@api.get("/admin/express/templates/<int:template_id>")
@platform_api("settings")
@api.response(200, ExpressTemplateSchema)
def admin_get_template(template_id):
    return template_dict(service.get_template(template_id))


@api.put("/admin/express/templates/<int:template_id>")
@platform_api("settings")
@api.arguments(ExpressTemplateArgs)
@api.response(200, ExpressTemplateSchema)
def admin_update_template(args, template_id):
    """Replace a template's rates, threshold and region rules."""
    return template_dict(service.save_template(args, service.get_template(template_id)))


@api.delete("/admin/express/templates/<int:template_id>")
@platform_api("settings")
@api.response(204)
def admin_delete_template(template_id):
    """Delete a template; sellers' choices and products' links to it go."""
    service.delete_template(service.get_template(template_id))
    return ""


@api.post("/admin/express/templates/<int:template_id>/default")
@platform_api("settings")
@api.response(200, ExpressTemplateSchema)
def admin_default_template(template_id):
    """Make this the platform's default template: sellers who chose none use it."""
    t = service.get_template(template_id)
    service.make_default(t)
    return template_dict(t)


# -- the seller ------------------------------------------------------------------------------


@api.get("/seller/express/templates")
@seller_api("settings")
@api.response(200, ExpressSellerTemplatesSchema)
def seller_templates():
    """The platform's templates, which the seller chose and its default."""
    return _seller_templates()


def _seller_templates() -> dict:
    choices = {c.template_id: c for c in service.seller_choices(_seller_id())}
    default = service.platform_default()
    items = []
    for t in service.templates():
        d = template_dict(t)
        d["chosen"] = t.id in choices
        d["seller_default"] = bool(choices.get(t.id) and choices[t.id].is_default)
        items.append(d)
    return {"items": items, "platform_default_id": default.id if default else None}


@api.put("/seller/express/templates")
@seller_api("settings")
@api.arguments(ExpressChooseArgs)
@api.response(200, ExpressSellerTemplatesSchema)
def seller_choose_templates(args):
    """Choose the templates the seller uses and its default (sellers cannot
    create templates)."""
    service.choose_templates(_seller_id(), args["template_ids"], args.get("default_id"))
    return _seller_templates()


@api.get("/seller/express/products")
@seller_api("products")
@api.arguments(ExpressProductListArgs, location="query")
@api.response(200, ExpressProductListSchema)
def seller_products(args):
    """The seller's products (200 per page, ``after`` the last id) with their template."""
    rows = service.seller_products(_seller_id(), after=args.get("after"))
    return {"items": [{"product_id": p.id, "name": p.name, "template_id": tid} for p, tid in rows]}


@api.put("/seller/express/products/<int:product_id>")
@seller_api("products")
@api.arguments(ExpressProductTemplateArgs)
@api.response(200, ExpressProductTemplateSchema)
def seller_set_product_template(args, product_id):
    """Point one of the seller's products to one of its templates."""
    seller_id = _seller_id()
    product = service.seller_product(seller_id, product_id)
    service.set_product_template(seller_id, product, args["template_id"])
    return {"product_id": product.id, "name": product.name, "template_id": args["template_id"]}


@api.post("/seller/express/orders/<int:order_id>/ship")
@seller_api("orders")
@api.arguments(ExpressShipArgs)
@api.response(200, ExpressTrackingSchema)
def seller_ship(args, order_id):
    """Ship a paid express order with a carrier and a tracking number."""
    seller_id = _seller_id()
    order = service.seller_order(seller_id, order_id)
    service.ship(
        seller_id, order, args["carrier"], args["tracking_no"], actor=current_user, carrier_name=args["carrier_name"]
    )
    return tracking_dict(order)


@api.post("/seller/express/orders/ship-batch")
@seller_api("orders")
@api.arguments(ExpressBatchArgs)
@api.response(200, ExpressBatchResultSchema)
def seller_ship_batch(args):
    """Ship many orders; each item succeeds or fails on its own, a failed
    item writes nothing (unknown or other seller's order, not awaiting
    shipment, blank tracking number, unknown carrier)."""
    seller_id = _seller_id()
    found = service.orders_by_id(seller_id, [i["order_id"] for i in args["items"]])
    items = [
        service.ShipItem(
            str(i["order_id"]), found.get(i["order_id"]), i["carrier"], i["carrier_name"], i["tracking_no"]
        )
        for i in args["items"]
    ]
    results = service.ship_many(seller_id, items, actor=current_user)
    for result, item in zip(results, args["items"]):
        result["order_id"] = item["order_id"]  # echo what was asked
    shipped = sum(1 for r in results if r["ok"])
    return {"items": results, "shipped": shipped, "failed": len(results) - shipped}


@api.get("/seller/express/orders/<int:order_id>/tracking")
@seller_api("orders")
@api.response(200, ExpressTrackingSchema)
def seller_tracking(order_id):
    return tracking_dict(service.seller_order(_seller_id(), order_id))


@api.post("/seller/express/orders/<int:order_id>/tracking")
@seller_api("orders")
@api.arguments(ExpressEventArgs)
@api.response(201, ExpressTrackingSchema)
def seller_add_event(args, order_id):
    """Add a tracking event (time, text) by hand to a shipped order."""
    seller_id = _seller_id()
    order = service.seller_order(seller_id, order_id)
    service.add_event(seller_id, order, args["time"], args["text"], actor=current_user)
    return tracking_dict(order)


# -- the buyer --------------------------------------------------------------------------------


@api.get("/orders/<int:order_id>/tracking")
@login_required
@api.response(200, ExpressTrackingSchema)
def buyer_tracking(order_id):
    """The buyer's own order: delivery method, carrier, tracking number and
    the timeline (newest first). Another buyer's order is 404."""
    order = orders_service.buyer_order(current_user, order_id) if 0 < order_id <= service.MAX_ID else None
    if order is None:
        not_found(_("order"))
    return tracking_dict(order)
