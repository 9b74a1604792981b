"""Fixtures for the pickup plugin's tests: every test here runs with the
plugin enabled (``app_plugins``; ``@pytest.mark.jishi_plugins("multistore",
"pickup")`` switches multistore on). ``pk`` is :mod:`.helpers`."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_plugins(request):
    marker = request.node.get_closest_marker("jishi_plugins")
    return list(marker.args) if marker else ["pickup"]


@pytest.fixture
def pk(app):
    from . import helpers

    return helpers


@pytest.fixture
def ms(app):
    from jishi_multistore import testing

    return testing


@pytest.fixture
def login(client):
    """``login(user)``: sign ``user`` in on the test client (session keys,
    as Flask-Login stores them; argon2 per call would dominate)."""

    def do(user):
        with client.session_transaction() as sess:
            sess.clear()
            if user is not None:
                sess["_user_id"] = user.get_id()
                sess["_fresh"] = True
        return client

    return do
