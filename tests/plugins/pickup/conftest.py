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
