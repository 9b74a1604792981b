"""K14/K15: the JSON API and the browser's cookies.

The API blueprints take no form CSRF token, so a write authenticated by the
web session or the ``remember_token`` cookie (what a browser sends on another
site's form POST) is refused unless it carries the page's CSRF token in
``X-CSRFToken``; bearer tokens are unaffected. Both cookies are
``SameSite=Lax``, and ``Secure`` when the site is served over HTTPS.
"""

from __future__ import annotations

import re

import pytest
from flask_login.utils import encode_cookie
from jishi.db import db
from jishi.orders.models import Order
from jishi.testing import flows, principals

#: what another site's ``<form method=post action=".../api/v1/...">`` sends
CROSS_SITE = {"Origin": "https://evil.example", "Referer": "https://evil.example/page"}


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def _order(api, factory):
    buyer = factory.user()
    sku = factory.product(price=100, stock=5).skus[0]
    placed = flows.place_api(api, buyer, [(sku, 1)], factory.address(buyer))
    return buyer, sku, placed["orders"][0]["id"]


def _status(order_id) -> str:
    db.session.expire_all()
    return db.session.get(Order, order_id).status


def _remember(client, user):
    """The ``remember_token`` cookie of ``user`` alone (no session)."""
    principals.sign_in(client, None)
    client.set_cookie("remember_token", encode_cookie(user.get_id()), domain="shop.test")


@pytest.mark.parametrize("cookie", ["session", "remember_token"])
def test_cookie_authenticated_cross_site_cancel_is_refused(client, api, factory, cookie):
    """A form POST from another site to ``/orders/<id>/cancel`` with the
    buyer's session (or remember-me) cookie answers 403 ``csrf_failed`` and
    leaves the order unpaid; the buyer's bearer token cancels it."""
    buyer, sku, oid = _order(api, factory)
    if cookie == "session":
        principals.sign_in(client, buyer)
    else:
        _remember(client, buyer)
    assert client.get("/api/v1/me").get_json()["id"] == buyer.id  # reads still see the cookie's user
    resp = client.post(f"/api/v1/orders/{oid}/cancel", data={"x": "1"}, headers=CROSS_SITE)
    assert resp.status_code == 403, resp.get_json()
    assert resp.get_json()["code"] == "csrf_failed" and resp.get_json()["message"]
    assert _status(oid) == "pending_payment"
    resp = api.post(f"/orders/{oid}/cancel", user=buyer)
    assert resp.status_code == 200 and resp.get_json()["status"] == "closed"


def test_cookie_write_with_the_pages_csrf_token_goes_through(client, api, factory):
    """The storefront's own script (same origin) sends the page's CSRF token
    in ``X-CSRFToken``: the cookie-authenticated write is accepted."""
    buyer, sku, oid = _order(api, factory)
    principals.sign_in(client, buyer)
    page = client.get(f"/product/{sku.product_id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(f"/api/v1/orders/{oid}/cancel", headers={"X-CSRFToken": "forged"}).status_code == 403
    assert _status(oid) == "pending_payment"
    resp = client.post(f"/api/v1/orders/{oid}/cancel", headers={"X-CSRFToken": token})
    assert resp.status_code == 200 and _status(oid) == "closed"


def test_bearer_token_wins_over_a_remember_cookie(client, api, factory):
    """A client holding another user's ``remember_token`` cookie and sending
    a bearer token acts as the token's user (Flask-Login alone would try the
    cookie and never the token)."""
    alice, bob = factory.user(name="alice"), factory.user(name="bob")
    _remember(client, alice)
    assert client.get("/api/v1/me").get_json()["name"] == "alice"
    assert client.get("/api/v1/me", headers=principals.bearer(bob)).get_json()["name"] == "bob"


@pytest.mark.jishi_plugins("coupons")
def test_cookie_authenticated_cross_site_coupon_claim_is_refused(client, api, factory):
    """``POST /coupons/<id>/claim`` from another site with the buyer's
    session cookie claims nothing; with the bearer token it claims."""
    from jishi_coupons.models import UserCoupon

    from tests.plugins.coupons.helpers import template

    buyer = factory.user()
    t = template(per_user_limit=1)
    principals.sign_in(client, buyer)
    resp = client.post(f"/api/v1/coupons/{t.id}/claim", data={}, headers=CROSS_SITE)
    assert resp.status_code == 403 and resp.get_json()["code"] == "csrf_failed"
    count = db.select(db.func.count()).select_from(UserCoupon).where(UserCoupon.user_id == buyer.id)
    assert db.session.scalar(count) == 0
    assert api.post(f"/coupons/{t.id}/claim", user=buyer).status_code == 201
    assert db.session.scalar(count) == 1


def test_session_and_remember_cookies_are_samesite_lax(client, factory):
    """Signing in with "remember me" sets both cookies ``HttpOnly;
    SameSite=Lax``, not ``Secure`` over plain HTTP."""
    user = factory.user()
    cookies = _login_cookies(client, user)
    for name in ("session", "remember_token"):
        assert "SameSite=Lax" in cookies[name] and "HttpOnly" in cookies[name], cookies[name]
        assert "Secure" not in cookies[name], cookies[name]


def test_cookies_are_secure_over_https(app, factory):
    """Over HTTPS both cookies are also ``Secure``."""
    user = factory.user()
    client = app.test_client()
    cookies = _login_cookies(client, user, base_url="https://shop.test")
    for name in ("session", "remember_token"):
        assert "Secure" in cookies[name] and "SameSite=Lax" in cookies[name], cookies[name]


def _login_cookies(client, user, **kw) -> dict:
    page = client.get("/login", **kw).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    # Flask-WTF checks the Referer of an HTTPS form post
    kw.setdefault("headers", {"Referer": f"{kw.get('base_url', 'http://shop.test')}/login"})
    resp = client.post(
        "/login",
        data={"phone": user.phone, "password": principals.PASSWORD, "remember": "1", "csrf_token": token},
        **kw,
    )
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:300]
    return {h.split("=", 1)[0]: h for h in resp.headers.getlist("Set-Cookie")}


def test_openapi_document_describes_bearer_auth_and_the_csrf_rule(client):
    """The OpenAPI document names the bearer scheme and the cookie rule."""
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert "X-CSRFToken" in spec["info"]["description"] and "csrf_failed" in spec["info"]["description"]
