"""After-sales: refund-only and return-and-refund requests (SPEC K10).

Flow::

    refund_only:   requested --approve--> (executed) refunding --money back--> refunded
    return_refund: requested --approve--> approved --ship back--> returning
                   --confirm returned--> (restock, executed) refunding --money back--> refunded
    requested/approved --cancel (buyer)--> cancelled;  requested --reject--> rejected
    refunding --the gateway refuses--> refund_failed --retry (console)--> refunding

Executed, a refund is decided: its reversals, ``settle_refund`` and the
order's close are written, and the money to give back is committed as a
gateway refund (:func:`jishi.payments.service.reserve_refund`) in the same
transaction; the gateway is called after the commit, and the refund is
``refunded`` (``refund_completed`` sent) only when the gateway says the
money moved — at once, on its notification, or when reconciliation asks.

Executing a refund (:func:`_execute`) works only from what was recorded at
placement: each line's ``pay_amount`` and each :class:`OrderAllocation`
share. ``q`` of ``Q`` units give back ``floor(pay_amount * q / Q)`` and
reverse ``floor(share * q / Q)`` of every allocation; the units that finish a
line take the remainder instead, so every refund of a line sums exactly to
its paid amount and every reversal to its recorded share; the refunded units
leave their products' ``sales`` (one UPDATE). The line's
``refunded_quantity`` moves by a conditional UPDATE, so two concurrent
executions can never refund the same units twice.
"""

from __future__ import annotations

from typing import cast

from flask import current_app
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from jishi import signals
from jishi.aftersales.models import (
    KIND_REFUND,
    KIND_RETURN,
    OPEN_STATUSES,
    Refund,
    RefundLine,
    RefundNote,
    RefundReversal,
)
from jishi.catalog import service as catalog
from jishi.db import commit, db, rollback, utcnow
from jishi.errors import DomainError
from jishi.i18n import N_
from jishi.i18n import gettext as _
from jishi.orders import state
from jishi.orders.models import Order, OrderAllocation, OrderLine

KINDS = (KIND_REFUND, KIND_RETURN)
#: Every status of a request, in the order of its life.
STATUSES = (
    "requested",
    "approved",
    "returning",
    "returned",
    "refunding",
    "refund_failed",
    "refunded",
    "rejected",
    "cancelled",
)
REFUNDABLE_ORDER_STATUSES = (state.PAID, state.SHIPPED, state.RECEIVED, state.COMPLETED)


class AfterSalesError(DomainError):
    """A refund request or step that is not allowed (HTTP 422, or 409 for a
    state conflict); ``field`` names the input at fault."""

    def __init__(self, field: str | None, message: str, status: int = 422, code: str = "invalid"):
        super().__init__(field, message, code=code, status=status)


def _hook():
    return current_app.extensions["jishi"].hook


def _number() -> str:
    from jishi.checkout.service import _number as number

    return number("R")


#: How often a new refund is written before its failure is answered, when
#: the write was refused because another refund drew the same number: refund
#: numbers are "R", the second and 8 random digits, as order numbers are
#: (:data:`jishi.checkout.service.NUMBER_ATTEMPTS`), so two refunds drawing
#: the same one in the same second is rare but real; the refused row left
#: nothing (its savepoint rolled back) and is written again with a new number.
NUMBER_ATTEMPTS = 3


def new_refund(**fields) -> Refund:
    """A new :class:`Refund` of ``fields`` with a number, added and flushed
    (in a savepoint: a number another refund holds is drawn again, up to
    :data:`NUMBER_ATTEMPTS` times; any other refusal is raised at once)."""
    for attempt in range(NUMBER_ATTEMPTS):
        refund = Refund(number=_number(), **fields)
        savepoint = db.session.begin_nested()
        db.session.add(refund)
        try:
            savepoint.commit()
        except IntegrityError:
            savepoint.rollback()
            taken = db.session.scalar(select(Refund.id).where(Refund.number == refund.number))
            if taken is None or attempt == NUMBER_ATTEMPTS - 1:
                raise
            continue  # a number another refund drew: nothing written, drawn again
        return refund
    raise AssertionError("unreachable")  # pragma: no cover


def _pending_quantities(order_id: int, exclude_refund_id: int | None = None) -> dict[int, int]:
    """Units of each line already asked for in open (not yet paid) requests."""
    q = (
        select(RefundLine.order_line_id, func.sum(RefundLine.quantity))
        .join(Refund, Refund.id == RefundLine.refund_id)
        .where(Refund.order_id == order_id, Refund.status.in_(OPEN_STATUSES))
        .group_by(RefundLine.order_line_id)
    )
    if exclude_refund_id is not None:
        q = q.where(Refund.id != exclude_refund_id)
    return {line_id: int(n or 0) for line_id, n in db.session.execute(q).all()}


def line_amount(
    line: OrderLine, quantity: int, refunded_quantity: int | None = None, refunded_amount: int | None = None
) -> int:
    """What ``quantity`` more units of ``line`` give back (last units: the rest)."""
    rq = line.refunded_quantity if refunded_quantity is None else refunded_quantity
    ra = line.refunded_amount if refunded_amount is None else refunded_amount
    if rq + quantity >= line.quantity:
        return line.pay_amount - ra
    return line.pay_amount * quantity // line.quantity


def refundable_lines(order: Order) -> list[tuple[OrderLine, int, int]]:
    """(order line, units still refundable, amount they would give back)."""
    if order.status not in REFUNDABLE_ORDER_STATUSES:
        return []
    pending = _pending_quantities(order.id)
    out = []
    for line in order.lines:
        asked = pending.get(line.id, 0)
        left = line.quantity - line.refunded_quantity - asked
        if left > 0:
            # with nothing else pending these units finish the line (the remainder)
            amount = line_amount(line, left) if not asked else line.pay_amount * left // line.quantity
            out.append((line, left, amount))
    return out


def _note(refund: Refund, actor, status: str, note: str = "") -> None:
    db.session.add(
        RefundNote(refund_id=refund.id, actor_id=getattr(actor, "id", None), status=status, note=note[:2000])
    )


def request_refund(user, order: Order, kind: str, lines, reason: str = "") -> Refund:
    """A buyer asks for ``lines`` [(order_line_id, quantity)] back."""
    if order is None or order.user_id != user.id:
        raise AfterSalesError("order_id", _("Unknown order."), status=404, code="not_found")
    if kind not in KINDS:
        raise AfterSalesError("kind", _("Unknown refund kind."))
    if order.status not in REFUNDABLE_ORDER_STATUSES:
        raise AfterSalesError(
            "order_id",
            _("This order cannot be refunded while %(status)s.", status=order.status),
            status=409,
            code="conflict",
        )
    if kind == KIND_RETURN and order.status == state.PAID:
        raise AfterSalesError("kind", _("The goods have not been shipped yet; ask for a refund only."))
    reason = (reason or "").strip()
    if len(reason) > 200:
        raise AfterSalesError("reason", _("The reason is longer than 200 characters."))
    if not lines:
        raise AfterSalesError("lines", _("Choose what to refund."))
    by_id = {line.id: line for line in order.lines}
    wanted: dict[int, int] = {}
    for line_id, quantity in lines:
        if line_id not in by_id:
            raise AfterSalesError("order_line_id", _("Unknown order line."))
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise AfterSalesError("quantity", _("Quantity must be at least 1."))
        wanted[line_id] = wanted.get(line_id, 0) + quantity
    pending = _pending_quantities(order.id)
    refund = new_refund(
        order_id=order.id,
        user_id=user.id,
        seller_id=order.seller_id,
        kind=kind,
        reason=reason,
        amount=0,
    )
    total = 0
    for line_id, quantity in wanted.items():
        line = by_id[line_id]
        left = line.quantity - line.refunded_quantity - pending.get(line_id, 0)
        if quantity > left:
            rollback()
            raise AfterSalesError(
                "quantity", _("At most %(n)d of %(name)s can be refunded.", n=max(left, 0), name=line.name)
            )
        amount = line_amount(line, quantity)
        total += amount
        db.session.add(RefundLine(refund_id=refund.id, order_line_id=line_id, quantity=quantity, amount=amount))
    refund.amount = total + _delivery_part(order, wanted, pending)
    _note(refund, user, "requested", reason)
    signals.queue(signals.refund_requested, refund)
    commit()
    return refund


def _delivery_part(order: Order, wanted: dict[int, int], pending: dict[int, int] | None = None) -> int:
    """The delivery fee, when this refund empties an order not yet shipped."""
    if order.status != state.PAID or not order.delivery_fee:
        return 0
    pending = pending or {}
    for line in order.lines:
        if line.refunded_quantity + pending.get(line.id, 0) + wanted.get(line.id, 0) < line.quantity:
            return 0
    return order.delivery_fee


def _move(refund: Refund, sources: tuple[str, ...], target: str, **values) -> None:
    """Conditional status change: two concurrent clicks cannot both win."""
    if not _move_quietly(refund, sources, target, **values):
        rollback()
        raise AfterSalesError(
            "status", _("This request is %(status)s.", status=refund.status), status=409, code="conflict"
        )


def approve(refund: Refund, actor=None, note: str = "") -> Refund:
    """Approve a request; a refund-only request is paid back at once."""
    _move(refund, ("requested",), "approved", decided_at=utcnow())
    _note(refund, actor, "approved", note)
    if refund.kind == KIND_REFUND:
        _execute_or_roll_back(refund, actor)
    commit()
    return refund


def reject(refund: Refund, actor=None, reason: str = "") -> Refund:
    reason = (reason or "").strip()
    if not reason:
        raise AfterSalesError("reason", _("Give a reason."))
    _move(refund, ("requested",), "rejected", decided_at=utcnow(), reject_reason=reason[:200])
    _note(refund, actor, "rejected", reason)
    commit()
    return refund


def buyer_ship_back(refund: Refund, user, carrier: str, tracking_no: str) -> Refund:
    if refund.user_id != user.id:
        raise AfterSalesError("refund_id", _("Unknown refund."), status=404, code="not_found")
    if refund.kind != KIND_RETURN:
        raise AfterSalesError("kind", _("Nothing is sent back for a refund-only request."), status=409, code="conflict")
    carrier, tracking_no = (carrier or "").strip(), (tracking_no or "").strip()
    if not carrier:
        raise AfterSalesError("carrier", _("Enter the carrier."))
    if not tracking_no:
        raise AfterSalesError("tracking_no", _("Enter the tracking number."))
    _move(refund, ("approved",), "returning", return_carrier=carrier[:40], return_tracking_no=tracking_no[:60])
    _note(refund, user, "returning", f"{carrier} {tracking_no}")
    commit()
    return refund


def confirm_returned(refund: Refund, actor=None, note: str = "") -> Refund:
    """The goods came back: restock them and pay the refund."""
    _move(refund, ("returning", "approved"), "returned")
    _note(refund, actor, "returned", note)
    hook = _hook()
    try:
        for rl in refund.lines:
            hook.release_stock(order_line=rl.order_line, quantity=rl.quantity, reason="returned")
    except Exception:
        rollback()
        raise
    _execute_or_roll_back(refund, actor)
    commit()
    return refund


def cancel_request(refund: Refund, user) -> Refund:
    if refund.user_id != user.id:
        raise AfterSalesError("refund_id", _("Unknown refund."), status=404, code="not_found")
    _move(refund, ("requested", "approved"), "cancelled")
    _note(refund, user, "cancelled")
    commit()
    return refund


def _execute_or_roll_back(refund: Refund, actor=None) -> None:
    """Run :func:`_execute`; whatever fails (a plugin's hook too) leaves nothing written."""
    try:
        _execute(refund, actor)
    except AfterSalesError:
        raise  # already rolled back
    except Exception:
        rollback()
        raise


def _execute(refund: Refund, actor=None) -> None:
    """Pay the refund back, inside the caller's transaction (see module doc)."""
    # Lock the order row first: refunds of one order then run one after the
    # other, and each reads what the previous one committed (PostgreSQL;
    # SQLite serialises writers anyway).
    db.session.execute(
        update(Order)
        .where(Order.id == refund.order_id)
        .values(refunded_amount=Order.refunded_amount)
        .execution_options(synchronize_session=False)
    )
    order = db.session.get(Order, refund.order_id)
    assert order is not None  # the request's order: it cannot be deleted
    db.session.refresh(order)
    db.session.execute(
        select(OrderLine).where(OrderLine.order_id == order.id).execution_options(populate_existing=True)
    ).all()
    if order.status not in REFUNDABLE_ORDER_STATUSES:
        rollback()
        raise AfterSalesError(
            "order_id",
            _("This order cannot be refunded while %(status)s.", status=order.status),
            status=409,
            code="conflict",
        )
    was_unshipped = order.status == state.PAID
    lines = {line.id: line for line in order.lines}
    allocations: dict[int, list[OrderAllocation]] = {}
    for alloc in db.session.execute(
        select(OrderAllocation).where(OrderAllocation.order_id == order.id).order_by(OrderAllocation.id)
    ).scalars():
        allocations.setdefault(alloc.order_line_id, []).append(alloc)
    hook = _hook()
    total = 0
    units_back: dict[int, int] = {}
    for rl in refund.lines:
        line = lines[rl.order_line_id]
        db.session.refresh(line)
        rq, ra = line.refunded_quantity, line.refunded_amount
        if rq + rl.quantity > line.quantity:
            rollback()
            raise AfterSalesError(
                "quantity", _("%(name)s has already been refunded.", name=line.name), status=409, code="conflict"
            )
        final = rq + rl.quantity == line.quantity
        amount = line_amount(line, rl.quantity, rq, ra)
        won = cast(
            CursorResult,
            db.session.execute(
                update(OrderLine)
                .where(
                    OrderLine.id == line.id,
                    OrderLine.refunded_quantity == rq,
                    OrderLine.refunded_quantity + rl.quantity <= OrderLine.quantity,
                )
                .values(
                    refunded_quantity=OrderLine.refunded_quantity + rl.quantity,
                    refunded_amount=OrderLine.refunded_amount + amount,
                )
                .execution_options(synchronize_session=False)
            ),
        ).rowcount
        if won != 1:
            rollback()
            raise AfterSalesError(
                "quantity",
                _("%(name)s was refunded at the same time; try again.", name=line.name),
                status=409,
                code="conflict",
            )
        db.session.refresh(line)
        rl.amount = amount
        total += amount
        if line.product_id is not None:
            units_back[line.product_id] = units_back.get(line.product_id, 0) + rl.quantity
        for alloc in allocations.get(line.id, []):
            share = alloc.amount - alloc.reversed_amount if final else alloc.amount * rl.quantity // line.quantity
            if share <= 0:
                continue
            db.session.execute(
                update(OrderAllocation)
                .where(OrderAllocation.id == alloc.id)
                .values(reversed_amount=OrderAllocation.reversed_amount + share)
                .execution_options(synchronize_session=False)
            )
            db.session.add(RefundReversal(refund_line_id=rl.id, allocation_id=alloc.id, amount=share))
        if was_unshipped and refund.kind == KIND_REFUND:
            hook.release_stock(order_line=line, quantity=rl.quantity, reason="closed")
    catalog.uncount_sales(units_back)  # 已售: the refunded units are not sold
    everything = all(line.refunded_quantity == line.quantity for line in lines.values())
    if everything and was_unshipped:
        total += order.delivery_fee
    refund.amount = total
    db.session.execute(
        update(Order)
        .where(Order.id == order.id)
        .values(refunded_amount=Order.refunded_amount + total)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(order)
    if order.refunded_amount > order.pay_amount:
        rollback()
        raise AfterSalesError("amount", _("A refund cannot exceed what was paid."), status=409, code="conflict")
    # Decided: the money is committed to go back (a gateway refund row,
    # under the payment's lock); it is "refunded" only once the gateway
    # says the money moved (money_returned), which may be at once.
    _move(refund, ("approved", "returned"), "refunding")
    _note(refund, actor, "refunding")
    db.session.flush()
    hook.settle_refund(refund=refund)
    if everything and order.status != state.COMPLETED:
        state.transition(order, "close", actor=actor, actor_kind="system", note=N_("fully refunded"), reason="refunded")
        order.close_reason = "refunded"
    from jishi.payments import service as payments

    try:
        sent = payments.reserve_refund(order, total, refund_id=refund.id)
    except payments.PaymentError as exc:
        rollback()
        raise AfterSalesError("amount", exc.problem.message, status=409, code="conflict") from None
    if sent is None:  # no money moves (cash on delivery not collected)
        money_returned(refund.id)


def money_returned(refund_id: int) -> None:
    """The gateway confirmed the refund's money moved (inside the caller's
    transaction): the refund is ``refunded`` and ``refund_completed`` is sent
    after the commit. Idempotent."""
    refund = db.session.get(Refund, refund_id)
    if refund is None or not _move_quietly(refund, ("refunding", "refund_failed"), "refunded", refunded_at=utcnow()):
        return
    _note(refund, None, "refunded")
    signals.queue(signals.refund_completed, refund)


def money_failed(refund_id: int) -> None:
    """The gateway refused the refund: ``refund_failed``, visible in the
    consoles until it is retried."""
    refund = db.session.get(Refund, refund_id)
    if refund is not None and _move_quietly(refund, ("refunding",), "refund_failed"):
        _note(refund, None, "refund_failed")


def money_retried(refund_id: int) -> None:
    """A failed refund is sent again (same number)."""
    refund = db.session.get(Refund, refund_id)
    if refund is not None and _move_quietly(refund, ("refund_failed",), "refunding"):
        _note(refund, None, "refunding")


def _move_quietly(refund: Refund, sources: tuple[str, ...], target: str, **values) -> bool:
    won = cast(
        CursorResult,
        db.session.execute(
            update(Refund)
            .where(Refund.id == refund.id, Refund.status.in_(sources))
            .values(status=target, **values)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    if won:
        from sqlalchemy.orm.attributes import set_committed_value

        set_committed_value(refund, "status", target)
        for key, value in values.items():
            set_committed_value(refund, key, value)
    return bool(won)


# -- reading ---------------------------------------------------------------


def seller_refund(seller_id: int, refund_id: int) -> Refund | None:
    """The refund of one of ``seller_id``'s orders, or None (another
    seller's request is "not found")."""
    refund = db.session.get(Refund, refund_id) if 0 < refund_id <= 2**31 - 1 else None
    if refund is None or refund.seller_id is None or refund.seller_id != seller_id:
        return None
    return refund


def buyer_refund(user, refund_id: int) -> Refund | None:
    refund = db.session.get(Refund, refund_id)
    if refund is None or refund.user_id != user.id:
        return None
    return refund


def notes(refund: Refund) -> list[RefundNote]:
    return list(
        db.session.execute(
            select(RefundNote).where(RefundNote.refund_id == refund.id).order_by(RefundNote.id)
        ).scalars()
    )


def list_refunds(
    *,
    user_id: int | None = None,
    seller_id: int | None = None,
    status: str | None = None,
    order_id: int | None = None,
    cursor: int | None = None,
    limit: int = 20,
):
    """Refunds newest first, keyset by id; returns (rows, next_cursor).
    ``seller_id`` keeps one seller's (a merchant's after-sales list)."""
    q = (
        select(Refund)
        .options(selectinload(Refund.lines).selectinload(RefundLine.order_line))
        .order_by(Refund.id.desc())
        .limit(limit + 1)
    )
    if user_id is not None:
        q = q.where(Refund.user_id == user_id)
    if seller_id is not None:
        q = q.where(Refund.seller_id == seller_id)
    if status:
        q = q.where(Refund.status == status)
    if order_id is not None:
        q = q.where(Refund.order_id == order_id)
    if cursor:
        q = q.where(Refund.id < cursor)
    rows = list(db.session.execute(q).scalars())
    nxt = None
    if len(rows) > limit:
        rows = rows[:limit]
        nxt = str(rows[-1].id)
    return rows, nxt
