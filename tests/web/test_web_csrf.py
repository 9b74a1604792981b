"""CSRF protection on storefront and console forms (Flask-WTF CSRFProtect)."""

import re

import pytest


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def test_form_post_without_token_is_rejected(client, factory):
    """A form post without the CSRF token answers 400; with the token from
    the rendered form it goes through."""
    user = factory.user()
    resp = client.post("/login", data={"phone": user.phone, "password": "secret123"})
    assert resp.status_code == 400 and "表单已过期" in resp.get_data(as_text=True)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = client.post("/login", data={"phone": user.phone, "password": "secret123", "csrf_token": token})
    assert resp.status_code == 302
    assert client.post("/logout").status_code == 400
    assert client.post("/locale", data={"locale": "en"}).status_code == 400
