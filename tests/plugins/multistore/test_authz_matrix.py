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

import pytest
from jishi.db import db
from jishi.testing import authz as kit
from jishi.testing import flows, principals
from jishi.testing.authz import Row, World

from . import authz

PRINCIPALS = ("anonymous", "other_buyer", "clerk1", "admin1", "admin2", "platform")
BLUEPRINTS = ("multistore", "merchant", "multistore_admin", "multistore_api")


def all_rows() -> list[Row]:
    rows: list[Row] = []
    for info in pkgutil.iter_modules(authz.__path__):
        module = importlib.import_module(f"{authz.__name__}.{info.name}")
        rows.extend(getattr(module, "ROWS", []))
    return rows


ROWS = all_rows()


def expected_allowed(row: Row, who: str, owner: str | None) -> bool:
    """Whether ``who`` may use ``row`` on an object of ``owner`` ("m1"/"m2"):
    public, signed_in, platform, merchant[:<permission>] (see ``authz/``)."""
    return kit.standard_access(row, who, owner)


# --- The world ---------------------------------------------------------------


def build_world(factory, ms) -> World:
    from jishi.models import Review
    from jishi_multistore.models import (
        Announcement,
        ApplicationField,
        MerchantMember,
        ProfitShare,
        ShareReceiver,
        Withdrawal,
    )

    place = {"lat": 30.27, "lng": 120.15}
    who = principals.standard(factory, multistore=True, merchant_options={"m1": place, "m2": place})
    orderer = who["buyer"]
    address = factory.address(orderer)
    objects: dict = {}
    for key, m in who.merchants.items():
        clerk = who["clerk1"] if key == "m1" else ms.clerk(m)
        product = ms.product(m, name=f"{key}的茶", price=2000, stock=50)
        pending = ms.product(m, name=f"{key}待审", review_status="pending", on_shelf=False)
        [payment] = flows.place(orderer, [(product.skus[0].id, 1)], address, key=f"authz-{key}")
        flows.pay(payment)
        order = payment.orders[0]
        assert order.seller_id == m.id
        refund = flows.request_refund(order, reason="不想要了")
        line = order.lines[0]
        review = Review(
            order_line_id=line.id, product_id=product.id, user_id=orderer.id, seller_id=m.id, rating=5, content="好"
        )
        withdrawal = Withdrawal(
            merchant_id=m.id, amount=500, method="alipay", account={"account": "a@example.com", "name": "张三"}
        )
        receiver = ShareReceiver(merchant_id=m.id, gateway="sandbox", type="PERSONAL_OPENID", account=f"o-{key}")
        db.session.add_all([review, withdrawal, receiver])
        db.session.commit()
        share = ProfitShare(
            number=f"PS-{key}",
            kind="share",
            source_id=order.id,
            merchant_id=m.id,
            order_id=order.id,
            payment_id=payment.id,
            gateway="sandbox",
            trade_number=payment.number,
            amount=100,
            status="failed",
            retryable=False,
            last_error="refused",
        )
        db.session.add(share)
        db.session.commit()
        objects[("profit_share", key)] = share.id
        member = db.session.execute(db.select(MerchantMember).where(MerchantMember.user_id == clerk.id)).scalar_one()
        # Platform-wide objects (one each per key, so "own/other" is just two of them).
        field = ApplicationField(key=f"f_{key}", label="字段")
        announcement = Announcement(title=f"公告{key}")
        from jishi.accounts.models import StaffRole

        role = StaffRole(seller_id=m.id, name=f"角色{key}", permissions=["orders"])
        db.session.add_all([field, announcement, role])
        db.session.commit()
        objects[("role", key)] = role.id
        objects[("application_field", key)] = field.id
        objects[("announcement", key)] = announcement.id
        objects.update(
            {
                ("merchant", key): m.id,
                ("product", key): product.id,
                ("pending_product", key): pending.id,
                ("order", key): order.id,
                ("refund", key): refund.id,
                ("review", key): review.id,
                ("withdrawal", key): withdrawal.id,
                ("member", key): member.id,
            }
        )
    return World(who.users, objects)


@pytest.mark.parametrize("row", ROWS, ids=kit.label)
def test_matrix(app, client, api, factory, ms, row: Row):
    """MS17: who may call what, own and other merchant's objects."""
    kit.assert_row(
        row, build_world(factory, ms), client=client, api=api, principals=PRINCIPALS, allowed=expected_allowed
    )


def test_every_route_has_a_policy_row(app):
    """MS17: a plugin route without a policy row fails here."""
    kit.assert_every_route_has_a_row(app, ROWS, blueprints=BLUEPRINTS)


def test_world_builds(app, factory, ms):
    """The matrix's world: two merchants each owning their objects."""
    world = build_world(factory, ms)
    assert world.objects[("order", "m1")] != world.objects[("order", "m2")]
    assert set(PRINCIPALS) - {"anonymous"} <= set(world.users)
