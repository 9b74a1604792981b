"""Browser tests: the app served on 127.0.0.1 by a real WSGI server in a
thread, driven by Debian's headless Chromium through Playwright.

Screenshots go to ``test-artifacts/browser/`` (kept by CI as artifacts).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from jishi.testing import make_app, reset_database
from werkzeug.serving import make_server

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("JISHI_CHROMIUM", "/usr/bin/chromium")


def pytest_collection_modifyitems(items):
    for item in items:
        if "browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def live_app(tmp_path, request):
    marker = request.node.get_closest_marker("jishi_plugins")
    plugins = list(marker.args) if marker else []
    app = make_app(tmp_path, plugins=plugins, config={"SERVER_NAME": None, "WTF_CSRF_ENABLED": True})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config["LIVE_URL"] = f"http://127.0.0.1:{server.server_port}"
    try:
        yield app
    finally:
        server.shutdown()
        reset_database(app)


@pytest.fixture
def shot(request):
    """``shot(page, "step")`` saves test-artifacts/browser/<test>-NN-step.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    counter = {"n": 0}

    def take(page, name):
        counter["n"] += 1
        path = ARTIFACTS / f"{request.node.name}-{counter['n']:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
