"""Fixtures for the designer plugin's tests: the plugin alone by default
(a single-store shop); ``@pytest.mark.jishi_plugins("multistore", "designer", ...)``
for the mall and other plugins' blocks."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_plugins(request):
    marker = request.node.get_closest_marker("jishi_plugins")
    return list(marker.args) if marker else ["designer"]
