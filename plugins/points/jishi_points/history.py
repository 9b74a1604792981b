"""The ledger in words: what each entry of a buyer's history says (the
points centre and the console show the same lines).

:func:`describe_page` reads the order / refund numbers a page of entries
names in two queries (not one per entry) and gives each entry its line:
"订单 #… 付款赠送（冻结）", "退款退回", "平台调整：<reason>"... A kind or
source this module does not know yet (a part of issue 16 added later)
falls back to its kind's words and its reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from jishi.db import db
from jishi.i18n import gettext as _
from jishi.i18n import lazy_gettext as _l
from sqlalchemy import select

from jishi_points.models import (
    ADJUSTED,
    CLAWED_BACK,
    EARNED,
    EXPIRED,
    FROZEN,
    REFUNDED,
    SOURCE_ADJUSTMENT,
    SOURCE_ORDER,
    SOURCE_REFUND,
    SPENT,
    UNFROZEN,
    PointsEntry,
)

#: The kinds' names (a column of the console's history, a tag in the centre).
KIND_LABELS = {
    EARNED: _l("Earned"),
    FROZEN: _l("Earned (frozen)"),
    UNFROZEN: _l("Now usable"),
    SPENT: _l("Spent"),
    REFUNDED: _l("Returned"),
    CLAWED_BACK: _l("Taken back"),
    EXPIRED: _l("Expired"),
    ADJUSTED: _l("Adjusted"),
}


@dataclass(frozen=True)
class Line:
    """One entry as a buyer reads it."""

    entry: PointsEntry
    kind: str  # the kind's name
    text: str  # the kind and source in words
    order_id: int | None  # the order it links to (the buyer's own)

    @property
    def points(self) -> int:
        """Usable and frozen change together (a claw-back of frozen points, say)."""
        return self.entry.delta + self.entry.frozen_delta


def _numbers(entries: list[PointsEntry]) -> tuple[dict[int, str], dict[int, tuple[int, str]]]:
    """(order id -> number, refund id -> (order id, order number)) of the entries' sources."""
    from jishi.aftersales.models import Refund
    from jishi.orders.models import Order

    refund_ids = {e.source_id for e in entries if e.source_kind == SOURCE_REFUND and e.source_id}
    refunds: dict[int, tuple[int, str]] = {}
    if refund_ids:
        rows = db.session.execute(
            select(Refund.id, Order.id, Order.number)
            .join(Order, Order.id == Refund.order_id)
            .where(Refund.id.in_(refund_ids))
        ).all()
        refunds = {rid: (oid, number) for rid, oid, number in rows}
    order_ids = {e.source_id for e in entries if e.source_kind == SOURCE_ORDER and e.source_id}
    orders: dict[int, str] = {}
    if order_ids:
        numbers = db.session.execute(select(Order.id, Order.number).where(Order.id.in_(order_ids))).all()
        orders = {int(oid): str(number) for oid, number in numbers}
    return orders, refunds


def _text(e: PointsEntry, number: str | None) -> str:
    n = number or (str(e.source_id) if e.source_id else "")
    if e.source_kind == SOURCE_ORDER:
        if e.kind == FROZEN:
            return _("Order #%(number)s paid: points earned (frozen until it completes)", number=n)
        if e.kind == UNFROZEN:
            return _("Order #%(number)s completed: its points are usable", number=n)
        if e.kind == EARNED:
            return _("Order #%(number)s: points earned", number=n)
        if e.kind == SPENT:
            return _("Used on order #%(number)s", number=n)
        if e.kind == REFUNDED:
            return _("Order #%(number)s cancelled: points returned", number=n)
        if e.kind == CLAWED_BACK:
            return _("Order #%(number)s closed: its points taken back", number=n)
    if e.source_kind == SOURCE_REFUND:
        if e.kind == REFUNDED:
            return _("Refund of order #%(number)s: points returned", number=n)
        if e.kind == CLAWED_BACK:
            return _("Refund of order #%(number)s: points it earned taken back", number=n)
    if e.source_kind == SOURCE_ADJUSTMENT or e.kind == ADJUSTED:
        return _("Platform adjustment: %(reason)s", reason=e.reason or "-")
    label = str(KIND_LABELS.get(e.kind, e.kind))
    return f"{label}: {e.reason}" if e.reason else label


def describe_page(entries: list[PointsEntry]) -> list[Line]:
    """Each entry with its words (two queries for the whole page)."""
    orders, refunds = _numbers(entries)
    lines = []
    for e in entries:
        order_id: int | None = None
        number: str | None = None
        if e.source_kind == SOURCE_ORDER and e.source_id in orders:
            order_id, number = e.source_id, orders[e.source_id]
        elif e.source_kind == SOURCE_REFUND and e.source_id in refunds:
            order_id, number = refunds[e.source_id]
        lines.append(Line(e, str(KIND_LABELS.get(e.kind, e.kind)), _text(e, number), order_id))
    return lines
