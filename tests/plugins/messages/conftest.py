"""Fixtures for the messages plugin's tests: the plugin alone by default
(a single-store shop: every conversation is with the shop);
``@pytest.mark.jishi_plugins("multistore", "messages")`` for the mall."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_plugins(request):
    marker = request.node.get_closest_marker("jishi_plugins")
    return list(marker.args) if marker else ["messages"]
