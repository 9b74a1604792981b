"""Pickup points, the pickup option at checkout, pickup codes and their
verification at the counter (PU).

Every function taking a ``seller_id`` expects it from the signed-in
principal's :class:`~jishi.sellers.SellerScope`, never from the request.
"""

from __future__ import annotations

import math
import re
import secrets

from jishi.db import db, utcnow
from jishi.errors import DomainError
from jishi.hookspecs import DeliveryOption, Problem
from jishi.i18n import N_
from jishi.i18n import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from jishi_pickup.models import (
    CODE_ACTIVE,
    CODE_USED,
    CODE_VOID,
    PickupCode,
    PickupPoint,
)

CODE = "pickup"  # the delivery method's code (order.delivery_method)
OPTION = "pickup"  # checkout.options["pickup"][group key] = point id
CODE_DIGITS = 12  # 10**12 codes, about 39.9 bits (docs/plugins/pickup.md)
MAX_ID = 2**31 - 1
LABEL_MAX = 60  # order.delivery_label


class PickupError(DomainError):
    """Bad input or a refused pickup operation (4xx naming the field)."""


# --- Points -----------------------------------------------------------------

POINT_FIELDS = ("name", "address", "hours", "phone", "lat", "lng", "is_active")
_LIMITS = {"name": 60, "address": 200, "hours": 100, "phone": 20}
_PHONE = re.compile(r"^[0-9+\- ()]*$")


def clean_point(values: dict, *, partial: bool = False) -> dict:
    """Check a point's fields; raises :class:`PickupError` naming the first
    bad field. ``partial``: only the given keys (an update)."""
    out: dict = {}
    for key in ("name", "address", "hours", "phone"):
        if key not in values:
            if not partial and key in ("name", "address"):
                raise PickupError(key, _("This field is required."))
            continue
        value = values[key]
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise PickupError(key, _("Must be text."))
        value = value.strip()
        if "\x00" in value:
            raise PickupError(key, _("Must be text."))
        if key in ("name", "address") and not value:
            raise PickupError(key, _("This field is required."))
        if len(value) > _LIMITS[key]:
            raise PickupError(key, _("At most %(n)s characters.", n=_LIMITS[key]))
        if key == "phone" and not _PHONE.match(value):
            raise PickupError(key, _("A phone number has digits, spaces, +, - and brackets only."))
        out[key] = value
    for key, bound in (("lat", 90), ("lng", 180)):
        if key not in values:
            continue
        value = values[key]
        if value in (None, ""):
            out[key] = None
            continue
        if isinstance(value, bool):
            raise PickupError(key, _("Must be a number."))
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise PickupError(key, _("Must be a number.")) from None
        if not math.isfinite(number) or not (-bound <= number <= bound):
            raise PickupError(key, _("Must be between %(low)s and %(high)s.", low=-bound, high=bound))
        out[key] = number
    if ("lat" in out) != ("lng" in out) or (("lat" in out) and (out["lat"] is None) != (out["lng"] is None)):
        field = "lng" if out.get("lat") is not None else "lat"
        raise PickupError(field, _("Give both latitude and longitude, or neither."))
    if "is_active" in values:
        value = values["is_active"]
        if not isinstance(value, bool):
            raise PickupError("is_active", _("Must be true or false."))
        out["is_active"] = value
    return out


def points_of(seller_id: int | None, *, active_only: bool = False) -> list[PickupPoint]:
    stmt = select(PickupPoint).where(_seller_is(PickupPoint.seller_id, seller_id))
    if active_only:
        stmt = stmt.where(PickupPoint.is_active.is_(True))
    return list(db.session.execute(stmt.order_by(PickupPoint.id)).scalars())


def active_points_of(seller_ids) -> dict:
    """``{seller_id: [active points]}`` for every seller of ``seller_ids``
    (None: the shop's own) in ONE statement."""
    seller_ids = set(seller_ids)
    ids = [sid for sid in seller_ids if sid is not None]
    cond = PickupPoint.seller_id.in_(ids or [0])
    if None in seller_ids:
        cond = cond | PickupPoint.seller_id.is_(None)
    stmt = select(PickupPoint).where(cond, PickupPoint.is_active.is_(True)).order_by(PickupPoint.id)
    return points_by_seller(seller_ids, db.session.execute(stmt).scalars())


def points_by_seller(seller_ids, points) -> dict:
    """``{seller_id: [active points, by id]}`` of ``seller_ids`` from the
    rows of :func:`active_points_query` (or :func:`active_points_of`'s)."""
    out: dict = {sid: [] for sid in seller_ids}
    for point in sorted(points, key=lambda p: p.id):
        if point.seller_id in out:
            out[point.seller_id].append(point)
    return out


CHECKOUT_LOADER = "pickup.points"
_ACTIVE_POINTS: list = []


def active_points_query():
    """:func:`active_points_of`'s SELECT built once: ``seller_ids`` (an
    expanding list, ``[0]`` for none) and ``shop`` (1: the shop's own too)."""
    if not _ACTIVE_POINTS:
        from sqlalchemy import Integer, and_, bindparam, or_

        _ACTIVE_POINTS.append(
            select(PickupPoint)
            .where(
                or_(
                    PickupPoint.seller_id.in_(bindparam("seller_ids", expanding=True)),
                    and_(PickupPoint.seller_id.is_(None), bindparam("shop", type_=Integer) == 1),
                ),
                PickupPoint.is_active.is_(True),
            )
            .order_by(PickupPoint.id)
        )
    return _ACTIVE_POINTS[0]


def checkout_loaders(lines, placing: bool) -> list:
    """A preview's points of its sellers (the checkout's one statement); a
    placement reads them only for a group that may take pickup (below)."""
    if placing or all(line.is_virtual for line in lines):
        return []
    from jishi.hookspecs import PageLoader

    sellers = {line.seller_id for line in lines}
    ids = sorted(sid for sid in sellers if sid is not None) or [0]
    return [PageLoader(CHECKOUT_LOADER, active_points_query(), {"seller_ids": ids, "shop": int(None in sellers)})]


def _seller_is(column, seller_id: int | None):
    return column.is_(None) if seller_id is None else column == seller_id


def own_point(seller_id: int | None, point_id) -> PickupPoint | None:
    """The point ``point_id`` when it belongs to ``seller_id`` (else None:
    another seller's point is "not found")."""
    if not isinstance(point_id, int) or isinstance(point_id, bool) or not (1 <= point_id <= MAX_ID):
        return None
    point = db.session.get(PickupPoint, point_id)
    if point is None or point.seller_id != seller_id:
        return None
    return point


def create_point(seller_id: int | None, values: dict) -> PickupPoint:
    data = clean_point(values)
    point = PickupPoint(seller_id=seller_id, **data)
    db.session.add(point)
    db.session.flush()
    return point


def update_point(point: PickupPoint, values: dict) -> PickupPoint:
    data = clean_point(values, partial=True)
    for key, value in data.items():
        setattr(point, key, value)
    point.updated_at = utcnow()
    return point


def delete_point(point: PickupPoint) -> None:
    """Orders keep their snapshot of the point; codes keep its id."""
    db.session.delete(point)


# --- Checkout ---------------------------------------------------------------


def _chosen(checkout, group):
    """(point, problem) for ``group``: the buyer's choice, or the seller's
    only active point when none was given."""
    options = checkout.options.get(OPTION)
    if options is None:
        options = {}
    if not isinstance(options, dict):
        return None, Problem(
            "pickup_point",
            _("Pickup points must be given per order group."),
            field="options.pickup",
            group_key=group.key,
        )
    raw = options.get(group.key)
    cache = _points_cache(checkout)
    points = cache.get(group.seller_id)
    if points is None:
        points = cache[group.seller_id] = points_of(group.seller_id, active_only=True)
    if raw in (None, ""):
        if len(points) == 1:
            return points[0], None
        return None, Problem(
            "pickup_point",
            _("Choose a pickup point for %(group)s.", group=group.title or _("this order")),
            field="options.pickup",
            group_key=group.key,
        )
    point_id = raw
    if isinstance(raw, str) and raw.strip().isdecimal() and len(raw.strip()) <= 10:
        point_id = int(raw.strip())
    point = next(
        (p for p in points if isinstance(point_id, int) and not isinstance(point_id, bool) and p.id == point_id), None
    )
    if point is None:
        return None, Problem(
            "pickup_point",
            _("This pickup point is not available for %(group)s.", group=group.title or _("this order")),
            field="options.pickup",
            group_key=group.key,
        )
    return point, None


def _points_cache(checkout) -> dict:
    cache = getattr(checkout, "_pickup_points", None)
    if cache is None:
        cache = {}
        checkout._pickup_points = cache
    return cache


def label_for(point: PickupPoint | None) -> str:
    label = _("Pickup at the store")
    if point is not None:
        label = f"{label} · {point.name}"
    return label[:LABEL_MAX]


def _chose_other(checkout, group) -> bool:
    chose_other = getattr(checkout, "chose_other", None)  # a kernel Checkout (not a test's stand-in)
    return bool(chose_other is not None and chose_other(group, CODE))


def delivery_options(group, address, checkout) -> list[DeliveryOption]:
    """The pickup option of a group whose seller has active points (fee 0,
    no address), with the chosen point's snapshot as its data."""
    if all(line.is_virtual for line in group.lines):
        return []
    if _chose_other(checkout, group):
        return []  # placing with another method chosen: nothing to read (issue 20)
    cache = _points_cache(checkout)
    loaded = getattr(checkout, "loaded", None)
    if not cache and loaded is not None and CHECKOUT_LOADER in loaded:  # read with the checkout's rows
        cache.update(points_by_seller({line.seller_id for line in checkout.lines}, loaded[CHECKOUT_LOADER]))
    if group.seller_id not in cache:
        # every group's seller at once: one statement per checkout, not per group
        sellers = {g.seller_id for g in checkout.groups if g.seller_id not in cache} | {group.seller_id}
        cache.update(active_points_of(sellers))
    if not cache[group.seller_id]:
        return []
    point, _problem = _chosen(checkout, group)
    pickup = DeliveryOption(
        code=CODE,
        label=label_for(point),
        fee=0,
        data=point.snapshot() if point is not None else {},
        needs_address=False,
    )
    return [pickup]


def validate_checkout(checkout) -> list[Problem]:
    problems = []
    options = checkout.options.get(OPTION)
    if options is not None and not isinstance(options, dict):
        return [Problem("pickup_point", _("Pickup points must be given per order group."), field="options.pickup")]
    for group in checkout.groups:
        if group.delivery is None or group.delivery.code != CODE:
            continue
        _point, problem = _chosen(checkout, group)
        if problem is not None:
            problems.append(problem)
    return problems


# --- Codes ------------------------------------------------------------------


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def issue_code(order) -> PickupCode | None:
    """Issue the pickup code of a paid pickup order, inside the payment's
    transaction (``order_transitioned``, transition ``pay``). Idempotent:
    one code per order (unique ``order_id``); a duplicate payment
    notification never reaches here twice (the kernel's conditional
    UPDATE of the order's status), and if it did, the existing code stays."""
    if order.delivery_method != CODE:
        return None
    existing = db.session.execute(select(PickupCode).where(PickupCode.order_id == order.id)).scalar_one_or_none()
    if existing is not None:
        return existing
    data = order.delivery_data or {}
    point_id = data.get("point_id") if isinstance(data.get("point_id"), int) else None
    for _attempt in range(8):
        row = PickupCode(
            order_id=order.id,
            seller_id=order.seller_id,
            point_id=point_id,
            code=new_code(),
            status=CODE_ACTIVE,
            created_at=utcnow(),
        )
        try:
            with db.session.begin_nested():
                db.session.add(row)
                db.session.flush()
            return row
        except IntegrityError:
            existing = db.session.execute(
                select(PickupCode).where(PickupCode.order_id == order.id)
            ).scalar_one_or_none()
            if existing is not None:
                return existing
            # a code collision (10**-12 per issued code): draw again
    raise RuntimeError("could not draw a unique pickup code")


def void_codes(order) -> int:
    """The order closed (cancelled, fully refunded, closed by the platform):
    its code no longer opens the counter."""
    return db.session.execute(
        update(PickupCode)
        .where(PickupCode.order_id == order.id, PickupCode.status == CODE_ACTIVE)
        .values(status=CODE_VOID, voided_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount


def code_of(order_id: int) -> PickupCode | None:
    return db.session.execute(select(PickupCode).where(PickupCode.order_id == order_id)).scalar_one_or_none()


_SEPARATORS = re.compile(r"[\s\-]")


def normalize_code(raw) -> str:
    """The 12 digits of a typed or scanned code (spaces and dashes allowed
    between groups); raises :class:`PickupError` (400, field ``code``)."""
    if not isinstance(raw, str):
        raise PickupError("code", _("Enter the %(n)s-digit pickup code.", n=CODE_DIGITS), code="bad_code", status=400)
    code = _SEPARATORS.sub("", raw)
    if len(code) != CODE_DIGITS or not code.isascii() or not code.isdecimal():
        raise PickupError("code", _("Enter the %(n)s-digit pickup code.", n=CODE_DIGITS), code="bad_code", status=400)
    return code


def display_code(code: str) -> str:
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


def verify(scope, user, raw_code) -> tuple[PickupCode, object]:
    """Verify a pickup code at the counter (核销) for the seller of ``scope``.

    Refusals change nothing: a malformed code (400), an unknown code or one
    of another seller's order (404 "wrong code": other sellers' orders stay
    invisible), a used or void code (409), an order not awaiting pickup
    (409). Otherwise the code is marked used by a conditional UPDATE (two
    clerks at once: exactly one wins), the order moves ``hand_over`` (paid
    -> received) and ``complete`` ("picked up"), and the caller commits.
    """
    from jishi.orders import state
    from jishi.orders.models import Order

    code = normalize_code(raw_code)
    row = db.session.execute(select(PickupCode).where(PickupCode.code == code)).scalar_one_or_none()
    if row is None or row.seller_id != scope.seller_id:
        raise PickupError("code", _("Wrong pickup code."), code="wrong_code", status=404)
    order = db.session.get(Order, row.order_id)
    if order is None or order.seller_id != scope.seller_id:  # pragma: no cover - seller_id is copied from the order
        raise PickupError("code", _("Wrong pickup code."), code="wrong_code", status=404)
    if row.status == CODE_USED:
        raise PickupError("code", _("This pickup code was already used."), code="code_used", status=409)
    if row.status == CODE_VOID or order.status == state.CLOSED:
        raise PickupError(
            "code", _("This pickup code is void: the order was closed or refunded."), code="code_void", status=409
        )
    if order.status != state.PAID:
        raise PickupError("code", _("This order is not awaiting pickup."), code="not_awaiting_pickup", status=409)
    if _open_aftersales(order):
        raise PickupError(
            "code",
            _("This order has an open after-sales request; decide it first."),
            code="aftersales_open",
            status=409,
        )
    now = utcnow()
    won = db.session.execute(
        update(PickupCode)
        .where(PickupCode.id == row.id, PickupCode.status == CODE_ACTIVE)
        .values(status=CODE_USED, used_at=now, used_by=user.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        db.session.rollback()
        raise PickupError("code", _("This pickup code was already used."), code="code_used", status=409)
    actor_kind = "platform" if scope.seller_id is None else "seller"
    try:
        state.transition(order, "hand_over", actor=user, actor_kind=actor_kind, note=N_("picked up"))
        if order.payment_method == "cod" and order.paid_at is None:
            order.paid_at = now  # the cash was collected at the counter (as the kernel's receive does)
        state.transition(order, "complete", actor=user, actor_kind="system", note=N_("picked up"))
    except state.TransitionError:
        db.session.rollback()
        raise PickupError(
            "code", _("This order is not awaiting pickup."), code="not_awaiting_pickup", status=409
        ) from None
    db.session.expire(row)
    return row, order


def _open_aftersales(order) -> bool:
    """Whether the buyer has a refund request still open on the order."""
    from jishi.aftersales.models import OPEN_STATUSES, Refund

    return (
        db.session.execute(
            select(Refund.id).where(Refund.order_id == order.id, Refund.status.in_(OPEN_STATUSES)).limit(1)
        ).first()
        is not None
    )


def recent_verifications(seller_id: int | None, limit: int = 20) -> list[tuple[PickupCode, object]]:
    from jishi.orders.models import Order

    rows = db.session.execute(
        select(PickupCode, Order)
        .join(Order, Order.id == PickupCode.order_id)
        .where(_seller_is(PickupCode.seller_id, seller_id), PickupCode.status == CODE_USED)
        .order_by(PickupCode.used_at.desc(), PickupCode.id.desc())
        .limit(limit)
    ).all()
    return [(c, o) for c, o in rows]


def qr_svg(code: str) -> bytes:
    """The code as a QR code (SVG), drawn by segno."""
    import io

    import segno

    buf = io.BytesIO()
    segno.make(code, error="m", micro=False).save(buf, kind="svg", scale=6, border=2, xmldecl=False)
    return buf.getvalue()
