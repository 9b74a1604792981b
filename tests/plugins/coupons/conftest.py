"""Fixtures for the coupons plugin's tests: the plugin alone by default
(a single-store shop); ``@pytest.mark.jishi_plugins("multistore", "coupons")``
for the mall."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_plugins(request):
    marker = request.node.get_closest_marker("jishi_plugins")
    return list(marker.args) if marker else ["coupons"]


@pytest.fixture
def ms(app):
    from jishi_multistore import testing

    return testing


@pytest.fixture
def login(client):
    """``login(user)``: sign ``user`` in on the test client (web pages)."""

    def do(user):
        with client.session_transaction() as sess:
            sess.clear()
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
        return client

    return do
