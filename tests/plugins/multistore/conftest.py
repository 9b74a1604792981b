"""Fixtures for the multistore plugin's tests: every test here runs with the
plugin enabled (``app_plugins``); ``ms`` and ``login`` come from the
``jishi.testing`` kit."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_plugins(request):
    marker = request.node.get_closest_marker("jishi_plugins")
    return list(marker.args) if marker else ["multistore"]
