"""The three delivery plugins together, with multistore (a
cross-store checkout with express for A, pickup for B, local for C)."""

from __future__ import annotations

import pytest

ALL = ("multistore", "delivery_express", "pickup", "delivery_local")


@pytest.fixture
def app_plugins(request):
    marker = request.node.get_closest_marker("jishi_plugins")
    return list(marker.args) if marker else list(ALL)
