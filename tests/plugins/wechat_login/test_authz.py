"""Issue 14 authorization: every route of the WeChat login plugin × {anonymous,
buyer, other buyer, clerk of M1, admin of M1, admin of M2, platform admin}.
:func:`test_every_route_has_a_row` fails for a route without a row.

``access``: ``public`` (the sign-in entrances; with a bogus code or state
every caller gets the same refusal, given as an exact status), ``signed_in``
(the bindings page, starting a binding, the phone number), ``owner`` (a
binding: "m1" is the buyer's, "m2" the other buyer's; each may
unbind only their own).
"""

from __future__ import annotations

import pytest
from jishi.db import commit, db
from jishi.testing import authz, principals
from jishi.testing.authz import Row
from jishi_wechat_login.models import WeChatIdentity

pytestmark = pytest.mark.jishi_plugins("multistore", "wechat_login")

PRINCIPALS = ("anonymous", "buyer", "other_buyer", "clerk1", "admin1", "admin2", "platform")
BLUEPRINTS = ("wechat_login", "wechat_login_api")
A = "/api/v1"

ROWS = [
    Row("GET", "/wechat/login", "public:302"),
    Row("GET", "/wechat/login?next=/merchant/", "public:302"),
    Row("GET", "/wechat/callback?state=forged&code=x", "public:400"),
    Row("GET", "/wechat/account", "signed_in"),
    Row("POST", "/wechat/account/bind", "signed_in"),
    Row("POST", "/wechat/account/{obj}/unbind", "owner", obj="identity"),
    Row("POST", f"{A}/wechat/login", "public:422", json={"code": "bogus"}),
    Row("POST", f"{A}/wechat/phone", "signed_in:422", json={"code": "bogus"}),
]


def expected(row: Row, who: str, owner: str | None):
    access, _, status = row.access.partition(":")
    if access == "public":
        return int(status) if status else True
    if access == "signed_in":
        if who == "anonymous":
            return False
        return int(status) if status else True
    if access == "owner":
        return (who, owner) in (("buyer", "m1"), ("other_buyer", "m2"))
    raise AssertionError(row.access)


def build_world(factory) -> authz.World:
    who = principals.standard(factory, multistore=True)
    objects = {}
    for key, holder in (("m1", "buyer"), ("m2", "other_buyer")):
        ident = WeChatIdentity(
            user_id=who[holder].id, appid="wx_authz", app_kind="web", openid=f"o_{holder}", unionid=None
        )
        db.session.add(ident)
        commit()
        objects[("identity", key)] = ident.id
    return authz.World(who.users, objects)


@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(app, client, api, factory, wx, row):
    """Issue 14: who may call each WeChat login route, on own and another's binding."""
    authz.assert_row(row, build_world(factory), client=client, api=api, principals=PRINCIPALS, allowed=expected)


def test_every_route_has_a_row(app):
    """Issue 14: a route of the plugin without a row above fails here."""
    authz.assert_every_route_has_a_row(app, ROWS, blueprints=BLUEPRINTS)
