"""K12, K14: the shop's logo and icon (settings ``shop.logo`` and
``shop.icon``, kind ``image``): picked from the platform's media library or
typed as an http(s) address or a path; shown in the storefront's header,
as the tab's and home screen's icon (``/favicon.ico`` too: browsers asked
for it and got a 404), and to mini-programs by ``GET /api/v1/site``."""

from __future__ import annotations

import io

import pytest
from flask import g
from jishi import settings
from jishi.db import db
from jishi.testing import authz, principals
from jishi.testing.authz import Row
from webforms import page_form

ROWS = [Row("GET", "/api/v1/ping", "public"), Row("GET", "/api/v1/site", "public")]


@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(client, factory, row: Row):
    """K15: the misc API answers every principal alike (the shop's public face)."""
    who = principals.standard(factory)
    for name, user in who.users.items():
        principals.sign_in(client, user)
        assert client.get(row.path).status_code == 200, name


def test_every_route_has_a_row(app):
    assert len(authz.assert_every_route_has_a_row(app, ROWS, blueprints=("misc",))) == len(ROWS)


def test_without_settings_jishi_s_icon(client):
    resp = client.get("/favicon.ico")
    assert resp.status_code == 200 and resp.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
    assert resp.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    resp.close()
    page = client.get("/").get_data(as_text=True)
    assert '<link rel="icon" href="/static/jishi/icon.svg" type="image/svg+xml">' in page
    assert '<link rel="apple-touch-icon" href="/static/jishi/apple-touch-icon.png">' in page
    assert 'class="logo-img"' not in page
    for path in ("/static/jishi/icon.svg", "/static/jishi/apple-touch-icon.png"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        resp.close()
    site = client.get("/api/v1/site").get_json()
    assert site == {
        "name": "集市",
        "logo": "",
        "icon": "/static/jishi/apple-touch-icon.png",
        "notice": "",
        "hot_searches": [],
    }


def _save(client, token, **values):
    data = {"panel": "shop", "shop.name": "鲜果集市", "shop.notice": "", "csrf_token": token}
    data.update(values)
    return client.post("/console/settings", data=data)


@pytest.mark.parametrize("theme", ["default", "jade"])
def test_the_platform_sets_logo_and_icon(app, api, client, factory, login, theme):
    admin = factory.admin()
    upload = api.post(
        "/seller/media",
        user=admin,
        data={"file": (io.BytesIO(factory.image_bytes("PNG", size=(256, 256))), "icon.png")},
        content_type="multipart/form-data",
    ).json
    login(admin)
    page = client.get("/console/settings")
    assert 'name="shop.icon" maxlength="300"' in page.get_data(as_text=True)
    token = page_form(page, "/console/settings").get("csrf_token", "")
    resp = _save(client, token, **{"shop.logo": f"media:{upload['id']}", "shop.icon": "https://cdn.example.com/i.png"})
    assert resp.status_code == 302
    settings.set_many({"theme.active": theme})
    db.session.commit()
    g.pop("jishi_settings", None)
    large = upload["urls"]["large"]
    assert (settings.get("shop.logo"), settings.get("shop.icon")) == (large, "https://cdn.example.com/i.png")
    page = client.get("/").get_data(as_text=True)
    assert f'<img class="logo-img" src="{large}" alt=""' in page and "鲜果集市" in page
    assert '<link rel="icon" href="https://cdn.example.com/i.png">' in page
    assert '<link rel="icon" href="https://cdn.example.com/i.png">' in client.get("/console/").get_data(as_text=True)
    resp = client.get("/favicon.ico")
    assert resp.status_code == 302 and resp.headers["Location"] == "https://cdn.example.com/i.png"
    assert client.get("/api/v1/site").get_json() == {
        "name": "鲜果集市",
        "logo": large,
        "icon": "https://cdn.example.com/i.png",
        "notice": "",
        "hot_searches": [],
    }
    assert _save(client, token, **{"shop.logo": "", "shop.icon": ""}).status_code == 302  # back to none
    g.pop("jishi_settings", None)
    resp = client.get("/favicon.ico")
    assert resp.status_code == 200
    resp.close()


@pytest.mark.parametrize(
    "bad",
    [
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "//evil.example/i.png",
        "icon.png",
        "media:999999",
        "x" * 301,
    ],
)
def test_an_image_setting_refuses_what_is_not_an_image_address(client, factory, login, bad):
    """C5: 422 on the settings page naming the field; nothing is written."""
    login(factory.admin())
    token = page_form(client.get("/console/settings"), "/console/settings").get("csrf_token", "")
    resp = _save(client, token, **{"shop.logo": "", "shop.icon": bad})
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert 'role="alert"' in body and ("请选择图片" in body or "媒体" in body or "300" in body), body[-2000:]
    db.session.expire_all()
    g.pop("jishi_settings", None)
    assert settings.get("shop.icon") == "" and settings.get("shop.name") == "集市"
