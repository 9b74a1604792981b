"""DE-DEMO: ``jishi demo`` with the plugin: two platform templates (by
piece, default; by weight with a 浙江 rule and 新疆/西藏 not served) chosen by
the shop and every merchant, and a shipped order with tracking events."""

from __future__ import annotations

import pytest
from jishi.db import db
from sqlalchemy import select


def _load(app):
    from jishi.demo import load_demo

    with app.test_request_context("/"):
        return load_demo({})


def _check_templates(seller_ids):
    from jishi_delivery_express import service
    from jishi_delivery_express.models import ExpressTemplate

    templates = list(db.session.execute(select(ExpressTemplate).order_by(ExpressTemplate.id)).scalars())
    assert [(t.charge_by, t.is_default) for t in templates] == [("piece", True), ("weight", False)]
    weight = templates[1]
    assert {(r.province, r.served) for r in weight.regions} == {("浙江", True), ("新疆", False), ("西藏", False)}
    for sid in seller_ids:
        choices = service.seller_choices(sid)
        assert {c.template_id for c in choices} == {t.id for t in templates}, sid
        assert [c.template_id for c in choices if c.is_default] == [templates[0].id]


def _check_shipped():
    from jishi.orders.models import Order
    from jishi_delivery_express import service

    order = (
        db.session.execute(
            select(Order).where(Order.delivery_method == "express", Order.tracking_no != "", Order.seller_id.is_(None))
        )
        .scalars()
        .first()
    )
    assert order is not None and order.carrier == "顺丰速运"
    assert len(service.tracking_events(order)) == 3


def test_demo_single_store(app):
    """DE-DEMO: without multistore the shop itself uses both templates."""
    summary = _load(app)
    assert "2 delivery templates" in summary
    _check_templates([None])
    _check_shipped()


@pytest.mark.jishi_plugins("multistore", "delivery_express")
def test_demo_mall(app):
    """DE-DEMO: with multistore every merchant uses both templates, and the
    mall's demo orders are placed with express delivery."""
    from jishi.orders.models import Order
    from jishi_multistore.models import Merchant

    _load(app)
    merchant_ids = list(db.session.execute(select(Merchant.id).where(Merchant.review_status == "approved")).scalars())
    assert merchant_ids
    _check_templates([None, *merchant_ids])
    _check_shipped()
    methods = set(db.session.execute(select(Order.delivery_method)).scalars())
    assert methods == {"express"}
