"""DE-TRACK: the plugin-declared ``tracking_provider`` hook
(``tracking_provider(order)``, firstresult): a throwaway provider answers
before the built-in manual one; answering None lets the manual one speak."""

from __future__ import annotations

from datetime import datetime

import pytest
from jishi.db import db

from .helpers import place, template


class Provider:
    """A carrier integration stand-in: answers for tracking numbers it knows."""

    __name__ = "test_tracking_provider"

    def __init__(self):
        self.asked = []

    def tracking_provider(self, order):
        from jishi_delivery_express.hookspecs import TrackingEvent

        self.asked.append(order.id)
        if not order.tracking_no.startswith("API"):
            return None
        return [
            TrackingEvent(datetime(2026, 5, 1, 8), "快件已揽收", "杭州"),
            TrackingEvent(datetime(2026, 5, 2, 9), "已签收", "上海"),
        ]


PROVIDER = Provider()


@pytest.fixture
def extra_plugins():
    from jishi.hookspecs import hookimpl

    PROVIDER.asked.clear()
    PROVIDER.tracking_provider = hookimpl(Provider.tracking_provider).__get__(PROVIDER)
    return [PROVIDER]


def test_hook_tracking_provider(app, api, factory, svc):
    """DE-TRACK: the provider's events win (newest first); an order it does
    not know falls through to the manual events."""
    assert "tracking_provider" in {h.name for h in app.extensions["jishi"].pm.get_hookcallers(PROVIDER)}
    template()
    admin, buyer = factory.admin(), factory.user()
    addr = factory.address(buyer)
    sku = factory.product().skus[0]
    a, b = (place(buyer, [(sku, 1)], addr)[0] for _ in range(2))
    svc.ship(None, a, "sf", "API123", actor=admin)
    svc.ship(None, b, "sf", "SF999", actor=admin)
    svc.add_event(None, b, "2026-05-01T10:00", "手工录入", actor=admin)
    r = api.get(f"/orders/{a.id}/tracking", user=buyer)
    assert [(e["text"], e["location"]) for e in r.json["events"]] == [("已签收", "上海"), ("快件已揽收", "杭州")]
    r = api.get(f"/orders/{b.id}/tracking", user=buyer)
    assert [e["text"] for e in r.json["events"]] == ["手工录入"]
    assert a.id in PROVIDER.asked and b.id in PROVIDER.asked


def test_hookspec_is_declared_by_the_plugin(app):
    """DE-TRACK: the hook exists only through the plugin's ``hookspecs``
    attribute, as firstresult."""
    hook = app.extensions["jishi"].hook
    assert hook.tracking_provider.spec.opts.get("firstresult") is True
    from jishi_delivery_express import hookspecs, plugin

    assert plugin.hookspecs is hookspecs
    db.session.rollback()
