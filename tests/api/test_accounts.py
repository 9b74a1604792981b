"""K5, K14, K15: registration, sign-in with bearer tokens, sign-out that
revokes the token, the profile, the address book and its ownership."""

from __future__ import annotations

import pytest
from jishi import signals
from jishi.accounts import service
from jishi.accounts.models import Address, User
from jishi.db import db
from jishi.hookspecs import LoginProvider, hookimpl

ADDRESS = {
    "name": "李四",
    "phone": "13800001111",
    "province": "浙江省",
    "city": "杭州市",
    "district": "西湖区",
    "detail": "文三路 8 号",
}


def test_register_login_me_logout(client, api):
    """K5: register, sign in, use the token, sign out; the token then gets 401."""
    got = []

    def receiver(sender, **kw):
        got.append(sender.phone)

    signals.user_registered.connect(receiver)
    try:
        resp = api.post("/auth/register", json={"phone": "13912345678", "password": "longenough", "name": "小王"})
    finally:
        signals.user_registered.disconnect(receiver)
    assert resp.status_code == 201, resp.json
    assert resp.json["user"]["phone"] == "13912345678" and resp.json["user"]["role"] == "buyer"
    assert "password" not in resp.json["user"] and "password_hash" not in resp.json["user"]
    assert got == ["13912345678"]

    resp = api.post("/auth/login", json={"phone": "13912345678", "password": "longenough"})
    assert resp.status_code == 200, resp.json
    token = resp.json["token"]
    auth = {"Authorization": f"Bearer {token}"}
    me = api.get("/me", headers=auth)
    assert me.status_code == 200 and me.json["name"] == "小王"

    assert api.post("/auth/logout", headers=auth).status_code == 204
    again = api.get("/me", headers=auth)
    assert again.status_code == 401 and again.json["code"] == "unauthorized"
    # The registration token is a different one and still works.
    other = api.post("/auth/login", json={"phone": "13912345678", "password": "longenough"}).json["token"]
    assert api.get("/me", headers={"Authorization": f"Bearer {other}"}).status_code == 200


@pytest.mark.parametrize(
    "body, field",
    [
        ({"phone": "23912345678", "password": "longenough"}, "phone"),
        ({"phone": "1391234567", "password": "longenough"}, "phone"),
        ({"phone": "139123456789", "password": "longenough"}, "phone"),
        ({"phone": "13912345678", "password": "short"}, "password"),
        ({"phone": "13912345678"}, "password"),
        ({"phone": 13912345678, "password": "longenough"}, "phone"),
        ({"phone": "13912345678", "password": "longenough", "role": "platform_admin"}, "role"),
    ],
)
def test_register_bad_input_names_field(api, body, field):
    """K5, K14: bad registration input is a 4xx naming the field; no account is made."""
    resp = api.post("/auth/register", json=body)
    assert resp.status_code == 422, resp.json
    assert resp.json["field"] == field, resp.json
    assert db.session.execute(db.select(User)).first() is None


def test_register_duplicate_phone(api, factory):
    """K5: a phone registers once (409, field phone)."""
    factory.user(phone="13900000001")
    resp = api.post("/auth/register", json={"phone": "13900000001", "password": "longenough"})
    assert resp.status_code == 409 and resp.json["field"] == "phone"


def test_login_wrong_password_and_unknown_phone(api, factory):
    """K5: wrong credentials are a 401 that does not say which part was wrong."""
    factory.user(phone="13900000002")
    a = api.post("/auth/login", json={"phone": "13900000002", "password": "wrong-password"})
    b = api.post("/auth/login", json={"phone": "13900000009", "password": "secret123"})
    assert a.status_code == b.status_code == 401
    assert a.json["message"] == b.json["message"]
    ok = api.post("/auth/login", json={"phone": "13900000002", "password": "secret123"})
    assert ok.status_code == 200


def test_inactive_user_cannot_sign_in(api, factory):
    """K5: a disabled account neither signs in nor keeps using its token."""
    u = factory.user(phone="13900000003")
    assert api.get("/me", user=u).status_code == 200
    u.is_active = False
    db.session.commit()
    assert api.get("/me", user=u).status_code == 401
    assert api.post("/auth/login", json={"phone": "13900000003", "password": "secret123"}).status_code == 401


def test_bearer_token_is_one_statement_and_refuses_revoked_inactive_unknown(api, factory, queries):
    """K5 / issue 20: the bearer token costs ONE statement (the user joined
    to the token, its member level loaded with it); a revoked token, an
    inactive user's and an unknown one are anonymous (401)."""
    from jishi.accounts.auth import load_bearer_user
    from jishi.accounts.models import ApiToken, MemberLevel
    from jishi.testing import factories
    from sqlalchemy import event

    level = MemberLevel(name="金卡", rank=1)
    db.session.add(level)
    db.session.flush()
    u = factory.user(member_level_id=level.id)
    other = factory.user()
    token, other_token = factories.token(u), factories.token(other)
    u_id, other_id = u.id, other.id
    loaded = []

    def on_load(target, context):
        loaded.append(target)

    event.listen(ApiToken, "load", on_load)
    try:
        with api.client.application.test_request_context("/", headers={"Authorization": f"Bearer {token}"}) as ctx:
            db.session.expunge_all()
            with queries() as q:
                user = load_bearer_user(ctx.request)
                assert user.id == u_id and user.member_level.name == "金卡"
            assert q.count == 1, q.statements
    finally:
        event.remove(ApiToken, "load", on_load)
    assert loaded == []  # the token row is a join, never an object of the session
    assert api.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert api.get("/me", headers={"Authorization": "Bearer unknown"}).status_code == 401
    assert api.get("/me", headers={"Authorization": "Bearer "}).status_code == 401
    assert api.post("/auth/logout", headers={"Authorization": f"Bearer {token}"}).status_code == 204  # revokes it
    assert api.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    db.session.get(User, other_id).is_active = False
    db.session.commit()
    assert api.get("/me", headers={"Authorization": f"Bearer {other_token}"}).status_code == 401


def test_held_user_read_refuses_revoked_inactive_and_gives_the_sessions_instance(api, factory, queries):
    """K5 / issue 20: the bearer and session-cookie users are read by ONE
    held Core statement and built as clean persistent instances: a revoked
    token, an inactive user and a rotated session token are refused; the
    user (and its member level) is the session's own instance, which later
    code modifies and commits; a user the session already holds is returned
    as held (no statement for the cookie, not refreshed)."""
    from jishi.accounts import auth
    from jishi.accounts.models import ApiToken, MemberLevel
    from jishi.db import utcnow
    from jishi.testing import factories

    level = MemberLevel(name="银卡", rank=2)
    db.session.add(level)
    db.session.flush()
    u = factory.user(member_level_id=level.id, name="旧名")
    token = factories.token(u)
    u_id, session_id = u.id, u.get_id()
    app = api.client.application

    def bearer(tok):
        with app.test_request_context("/", headers={"Authorization": f"Bearer {tok}"}) as ctx:
            db.session.expunge_all()
            with queries() as q:
                user = auth.load_bearer_user(ctx.request)
            return user, q.count

    def cookie(sid):
        with app.test_request_context("/"):
            db.session.expunge_all()
            with queries() as q:
                user = auth.load_session_user(sid)
            return user, q.count

    for load, credential in ((bearer, token), (cookie, session_id)):
        user, count = load(credential)
        assert count == 1 and user is not None and user.id == u_id
        assert user in db.session and not db.session.is_modified(user)
        with queries() as q:
            assert user.member_level.name == "银卡" and user.member_level in db.session
        assert q.count == 0  # loaded with the user
        user.name = f"新名-{load.__name__}"  # the session's instance: modified and committed
        db.session.commit()
        db.session.expunge_all()
        assert db.session.get(User, u_id).name == f"新名-{load.__name__}"

    # a user without a member level
    db.session.get(User, u_id).member_level_id = None
    db.session.commit()
    user, count = bearer(token)
    assert count == 1 and user.id == u_id
    with queries() as q:
        assert user.member_level is None
    assert q.count == 0

    # the session already holds the user: that instance, not refreshed
    with app.test_request_context("/", headers={"Authorization": f"Bearer {token}"}) as ctx:
        held = db.session.get(User, u_id)
        held.name = "未提交"
        assert auth.load_bearer_user(ctx.request) is held and held.name == "未提交"
        assert auth.load_session_user(session_id) is None  # (a Bearer request: the cookie is not asked)
        db.session.rollback()
    with app.test_request_context("/"):
        held = db.session.get(User, u_id)
        with queries() as q:
            assert auth.load_session_user(session_id) is held
        assert q.count == 0

    # refused: a rotated session token, an inactive user, a revoked token
    user, _ = cookie(f"{u_id}:not-the-token")
    assert user is None
    user, _ = cookie(f"{u_id + 1000}:{session_id.partition(':')[2]}")
    assert user is None
    db.session.get(User, u_id).is_active = False
    db.session.commit()
    assert bearer(token) == (None, 1)
    assert cookie(session_id) == (None, 1)
    db.session.get(User, u_id).is_active = True
    db.session.commit()
    assert bearer(token)[0].id == u_id
    db.session.execute(db.update(ApiToken).where(ApiToken.user_id == u_id).values(revoked_at=utcnow()))
    db.session.commit()
    assert bearer(token) == (None, 1)  # revoked: refused on the very next read (nothing cached)
    assert api.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_user_read_on_the_db_api_cursor_when_nothing_listens(api, factory, monkeypatch):
    """K5, issue 20 (flash admission): with no listener of the statements'
    events (a serving process) the bearer and cookie users' ONE statement
    runs on the DB-API cursor itself (``jishi.loaders._HeldSQL._fetch``
    with nothing listening, ``_quiet``: no SQLAlchemy execution context or
    result), giving the same user and member level, and refusing a revoked
    token and an inactive user on the very next read; a statement listener
    (the tests' counters) sends it through SQLAlchemy's cursor execute."""
    from jishi import loaders
    from jishi.accounts import auth
    from jishi.accounts.models import ApiToken, MemberLevel
    from jishi.db import utcnow
    from jishi.testing import factories
    from sqlalchemy import event

    level = MemberLevel(name="钻石", rank=3)
    db.session.add(level)
    db.session.flush()
    u = factory.user(member_level_id=level.id, name="直读")
    token = factories.token(u)
    u_id, session_id = u.id, u.get_id()
    db.session.commit()
    app = api.client.application
    direct = []
    real = loaders._HeldSQL._fetch

    def spy(self, conn, args):
        quiet = loaders._quiet(conn)
        rows = real(self, conn, args)
        if quiet:  # (run by the cursor itself)
            direct.append(len(rows))
        return rows

    monkeypatch.setattr(loaders._HeldSQL, "_fetch", spy)

    def bearer():
        with app.test_request_context("/", headers={"Authorization": f"Bearer {token}"}) as ctx:
            db.session.expunge_all()
            user = auth.load_bearer_user(ctx.request)
            return None if user is None else (user.id, user.name, user.member_level.name, user in db.session)

    def cookie():
        with app.test_request_context("/"):
            db.session.expunge_all()
            user = auth.load_session_user(session_id)
            return None if user is None else (user.id, user.name, user.member_level.name, user in db.session)

    assert bearer() == (u_id, "直读", "钻石", True) and direct == [1]
    assert cookie() == (u_id, "直读", "钻石", True) and direct == [1, 1]
    seen = []
    listener = lambda *a, **k: seen.append(1)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert bearer() == (u_id, "直读", "钻石", True)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert direct == [1, 1] and seen == [1]  # through SQLAlchemy's execute: the listener saw it
    db.session.get(User, u_id).is_active = False
    db.session.commit()
    assert bearer() is None and direct[-1] == 0  # (the statement refuses an inactive user)
    assert cookie() is None and direct[-1] == 1  # (read by id, refused as inactive)
    db.session.get(User, u_id).is_active = True
    db.session.commit()
    assert bearer()[0] == u_id
    db.session.execute(db.update(ApiToken).where(ApiToken.user_id == u_id).values(revoked_at=utcnow()))
    db.session.commit()
    assert bearer() is None and direct[-1] == 0  # revoked: refused on the very next read
    assert api.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "JISHI_LOGIN_RATE_LIMIT": "3 per minute"}])
def test_login_is_rate_limited(api, factory, app_config):
    """K5, K15: repeated sign-in attempts get 429 once over JISHI_LOGIN_RATE_LIMIT."""
    factory.user(phone="13900000004")
    codes = [
        api.post("/auth/login", json={"phone": "13900000004", "password": "wrong-password"}).status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    resp = api.post("/auth/login", json={"phone": "13900000004", "password": "secret123"})
    assert resp.status_code == 429 and resp.json["code"] == "rate_limited"


def test_update_me(api, factory):
    """K5: change name and language; unknown language is a 422 naming it."""
    u = factory.user()
    resp = api.patch("/me", user=u, json={"name": "新名字", "locale": "en"})
    assert resp.status_code == 200 and resp.json["name"] == "新名字" and resp.json["locale"] == "en"
    bad = api.patch("/me", user=u, json={"locale": "fr"})
    assert bad.status_code == 422 and bad.json["field"] == "locale"
    assert api.patch("/me", json={"name": "x"}).status_code == 401


def test_addresses_crud_and_single_default(api, factory):
    """K5: address book; the first address is the default; exactly one default."""
    u = factory.user()
    a1 = api.post("/addresses", user=u, json=ADDRESS)
    assert a1.status_code == 201, a1.json
    assert a1.json["is_default"] is True
    a2 = api.post("/addresses", user=u, json={**ADDRESS, "detail": "文二路 2 号"}).json
    assert a2["is_default"] is False
    resp = api.patch(f"/addresses/{a2['id']}", user=u, json={"is_default": True, "city": "宁波市"})
    assert resp.status_code == 200 and resp.json["city"] == "宁波市"
    listed = api.get("/addresses", user=u).json["items"]
    assert [a["id"] for a in listed] == [a2["id"], a1.json["id"]]
    assert [a["is_default"] for a in listed] == [True, False]
    assert api.get(f"/addresses/{a1.json['id']}", user=u).json["detail"] == "文三路 8 号"
    # Deleting the default hands it to the remaining address.
    assert api.delete(f"/addresses/{a2['id']}", user=u).status_code == 204
    listed = api.get("/addresses", user=u).json["items"]
    assert [(a["id"], a["is_default"]) for a in listed] == [(a1.json["id"], True)]


def test_address_bad_input_names_field(api, factory):
    """K14: missing or bad address fields are 422 naming the field; nothing written."""
    u = factory.user()
    for body, field in [
        ({k: v for k, v in ADDRESS.items() if k != "city"}, "city"),
        ({**ADDRESS, "detail": ""}, "detail"),
        ({**ADDRESS, "lat": 123.0}, "lat"),
        ({**ADDRESS, "is_default": "yes"}, "is_default"),
    ]:
        resp = api.post("/addresses", user=u, json=body)
        assert resp.status_code == 422 and resp.json["field"] == field, resp.json
    assert db.session.execute(db.select(Address)).first() is None


def test_another_buyers_address_is_404(api, factory):
    """K15: a buyer cannot read, change or delete another buyer's address."""
    owner, other = factory.user(), factory.user()
    addr = factory.address(owner)
    assert api.get(f"/addresses/{addr.id}", user=other).status_code == 404
    assert api.patch(f"/addresses/{addr.id}", user=other, json={"city": "x"}).status_code == 404
    assert api.delete(f"/addresses/{addr.id}", user=other).status_code == 404
    assert api.get("/addresses", user=other).json["items"] == []
    assert api.get(f"/addresses/{addr.id}", user=owner).status_code == 200
    assert api.get("/addresses").status_code == 401


def test_service_register_and_authenticate(app):
    """K5: the service functions the web storefront uses."""
    with pytest.raises(service.AccountError) as err:
        service.register("12345", "longenough")
    assert err.value.field == "phone"
    u = service.register("13700000000", "longenough", name="甲")
    assert service.authenticate("13700000000", "longenough").id == u.id
    assert service.authenticate("13700000000", "nope-nope") is None
    with pytest.raises(service.AccountError) as err:
        service.register("13700000000", "longenough")
    assert err.value.field == "phone"


class WeChatLogin:
    @hookimpl
    def login_providers(self):
        return [LoginProvider(code="wechat", label="微信登录", url="/wechat/login")]


@pytest.mark.parametrize("extra_plugins", [[WeChatLogin()]])
def test_login_providers_listed(api, extra_plugins):
    """K5: login providers are a hook; API clients can list them."""
    assert api.get("/auth/providers").json == {
        "items": [{"code": "wechat", "label": "微信登录", "url": "/wechat/login"}]
    }


def test_domain_errors_share_one_api_answer(app, api):
    """K14: a service's DomainError raised in any API view becomes the
    standard {code, message, field} 4xx through one handler, after rollback."""
    from jishi.accounts.service import AccountError
    from jishi.errors import DomainError

    assert issubclass(AccountError, DomainError)
    resp = api.post("/auth/register", json={"phone": "12", "password": "longenough1"})
    assert resp.status_code == 422
    assert resp.json["field"] == "phone" and resp.json["code"] == "invalid" and resp.json["message"]


def test_bearer_token_wins_over_a_session_cookie(client, api, factory):
    """K14: a request that sends ``Authorization: Bearer`` acts as the
    token's user even when the client also holds another user's session;
    a bad token is anonymous, never the cookie's user."""
    alice = factory.user(name="alice")
    bob = factory.user(name="bob")
    db.session.commit()
    assert client.post("/login", data={"phone": alice.phone, "password": "secret123"}).status_code in (302, 303)
    assert client.get("/api/v1/me").get_json()["name"] == "alice"  # the session alone
    assert api.get("/me", user=bob).get_json()["name"] == "bob"
    resp = client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert resp.status_code == 401


def test_a_fresh_process_answers_a_bearer_request_first(app, factory, tmp_path):
    """K5, issue 20: the held user read builds its instances itself, so in a
    process whose first request is a signed-in API call (a fresh server
    worker) the mappers are not configured yet; it configures them and
    answers 200, not a 500 (CI's flash-sale stress caught that under
    gunicorn: every buyer's first request failed)."""
    import json
    import subprocess
    import sys

    buyer = factory.user(name="新进程")
    token = factory.token(buyer)
    db.session.commit()
    script = f"""
import json, sys
from jishi.app import create_app
app = create_app({{
    "TESTING": True, "SQLALCHEMY_DATABASE_URI": {app.config["SQLALCHEMY_DATABASE_URI"]!r},
    "SECRET_KEY": "test-secret", "JISHI_PLUGINS": {app.config["JISHI_PLUGINS"]!r}, "RATELIMIT_ENABLED": False,
    "SERVER_NAME": "shop.test", "JISHI_SCHEMA_CHECK": False,
}}, instance_path={str(tmp_path / "fresh-instance")!r})
r = app.test_client().get("/api/v1/me", headers={{"Authorization": "Bearer {token}"}})
print(json.dumps({{"status": r.status_code, "name": (r.get_json() or {{}}).get("name")}}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    assert answer == {"status": 200, "name": "新进程"}, out.stderr[-3000:]
