"""Fixtures for the footprints plugin's tests: every test runs with the
plugin enabled (``app_plugins``; ``@pytest.mark.jishi_plugins(...)`` to
add others)."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_plugins(request):
    marker = request.node.get_closest_marker("jishi_plugins")
    return list(marker.args) if marker else ["footprints"]
