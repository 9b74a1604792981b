"""Issue 16 "Spending" on the web checkout: the kernel's checkout form
carries plugin options as ``opt.<name>``; ``opt.points=on`` (a checkbox)
spends points exactly as the API does (the toggle's markup: test_centre.py)."""

from __future__ import annotations

import re

from jishi.db import db
from jishi.orders.models import Order
from sqlalchemy import select

from .helpers import balance, give


def test_web_checkout_spends_points(app, client, factory, login):
    """Issue 16/Spending: the web checkout places with ``opt.points=on``: the cap (50%) of ¥30."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=3000, stock=5).skus[0]
    give(buyer, 5000)
    login(buyer)
    assert client.post("/cart/add", data={"sku_id": sku.id, "quantity": "1"}).status_code == 302
    page = client.get("/checkout")
    assert page.status_code == 200
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    resp = client.post(
        "/checkout",
        data={"idempotency_key": key, "address_id": addr.id, "action": "place", "opt.points": "on"},
    )
    assert resp.status_code == 302 and "/pay/" in resp.headers["Location"], resp.get_data(as_text=True)[:500]
    order = db.session.scalars(select(Order)).one()
    assert order.discount_amount == 1500
    assert balance(buyer) == (3500, 0)
