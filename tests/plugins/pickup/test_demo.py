"""K13/PU: ``jishi demo`` with pickup: points for the shop and for every
multistore merchant, one paid pickup order of the demo buyer with its code;
the summary says so without printing the code."""

from __future__ import annotations

import re

import pytest
from jishi.db import db
from jishi_pickup.models import PickupCode, PickupPoint
from sqlalchemy import func, select


def _load():
    from flask import current_app
    from jishi.demo import load_demo

    logins: dict = {}
    with current_app.test_request_context("/"):
        summary = load_demo(logins)
    return summary


def test_demo_single_store(app, client):
    """PU/K13: the shop gets points; the buyer's pickup order is paid with a code."""
    summary = _load()
    assert "pickup points" in summary and "pickup order with its pickup code" in summary
    codes = db.session.execute(select(PickupCode)).scalars().all()
    assert len(codes) == 1 and codes[0].status == "active"
    assert codes[0].code not in summary and not re.search(r"\d{12}", summary)
    assert db.session.execute(select(func.count(PickupPoint.id)).where(PickupPoint.seller_id.is_(None))).scalar() == 2


@pytest.mark.jishi_plugins("multistore", "pickup")
def test_demo_mall(app, client):
    """PU/K13: with multistore every demo merchant has a point too."""
    from jishi_multistore.models import Merchant

    summary = _load()
    assert "pickup order with its pickup code" in summary
    merchants = db.session.execute(select(Merchant.id).where(Merchant.review_status == "approved")).scalars().all()
    with_points = set(
        db.session.execute(select(PickupPoint.seller_id).where(PickupPoint.seller_id.is_not(None))).scalars()
    )
    assert set(merchants) <= with_points
    assert db.session.execute(select(func.count(PickupCode.id))).scalar() == 1
