"""Messages authorization (issue 18 "Buyer ↔ shop messages"): every route
of the plugin × {anonymous, buyer, other buyer, clerk of M1, admin of M1,
admin of M2, platform admin} × {M1's object, M2's object}. Denied calls
answer 401/403/404 (a page may send an anonymous visitor to sign in),
never data; allowed ones never 5xx. :func:`test_every_route_has_a_row`
fails for a route without a row.

``access``: ``public``; ``signed_in``; ``party`` (the buyer of the
conversation or order: "buyer" owns M1's, "other_buyer" M2's); ``seller``
(staff of the conversation's merchant — clerks hold ``orders``; without an
object, any seller's staff including the platform for its own shop);
``platform`` (the platform admin, on any merchant's conversation).
Objects: ``thread`` (the buyer's with M1, the other buyer's with M2),
``order`` (theirs, of the merchant's product), ``product`` (the merchant's).
"""

from __future__ import annotations

import pytest
from jishi.testing import authz, principals
from jishi.testing.authz import Row

from .helpers import ask, order_of

pytestmark = pytest.mark.jishi_plugins("multistore", "messages")

PRINCIPALS = ("anonymous", "buyer", "other_buyer", "clerk1", "admin1", "admin2", "platform")
BLUEPRINTS = ("messages", "messages_seller", "messages_admin", "messages_api")
A = "/api/v1"
BUYER_OF = {"m1": "buyer", "m2": "other_buyer"}

ROWS = [
    Row("GET", "/messages", "signed_in"),
    Row("GET", "/messages/{obj}", "party", obj="thread"),
    Row("POST", "/messages/{obj}", "party", obj="thread", data={"body": "hi"}),
    Row("GET", "/messages/contact?product_id={obj}", "signed_in", obj="product"),
    Row("POST", "/messages/contact?order_id={obj}", "party", obj="order", data={"body": "hi"}),
    Row("GET", "/seller/messages/", "seller"),
    Row("GET", "/seller/messages/{obj}", "seller", obj="thread"),
    Row("POST", "/seller/messages/{obj}", "seller", obj="thread", data={"body": "hi"}),
    Row("GET", "/console/messages/", "platform"),
    Row("GET", "/console/messages/{obj}", "platform", obj="thread"),
    Row("POST", "/console/messages/{obj}", "platform", obj="thread", data={"body": "hi"}),
    Row("GET", f"{A}/me/messages/threads", "signed_in"),
    Row("GET", f"{A}/me/messages/unread", "signed_in"),
    Row("POST", f"{A}/me/messages", "signed_in", obj="product", json={"product_id": "{obj}", "body": "hi"}),
    Row("GET", f"{A}/me/messages/threads/{{obj}}", "party", obj="thread"),
    Row("POST", f"{A}/me/messages/threads/{{obj}}/messages", "party", obj="thread", json={"body": "hi"}),
    Row("POST", f"{A}/me/messages/threads/{{obj}}/read", "party", obj="thread", json={}),
    Row("POST", f"{A}/me/messages/images", "signed_in"),
    Row("GET", f"{A}/seller/messages/threads", "seller"),
    Row("GET", f"{A}/seller/messages/unread", "seller"),
    Row("GET", f"{A}/seller/messages/threads/{{obj}}", "seller", obj="thread"),
    Row("POST", f"{A}/seller/messages/threads/{{obj}}/messages", "seller", obj="thread", json={"body": "hi"}),
    Row("POST", f"{A}/seller/messages/threads/{{obj}}/read", "seller", obj="thread", json={}),
]


def _json_ids(row: Row) -> Row:
    """``{"product_id": "{obj}"}`` is filled as a string: send the integer."""
    if isinstance(row.json, dict) and row.json.get("product_id") == "{obj}":
        return Row(
            row.method, row.path, row.access, obj=row.obj, json=lambda case: {"product_id": case.obj, "body": "hi"}
        )
    return row


def expected_allowed(row: Row, who: str, owner: str | None) -> bool:
    if row.access == "public":
        return True
    if row.access == "signed_in":
        return who != "anonymous"
    if row.access == "party":
        return BUYER_OF.get(owner) == who
    if row.access == "seller":
        if owner is None:
            return who in ("clerk1", "admin1", "admin2", "platform")
        return authz.standard_access(row, who, owner, access="merchant:orders")
    if row.access == "platform":
        return who == "platform"
    raise AssertionError(row.access)


def build_world(factory) -> authz.World:
    from jishi_multistore import testing as ms

    who = principals.standard(factory, multistore=True)
    objects = {}
    for key, m in who.merchants.items():
        buyer = who[BUYER_OF[key]]
        product = ms.product(m, name=f"{key}的茶")
        thread, _m = ask(buyer, product)
        objects[("thread", key)] = thread.id
        objects[("product", key)] = product.id
        objects[("order", key)] = order_of(factory, buyer, product).id
    return authz.World(who.users, objects)


@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(app, client, api, factory, row):
    """Issue 18 messages: who may call what, on M1's and M2's conversations,
    orders and products."""
    authz.assert_row(
        _json_ids(row),
        build_world(factory),
        client=client,
        api=api,
        principals=PRINCIPALS,
        allowed=expected_allowed,
        check=authz.no_data_leaked,
    )


def test_every_route_has_a_row(app):
    """Issue 18 messages: a route of the plugin without a row above fails here."""
    authz.assert_every_route_has_a_row(app, ROWS, blueprints=BLUEPRINTS)
