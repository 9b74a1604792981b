"""Helpers shared by the finance, ledger and withdrawal tests (no tests here).

Orders go through the real paths (:mod:`jishi.testing.flows`: ``place_order``
with the plugin's split, the sandbox gateway's notification, the order and
after-sales services; ``start(payment, "cod")`` here), so every ledger posting comes
from the kernel's hooks.
"""

from __future__ import annotations

from flask import current_app
from jishi.db import db
from jishi.hookspecs import Discount, hookimpl
from jishi.testing import flows
from sqlalchemy import func, select


class DiscountPlugin:
    """``options={"test_discounts": [(amount, funded_by, seller_id), ...]}``:
    order discounts over every line (platform) or the seller's lines."""

    @hookimpl
    def order_discounts(self, checkout):
        out = []
        for i, (amount, funded_by, seller_id) in enumerate(checkout.options.get("test_discounts") or ()):
            keys = tuple(line.key for line in checkout.lines if funded_by == "platform" or line.seller_id == seller_id)
            out.append(
                Discount(
                    source=f"test{i}",
                    label="test",
                    amount=amount,
                    line_keys=keys,
                    funded_by=funded_by,
                    seller_id=seller_id,
                )
            )
        return out


def place(buyer, items, address, *, discounts=(), key=None):
    return flows.place(buyer, items, address, {"test_discounts": list(discounts)}, key=key)


def pay_cod(payment):
    from jishi import settings
    from jishi.payments.service import start

    settings.set_many({"payment.cod_enabled": True})
    db.session.commit()
    with current_app.test_request_context("/"):
        start(payment, "cod")
    db.session.expire_all()


#: the kit's order steps (ship, receive, complete, refund) and payment
fetch, pay, ship, receive, complete, refund = (
    flows.fetch,
    flows.pay,
    flows.ship,
    flows.receive,
    flows.complete,
    flows.refund,
)


def journal_sums():
    """{journal_id: sum of its entries} for every journal (all must be 0)."""
    from jishi_multistore.models import LedgerEntry, LedgerJournal

    rows = db.session.execute(
        select(LedgerJournal.id, func.coalesce(func.sum(LedgerEntry.amount), 0))
        .outerjoin(LedgerEntry, LedgerEntry.journal_id == LedgerJournal.id)
        .group_by(LedgerJournal.id)
    ).all()
    return {jid: int(total) for jid, total in rows}


def balances(merchant_id):
    from jishi_multistore import ledger

    return ledger.balances(merchant_id)


def journal_count():
    from jishi_multistore.models import LedgerJournal

    return db.session.scalar(select(func.count(LedgerJournal.id)))
