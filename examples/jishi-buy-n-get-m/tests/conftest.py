"""Fixtures for jishi-buy-n-get-m's tests, on top of Jishi's own pytest
fixtures (``app``, ``client``, ``api``, ``factory``; the ``jishi.testing``
pytest plugin is installed with Jishi). Every test runs with this plugin
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
def login(client):
    """``login(user)``: sign ``user`` in on the web test client."""

    def do(user):
        client.post("/logout")  # POST: a GET would leave the previous user signed in
        if user is not None:
            resp = client.post("/login", data={"phone": user.phone, "password": "secret123"})
            assert resp.status_code in (302, 303), resp.status_code
        return client

    return do


@pytest.fixture
def ms(app):
    """Multistore's test factories (merchant, admin_of, clerk, product)."""
    from jishi_multistore import testing

    return testing


@pytest.fixture
def post_rule(client):
    """``post_rule(product_id, buy=3, pay=2)``: submit the seller form as the
    signed-in user (the way a seller sets a rule)."""

    def do(product_id, buy=3, pay=2, active=True):
        data = {"product_id": str(product_id), "buy_qty": str(buy), "pay_qty": str(pay),
                "active": ["0", "1"] if active else ["0"]}
        return client.post("/seller/buy-n-get-m/", data=data)

    return do
