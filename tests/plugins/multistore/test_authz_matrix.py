"""MS17: the authorization matrix.

Every route the multistore plugin adds (and the kernel routes it touches,
``authz/kernel.py``) × {anonymous, buyer, clerk of M1, admin of M1, admin of
M2, platform admin} × {M1's object, M2's object}. The rows live in
``authz/<area>.py``; a plugin route without a row fails
:func:`test_every_route_has_a_policy_row`. Other merchants' objects answer
401/403/404, never data; allowed calls never answer 5xx.

Each row runs in a fresh world (two merchants with staff, products, a paid
order, a review and a withdrawal each): the denied calls first, then the
allowed ones (which may change the world: a second shipment may answer 409,
which is fine — it got past authorization).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

import pytest
from jishi.db import db

from . import authz
from .authz import Row

PRINCIPALS = ("anonymous", "buyer", "clerk1", "admin1", "admin2", "platform")
MERCHANT_OF = {"clerk1": "m1", "admin1": "m1", "admin2": "m2"}
CLERK_PERMISSIONS = {"orders", "comments"}
PLUGIN_ENDPOINT_PREFIXES = ("multistore.", "merchant.", "multistore_admin.", "multistore_api.")


def all_rows() -> list[Row]:
    rows: list[Row] = []
    for info in pkgutil.iter_modules(authz.__path__):
        module = importlib.import_module(f"{authz.__name__}.{info.name}")
        rows.extend(getattr(module, "ROWS", []))
    return rows


ROWS = all_rows()


def expected_allowed(row: Row, who: str, owner: str | None) -> bool:
    """Whether ``who`` may use ``row`` on an object of ``owner`` ("m1"/"m2")."""
    access = row.access
    if access == "public":
        return True
    if access == "signed_in":
        return who != "anonymous"
    if access == "platform":
        return who == "platform"
    if access.startswith("merchant"):
        permission = access.partition(":")[2] or None
        if who not in MERCHANT_OF:
            return False
        if permission and who == "clerk1" and permission not in CLERK_PERMISSIONS:
            return False
        return owner is None or MERCHANT_OF[who] == owner
    raise AssertionError(f"unknown access {access!r} in {row}")


# --- The world ---------------------------------------------------------------


@dataclass
class World:
    users: dict
    objects: dict  # (kind, "m1"/"m2") -> id


def _pay(payment):
    from flask import current_app
    from jishi.payments import sandbox
    from jishi.payments.service import handle_notification

    with current_app.test_request_context("/"):
        trade = sandbox.create_trade(payment)
        trade.status = "paid"
        db.session.commit()
        assert handle_notification("sandbox", sandbox.notification_for(trade)) == "success"


def build_world(factory, ms) -> World:
    from flask import current_app
    from jishi.checkout.service import place_order
    from jishi.models import Review
    from jishi_multistore.models import Announcement, ApplicationField, MerchantMember, Withdrawal

    buyer = factory.user(name="买家")
    orderer = factory.user(name="下单人")
    address = factory.address(orderer)
    platform = factory.admin()
    users = {"buyer": buyer, "platform": platform}
    objects: dict = {}
    for key in ("m1", "m2"):
        m = ms.merchant(f"商户{key}", lat=30.27, lng=120.15)
        admin = ms.admin_of(m)
        clerk = ms.clerk(m)
        if key == "m1":
            users["admin1"], users["clerk1"] = admin, clerk
        else:
            users["admin2"] = admin
        product = ms.product(m, name=f"{key}的茶", price=2000, stock=50)
        pending = ms.product(m, name=f"{key}待审", review_status="pending", on_shelf=False)
        with current_app.test_request_context("/"):
            [payment] = place_order(orderer, [(product.skus[0].id, 1)], address.id, idempotency_key=f"authz-{key}")
        _pay(payment)
        order = payment.orders[0]
        assert order.seller_id == m.id
        line = order.lines[0]
        review = Review(order_line_id=line.id, product_id=product.id, user_id=orderer.id, seller_id=m.id, rating=5, content="好")
        withdrawal = Withdrawal(merchant_id=m.id, amount=500, method="alipay", account={"account": "a@example.com", "name": "张三"})
        db.session.add_all([review, withdrawal])
        db.session.commit()
        member = db.session.execute(db.select(MerchantMember).where(MerchantMember.user_id == clerk.id)).scalar_one()
        # Platform-wide objects (one each per key, so "own/other" is just two of them).
        field = ApplicationField(key=f"f_{key}", label="字段")
        announcement = Announcement(title=f"公告{key}")
        db.session.add_all([field, announcement])
        db.session.commit()
        objects[("application_field", key)] = field.id
        objects[("announcement", key)] = announcement.id
        objects.update({
            ("merchant", key): m.id, ("product", key): product.id, ("pending_product", key): pending.id,
            ("order", key): order.id, ("review", key): review.id, ("withdrawal", key): withdrawal.id,
            ("member", key): member.id,
        })
    return World(users, objects)


# --- Calls -------------------------------------------------------------------


def _call(client, api, row: Row, path: str, who: str, world: World):
    user = world.users.get(who)
    if row.is_api:
        return api.call(row.method, path, user=user, json=row.json)
    # Sign in by writing Flask-Login's session keys (what /login stores)
    # instead of posting the password: argon2 per call would dominate.
    with client.session_transaction() as sess:
        sess.clear()
        if user is not None:
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
    if row.method == "GET":
        return client.get(path)
    return client.open(path, method=row.method, data=row.data or {})


def _denied(resp, row: Row, who: str) -> bool:
    if resp.status_code in (401, 403, 404):
        return True
    if not row.is_api and who == "anonymous" and resp.status_code in (302, 303):
        return "/login" in resp.headers.get("Location", "")
    return False


def _label(row: Row) -> str:
    return f"{row.method} {row.path}"


@pytest.mark.parametrize("row", ROWS, ids=_label)
def test_matrix(app, client, api, factory, ms, row: Row):
    """MS17: who may call what, own and other merchant's objects."""
    world = build_world(factory, ms)
    owners = ("m1", "m2") if row.obj else (None,)
    cases = [(who, owner) for who in PRINCIPALS for owner in owners]
    # Denied calls first: allowed ones may change the world.
    cases.sort(key=lambda c: expected_allowed(row, *c))
    failures = []
    for who, owner in cases:
        path = row.path.format(obj=world.objects[(row.obj, owner)]) if row.obj else row.path
        resp = _call(client, api, row, path, who, world)
        db.session.rollback()  # forget what this request's writes left in the test's session
        allowed = expected_allowed(row, who, owner)
        if resp.status_code >= 500:
            failures.append(f"{who} on {owner}'s object: {resp.status_code}")
        elif allowed and _denied(resp, row, who):
            failures.append(f"{who} on {owner}'s object: expected access, got {resp.status_code}")
        elif not allowed and not _denied(resp, row, who):
            failures.append(f"{who} on {owner}'s object: expected 401/403/404, got {resp.status_code}")
    assert not failures, f"{_label(row)} ({row.access}):\n" + "\n".join(failures)


def test_every_route_has_a_policy_row(app):
    """MS17: a plugin route without a policy row fails here."""
    adapter = app.url_map.bind("shop.test")
    covered = set()
    for row in ROWS:
        path = row.path.format(obj=1) if row.obj else row.path
        rule, _args = adapter.match(path.split("?")[0], method=row.method, return_rule=True)
        covered.add((rule.rule, row.method))
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(PLUGIN_ENDPOINT_PREFIXES):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if (rule.rule, method) not in covered:
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert not missing, "routes without a policy row in tests/plugins/multistore/authz/:\n" + "\n".join(missing)


def test_world_builds(app, factory, ms):
    """The matrix's world: two merchants each owning their objects."""
    world = build_world(factory, ms)
    assert world.objects[("order", "m1")] != world.objects[("order", "m2")]
    assert set(PRINCIPALS) - {"anonymous"} <= set(world.users)
