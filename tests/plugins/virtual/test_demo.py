"""K13/C7: ``jishi demo`` with the virtual plugin: a gift card with card
codes and a course link on sale; the demo buyer's gift card order is paid,
delivered with its code and complete; the summary never prints a code."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.orders.models import Order
from jishi_virtual.models import VirtualCode
from sqlalchemy import select


def _load():
    from flask import current_app
    from jishi.demo import load_demo

    with current_app.test_request_context("/"):
        return load_demo({})


@pytest.mark.parametrize("app_plugins", [["virtual"], ["multistore", "virtual"]], ids=["single", "mall"])
def test_demo_gift_card_delivered(app, app_plugins, client):
    """C7/K13: 20 codes for the gift card; one handed over to the demo buyer's completed order."""
    summary = _load()
    assert "2 virtual products" in summary and "gift card order delivered" in summary
    codes = db.session.execute(select(VirtualCode)).scalars().all()
    assert len(codes) == 20
    given = [c for c in codes if c.order_id is not None]
    assert len(given) == 1 and given[0].delivered_at is not None
    assert db.session.get(Order, given[0].order_id).status == "completed"
    assert all(c.code not in summary for c in codes)
