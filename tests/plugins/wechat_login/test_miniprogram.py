"""Mini-program sign-in (issue 14 "WeChat login", seed 004 §4 微信注册登录):
``POST /api/v1/wechat/login`` with the ``wx.login`` code, ``POST
/api/v1/wechat/phone`` with the ``getPhoneNumber`` code, against the local
fake WeChat server."""

from __future__ import annotations

from jishi.accounts.models import Address, User
from jishi.cart.models import CartLine
from jishi.db import db
from jishi_wechat_login.models import WeChatAccessToken, WeChatIdentity
from jishi_wechat_login.testing import WeChatUser
from sqlalchemy import select

API = "/api/v1"


def _login(client, wx, user):
    return client.post(f"{API}/wechat/login", json={"code": wx.login_code(wx.mp, user)})


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_new_wechat_user_registers_and_signs_in_again(client, wx):
    """Issue 14: a first wx.login code creates a buyer bound to the openid and
    answers a bearer token like /auth/login; the next code signs the same account in."""
    someone = WeChatUser("o_" + "a" * 20, nickname="小王")
    first = _login(client, wx, someone)
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["is_new"] is True and body["has_phone"] is False
    assert set(body) >= {"token", "user"} and body["user"]["role"] == "buyer"
    me = client.get(f"{API}/me", headers=_bearer(body["token"]))
    assert me.status_code == 200 and me.get_json()["id"] == body["user"]["id"]
    again = _login(client, wx, someone).get_json()
    assert again["is_new"] is False and again["user"]["id"] == body["user"]["id"]
    [ident] = db.session.execute(select(WeChatIdentity)).scalars()
    assert (ident.appid, ident.openid, ident.app_kind) == (wx.mp, someone.openid, "mp")
    # The account has no usable password: the phone + password login never signs it in.
    user = db.session.get(User, body["user"]["id"])
    bad = client.post(f"{API}/auth/login", json={"phone": user.phone, "password": "!no-password"})
    assert bad.status_code in (401, 422)


def test_unionid_links_the_website_account(client, wx):
    """Issue 14: the same person (unionid) already bound on the website signs
    into that account from the mini-program; no second account."""
    from jishi_wechat_login import service

    web_user, _ = service.sign_in_or_register(service.app("web"), "o_web_1", "u_1")
    body = _login(client, wx, WeChatUser("o_mp_1", unionid="u_1")).get_json()
    assert body["user"]["id"] == web_user.id and body["is_new"] is False
    rows = db.session.execute(select(WeChatIdentity).where(WeChatIdentity.user_id == web_user.id)).scalars().all()
    assert sorted(i.app_kind for i in rows) == ["mp", "web"]


def test_invalid_and_used_codes_answer_422_naming_code(client, wx):
    """Issue 14 negative: WeChat's 40029 (invalid code) and 40163 (code been
    used) answer 422 naming ``code``; nothing is created."""
    bad = client.post(f"{API}/wechat/login", json={"code": "not-a-code"})
    assert bad.status_code == 422 and bad.get_json()["field"] == "code"
    assert bad.get_json()["code"] == "invalid_code"
    code = wx.login_code(wx.mp, WeChatUser("o_used"))
    assert client.post(f"{API}/wechat/login", json={"code": code}).status_code == 200
    used = client.post(f"{API}/wechat/login", json={"code": code})
    assert used.status_code == 422 and used.get_json()["field"] == "code"
    assert db.session.execute(select(db.func.count()).select_from(User)).scalar_one() == 1
    missing = client.post(f"{API}/wechat/login", json={})
    assert missing.status_code == 422 and "code" in str(missing.get_json())


def test_wechat_down_busy_or_garbage_answers_502_503(client, wx):
    """Issue 14 negative: WeChat down (HTTP 503), timing out, rate limiting
    (45011), busy (-1) or answering HTML: a clear 502/503 JSON, never a 500."""
    for mode, status, code in (
        ("down", 503, "wechat_unavailable"),
        ("slow", 503, "wechat_unavailable"),
        ("busy", 503, "wechat_busy"),
        ("system", 503, "wechat_busy"),
        ("garbage", 502, "wechat_bad_gateway"),
    ):
        wx.mode = mode
        resp = client.post(f"{API}/wechat/login", json={"code": "abc"})
        assert resp.status_code == status, (mode, resp.get_json())
        assert resp.get_json()["code"] == code
    wx.mode = ""
    assert db.session.execute(select(db.func.count()).select_from(User)).scalar_one() == 0


def test_wrong_secret_and_not_configured(client, wx):
    """Issue 14: a wrong AppSecret (40125) is the platform's problem: 502, not
    the buyer's 422; no appid configured: 503 naming the situation."""
    from jishi import settings
    from jishi.db import commit

    settings.set_many({"wechat_login.mp_secret": "wrong"})
    commit()
    resp = client.post(f"{API}/wechat/login", json={"code": wx.login_code(wx.mp, WeChatUser("o_x"))})
    assert resp.status_code == 502 and resp.get_json()["code"] == "wechat_bad_gateway"
    settings.set_many({"wechat_login.mp_appid": ""})
    commit()
    resp = client.post(f"{API}/wechat/login", json={"code": "x"})
    assert resp.status_code == 503 and resp.get_json()["code"] == "wechat_not_configured"


def test_phone_binds_to_a_fresh_account(client, wx):
    """Issue 14: getPhoneNumber's code gives the WeChat-only account its phone;
    the access_token is fetched once and cached with its expiry."""
    person = WeChatUser("o_p1", phone="13800001111")
    body = _login(client, wx, person).get_json()
    resp = client.post(
        f"{API}/wechat/phone", json={"code": wx.phone_code(wx.mp, person)}, headers=_bearer(body["token"])
    )
    assert resp.status_code == 200, resp.get_json()
    out = resp.get_json()
    assert out["switched"] is False and out["token"] is None and out["user"]["phone"] == "13800001111"
    assert db.session.get(WeChatAccessToken, wx.mp) is not None
    # A second binding (same number) changes nothing and reuses the cached token.
    again = client.post(
        f"{API}/wechat/phone", json={"code": wx.phone_code(wx.mp, person)}, headers=_bearer(body["token"])
    )
    assert again.status_code == 200 and wx.calls["/cgi-bin/token"] == 1
    # The phone + password form still cannot sign the account in (no password).
    assert client.post(f"{API}/auth/login", json={"phone": "13800001111", "password": "x" * 8}).status_code == 401


def test_phone_of_an_existing_account_switches_the_login(client, wx, factory):
    """Issue 14 merge (chosen: the login switches): the buyer registered
    earlier with this phone keeps their account; the fresh WeChat-only
    account's binding, cart and address move to it, the fresh account is
    retired and its token revoked; the answer carries the new token."""
    existing = factory.user(phone="13900002222", name="老用户")
    product = factory.product(price=1000, stock=10)
    person = WeChatUser("o_p2", phone="13900002222")
    body = _login(client, wx, person).get_json()
    fresh_token, fresh_id = body["token"], body["user"]["id"]
    cart = client.post(
        f"{API}/cart/items", json={"sku_id": product.skus[0].id, "quantity": 2}, headers=_bearer(fresh_token)
    )
    assert cart.status_code in (200, 201), cart.get_json()
    address = {"name": "王", "phone": "13900002222", "province": "浙江", "city": "杭州", "detail": "西湖路1号"}
    assert client.post(f"{API}/addresses", json=address, headers=_bearer(fresh_token)).status_code == 201
    resp = client.post(f"{API}/wechat/phone", json={"code": wx.phone_code(wx.mp, person)}, headers=_bearer(fresh_token))
    assert resp.status_code == 200, resp.get_json()
    out = resp.get_json()
    assert out["switched"] is True and out["user"]["id"] == existing.id and out["token"]
    assert client.get(f"{API}/me", headers=_bearer(fresh_token)).status_code == 401
    assert client.get(f"{API}/me", headers=_bearer(out["token"])).get_json()["id"] == existing.id
    lines = db.session.execute(select(CartLine)).scalars().all()
    assert [(line.user_id, line.quantity) for line in lines] == [(existing.id, 2)]
    assert db.session.get(User, fresh_id).is_active is False
    # The next wx.login signs the existing account in directly.
    assert _login(client, wx, person).get_json()["user"]["id"] == existing.id
    [moved] = db.session.execute(select(Address)).scalars().all()
    assert moved.user_id == existing.id


def test_merge_refused_when_the_fresh_account_has_orders(client, wx, factory):
    """Issue 14 merge: a WeChat-only account that already placed an order is
    not merged (409 has_orders), and nothing changes."""
    from jishi.testing import flows

    factory.user(phone="13700003333")
    person = WeChatUser("o_p3", phone="13700003333")
    body = _login(client, wx, person).get_json()
    buyer = db.session.get(User, body["user"]["id"])
    product = factory.product(price=1000, stock=10)
    flows.place(buyer, [(product.skus[0], 1)], factory.address(buyer))
    resp = client.post(
        f"{API}/wechat/phone", json={"code": wx.phone_code(wx.mp, person)}, headers=_bearer(body["token"])
    )
    assert resp.status_code == 409 and resp.get_json()["code"] == "has_orders"
    assert db.session.get(User, buyer.id).is_active is True
    assert client.get(f"{API}/me", headers=_bearer(body["token"])).status_code == 200


def test_expired_access_token_is_refreshed(client, wx):
    """Issue 14: the access_token is cached with its expiry; one WeChat calls
    expired (42001) or invalid (40001) is fetched again and the call retried
    once; one past its cached expiry is fetched again before the call."""
    from datetime import timedelta

    from jishi.db import commit, utcnow
    from jishi_wechat_login import client as wechat_client
    from jishi_wechat_login import service

    application = service.app("mp")
    wechat_client.access_token(application.appid, application.secret)
    for n, errcode in enumerate((42001, 40001, None)):
        person = WeChatUser(f"o_t{n}", phone=f"1360000000{n}")
        body = _login(client, wx, person).get_json()
        before, phone_calls = wx.calls["/cgi-bin/token"], wx.calls["/wxa/business/getuserphonenumber"]
        if errcode:
            wx.expire_tokens(errcode)
        else:
            db.session.get(WeChatAccessToken, wx.mp).expires_at = utcnow() - timedelta(seconds=1)
            commit()
        resp = client.post(
            f"{API}/wechat/phone", json={"code": wx.phone_code(wx.mp, person)}, headers=_bearer(body["token"])
        )
        assert resp.status_code == 200, resp.get_json()
        assert resp.get_json()["user"]["phone"] == person.phone
        assert wx.calls["/cgi-bin/token"] == before + 1
        assert wx.calls["/wxa/business/getuserphonenumber"] == phone_calls + (2 if errcode else 1)


def test_phone_code_errors(client, wx):
    """Issue 14 negative: an invalid phone code answers 422 naming ``code``;
    unsigned in: 401; WeChat down: 503."""
    body = _login(client, wx, WeChatUser("o_e")).get_json()
    resp = client.post(f"{API}/wechat/phone", json={"code": "bogus"}, headers=_bearer(body["token"]))
    assert resp.status_code == 422 and resp.get_json()["field"] == "code"
    assert client.post(f"{API}/wechat/phone", json={"code": "bogus"}).status_code == 401
    wx.mode = "down"
    resp = client.post(f"{API}/wechat/phone", json={"code": "bogus"}, headers=_bearer(body["token"]))
    assert resp.status_code == 503 and resp.get_json()["code"] == "wechat_unavailable"


def test_api_document_describes_the_endpoints(client, wx):
    """Issue 14: the OpenAPI document lists both endpoints with their bodies,
    the token answer and the statuses they answer."""
    doc = client.get(f"{API}/openapi.json").get_json()
    login = doc["paths"]["/api/v1/wechat/login"]["post"]
    phone = doc["paths"]["/api/v1/wechat/phone"]["post"]
    assert {"200", "422", "502", "503"} <= set(login["responses"])
    assert {"200", "401", "409", "422", "502", "503"} <= set(phone["responses"])
    answer = doc["components"]["schemas"]["WeChatLogin"]["properties"]
    assert {"token", "user", "is_new", "has_phone"} <= set(answer)


def test_disabled_account_is_refused(client, wx):
    """Issue 14: an account the platform disabled cannot sign in through
    WeChat either (403 ``account_disabled``)."""
    person = WeChatUser("o_disabled")
    body = _login(client, wx, person).get_json()
    db.session.get(User, body["user"]["id"]).is_active = False
    db.session.commit()
    resp = _login(client, wx, person)
    assert resp.status_code == 403 and resp.get_json()["code"] == "account_disabled"


def test_unionid_of_an_account_bound_to_another_openid_is_refused(client, wx):
    """Issue 14: a unionid pointing at an account that already holds another
    openid of this mini-program is refused (409), never bound twice."""
    from jishi_wechat_login import service

    user, _ = service.sign_in_or_register(service.app("mp"), "o_first", "u_same")
    resp = _login(client, wx, WeChatUser("o_second", unionid="u_same"))
    assert resp.status_code == 409 and resp.get_json()["code"] == "account_bound"
    assert [i.openid for i in service.identities(user)] == ["o_first"]


def test_payer_openid_is_the_mini_program_identity(app, factory):
    """Issue 14: WeChat Pay's mini-program payments take the buyer's openid
    from the identity the mini-program sign-in bound (not the website
    app's, not another buyer's)."""
    from jishi import settings
    from jishi_wechat_login.models import WeChatIdentity

    settings.set_many({"wechat_login.mp_appid": "wxmp", "wechat_login.web_appid": "wxweb"})
    buyer, other = factory.user(), factory.user()
    db.session.add_all(
        [
            WeChatIdentity(user_id=buyer.id, appid="wxmp", app_kind="mp", openid="o-mp"),
            WeChatIdentity(user_id=buyer.id, appid="wxweb", app_kind="web", openid="o-web"),
            WeChatIdentity(user_id=other.id, appid="wxmp", app_kind="mp", openid="o-other"),
        ]
    )
    db.session.commit()
    hook = app.extensions["jishi"].hook
    assert hook.payer_openid(user=buyer, channel="mini_program") == "o-mp"
    assert hook.payer_openid(user=buyer, channel="h5") is None
    assert hook.payer_openid(user=factory.user(), channel="mini_program") is None
