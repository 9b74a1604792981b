"""Helpers of the virtual goods tests: virtual products with card codes or
a link, their codes, paid orders."""

from __future__ import annotations

from jishi.db import db
from jishi.testing import factories, flows
from jishi_virtual import service
from jishi_virtual.models import KIND_CODES, KIND_TEXT, VirtualCode


def card(seller_id=None, codes=("A-1", "A-2", "A-3"), *, price=10000, stock=100, name="礼品卡"):
    """A virtual product delivered by card codes, with ``codes`` in stock."""
    product = factories.product(name=name, price=price, stock=stock, seller_id=seller_id, is_virtual=True)
    service.save_good(product, KIND_CODES, "")
    if codes:
        service.add_codes(product, product.skus[0].id, "\n".join(codes))
    db.session.commit()
    return product


def link(seller_id=None, text="https://example.com/course", *, price=1990, name="视频课"):
    """A virtual product delivered as a link (the same for every buyer)."""
    product = factories.product(name=name, price=price, stock=100, seller_id=seller_id, is_virtual=True)
    service.save_good(product, KIND_TEXT, text)
    db.session.commit()
    return product


def deliver_by_codes(product, codes=()):
    """Deliver ``product`` by card codes and add ``codes`` to its only SKU."""
    service.save_good(product, KIND_CODES, "")
    if codes:
        service.add_codes(product, product.skus[0].id, "\n".join(codes))
    db.session.commit()


def codes_of(order_id) -> list[VirtualCode]:
    db.session.expire_all()
    return list(
        db.session.execute(
            db.select(VirtualCode).where(VirtualCode.order_id == order_id).order_by(VirtualCode.id)
        ).scalars()
    )


def free_codes(product) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.execute(
            db.select(VirtualCode.code).where(VirtualCode.product_id == product.id, VirtualCode.order_line_id.is_(None))
        ).scalars()
    )


def paid_order(buyer, product, quantity=1):
    """Place and pay ``quantity`` of ``product`` for ``buyer``; the order as stored now."""
    [payment] = flows.place(buyer, [(product.skus[0], quantity)])
    flows.pay(payment)
    return flows.fetch(payment.orders[0])


def events(order_id) -> list[tuple[str, str]]:
    from jishi.orders.models import OrderEvent

    rows = db.session.execute(
        db.select(OrderEvent.to_status, OrderEvent.note).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
    ).all()
    return [tuple(r) for r in rows]
