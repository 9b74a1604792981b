"""The demo_data hook: "buy 3 pay 2" on the shop's first demo product and
on each demo merchant's, through the plugin's own service."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi_buy_n_get_m import plugin
from jishi_buy_n_get_m.models import BuyNGetMRule
from sqlalchemy import select


def test_demo_rules_for_the_shop(factory):
    """K13 (demo): a rule on the shop's first demo product."""
    products = [factory.product(), factory.product()]
    assert plugin.demo_data({"products": products}) == "1 buy-3-pay-2 rules"
    rule = db.session.execute(select(BuyNGetMRule)).scalar_one()
    assert (rule.product_id, rule.seller_id, rule.buy_qty, rule.pay_qty) == (products[0].id, None, 3, 2)


@pytest.mark.jishi_plugins("multistore", "buy_n_get_m")
def test_demo_rules_for_merchants(factory, ms):
    """K13/MS1 (demo): and on each demo merchant's product."""
    m = ms.merchant()
    mp = ms.product(m)
    plugin.demo_data({"products": [factory.product()], "merchants": {m.name: m}})
    rules = db.session.execute(select(BuyNGetMRule).order_by(BuyNGetMRule.id)).scalars().all()
    assert [(r.product_id == mp.id, r.seller_id) for r in rules][1] == (True, m.id)
