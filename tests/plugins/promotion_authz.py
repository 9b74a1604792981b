"""The authorization matrix shared by the promotion plugins' suites
(flashsale, groupbuy): rows whose bodies depend on the caller, the access
rule of an activity's routes, the world (two merchants, each with a product
and an activity whose title is a secret the other must never see) and the
check that seller lists show only their own activities."""

from __future__ import annotations

import itertools

from jishi.testing import authz, principals
from jishi.testing.authz import Row

PRINCIPALS = ("anonymous", "buyer", "clerk1", "admin1", "admin2", "platform")

#: days ahead of a new activity's window (each call takes a fresh one)
windows = itertools.count(40, 2)


def rows(make_body):
    """A row maker: ``R(method, path, access, body="", obj=None, lists=False)``.

    ``path`` is formatted with the world ({a1}, {p1}, {sku1}...); ``access``:
    public, signed_in, seller (the products permission, on own objects; the
    platform on any), or anything else for nobody; ``body``: the kind passed
    to ``make_body(kind, world, who)``; ``obj``: the path names M1's object
    (admin2 must not reach it); ``lists``: the seller's list of activities."""

    def R(method, path, access, body="", obj=None, lists=False) -> Row:
        make = (lambda case: make_body(body, case.world.values, case.who)) if body else None
        return Row(method, path, access, obj=obj, json=make, data=make, extra={"lists": lists})

    return R


def allowed(row: Row, who: str, owner: str | None) -> bool:
    if row.access == "seller":  # the platform on any merchant's activity; clerks lack "products"
        return who == "platform" or authz.standard_access(row, who, owner, access="merchant:products")
    if row.access in ("public", "signed_in"):
        return authz.standard_access(row, who, owner)
    return False


def world(factory, make_activity) -> dict:
    """M1 and M2 with a product and an activity each (titled M1-ACT-SECRET,
    M2-ACT-SECRET: ``make_activity(product, title)``); every signed-in
    principal has an address."""
    from jishi_multistore import testing as ms

    who = principals.standard(factory, multistore=True, addresses=True)
    m1, m2 = who.merchants["m1"], who.merchants["m2"]
    p1 = ms.product(m1, price=1000, stock=50)
    p2 = ms.product(m2, price=2000, stock=50)
    a1 = make_activity(p1, "M1-ACT-SECRET")
    a2 = make_activity(p2, "M2-ACT-SECRET")
    return {
        "m1": m1,
        "m2": m2,
        "p1": p1.id,
        "p2": p2.id,
        "a1": a1.id,
        "a2": a2.id,
        "sku1": p1.skus[0].id,
        "sku2": p2.skus[0].id,
        "users": who.users,
    }


def no_secrets(case, resp, expected):
    """Each seller's list shows its own activities (the platform's all); a
    denied call shows none."""
    text = resp.get_data(as_text=True)
    if expected and case.row.extra["lists"]:
        own = {"admin1": {"M1"}, "admin2": {"M2"}, "platform": {"M1", "M2"}}[case.who]
        assert {k for k in ("M1", "M2") if f"{k}-ACT-SECRET" in text} == own, case.who
    if not expected:
        assert "M1-ACT-SECRET" not in text and "M2-ACT-SECRET" not in text, case.who


def assert_row(row: Row, w: dict, *, client, api, headers=None) -> None:
    """Run ``row`` as every principal, strictly (see ``authz.run_row``)."""
    objects = {("product", "m1"): w["p1"], ("activity", "m1"): w["a1"]}
    authz.assert_row(
        row,
        authz.World(w["users"], objects, w),
        client=client,
        api=api,
        principals=PRINCIPALS,
        owners=("m1",),
        allowed=allowed,
        check=no_secrets,
        headers=headers,
        strict=True,
    )
