"""Order changes by the seller or the platform (订单修改): the price of an
unpaid order (改价) and the delivery address until the order ships.

Price change
    The order's new payable amount ``pay_amount`` (integer fen, at least
    1 fen and at least the delivery fee, which 改价 does not change) with a
    required reason. The goods part of the new amount is spread over the
    lines by :func:`jishi.money.allocate` in proportion to what each line
    cost before any price change (goods less its discounts), so the lines'
    ``pay_amount`` sum to it exactly and, when the price goes down, no line
    pays more than before; each line's ``adjustment_amount`` is the signed
    difference (recomputed from that base each time, never accumulated).
    Discount shares (``OrderAllocation``) are left as placed: they stay what
    each discount gave, and refunds reverse them as before.

    In the same transaction the payment (合并支付 too) asks the difference
    more or less; the payment row is locked first and every write is
    conditional (payment ``pending``, order ``pending_payment`` at the amount
    read), so a payment notification racing the change either wins (the
    change answers 409) or finds the payment asking the new amount (the
    notification for the old amount is refused: HTTP 400, nothing paid).
    The gateway trades started for the old amount are closed
    (:func:`jishi.payments.service.amount_changed`); paying again starts a
    trade for the new amount.

Address change
    While the order is ``pending_payment`` or ``paid`` (not shipped: 409
    after), for an order delivered to an address. The delivery fee is not
    recomputed: the seller agreed to the change.

Both record an :class:`~jishi.orders.models.OrderEvent` (``kind`` ``price`` /
``address``, old and new values in ``data``, the reason in ``note``) and
queue the ``order_changed`` signal (sent after commit).
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import CursorResult, select, update

from jishi import signals
from jishi.db import commit, db, rollback, utcnow
from jishi.errors import DomainError
from jishi.i18n import gettext as _
from jishi.money import allocate, format_fen
from jishi.orders import state
from jishi.orders.models import Order, OrderEvent, OrderLine, PaymentOrder

#: the largest payable amount a price change may set (¥100,000,000)
MAX_PAY_AMOUNT = 10**10
REASON_MAX = 200
ADDRESS_STATUSES = (state.PENDING, state.PAID)


class OrderChangeError(DomainError):
    """A change that is refused (422 naming the field, 409 for the state)."""


def _conflict(message: str) -> OrderChangeError:
    return OrderChangeError("status", message, code="conflict", status=409)


def _reason(reason) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise OrderChangeError("reason", _("Give the reason for the change."))
    if len(text) > REASON_MAX:
        raise OrderChangeError("reason", _("At most %(n)d characters.", n=REASON_MAX))
    return text


def _lock_payment(order: Order) -> PaymentOrder:
    """The order's payment, locked (PostgreSQL) and read fresh, then the
    order read fresh: payment first, then its orders, the order payment
    notifications and cancels lock in."""
    payment = db.session.execute(
        select(PaymentOrder)
        .where(PaymentOrder.id == order.payment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    db.session.refresh(order)
    return payment


def line_amounts(lines, goods_total: int) -> list[int]:
    """What each line pays when the lines together pay ``goods_total``: in
    proportion to what each cost before any price change (goods less
    discounts), else to its goods amount, else evenly. Sums exactly."""
    bases = [line.goods_amount - line.discount_amount for line in lines]
    for weights in (bases, [line.goods_amount for line in lines], [1] * len(lines)):
        if sum(weights) > 0 and all(w >= 0 for w in weights):
            return allocate(goods_total, weights)
    return allocate(goods_total, [1] * len(lines))


def change_price(order: Order, pay_amount, reason, *, actor=None, actor_kind: str = "platform") -> Order:
    """Set the payable amount of an unpaid order (改价); commits, or writes
    nothing and raises :class:`OrderChangeError`."""
    if isinstance(pay_amount, bool) or not isinstance(pay_amount, int):
        raise OrderChangeError("pay_amount", _("Enter the amount in fen as a whole number."))
    reason = _reason(reason)
    payment = _lock_payment(order)
    if order.status != state.PENDING or payment.status != "pending":
        rollback()
        raise _conflict(_("Only an unpaid order's price can be changed."))
    lowest = max(1, order.delivery_fee)
    if not lowest <= pay_amount <= MAX_PAY_AMOUNT:
        rollback()
        raise OrderChangeError(
            "pay_amount",
            _(
                "The amount must be from %(low)s (the delivery fee, at least ¥0.01) to %(high)s.",
                low=format_fen(lowest),
                high=format_fen(MAX_PAY_AMOUNT),
            ),
        )
    old = order.pay_amount
    if pay_amount == old:
        rollback()
        raise OrderChangeError("pay_amount", _("The order already costs %(amount)s.", amount=format_fen(old)))
    lines = list(order.lines)
    shares = line_amounts(lines, pay_amount - order.delivery_fee)
    # The payment asks the difference: only while pending (a notification
    # that won meanwhile makes this a conflict, never a silent change).
    moved = cast(
        CursorResult,
        db.session.execute(
            update(PaymentOrder)
            .where(PaymentOrder.id == payment.id, PaymentOrder.status == "pending")
            .values(amount=PaymentOrder.amount + (pay_amount - old))
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    won = (
        moved
        and cast(
            CursorResult,
            db.session.execute(
                update(Order)
                .where(Order.id == order.id, Order.status == state.PENDING, Order.pay_amount == old)
                .values(
                    pay_amount=pay_amount,
                    adjustment_amount=pay_amount - (order.goods_amount - order.discount_amount + order.delivery_fee),
                )
                .execution_options(synchronize_session=False)
            ),
        ).rowcount
    )
    if not won:
        rollback()
        raise _conflict(_("The order was paid or changed meanwhile; reload it."))
    for line, share in zip(lines, shares):
        db.session.execute(
            update(OrderLine)
            .where(OrderLine.id == line.id)
            .values(pay_amount=share, adjustment_amount=share - (line.goods_amount - line.discount_amount))
            .execution_options(synchronize_session=False)
        )
    _record(order, actor, actor_kind, "price", {"old": old, "new": pay_amount}, reason)
    from jishi.payments import service as payments

    try:
        payments.amount_changed(payment.id)
    except payments.PaymentError:
        rollback()
        raise _conflict(_("The order was paid or changed meanwhile; reload it.")) from None
    signals.queue(signals.order_changed, order, change="price", old=old)
    commit()
    db.session.expire(payment)
    db.session.expire(order)
    for line in lines:
        db.session.expire(line)
    return order


def change_address(order: Order, data, reason, *, actor=None, actor_kind: str = "platform") -> Order:
    """Change the delivery address of an order not shipped yet; commits, or
    writes nothing and raises :class:`OrderChangeError`. ``data``: name,
    phone, province, city, district, detail (and optionally lat, lng)."""
    from jishi.accounts.service import clean_address

    if not isinstance(data, dict):
        raise OrderChangeError("address", _("Enter the address."))
    values = clean_address({k: v for k, v in data.items() if k != "is_default"})
    reason = _reason(reason)
    _lock_payment(order)
    if order.status not in ADDRESS_STATUSES:
        rollback()
        raise _conflict(_("The address can only be changed before the order ships."))
    if order.address is None:
        rollback()
        raise _conflict(_("This order is not delivered to an address."))
    old = dict(order.address)
    new = {key: values.get(key, "") for key in ("name", "phone", "province", "city", "district", "detail")}
    new["lat"] = values.get("lat")
    new["lng"] = values.get("lng")
    won = cast(
        CursorResult,
        db.session.execute(
            update(Order)
            .where(Order.id == order.id, Order.status == order.status)
            .values(address=new)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    if not won:
        rollback()
        raise _conflict(_("The order was shipped or changed meanwhile; reload it."))
    _record(order, actor, actor_kind, "address", {"old": old, "new": new}, reason)
    signals.queue(signals.order_changed, order, change="address", old=old)
    commit()
    db.session.expire(order)
    return order


def _record(order: Order, actor, actor_kind: str, kind: str, data: dict, reason: str) -> None:
    db.session.add(
        OrderEvent(
            order_id=order.id,
            from_status=order.status,
            to_status=order.status,
            actor_id=getattr(actor, "id", None),
            actor_role=actor_kind,
            note=reason,
            kind=kind,
            data=data,
            created_at=utcnow(),
        )
    )


def _address_text(address) -> str:
    if not isinstance(address, dict):
        return ""
    place = "".join(str(address.get(k) or "") for k in ("province", "city", "district", "detail"))
    return f"{address.get('name', '')} {address.get('phone', '')} {place}".strip()


def describe(event: OrderEvent) -> str:
    """What a change event says, in the reader's language (the reason as
    typed); a state transition's note translated (:func:`jishi.i18n.note_text`:
    a plugin's note in its own catalog). Used by every page and the API's
    ``text``."""
    from jishi.i18n import note_text

    data = event.data or {}
    if event.kind == "price":
        text = _(
            "Price changed from %(old)s to %(new)s",
            old=format_fen(data.get("old")),
            new=format_fen(data.get("new")),
        )
    elif event.kind == "address":
        text = _("Delivery address changed to %(address)s", address=_address_text(data.get("new")))
    else:
        return note_text(event.note) if event.note else ""
    if event.note:
        text = _("%(change)s; reason: %(reason)s", change=text, reason=event.note)
    return text


ADDRESS_FORM_FIELDS = ("name", "phone", "province", "city", "district", "detail")


def change_price_from_form(order: Order, form, *, actor=None, actor_kind: str = "platform") -> Order:
    """:func:`change_price` from a console form (``pay_amount`` in yuan,
    ``reason``), for the kernel's and a plugin's console alike."""
    from jishi.money import MoneyError, parse_yuan

    raw = str(form.get("pay_amount", "")).strip()
    try:
        amount = parse_yuan(raw) if raw else None
    except MoneyError:
        amount = None
    if amount is None:
        raise OrderChangeError("pay_amount", _("Enter the new total in yuan, such as 12.50."))
    return change_price(order, amount, form.get("reason", ""), actor=actor, actor_kind=actor_kind)


def change_address_from_form(order: Order, form, *, actor=None, actor_kind: str = "platform") -> Order:
    """:func:`change_address` from a console form (the address fields and
    ``reason``)."""
    data = {key: str(form.get(key, "")) for key in ADDRESS_FORM_FIELDS}
    return change_address(order, data, form.get("reason", ""), actor=actor, actor_kind=actor_kind)
