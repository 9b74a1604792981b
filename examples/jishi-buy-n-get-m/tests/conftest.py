"""Fixtures for jishi-buy-n-get-m's tests, on top of Jishi's own pytest
fixtures (``app``, ``client``, ``api``, ``factory``, ``login``, ``ms``; the
``jishi.testing`` pytest plugin is installed with Jishi). Every test runs with this plugin
enabled; ``@pytest.mark.jishi_plugins("multistore", "buy_n_get_m")`` adds
multistore for a test (skipped when multistore is not installed)."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_plugins(request):
    marker = request.node.get_closest_marker("jishi_plugins")
    names = list(marker.args) if marker else ["buy_n_get_m"]
    if "multistore" in names:
        pytest.importorskip("jishi_multistore")
    return names


@pytest.fixture
def post_rule(client):
    """``post_rule(product_id, buy=3, pay=2)``: submit the seller form as the
    signed-in user (the way a seller sets a rule)."""

    def do(product_id, buy=3, pay=2, active=True):
        data = {
            "product_id": str(product_id),
            "buy_qty": str(buy),
            "pay_qty": str(pay),
            "active": ["0", "1"] if active else ["0"],
        }
        return client.post("/seller/buy-n-get-m/", data=data)

    return do
