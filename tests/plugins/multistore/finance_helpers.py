"""Helpers shared by the finance, ledger and withdrawal tests (no tests here).

Orders go through the real paths: ``place_order`` (the plugin's split), the
sandbox gateway's notification, ``start_cod``, the order services and the
after-sales service, so every ledger posting comes from the kernel's hooks.
"""

from __future__ import annotations

from flask import current_app
from jishi.db import db
from jishi.hookspecs import Discount, hookimpl
from sqlalchemy import func, select


class DiscountPlugin:
    """``options={"test_discounts": [(amount, funded_by, seller_id), ...]}``:
    order discounts over every line (platform) or the seller's lines."""

    @hookimpl
    def order_discounts(self, checkout):
        out = []
        for i, (amount, funded_by, seller_id) in enumerate(checkout.options.get("test_discounts") or ()):
            keys = tuple(line.key for line in checkout.lines if funded_by == "platform" or line.seller_id == seller_id)
            out.append(Discount(source=f"test{i}", label="test", amount=amount, line_keys=keys, funded_by=funded_by, seller_id=seller_id))
        return out


def place(buyer, items, address, *, discounts=(), key=None):
    from jishi.checkout.service import place_order

    with current_app.test_request_context("/"):
        payments = place_order(buyer, items, address.id, options={"test_discounts": list(discounts)}, idempotency_key=key)
    return payments


def pay(payment):
    from jishi.payments import sandbox
    from jishi.payments.service import handle_notification

    with current_app.test_request_context("/"):
        trade = sandbox.create_trade(payment)
        trade.status = "paid"
        db.session.commit()
        assert handle_notification("sandbox", sandbox.notification_for(trade)) == "success"
    db.session.expire_all()


def pay_cod(payment):
    from jishi import settings
    from jishi.payments.service import start_cod

    settings.set_many({"payment.cod_enabled": True})
    db.session.commit()
    with current_app.test_request_context("/"):
        start_cod(payment)
    db.session.expire_all()


def fetch(order_id):
    from jishi.orders.models import Order

    db.session.expire_all()
    return db.session.get(Order, order_id)


def ship(order):
    from jishi.orders import service

    service.ship(order, carrier="SF", tracking_no="1", actor_kind="platform")


def receive(order):
    from jishi.orders import service

    service.receive(order, actor_kind="buyer")


def complete(order):
    """ship (if needed), receive, complete."""
    from jishi.orders import service

    order = fetch(order.id)
    if order.status == "paid":
        ship(order)
    if order.status == "shipped":
        receive(order)
    service.complete(order, actor_kind="buyer")
    return fetch(order.id)


def refund(order, lines, kind="refund_only"):
    """The buyer asks for ``lines`` [(order_line_id, qty)] and the platform
    approves; returns the refund (executed for refund-only requests)."""
    from jishi.aftersales import service
    from jishi.models import User

    order = fetch(order.id)
    user = db.session.get(User, order.user_id)
    r = service.request_refund(user, order, kind, lines)
    service.approve(r)
    if kind == "return_refund":
        service.confirm_returned(r)
    db.session.expire_all()
    return r


def journal_sums():
    """{journal_id: sum of its entries} for every journal (all must be 0)."""
    from jishi_multistore.models import LedgerEntry, LedgerJournal

    rows = db.session.execute(
        select(LedgerJournal.id, func.coalesce(func.sum(LedgerEntry.amount), 0)).outerjoin(LedgerEntry, LedgerEntry.journal_id == LedgerJournal.id).group_by(LedgerJournal.id)
    ).all()
    return {jid: int(total) for jid, total in rows}


def balances(merchant_id):
    from jishi_multistore import ledger

    return ledger.balances(merchant_id)


def journal_count():
    from jishi_multistore.models import LedgerJournal

    return db.session.scalar(select(func.count(LedgerJournal.id)))
