"""Website QR sign-in (WeChat OAuth2 ``qrconnect``, issue 14 "WeChat login"):
buyers on the storefront login page, merchant staff entering their console
by scanning (seed 001 §3.2 通过微信扫码快捷登录子商户管理后台), binding from the
signed-in account's page; the ``state`` is signed, bound to the browser and
used once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from jishi.accounts.models import User
from jishi.db import commit, db
from jishi_wechat_login.models import WeChatIdentity, WeChatLoginState
from jishi_wechat_login.testing import WeChatUser, parse_state
from sqlalchemy import func, select


def _start(client, wx, next_url=None):
    resp = client.get("/wechat/login", query_string={"next": next_url} if next_url else None)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    location = resp.headers["Location"]
    assert location.startswith(wx.url + "/connect/qrconnect?") and location.endswith("#wechat_redirect")
    assert f"appid={wx.web}" in location and "scope=snsapi_login" in location
    return parse_state(location)


def _users():
    return db.session.execute(select(func.count()).select_from(User)).scalar_one()


def test_buyer_scans_and_is_registered_then_signed_in(client, wx):
    """Issue 14: the login page offers WeChat (carrying ``next``); the QR
    page is WeChat's; the callback exchanges the code (oauth2/access_token,
    userinfo), creates the buyer with the WeChat nickname, signs them in and
    goes to ``next``. Scanning again signs the same account in."""
    page = client.get("/login?next=/cart").get_data(as_text=True)
    assert "provider-wechat" in page and "/wechat/login?next=/cart" in page
    redirect_uri, state = _start(client, wx, "/cart")
    assert redirect_uri.endswith("/wechat/callback")
    qr = requests.get(f"{wx.url}/connect/qrconnect", params={"appid": wx.web, "state": state}, timeout=5)
    person = WeChatUser("o_web_buyer", unionid="u_web", nickname="扫码的人")
    code = wx.scan(wx.web, person)
    resp = client.get("/wechat/callback", query_string={"code": code, "state": state})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/cart")
    account = client.get("/account")
    assert account.status_code == 200
    assert "尚未绑定手机号" in account.get_data(as_text=True) and "ext:" not in account.get_data(as_text=True)
    user = db.session.execute(select(User)).scalar_one()
    assert user.name == "扫码的人"
    assert qr.status_code == 200 and "微信登录" in qr.text
    client.post("/logout")
    _r, state = _start(client, wx)
    resp = client.get("/wechat/callback", query_string={"code": wx.scan(wx.web, person), "state": state})
    assert resp.status_code == 302 and _users() == 1


def test_forged_replayed_foreign_and_expired_states_are_refused(app, client, wx):
    """Issue 14 CSRF: a state with a bad signature, one another browser
    started, one used before (even with the old session cookie's nonce put
    back) or one older than its lifetime answers 400 and signs no one in."""
    person = WeChatUser("o_csrf")
    _r, state = _start(client, wx)
    forged = state[:-2] + ("AA" if not state.endswith("AA") else "BB")
    resp = client.get("/wechat/callback", query_string={"code": wx.scan(wx.web, person), "state": forged})
    assert resp.status_code == 400 and _users() == 0
    # The forged attempt spent this browser's nonce: a second browser's state is not ours either.
    other = app.test_client()
    _r, theirs = _start(other, wx)
    _r, mine = _start(client, wx)
    resp = client.get("/wechat/callback", query_string={"code": wx.scan(wx.web, person), "state": theirs})
    assert resp.status_code == 400 and _users() == 0
    # Used once, then replayed with the nonce restored in the session.
    _r, mine = _start(client, wx)
    with client.session_transaction() as sess:
        nonce = sess["wechat_login_nonce"]
    ok = client.get("/wechat/callback", query_string={"code": wx.scan(wx.web, person), "state": mine})
    assert ok.status_code == 302 and _users() == 1
    client.post("/logout")
    with client.session_transaction() as sess:
        sess["wechat_login_nonce"] = nonce
    replay = client.get("/wechat/callback", query_string={"code": wx.scan(wx.web, person), "state": mine})
    assert replay.status_code == 400 and client.get("/account").status_code == 302
    # Expired.
    _r, late = _start(client, wx)
    for row in db.session.execute(select(WeChatLoginState)).scalars():
        row.created_at -= timedelta(minutes=11)
    commit()
    resp = client.get("/wechat/callback", query_string={"code": wx.scan(wx.web, person), "state": late})
    assert resp.status_code == 400 and "已过期" in resp.get_data(as_text=True)


def test_cancelled_bad_code_and_wechat_down_answer_pages(client, wx):
    """Issue 14 negative: the visitor refusing (no code) is a 400 page, an
    invalid or used code a 400 page, WeChat down a 503 page and nonsense
    from it a 502 page; never a 500, nobody created."""
    _r, state = _start(client, wx)
    assert client.get("/wechat/callback", query_string={"state": state}).status_code == 400
    _r, state = _start(client, wx)
    assert client.get("/wechat/callback", query_string={"code": "nope", "state": state}).status_code == 400
    for mode, status in (("down", 503), ("busy", 503), ("garbage", 502)):
        _r, state = _start(client, wx)
        wx.mode = mode
        resp = client.get("/wechat/callback", query_string={"code": "x", "state": state})
        wx.mode = ""
        assert resp.status_code == status and "text/html" in resp.content_type, mode
    assert _users() == 0


def test_provider_hidden_and_start_refused_when_not_configured(client, wx):
    """Issue 14: without the website application's appid the login page shows
    no WeChat button and /wechat/login answers a 503 page."""
    from jishi import settings

    settings.set_many({"wechat_login.web_appid": ""})
    commit()
    assert "provider-wechat" not in client.get("/login").get_data(as_text=True)
    assert client.get("/wechat/login").status_code == 503


@pytest.mark.jishi_plugins("multistore", "wechat_login")
def test_merchant_staff_scan_into_their_console(client, wx, ms, login):
    """Seed 001 §3.2: a merchant member whose account is bound to WeChat
    (bound from their account page) enters the merchant console by scanning.
    An unbound WeChat on the console's login is refused and creates no account."""
    shop = ms.merchant("扫码小店")
    owner = ms.admin_of(shop)
    person = WeChatUser("o_owner", nickname="店主")
    login(owner)
    resp = client.post("/wechat/account/bind")
    assert resp.status_code == 302
    _r, state = parse_state(resp.headers["Location"])
    resp = client.get("/wechat/callback", query_string={"code": wx.scan(wx.web, person), "state": state})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/wechat/account")
    assert "网站扫码" in client.get("/wechat/account").get_data(as_text=True)
    login(None)
    # Signed out, the console sends the member to the login page, whose WeChat button keeps ``next``.
    to_login = client.get("/merchant/")
    assert to_login.status_code == 302
    page = client.get(to_login.headers["Location"]).get_data(as_text=True)
    assert "/wechat/login?next=/merchant/" in page
    _r, state = _start(client, wx, "/merchant/")
    resp = client.get("/wechat/callback", query_string={"code": wx.scan(wx.web, person), "state": state})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/merchant/")
    assert client.get("/merchant/").status_code == 200
    login(None)
    users = _users()
    _r, state = _start(client, wx, "/merchant/")
    resp = client.get(
        "/wechat/callback", query_string={"code": wx.scan(wx.web, WeChatUser("o_stranger")), "state": state}
    )
    assert resp.status_code == 403 and _users() == users
    assert client.get("/merchant/").status_code == 302


def test_binding_conflicts_and_unbinding(client, wx, factory, login):
    """Issue 14 binding: a WeChat bound to another account is refused (409
    page); the callback of a bind started by another account is refused
    (403); unbinding another's binding is 404; a phone-less account keeps
    its last binding."""
    alice, bob = factory.user(name="alice"), factory.user(name="bob")
    person = WeChatUser("o_alice")
    login(alice)
    _r, state = parse_state(client.post("/wechat/account/bind").headers["Location"])
    assert (
        client.get("/wechat/callback", query_string={"code": wx.scan(wx.web, person), "state": state}).status_code
        == 302
    )
    login(bob)
    _r, state = parse_state(client.post("/wechat/account/bind").headers["Location"])
    resp = client.get("/wechat/callback", query_string={"code": wx.scan(wx.web, person), "state": state})
    assert resp.status_code == 409 and "已绑定其他账号" in resp.get_data(as_text=True)
    ident = db.session.execute(select(WeChatIdentity)).scalar_one()
    assert ident.user_id == alice.id
    login(bob)
    assert client.post(f"/wechat/account/{ident.id}/unbind").status_code == 404
    login(alice)
    assert client.post(f"/wechat/account/{ident.id}/unbind").status_code == 302
    assert db.session.execute(select(WeChatIdentity)).first() is None
    # A WeChat-only account cannot drop its only way in.
    client.post("/logout")
    _r, state = _start(client, wx)
    client.get("/wechat/callback", query_string={"code": wx.scan(wx.web, WeChatUser("o_only")), "state": state})
    only = db.session.execute(select(WeChatIdentity).where(WeChatIdentity.openid == "o_only")).scalar_one()
    resp = client.post(f"/wechat/account/{only.id}/unbind", follow_redirects=True)
    assert resp.status_code == 200 and db.session.get(WeChatIdentity, only.id) is not None


def test_bind_callback_in_another_account_is_refused(client, wx, factory, login):
    """Issue 14 binding: a bind started by one account and finished while
    another is signed in (same browser) binds nothing (403)."""
    alice, bob = factory.user(name="alice"), factory.user(name="bob")
    login(alice)
    resp = client.post("/wechat/account/bind")
    _r, state = parse_state(resp.headers["Location"])
    with client.session_transaction() as sess:
        nonce = sess["wechat_login_nonce"]
    login(bob)
    with client.session_transaction() as sess:
        sess["wechat_login_nonce"] = nonce
    resp = client.get("/wechat/callback", query_string={"code": wx.scan(wx.web, WeChatUser("o_z")), "state": state})
    assert resp.status_code == 403 and db.session.execute(select(WeChatIdentity)).first() is None
