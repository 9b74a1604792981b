"""Fixtures for the delivery_local plugin's tests: the plugin is enabled
alone by default; ``@pytest.mark.jishi_plugins("multistore", "delivery_local")``
adds multistore. ``ld`` holds helpers to set a seller up and place orders."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi.testing import flows


@pytest.fixture
def app_plugins(request):
    marker = request.node.get_closest_marker("jishi_plugins")
    return list(marker.args) if marker else ["delivery_local"]


SHOP = (30.2741, 120.1551)  # 鲜果多多, West Lake
NEAR = (30.2650, 120.1500)  # ~1.1 km
MID = (30.2741, 120.1551 + 0.04)  # ~3.85 km east
FAR = (30.2741 + 0.1, 120.1551)  # ~11 km north


def settings(**kw) -> dict:
    data = {
        "enabled": True,
        "lat": SHOP[0],
        "lng": SHOP[1],
        "radius_m": 5000,
        "tiers": [{"max_distance_m": 3000, "fee": 500}, {"max_distance_m": 5000, "fee": 800}],
        "min_amount": 2000,
        "free_over": 9900,
        "slots": [{"start": "10:00", "end": "12:00", "capacity": 3}, {"start": "14:00", "end": "16:00", "capacity": 3}],
        "days_ahead": 3,
        "lead_minutes": 30,
    }
    data.update(kw)
    return data


class Helpers:
    SHOP, NEAR, MID, FAR = SHOP, NEAR, MID, FAR
    settings = staticmethod(settings)

    def setup(self, seller_id=None, **kw):
        from jishi.db import db
        from jishi_delivery_local import service

        cfg = service.save(seller_id, settings(**kw))
        db.session.commit()
        return cfg

    def tomorrow(self, window="10:00-12:00") -> str:
        from jishi_delivery_local import service

        return f"{(service.now_local().date() + timedelta(days=1)).isoformat()} {window}"

    def yesterday(self, window="10:00-12:00") -> str:
        from jishi_delivery_local import service

        return f"{(service.now_local().date() - timedelta(days=1)).isoformat()} {window}"

    def body(self, sku_id, qty, address_id, group="shop", slot=None, delivery="local", **extra) -> dict:
        body = {"items": [{"sku_id": sku_id, "quantity": qty}], "address_id": address_id, "delivery": {group: delivery}}
        if slot is not None:
            body["options"] = {"local_slot": {group: slot}}
        body.update(extra)
        return body

    pay = staticmethod(flows.pay)

    def used(self, seller_id=None) -> int:
        from jishi.db import db
        from jishi_delivery_local.models import SlotUsage, seller_key

        db.session.expire_all()
        return sum(
            db.session.execute(db.select(SlotUsage.used).where(SlotUsage.seller_key == seller_key(seller_id))).scalars()
        )


@pytest.fixture
def ld(app):
    return Helpers()


@pytest.fixture
def client(app):
    """The test client, asking for English pages and messages (the shop's
    default is Chinese; test_i18n.py checks the Chinese)."""
    c = app.test_client()
    c.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return c
