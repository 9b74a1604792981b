"""A3: web errors are pages in the user's language with a way back; the API
keeps answering JSON."""

from __future__ import annotations

import pytest
from jishi.catalog import service as catalog
from jishi.db import db
from jishi.hookspecs import hookimpl


def _is_page(resp, status: int) -> str:
    assert resp.status_code == status
    assert resp.mimetype == "text/html", resp.get_data(as_text=True)[:200]
    text = resp.get_data(as_text=True)
    assert "<!doctype html>" in text and 'class="card result error-page"' in text
    return text


def test_deleted_product_page_is_a_chinese_404_page_and_api_stays_json(app, client, api, factory):
    """A3: a deleted product's page answers a 404 page in zh_CN with links home;
    the API's product endpoint still answers the JSON error."""
    product = factory.product(name="下架茶")
    pid = product.id
    catalog.delete_product(product)
    db.session.commit()
    text = _is_page(client.get(f"/product/{pid}"), 404)
    assert "页面不存在" in text and 'href="/"' in text
    assert "Not Found" not in text and "requested URL" not in text
    resp = api.get(f"/products/{pid}")
    assert resp.status_code == 404 and resp.mimetype == "application/json" and resp.json["code"] == "not_found"


def test_error_page_follows_the_users_language(app, client, factory):
    """A3: the page is in the chosen language (English after switching)."""
    client.post("/locale", data={"locale": "en"})
    text = _is_page(client.get("/product/999999"), 404)
    assert "Page not found" in text and "页面不存在" not in text


def test_unknown_web_path_is_a_page_and_unknown_api_path_json(client):
    """A3: routing 404s too: a page on the web, JSON under /api/."""
    _is_page(client.get("/no-such-page"), 404)
    resp = client.get("/api/v1/no-such-thing")
    assert resp.status_code == 404 and resp.mimetype == "application/json"


def test_console_error_page_links_to_the_console_home(app, factory, login, client):
    """A3: on a console page the way back includes the console's home."""
    login(factory.user(role="platform_admin"))
    text = _is_page(client.get("/console/products/999999"), 404)
    assert 'href="/console/"' in text


class Broken:
    """A page and an API endpoint that fail with an unexpected exception."""

    @hookimpl
    def blueprints(self):
        from flask import Blueprint

        bp = Blueprint("broken", __name__)

        @bp.get("/broken")
        def broken():
            raise RuntimeError("boom")

        @bp.get("/api/v1/broken")
        def broken_api():
            raise RuntimeError("boom")

        return [bp]


@pytest.mark.parametrize("extra_plugins", [[Broken()]], ids=["plugin"])
def test_unexpected_error_is_a_500_page_and_api_json(app, client):
    """A3: an unhandled exception is a Chinese 500 page (nothing of the
    exception shown), and JSON under /api/."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        text = _is_page(client.get("/broken"), 500)
        assert "出错了" in text and "boom" not in text
        resp = client.get("/api/v1/broken")
        assert resp.status_code == 500 and resp.mimetype == "application/json"
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
