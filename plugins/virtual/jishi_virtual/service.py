"""Virtual goods: a product's delivery (card codes or a link/text), its
stock of codes, claiming codes at placement, handing them over on payment.

Every function taking a ``seller_id`` or a scope expects it from the
signed-in principal's :class:`~jishi.sellers.SellerScope`, never from the
request. Codes are never logged and never shown in lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from jishi.db import conflict_insert, db, utcnow
from jishi.errors import DomainError
from jishi.hookspecs import Problem
from jishi.i18n import N_
from jishi.i18n import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

if TYPE_CHECKING:
    from jishi.orders.models import Order, OrderLine

from jishi_virtual.models import (
    DELIVERED,
    KIND_CODES,
    KIND_TEXT,
    KINDS,
    SHORT,
    VirtualCode,
    VirtualDelivery,
    VirtualGood,
)

CODE_MAX = 255  # characters of one code
UPLOAD_MAX = 5000  # codes in one upload
CONTENT_MAX = 2000  # characters of a link or text
MAX_ID = 2**31 - 1


class VirtualError(DomainError):
    """Bad input or a refused operation (4xx naming the field)."""


# --- A product's delivery -----------------------------------------------------


def goods_of(product_ids: Iterable[int]) -> dict[int, VirtualGood]:
    """product id -> its delivery, for the products that have one (ONE query)."""
    ids = {i for i in product_ids if i is not None}
    if not ids:
        return {}
    rows = db.session.execute(select(VirtualGood).where(VirtualGood.product_id.in_(ids))).scalars()
    return {g.product_id: g for g in rows}


def own_product(scope, product_id):
    """The virtual product ``product_id`` when it is the scope's seller's own
    (else None: another seller's product is "not found")."""
    from jishi.catalog.models import Product
    from jishi.sellers import owns

    if not isinstance(product_id, int) or isinstance(product_id, bool) or not (1 <= product_id <= MAX_ID):
        return None
    product = db.session.get(Product, product_id)
    if product is None or not owns(scope, product.seller_id):
        return None
    return product


def products_of(seller_id: int | None) -> list:
    """The seller's virtual products (newest first)."""
    from jishi.catalog.models import Product

    column = Product.seller_id
    where = column.is_(None) if seller_id is None else column == seller_id
    stmt = (
        select(Product)
        .where(where, Product.is_virtual.is_(True))
        .options(selectinload(Product.skus))  # the page counts codes per SKU: no query per product
        .order_by(Product.id.desc())
    )
    return list(db.session.execute(stmt).scalars())


def save_good(product, kind, content) -> VirtualGood:
    """Set how ``product`` (a virtual product of the caller's seller) is delivered."""
    if not product.is_virtual:
        raise VirtualError("product", _("Mark the product as virtual goods first."), code="not_virtual", status=409)
    if kind not in KINDS:
        raise VirtualError("kind", _("Choose card codes or a link/text."))
    if content is None:
        content = ""
    if not isinstance(content, str) or "\x00" in content:
        raise VirtualError("content", _("Must be text."))
    content = content.strip()
    if kind == KIND_TEXT and not content:
        raise VirtualError("content", _("Enter the link or text the buyer receives."))
    if len(content) > CONTENT_MAX:
        raise VirtualError("content", _("At most %(n)s characters.", n=CONTENT_MAX))
    good = db.session.execute(select(VirtualGood).where(VirtualGood.product_id == product.id)).scalar_one_or_none()
    if good is None:
        good = VirtualGood(product_id=product.id, seller_id=product.seller_id)
        db.session.add(good)
    good.kind = kind
    good.content = content
    good.updated_at = utcnow()
    db.session.flush()
    return good


# --- The stock of codes -------------------------------------------------------


def parse_codes(raw) -> list[str]:
    """The codes of an upload: one per line, blank lines skipped, each kept
    once; raises :class:`VirtualError` naming ``codes``."""
    if not isinstance(raw, str) or "\x00" in raw:
        raise VirtualError("codes", _("Must be text."))
    out, seen = [], set()
    for number, line in enumerate(raw.splitlines(), start=1):
        code = line.strip()
        if not code:
            continue
        if len(code) > CODE_MAX:
            raise VirtualError("codes", _("Line %(line)s is longer than %(n)s characters.", line=number, n=CODE_MAX))
        if code not in seen:
            seen.add(code)
            out.append(code)
    if not out:
        raise VirtualError("codes", _("Enter at least one code, one per line."))
    if len(out) > UPLOAD_MAX:
        raise VirtualError("codes", _("At most %(n)s codes at a time.", n=UPLOAD_MAX))
    return out


def add_codes(product, sku_id, raw) -> tuple[int, int]:
    """Add card codes to a SKU of ``product``; a code the SKU already has is
    skipped (``ON CONFLICT DO NOTHING``: two uploads at once never store it
    twice). :returns: (added, skipped)."""
    good = goods_of([product.id]).get(product.id)
    if good is None or good.kind != KIND_CODES:
        raise VirtualError("kind", _("This product is not delivered by card codes."), code="not_codes", status=409)
    sku = _sku_of(product, sku_id)
    codes = parse_codes(raw)
    now = utcnow()
    stmt = (
        conflict_insert(VirtualCode.__table__)
        .on_conflict_do_nothing(index_elements=["sku_id", "code"])
        .returning(VirtualCode.__table__.c.id)
    )
    added = 0
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        rows = [
            {"product_id": product.id, "sku_id": sku.id, "seller_id": product.seller_id, "code": c, "created_at": now}
            for c in chunk
        ]
        added += len(db.session.execute(stmt, rows).all())  # RETURNING: only the rows inserted
    return added, len(codes) - added


def _sku_of(product, sku_id):
    """The product's SKU ``sku_id`` (its only one when none is given)."""
    if sku_id in (None, "") and len(product.skus) == 1:
        return product.skus[0]
    if isinstance(sku_id, str) and sku_id.strip().isdecimal() and len(sku_id.strip()) <= 10:
        sku_id = int(sku_id.strip())
    sku = next((s for s in product.skus if isinstance(sku_id, int) and s.id == sku_id), None)
    if sku is None:
        raise VirtualError("sku_id", _("Choose one of this product's SKUs."))
    return sku


def delete_free_codes(product, sku_id) -> int:
    """Remove the SKU's codes nobody was given yet (a wrong upload)."""
    sku = _sku_of(product, sku_id)
    return (
        db.session.execute(
            VirtualCode.__table__.delete().where(VirtualCode.sku_id == sku.id, VirtualCode.order_line_id.is_(None))
        ).rowcount
        or 0
    )


def code_counts(product_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """sku id -> {"free": n, "given": n} (ONE query)."""
    ids = list(product_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(VirtualCode.sku_id, VirtualCode.order_line_id.is_(None), func.count())
        .where(VirtualCode.product_id.in_(ids))
        .group_by(VirtualCode.sku_id, VirtualCode.order_line_id.is_(None))
    ).all()
    out: dict[int, dict[str, int]] = {}
    for sku_id, free, n in rows:
        out.setdefault(sku_id, {"free": 0, "given": 0})["free" if free else "given"] += n
    return out


def free_counts(sku_ids: Iterable[int]) -> dict[int, int]:
    ids = list(set(sku_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(VirtualCode.sku_id, func.count())
        .where(VirtualCode.sku_id.in_(ids), VirtualCode.order_line_id.is_(None))
        .group_by(VirtualCode.sku_id)
    ).all()
    return dict(rows)


def claim(sku_id: int, order_id: int, order_line_id: int, quantity: int) -> int:
    """Give up to ``quantity`` free codes of the SKU to the order line.

    The codes are picked and locked ``FOR UPDATE SKIP LOCKED`` on PostgreSQL
    (concurrent claims take different codes instead of waiting), then taken
    by a conditional UPDATE that checks ``order_line_id IS NULL`` again on
    each row, so a code is never given twice (SQLite serialises writers;
    the same check holds). Two statements on purpose: PostgreSQL may rescan
    a locking subquery inside an UPDATE and pick more rows than its LIMIT.
    :returns: how many codes the line got."""
    if quantity <= 0:
        return 0
    ids = list(
        db.session.execute(
            select(VirtualCode.id)
            .where(VirtualCode.sku_id == sku_id, VirtualCode.order_line_id.is_(None))
            .order_by(VirtualCode.id)
            .limit(quantity)
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    if not ids:
        return 0
    return (
        db.session.execute(
            update(VirtualCode)
            .where(VirtualCode.id.in_(ids), VirtualCode.order_line_id.is_(None))
            .values(order_id=order_id, order_line_id=order_line_id, assigned_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )


def _claimed(order_ids: Sequence[int]) -> dict[int, int]:
    """order line id -> codes it holds."""
    if not order_ids:
        return {}
    rows = db.session.execute(
        select(VirtualCode.order_line_id, func.count())
        .where(VirtualCode.order_id.in_(order_ids))
        .group_by(VirtualCode.order_line_id)
    ).all()
    return dict(rows)


def _virtual_lines(orders) -> list[tuple[Order, OrderLine, VirtualGood]]:
    """(order, line, delivery) of every line of ``orders`` whose product has a delivery."""
    from jishi.orders.models import OrderLine

    by_id = {o.id: o for o in orders if o.is_virtual}
    if not by_id:
        return []
    lines = list(
        db.session.execute(select(OrderLine).where(OrderLine.order_id.in_(by_id)).order_by(OrderLine.id)).scalars()
    )
    goods = goods_of(line.product_id for line in lines)
    return [(by_id[line.order_id], line, goods[line.product_id]) for line in lines if line.product_id in goods]


# --- Checkout -----------------------------------------------------------------


def validate_checkout(checkout) -> list[Problem]:
    """A group mixing virtual goods with goods to ship is refused, naming the
    virtual line (as Youzan and CRMEB, virtual goods are ordered on their
    own); a line of card codes asks at most the codes left."""
    problems = []
    for group in checkout.groups:
        if group.is_virtual or not any(line.is_virtual for line in group.lines):
            continue
        for line in group.lines:
            if line.is_virtual:
                problems.append(
                    Problem(
                        "virtual_mixed",
                        _(
                            "%(name)s is delivered online; order it on its own, not together with goods to ship.",
                            name=line.name,
                        ),
                        field="items",
                        line_key=line.key,
                        group_key=group.key,
                    )
                )
    goods = goods_of(line.product_id for line in checkout.lines if line.is_virtual)
    coded = [
        line for line in checkout.lines if goods.get(line.product_id) and goods[line.product_id].kind == KIND_CODES
    ]
    left = free_counts(line.sku_id for line in coded)
    for line in coded:
        n = left.get(line.sku_id, 0)
        if line.quantity > n:
            problems.append(_short_problem(line, n))
    return problems


def _short_problem(line, left: int) -> Problem:
    return Problem(
        "virtual_codes",
        _("Only %(n)s of %(name)s left.", n=left, name=line.name)
        if left
        else _("%(name)s is sold out.", name=line.name),
        field="items",
        line_key=line.key,
    )


def order_placing(checkout, orders) -> None:
    """Inside the placing transaction: each line of card codes takes its
    codes now, so what was sold is what exists (never oversold). A short
    line rolls the whole placement back, naming the line."""
    from jishi.checkout.errors import CheckoutError

    by_sku = {line.sku_id: line for line in checkout.lines}
    for order, line, good in _virtual_lines(orders):
        if good.kind != KIND_CODES or line.sku_id is None:
            continue
        got = claim(line.sku_id, order.id, line.id, line.quantity)
        if got < line.quantity:
            checkout_line = by_sku.get(line.sku_id)
            left = got  # what was free for this line at that moment
            problem = (
                _short_problem(checkout_line, left)
                if checkout_line is not None
                else Problem("virtual_codes", _("%(name)s is sold out.", name=line.name), field="items")
            )
            raise CheckoutError([problem])


def release(order) -> int:
    """An unpaid order closed: its codes go back to the stock (codes already
    handed over never come back)."""
    return (
        db.session.execute(
            update(VirtualCode)
            .where(VirtualCode.order_id == order.id, VirtualCode.delivered_at.is_(None))
            .values(order_id=None, order_line_id=None, assigned_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )


# --- Delivery -----------------------------------------------------------------


def delivery_of(order_id: int) -> VirtualDelivery | None:
    return db.session.execute(select(VirtualDelivery).where(VirtualDelivery.order_id == order_id)).scalar_one_or_none()


def deliver(order, *, actor=None, actor_kind: str = "system") -> VirtualDelivery | None:
    """Hand a paid order's virtual goods over and complete it; the caller commits.

    Every line of card codes gets the codes it still lacks (claimed the same
    safe way as at placement), they are marked delivered; a link or text is
    kept as it is now. When every unit has its code the order moves
    ``hand_over`` and ``complete`` without shipping; when codes ran out the
    delivery is recorded ``short`` and the order stays paid, flagged for the
    merchant. Idempotent: a repeated call for a delivered order changes
    nothing. Returns None for an order with nothing to deliver.
    """
    from jishi.orders import state

    if order.status != state.PAID or not order.is_virtual:
        return delivery_of(order.id)
    lines = _virtual_lines([order])
    if not lines:
        return None
    held = _claimed([order.id])
    missing, texts = 0, {}
    for _order, line, good in lines:
        if good.kind == KIND_TEXT:
            texts[str(line.id)] = good.content
            continue
        lacking = line.quantity - held.get(line.id, 0)
        if lacking > 0 and line.sku_id is not None:
            lacking -= claim(line.sku_id, order.id, line.id, lacking)
        missing += max(lacking, 0)
    now = utcnow()
    db.session.execute(
        update(VirtualCode)
        .where(VirtualCode.order_id == order.id, VirtualCode.delivered_at.is_(None))
        .values(delivered_at=now)
        .execution_options(synchronize_session=False)
    )
    row = delivery_of(order.id)
    if row is None:
        row = VirtualDelivery(order_id=order.id, seller_id=order.seller_id, created_at=now, texts={})
        db.session.add(row)
    row.texts = {**(row.texts or {}), **texts}
    row.missing = missing
    row.status = SHORT if missing else DELIVERED
    row.updated_at = now
    db.session.flush()
    if not missing:
        state.transition(order, "hand_over", actor=actor, actor_kind=actor_kind, note=N_("delivered online"))
        state.transition(order, "complete", actor=actor, actor_kind="system", note=N_("delivered online"))
    return row


def redeliver(scope, user, order) -> VirtualDelivery:
    """The merchant retries a short delivery after adding codes."""
    row = delivery_of(order.id)
    if row is None or row.status != SHORT:
        raise VirtualError("order", _("This order has no delivery waiting for codes."), code="not_short", status=409)
    actor_kind = "platform" if scope.seller_id is None else "seller"
    row = deliver(order, actor=user, actor_kind=actor_kind)
    if row is None or row.status == SHORT:
        raise VirtualError(
            "codes",
            _("Still %(n)s codes missing; add codes to the product first.", n=row.missing if row else 0),
            code="codes_missing",
            status=409,
        )
    return row


def handed_over(order) -> list[dict]:
    """What the order's buyer received, per line: ``{"line_id", "name",
    "spec_text", "kind", "codes", "text"}``. Only for the order's buyer, its
    seller and the platform: the caller checks who asks."""
    lines = _virtual_lines([order])
    if not lines:
        return []
    codes: dict[int, list[str]] = {}
    for line_id, code in db.session.execute(
        select(VirtualCode.order_line_id, VirtualCode.code)
        .where(VirtualCode.order_id == order.id, VirtualCode.delivered_at.is_not(None))
        .order_by(VirtualCode.id)
    ).all():
        codes.setdefault(line_id, []).append(code)
    row = delivery_of(order.id)
    texts = (row.texts or {}) if row is not None else {}
    out = []
    for _order, line, good in lines:
        out.append(
            {
                "line_id": line.id,
                "name": line.name,
                "spec_text": line.spec_text,
                "kind": good.kind,
                "codes": codes.get(line.id, []),
                "text": texts.get(str(line.id)),
            }
        )
    return out


def status_of(order) -> str:
    """``awaiting_payment``, ``delivered``, ``short`` (codes ran out),
    ``closed`` or ``none`` (nothing of this plugin's to deliver)."""
    from jishi.orders import state

    row = delivery_of(order.id)
    if row is not None:
        return row.status
    if order.status == state.PENDING:
        return "awaiting_payment"
    if order.status == state.CLOSED:
        return "closed"
    return "none"
