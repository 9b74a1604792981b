"""Templates, sellers' choices, the checkout option, shipping and tracking.

Every function taking a ``seller_id`` expects it from
:func:`jishi.sellers.current_scope` (never from the request). Errors are
:class:`jishi.errors.DomainError` naming the field; writers commit, or write
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from jishi.catalog.models import Product
from jishi.db import commit, db, rollback, utcnow
from jishi.errors import DomainError
from jishi.hookspecs import DeliveryOption
from jishi.i18n import gettext as _
from jishi.money import format_fen
from jishi.orders import service as orders_service
from jishi.orders import state
from jishi.orders.models import Order
from sqlalchemy import bindparam, delete, literal, select, union_all, update
from sqlalchemy.orm.attributes import set_committed_value

from jishi_delivery_express import carriers
from jishi_delivery_express import fees as F
from jishi_delivery_express.models import (
    SHOP_KEY,
    ExpressProductTemplate,
    ExpressRegionRule,
    ExpressSellerTemplate,
    ExpressTemplate,
    ExpressTrackingEvent,
    seller_key,
)

CODE = "express"
MAX_ID = 2**31 - 1
MAX_FEE = 10**8  # ¥1,000,000: a typo guard
MONEY_FIELDS = frozenset({"first_fee", "additional_fee", "free_over_amount"})
MAX_UNITS = 10**8


class NotFound(DomainError):
    def __init__(self, what: str):
        super().__init__("id", _("Not found: %(what)s", what=what), code="not_found", status=404)


# --- Platform templates ------------------------------------------------------------


def templates(include_deleted: bool = False) -> list[ExpressTemplate]:
    q = select(ExpressTemplate).order_by(ExpressTemplate.id)
    if not include_deleted:
        q = q.where(ExpressTemplate.deleted.is_(False))
    return list(db.session.execute(q).scalars())


def get_template(template_id) -> ExpressTemplate:
    t = (
        db.session.get(ExpressTemplate, template_id)
        if isinstance(template_id, int) and 0 < template_id <= MAX_ID
        else None
    )
    if t is None or t.deleted:
        raise NotFound(_("delivery template"))
    return t


def field_label(name: str) -> str:
    """What a template's field is called in a message: ``first_fee`` is
    "首费", ``regions.0.additional_fee`` "第 1 个地区的续费" (the error's
    field keeps the name; the merchant reads the label)."""
    key = name.rsplit(".", 1)[-1]
    label = {
        "first_units": _("First pieces / grams"),
        "first_fee": _("First fee"),
        "additional_units": _("Each additional pieces / grams"),
        "additional_fee": _("Additional fee"),
        "free_over_amount": _("Free shipping from amount"),
        "free_over_pieces": _("Free shipping from pieces"),
    }.get(key, key)
    parts = name.split(".")
    if len(parts) == 3 and parts[0] == "regions" and parts[1].isdecimal():
        return _("Region %(n)d: %(field)s", n=int(parts[1]) + 1, field=label)
    return label


def _int(
    data: dict, key: str, *, minimum: int = 0, maximum: int = MAX_FEE, required: bool = True, prefix: str = ""
) -> int | None:
    value = data.get(key)
    name = prefix + key
    if value is None or value == "":
        if required:
            raise DomainError(name, _("%(field)s is required.", field=field_label(name)))
        return None
    if isinstance(value, bool):
        raise DomainError(name, _("%(field)s must be a whole number.", field=field_label(name)))
    if isinstance(value, str):
        value = value.strip()
        if not value.removeprefix("-").isdecimal() or len(value) > 19:  # (int() of 4,301 digits raises)
            raise DomainError(name, _("%(field)s must be a whole number.", field=field_label(name)))
        value = int(value)
    if not isinstance(value, int):
        raise DomainError(name, _("%(field)s must be a whole number.", field=field_label(name)))
    if value < minimum or value > maximum:
        if key in MONEY_FIELDS:  # fen in the API, yuan in the console: the bound in money says both
            raise DomainError(
                name,
                _(
                    "%(field)s must be between %(lo)s and %(hi)s.",
                    field=field_label(name),
                    lo=format_fen(minimum),
                    hi=format_fen(maximum),
                ),
            )
        raise DomainError(
            name,
            _("%(field)s must be between %(lo)d and %(hi)d.", field=field_label(name), lo=minimum, hi=maximum),
        )
    return value


def clean_template(data: dict) -> tuple[dict, list[dict]]:
    """Validate a template's fields and region rules (money in fen, units in
    pieces or grams). Raises :class:`DomainError` naming the first bad field."""
    name = str(data.get("name") or "").strip()
    if not name:
        raise DomainError("name", _("Enter a name."))
    if len(name) > 60:
        raise DomainError("name", _("At most %(n)d characters.", n=60))
    charge_by = data.get("charge_by")
    if charge_by not in F.CHARGE_BY:
        raise DomainError("charge_by", _("Charge by piece or by weight."))
    out = {
        "name": name,
        "charge_by": charge_by,
        "first_units": _int(data, "first_units", minimum=1, maximum=MAX_UNITS),
        "first_fee": _int(data, "first_fee"),
        "additional_units": _int(data, "additional_units", minimum=1, maximum=MAX_UNITS),
        "additional_fee": _int(data, "additional_fee"),
        "free_over_amount": _int(data, "free_over_amount", required=False) or 0,
        "free_over_pieces": _int(data, "free_over_pieces", required=False, maximum=MAX_UNITS) or 0,
    }
    rules, seen = [], set()
    for i, raw in enumerate(data.get("regions") or []):
        prefix = f"regions.{i}."
        if not isinstance(raw, dict):
            raise DomainError(f"regions.{i}", _("Each region rule is an object."))
        province = str(raw.get("province") or "").strip()
        city = str(raw.get("city") or "").strip()
        if not province:
            raise DomainError(prefix + "province", _("Enter the province."))
        if len(province) > 30 or len(city) > 30:
            raise DomainError(
                prefix + ("province" if len(province) > 30 else "city"), _("At most %(n)d characters.", n=30)
            )
        key = (F.norm_region(province), F.norm_region(city))
        if key in seen:
            raise DomainError(prefix + "province", _("%(region)s is listed twice.", region=province + city))
        seen.add(key)
        served = raw.get("served", True)
        if isinstance(served, str):
            served = served.lower() not in ("0", "false", "no", "off", "")
        rule = {
            "province": province,
            "city": city,
            "served": bool(served),
            "first_units": None,
            "first_fee": None,
            "additional_units": None,
            "additional_fee": None,
        }
        if rule["served"]:
            rule["first_units"] = _int(raw, "first_units", minimum=1, maximum=MAX_UNITS, prefix=prefix)
            rule["first_fee"] = _int(raw, "first_fee", prefix=prefix)
            rule["additional_units"] = _int(raw, "additional_units", minimum=1, maximum=MAX_UNITS, prefix=prefix)
            rule["additional_fee"] = _int(raw, "additional_fee", prefix=prefix)
        rules.append(rule)
    return out, rules


def save_template(data: dict, template: ExpressTemplate | None = None) -> ExpressTemplate:
    """Create (``template`` None) or replace a template with its rules."""
    fields, rules = clean_template(data)
    try:
        if template is None:
            template = ExpressTemplate(**fields)
            db.session.add(template)
            if not db.session.execute(
                select(ExpressTemplate.id)
                .where(ExpressTemplate.is_default.is_(True), ExpressTemplate.deleted.is_(False))
                .limit(1)
            ).first():
                template.is_default = True  # the first template is the platform's default
        else:
            for k, v in fields.items():
                setattr(template, k, v)
            template.updated_at = utcnow()
            template.regions.clear()
            db.session.flush()
        for rule in rules:
            template.regions.append(ExpressRegionRule(**rule))
        commit()
    except Exception:
        rollback()
        raise
    return template


def make_default(template: ExpressTemplate) -> None:
    db.session.execute(update(ExpressTemplate).where(ExpressTemplate.id != template.id).values(is_default=False))
    template.is_default = True
    commit()


def delete_template(template: ExpressTemplate) -> None:
    """Soft-delete: sellers' choices and products' links go; orders keep
    their fee and label."""
    template.deleted = True
    template.is_default = False
    db.session.execute(delete(ExpressSellerTemplate).where(ExpressSellerTemplate.template_id == template.id))
    db.session.execute(delete(ExpressProductTemplate).where(ExpressProductTemplate.template_id == template.id))
    commit()


def platform_default() -> ExpressTemplate | None:
    return db.session.execute(
        select(ExpressTemplate).where(ExpressTemplate.is_default.is_(True), ExpressTemplate.deleted.is_(False)).limit(1)
    ).scalar_one_or_none()


# --- Sellers' choices ----------------------------------------------------------------


def seller_choices(seller_id: int | None) -> list[ExpressSellerTemplate]:
    return list(
        db.session.execute(
            select(ExpressSellerTemplate)
            .join(ExpressTemplate, ExpressTemplate.id == ExpressSellerTemplate.template_id)
            .where(ExpressSellerTemplate.seller_key == seller_key(seller_id), ExpressTemplate.deleted.is_(False))
            .order_by(ExpressSellerTemplate.template_id)
        ).scalars()
    )


def choose_templates(seller_id: int | None, template_ids, default_id=None) -> list[ExpressSellerTemplate]:
    """Replace the seller's chosen templates; ``default_id`` (one of them;
    None: the first) is the seller's default. Products pointing to a template
    no longer chosen fall back to the default."""
    ids = list(dict.fromkeys(template_ids or []))
    for tid in ids:
        if not isinstance(tid, int) or isinstance(tid, bool):
            raise DomainError("template_ids", _("Template ids are whole numbers."))
    in_range = [tid for tid in ids if 1 <= tid <= MAX_ID]  # (a larger number is no id: unknown, not a database error)
    found = {
        t.id
        for t in db.session.execute(
            select(ExpressTemplate).where(ExpressTemplate.id.in_(in_range or [0]), ExpressTemplate.deleted.is_(False))
        ).scalars()
    }
    unknown = [tid for tid in ids if tid not in found]
    if unknown:
        raise DomainError("template_ids", _("Unknown delivery template %(id)s.", id=unknown[0]))
    if default_id is not None and default_id not in ids:
        raise DomainError("default_id", _("The default must be one of the chosen templates."))
    if default_id is None and ids:
        default_id = ids[0]
    key = seller_key(seller_id)
    try:
        db.session.execute(delete(ExpressSellerTemplate).where(ExpressSellerTemplate.seller_key == key))
        for tid in ids:
            db.session.add(ExpressSellerTemplate(seller_key=key, template_id=tid, is_default=(tid == default_id)))
        # products of this seller pointing to a template it gave up
        mine = select(Product.id).where(_seller_cond(seller_id))
        cond = [ExpressProductTemplate.product_id.in_(mine)]
        if ids:
            cond.append(ExpressProductTemplate.template_id.not_in(ids))
        db.session.execute(delete(ExpressProductTemplate).where(*cond).execution_options(synchronize_session=False))
        commit()
    except Exception:
        rollback()
        raise
    return seller_choices(seller_id)


def _seller_cond(seller_id: int | None):
    return Product.seller_id.is_(None) if seller_id is None else Product.seller_id == seller_id


def seller_products(
    seller_id: int | None, limit: int = 200, after: int | None = None
) -> list[tuple[Product, int | None]]:
    """The seller's products with the template each points to (or None)."""
    q = (
        select(Product, ExpressProductTemplate.template_id)
        .outerjoin(ExpressProductTemplate, ExpressProductTemplate.product_id == Product.id)
        .where(_seller_cond(seller_id))
        .order_by(Product.id)
        .limit(limit)
    )
    if after:
        q = q.where(Product.id > after)
    return [(p, tid) for p, tid in db.session.execute(q).all()]


def seller_product(seller_id: int | None, product_id) -> Product:
    """The seller's product, or 404 (another seller's product is 'not found')."""
    p = db.session.get(Product, product_id) if isinstance(product_id, int) and 0 < product_id <= MAX_ID else None
    if p is None or p.seller_id != seller_id:
        raise NotFound(_("product"))
    return p


def set_product_template(seller_id: int | None, product: Product, template_id: int | None) -> None:
    """Point ``product`` to one of the seller's chosen templates (None: the
    seller's default)."""
    set_product_templates(seller_id, [(product, template_id)])


def set_product_templates(seller_id: int | None, pairs) -> None:
    """Several (product, template id or None) at once: all are checked
    first, then written in one transaction (nothing half-written)."""
    chosen = {c.template_id for c in seller_choices(seller_id)}
    for product, template_id in pairs:
        if product.seller_id != seller_id:
            raise NotFound(_("product"))
        if template_id is not None and template_id not in chosen:
            raise DomainError("template_id", _("Choose one of your delivery templates."))
    try:
        ids = [p.id for p, _t in pairs]
        if ids:
            db.session.execute(delete(ExpressProductTemplate).where(ExpressProductTemplate.product_id.in_(ids)))
        for product, template_id in pairs:
            if template_id is not None:
                db.session.add(ExpressProductTemplate(product_id=product.id, template_id=template_id))
        commit()
    except Exception:
        rollback()
        raise


# --- The checkout option -----------------------------------------------------------------


def to_spec(t: ExpressTemplate) -> F.Template:
    regions = []
    for r in t.regions:
        rate = None
        if r.served and r.first_units is not None:
            rate = F.Rate(r.first_units, r.first_fee or 0, r.additional_units or 1, r.additional_fee or 0)
        regions.append(F.RegionRule(r.province, r.city or "", r.served, rate))
    return F.Template(
        t.id,
        t.name,
        t.charge_by,
        F.Rate(t.first_units, t.first_fee, t.additional_units, t.additional_fee),
        tuple(regions),
        t.free_over_amount or 0,
        t.free_over_pieces or 0,
    )


def resolve_templates(seller_id: int | None, product_ids) -> dict[int, ExpressTemplate | None]:
    """product id -> the template that applies: the product's own (when the
    seller still uses it), else the seller's default, else the platform's
    default, else None (:func:`resolve_templates_many` for one seller)."""
    return resolve_templates_many({seller_id: product_ids})[seller_id]


def template_queries(seller_ids, product_ids) -> tuple:
    """The three SELECTs resolving the templates of ``product_ids`` of
    ``seller_ids`` (:func:`resolve_from_rows`): the sellers' choices with the
    products' links (rows ``kind``, ``ref``, ``template_id``,
    ``is_default``); the templates they may name and the platform's
    default; those templates' region rules. None depends on another's rows."""
    keys = sorted({seller_key(sid) for sid in seller_ids}) or [SHOP_KEY]
    pids = sorted(set(product_ids)) or [0]
    return _template_queries(keys, pids)


def _template_queries(keys, pids) -> tuple:
    """:func:`template_queries` of the seller keys ``keys`` and the product
    ids ``pids`` (lists, or expanding bind parameters)."""
    both = union_all(
        select(
            literal("s").label("kind"),
            ExpressSellerTemplate.seller_key.label("ref"),
            ExpressSellerTemplate.template_id.label("template_id"),
            ExpressSellerTemplate.is_default.label("is_default"),
        )
        .join(ExpressTemplate, ExpressTemplate.id == ExpressSellerTemplate.template_id)
        .where(ExpressSellerTemplate.seller_key.in_(keys), ExpressTemplate.deleted.is_(False)),
        select(
            literal("p"), ExpressProductTemplate.product_id, ExpressProductTemplate.template_id, literal(False)
        ).where(ExpressProductTemplate.product_id.in_(pids)),
    )
    union = both.subquery("express_refs")
    refs = select(union.c.kind, union.c.ref, union.c.template_id, union.c.is_default)
    cond = ExpressTemplate.deleted.is_(False) & (
        ExpressTemplate.id.in_(
            select(ExpressSellerTemplate.template_id).where(ExpressSellerTemplate.seller_key.in_(keys))
        )
        | ExpressTemplate.is_default.is_(True)
    )
    templates = select(ExpressTemplate).where(cond).order_by(ExpressTemplate.id)
    regions = (
        select(ExpressRegionRule)
        .where(ExpressRegionRule.template_id.in_(select(ExpressTemplate.id).where(cond)))
        .order_by(ExpressRegionRule.id)
    )
    return refs, templates, regions


_DECLARED: list = []


def declared_template_queries() -> tuple:
    """:func:`template_queries` built once, with the expanding parameters
    ``seller_keys`` and ``product_ids`` (the checkout's loaders:
    :func:`checkout_params`)."""
    if not _DECLARED:
        _DECLARED.extend(
            _template_queries(bindparam("seller_keys", expanding=True), bindparam("product_ids", expanding=True))
        )
    return tuple(_DECLARED)


def checkout_params(lines) -> tuple[list[int], list[int]]:
    """``(seller keys, product ids)`` the templates of a checkout's ``lines``
    are resolved for: every line's seller, the physical lines' products."""
    keys = sorted({seller_key(line.seller_id) for line in lines}) or [SHOP_KEY]
    pids = sorted({line.product_id for line in lines if not line.is_virtual}) or [0]
    return keys, pids


def resolve_templates_many(wanted: dict) -> dict:
    """``{seller_id: product ids}`` -> ``{seller_id: {product id: template
    or None}}`` (as :func:`resolve_templates`) for every seller of a
    checkout at once: TWO statements whatever the number of sellers and
    products (:func:`template_queries`: the choices with the links; the
    templates with their region rules joined), where resolving seller by
    seller cost five per seller."""
    from sqlalchemy.orm import joinedload

    refs, templates_q, _regions = template_queries(wanted, [pid for pids in wanted.values() for pid in pids])
    rows = [dict(r._mapping) for r in db.session.execute(refs)]
    templates = list(db.session.execute(templates_q.options(joinedload(ExpressTemplate.regions))).unique().scalars())
    return resolve_from_rows(wanted, rows, templates, None)


def resolve_from_rows(wanted: dict, rows, templates, regions) -> dict:
    """:func:`resolve_templates_many` from the rows of :func:`template_queries`
    (no statement): the templates get ``regions`` attached (None: loaded
    with them already)."""
    if regions is not None:
        by_template: dict[int, list] = {}
        for rule in regions:
            by_template.setdefault(rule.template_id, []).append(rule)
        for t in templates:
            set_committed_value(t, "regions", sorted(by_template.get(t.id, []), key=lambda r: r.id))
    chosen_rows = sorted((r for r in rows if r["kind"] == "s"), key=lambda r: r["template_id"])
    chosen: dict[int, list] = {}
    for row in chosen_rows:
        chosen.setdefault(row["ref"], []).append(row)
    links = {r["ref"]: r["template_id"] for r in rows if r["kind"] == "p"}
    template_ids = {r["template_id"] for r in chosen_rows}
    template_ids &= set(links.values()) | {r["template_id"] for r in chosen_rows if r["is_default"]}
    by_id = {t.id: t for t in templates if t.id in template_ids}
    platform = next((t for t in sorted(templates, key=lambda t: t.id) if t.is_default), None)
    out: dict = {}
    for sid, pids in wanted.items():
        mine = chosen.get(seller_key(sid), [])
        chosen_ids = {r["template_id"] for r in mine}
        default_id = next((r["template_id"] for r in mine if r["is_default"]), None)
        fallback = by_id.get(default_id) if default_id is not None else None
        if fallback is None:
            fallback = platform
        out[sid] = {
            pid: by_id.get(links.get(pid)) if (links.get(pid) in chosen_ids and links.get(pid) in by_id) else fallback
            for pid in dict.fromkeys(pids)
        }
    return out


def option_for(group, address, resolved: dict | None = None, specs: dict | None = None):
    """The ``express`` :class:`DeliveryOption` of a checkout group, or None
    for a group of virtual goods only. ``resolved``: the group's
    ``{product id: template}`` when the caller resolved every group at once
    (:func:`resolve_templates_many`). ``specs``: ``{template id: its
    :func:`to_spec`}`` shared by the groups of one checkout (their templates
    are the same objects, read once): each template converted once per
    checkout, not once per group (issue 20)."""
    lines = [line for line in group.lines if not line.is_virtual]
    if not lines:
        return None
    label = _("Express delivery")
    if resolved is None:
        resolved = resolve_templates(group.seller_id, [line.product_id for line in lines])
    missing = [line for line in lines if resolved.get(line.product_id) is None]
    if missing:
        return DeliveryOption(
            CODE, label, 0, available=False, reason=_("No delivery template applies to %(name)s.", name=missing[0].name)
        )
    if specs is None:
        specs = {}
    items = []
    for line in lines:
        t = resolved[line.product_id]
        if t.id not in specs:
            specs[t.id] = to_spec(t)
        items.append(F.Item(specs[t.id], line.quantity, line.weight_grams, line.goods_amount))
    province = getattr(address, "province", None) if address is not None else None
    city = getattr(address, "city", None) if address is not None else None
    result = F.compute_fee(items, province, city)
    if not result.available:
        return DeliveryOption(
            CODE,
            label,
            0,
            available=False,
            reason=_("Express delivery does not reach %(region)s.", region=result.unserved_region),
        )
    data = {
        "templates": [
            {"id": p.template_id, "name": specs[p.template_id].name, "units": p.units, "fee": p.fee, "free": p.free}
            for p in result.parts
        ]
    }
    return DeliveryOption(CODE, label, result.fee, data=data)


# --- Shipping ---------------------------------------------------------------------------------


@dataclass
class ShipItem:
    key: str  # what the caller named the order by (id or number)
    order: Order | None
    carrier: str
    carrier_name: str
    tracking_no: str


def seller_order(seller_id: int | None, order_id) -> Order:
    """The seller's express order, or 404."""
    order = db.session.get(Order, order_id) if isinstance(order_id, int) and 0 < order_id <= MAX_ID else None
    if order is None or order.seller_id != seller_id or order.delivery_method != CODE:
        raise NotFound(_("order"))
    return order


def check_ship(
    seller_id: int | None, order: Order | None, carrier: str, tracking_no: str, carrier_name: str = ""
) -> tuple[str, str]:
    """Why ``order`` cannot ship as asked (a DomainError), else (carrier
    name, tracking number) to store."""
    if order is None or order.seller_id != seller_id:
        raise DomainError("order", _("Unknown order."), code="not_found", status=404)
    if order.delivery_method != CODE:
        raise DomainError(
            "order", _("Order %(number)s is not an express order.", number=order.number), code="conflict", status=409
        )
    if order.status != state.PAID:
        raise DomainError(
            "order", _("Order %(number)s is not awaiting shipment.", number=order.number), code="conflict", status=409
        )
    name = carriers.resolve(carrier, carrier_name)
    if name is None:
        if (carrier or "").strip().lower() == carriers.OTHER:
            raise DomainError("carrier_name", _("Enter the carrier's name."))
        raise DomainError("carrier", _("Unknown carrier %(carrier)s.", carrier=(carrier or "").strip() or "-"))
    tracking_no = (tracking_no or "").strip()
    if not tracking_no:
        raise DomainError("tracking_no", _("Enter the tracking number."))
    if len(tracking_no) > 60:
        raise DomainError("tracking_no", _("At most %(n)d characters.", n=60))
    return name, tracking_no


def ship(
    seller_id: int | None, order: Order, carrier: str, tracking_no: str, *, actor, carrier_name: str = ""
) -> Order:
    """Ship one paid express order of the seller (commits, or writes nothing)."""
    name, number = check_ship(seller_id, order, carrier, tracking_no, carrier_name)
    kind = "seller" if seller_id is not None else "platform"
    try:
        orders_service.ship(order, carrier=name, tracking_no=number, actor=actor, actor_kind=kind)
    except Exception:
        rollback()
        raise
    return order


def ship_many(seller_id: int | None, items: list[ShipItem], *, actor) -> list[dict]:
    """Ship each item on its own: a bad item is reported (order, field,
    message) and writes nothing; the good ones ship. Orders named twice
    fail the second time."""
    results, seen = [], set()
    for item in items:
        order = item.order
        try:
            if order is not None and order.id in seen:
                raise DomainError("order", _("Listed twice."), code="duplicate", status=422)
            ship(seller_id, order, item.carrier, item.tracking_no, actor=actor, carrier_name=item.carrier_name)
        except DomainError as exc:
            rollback()
            if order is not None and order.seller_id == seller_id:
                db.session.refresh(order)
            visible = order is not None and order.seller_id == seller_id
            results.append(
                {
                    "key": item.key,
                    "order_id": order.id if visible else None,
                    "ok": False,
                    "code": exc.code,
                    "field": exc.field,
                    "error": str(exc.message),
                }
            )
            continue
        seen.add(order.id)
        results.append(
            {
                "key": item.key,
                "order_id": order.id,
                "ok": True,
                "code": None,
                "field": None,
                "error": None,
                "carrier": order.carrier,
                "tracking_no": order.tracking_no,
            }
        )
    return results


def orders_by_id(seller_id: int | None, ids) -> dict[int, Order]:
    ids = [i for i in ids if isinstance(i, int) and not isinstance(i, bool) and 0 < i <= MAX_ID]
    if not ids:
        return {}
    cond = Order.seller_id.is_(None) if seller_id is None else Order.seller_id == seller_id
    return {o.id: o for o in db.session.execute(select(Order).where(Order.id.in_(ids), cond)).scalars()}


def orders_by_number(seller_id: int | None, numbers) -> dict[str, Order]:
    numbers = [n for n in numbers if n and len(n) <= 32]
    if not numbers:
        return {}
    cond = Order.seller_id.is_(None) if seller_id is None else Order.seller_id == seller_id
    return {o.number: o for o in db.session.execute(select(Order).where(Order.number.in_(numbers), cond)).scalars()}


MAX_CSV_ROWS = 500
MAX_CSV_BYTES = 256 * 1024


def parse_csv(raw: bytes) -> list[tuple[int, str, str, str]]:
    """(row number, order number, carrier, tracking number) per data row of
    an uploaded CSV (UTF-8, with or without BOM, or GBK as Excel saves it);
    a first row naming the columns is skipped."""
    import csv
    import io

    if len(raw) > MAX_CSV_BYTES:
        raise DomainError("file", _("The file is larger than %(n)d KB.", n=MAX_CSV_BYTES // 1024))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise DomainError("file", _("The file is not a CSV text file.")) from None
    if "\x00" in text:
        raise DomainError("file", _("The file is not a CSV text file."))
    rows = []
    for n, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if n == 1 and cells and not any(ch.isdigit() for ch in cells[0]):
            continue  # header
        cells += [""] * (3 - len(cells))
        rows.append((n, cells[0], cells[1], cells[2]))
        if len(rows) > MAX_CSV_ROWS:
            raise DomainError("file", _("At most %(n)d rows per file.", n=MAX_CSV_ROWS))
    if not rows:
        raise DomainError("file", _("The file has no rows."))
    return rows


def ship_csv(seller_id: int | None, raw: bytes, *, actor) -> list[dict]:
    rows = parse_csv(raw)
    found = orders_by_number(seller_id, [r[1] for r in rows])
    items = [
        ShipItem(key=str(n), order=found.get(number), carrier=carrier, carrier_name="", tracking_no=tracking)
        for n, number, carrier, tracking in rows
    ]
    results = ship_many(seller_id, items, actor=actor)
    for result, (n, number, _carrier, _tracking) in zip(results, rows):
        result.update(row=n, number=number)
    return results


def awaiting_shipment(seller_id: int | None, limit: int = 200) -> list[Order]:
    cond = Order.seller_id.is_(None) if seller_id is None else Order.seller_id == seller_id
    return list(
        db.session.execute(
            select(Order)
            .where(cond, Order.status == state.PAID, Order.delivery_method == CODE)
            .order_by(Order.id)
            .limit(limit)
        ).scalars()
    )


def recent_shipped(seller_id: int | None, limit: int = 50) -> list[Order]:
    cond = Order.seller_id.is_(None) if seller_id is None else Order.seller_id == seller_id
    return list(
        db.session.execute(
            select(Order)
            .where(cond, Order.delivery_method == CODE, Order.shipped_at.is_not(None))
            .order_by(Order.shipped_at.desc(), Order.id.desc())
            .limit(limit)
        ).scalars()
    )


# --- Tracking -----------------------------------------------------------------------------------


def tracking_events(order: Order) -> list:
    """The order's timeline from the ``tracking_provider`` hook, newest first."""
    hook = current_app.extensions["jishi"].hook
    events = list(hook.tracking_provider(order=order) or [])
    return sorted(events, key=lambda e: e.time, reverse=True)


def manual_events(order: Order) -> list:
    from jishi_delivery_express.hookspecs import TrackingEvent

    rows = db.session.execute(
        select(ExpressTrackingEvent)
        .where(ExpressTrackingEvent.order_id == order.id)
        .order_by(ExpressTrackingEvent.happened_at, ExpressTrackingEvent.id)
    ).scalars()
    return [TrackingEvent(time=r.happened_at, text=r.text) for r in rows]


def parse_time(value) -> datetime:
    """A tracking event's time as naive UTC (how the kernel stores times).

    A ``datetime`` is taken as UTC unless it carries an offset; text is ISO
    (``2026-05-01 14:30``, ``2026-05-01T14:30+08:00``), read in the shop's
    time zone (``BABEL_DEFAULT_TIMEZONE``) when it has no offset, as the
    console's date-time input sends it."""
    from jishi.i18n import parse_shop_time

    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    text = str(value or "").strip()
    if not text:
        raise DomainError("time", _("Enter the time."))
    try:
        return parse_shop_time(text)
    except ValueError:
        raise DomainError("time", _("Use a time like 2026-05-01 14:30.")) from None


def add_event(seller_id: int | None, order: Order, when, text: str, *, actor) -> ExpressTrackingEvent:
    """Add a hand-written tracking event to a shipped express order."""
    if order.seller_id != seller_id or order.delivery_method != CODE:
        raise NotFound(_("order"))
    if order.shipped_at is None:
        raise DomainError("order", _("Ship the order before adding tracking events."), code="conflict", status=409)
    happened = parse_time(when)
    text = (text or "").strip()
    if not text:
        raise DomainError("text", _("Enter what happened."))
    if len(text) > 200:
        raise DomainError("text", _("At most %(n)d characters.", n=200))
    event = ExpressTrackingEvent(
        order_id=order.id, happened_at=happened, text=text, created_by=getattr(actor, "id", None)
    )
    db.session.add(event)
    commit()
    return event
