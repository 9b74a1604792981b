"""Fixtures for the delivery_express tests: the plugin is enabled alone
(single-store shop: seller None, platform staff act for the shop) unless a
test asks for ``@pytest.mark.jishi_plugins("multistore", "delivery_express")``."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_plugins(request):
    marker = request.node.get_closest_marker("jishi_plugins")
    return list(marker.args) if marker else ["delivery_express"]


@pytest.fixture
def svc(app):
    from jishi_delivery_express import service

    return service


@pytest.fixture
def de(app):
    """Helpers of :mod:`tests.plugins.delivery_express.helpers`."""
    from . import helpers

    return helpers
