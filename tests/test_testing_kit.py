"""The public test kit (``jishi.testing``: principals, flows, authz, i18n):
each helper does what plugin suites rely on, and each check fails when it
should."""

from __future__ import annotations

import shutil

import pytest
from jishi.db import db
from jishi.testing import authz, flows, principals
from jishi.testing.authz import Row
from jishi.testing.i18n import check_catalogs


def test_login_fixture_signs_in_and_out(client, factory, login):
    """``login(user)`` opens the account page; ``login(None)`` signs out;
    ``form=True`` goes through the real login form."""
    user = factory.user()
    assert login(user) is client
    assert client.get("/account").status_code == 200
    login(None)
    resp = client.get("/account")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    login(user, form=True)
    assert client.get("/account").status_code == 200
    with pytest.raises(AssertionError):
        login(user, form=True, password="wrong-password")


def test_bearer_headers_reach_the_api(client, factory):
    user = factory.user(name="带令牌")
    assert client.get("/api/v1/me", headers=principals.bearer(user)).json["name"] == "带令牌"
    assert client.get("/api/v1/me").status_code == 401


def test_standard_principals_without_multistore(app, factory):
    who = principals.standard(factory, addresses=True)
    assert who["anonymous"] is None and not who.multistore
    assert set(who.users) == set(principals.STANDARD)
    assert who["platform"].role == "platform_admin"
    from jishi.accounts.models import Address

    owners = set(db.session.execute(db.select(Address.user_id)).scalars())
    assert owners == {u.id for u in who.users.values() if u is not None}


@pytest.mark.jishi_plugins("multistore")
def test_standard_principals_with_multistore(app, factory, ms):
    """With multistore: admin1 and clerk1 work for m1, admin2 for m2."""
    from jishi_multistore.models import MerchantMember

    who = principals.standard(factory)
    assert who.multistore
    roles = {(m.merchant_id, m.user_id): m.role for m in db.session.execute(db.select(MerchantMember)).scalars()}
    m1, m2 = who.merchants["m1"].id, who.merchants["m2"].id
    assert roles[(m1, who["admin1"].id)] == roles[(m2, who["admin2"].id)] == "admin"
    assert roles[(m1, who["clerk1"].id)] == "clerk"
    assert who.merchant_id("m2") == m2 and who.merchant_id("shop") is None


def test_order_flow_place_pay_complete_refund(factory):
    """place → pay → complete (ship, receive) → refund, through the services."""
    buyer = factory.user()
    address = factory.address(buyer)
    sku = factory.product(price=1500, stock=5).skus[0]
    [payment] = flows.place(buyer, [(sku, 2)], address, key="kit-1")
    assert flows.place(buyer, [(sku, 2)], address, key="kit-1")[0].id == payment.id  # the key makes a retry safe
    order = payment.orders[0]
    assert order.status == "pending_payment"
    flows.pay(payment)
    assert flows.fetch(order).status == "paid"
    order = flows.complete(order)
    assert order.status == "completed"
    r = flows.refund(order)  # every line in full: the goods (shipping stays once delivered)
    assert r.amount == 3000 and r.status == "refunded"
    assert flows.fetch(order).refunded_amount == 3000


def test_pay_takes_an_order_or_a_number_and_reports_a_refusal(api, factory, monkeypatch):
    buyer = factory.user()
    address = factory.address(buyer)
    sku = factory.product(price=800).skus[0]
    data = flows.place_api(api, buyer, [(sku, 1)], address)
    number = data["payments"][0]["number"]
    flows.pay(number)
    order = flows.fetch(data["orders"][0]["id"])
    assert order.status == "paid"
    [payment] = flows.place(buyer, [(sku, 1)], address)
    flows.pay(payment.orders[0])
    assert flows.fetch(payment.orders[0]).status == "paid"
    from jishi.payments import service

    monkeypatch.setattr(service, "handle_notification", lambda gateway, note: "fail")
    with pytest.raises(AssertionError, match="refused: 'fail'"):
        flows.pay(payment)
    flows.pay(payment, check=False)
    assert flows.place_api(api, buyer, [(sku, 1)], None, expect=None, key="no-address") is not None


ADMIN_ORDERS = Row("GET", "/api/v1/admin/orders", "platform")
ACCOUNT_PAGE = Row("GET", "/account", "signed_in")


@pytest.mark.parametrize("row", [ADMIN_ORDERS, ACCOUNT_PAGE], ids=authz.label)
def test_matrix_passes_when_the_rules_hold(client, api, factory, row):
    who = principals.standard(factory)
    failures = authz.run_row(
        row,
        authz.World(who.users),
        client=client,
        api=api,
        principals=principals.STANDARD,
        allowed=lambda r, w, o: authz.standard_access(r, w, o, merchant_of={}),
        strict=True,
    )
    assert failures == []


def test_matrix_reports_each_wrong_expectation(client, api, factory):
    """Expecting the opposite of the truth names every principal; an exact
    status is compared; a page's login redirect counts as denied."""
    who = principals.standard(factory)
    world = authz.World(who.users)
    wrong = authz.run_row(
        ADMIN_ORDERS,
        world,
        client=client,
        api=api,
        principals=("anonymous", "buyer", "platform"),
        allowed=lambda r, w, o: w != "platform",
    )
    assert wrong == [
        "platform: expected 401/403/404, got 200",  # denied cases run first
        "anonymous: expected access, got 401",
        "buyer: expected access, got 403",
    ]
    exact = authz.run_row(
        ACCOUNT_PAGE,
        world,
        client=client,
        api=api,
        principals=("anonymous", "buyer"),
        allowed=lambda r, w, o: 200 if w == "buyer" else 404,
    )
    assert exact == ["anonymous: expected 404, got 302"]
    with pytest.raises(AssertionError, match="GET /account"):
        authz.assert_row(
            ACCOUNT_PAGE, world, client=client, api=api, principals=("anonymous",), allowed=lambda *a: True
        )


def test_matrix_fills_objects_and_values(client, api, factory):
    """``{obj}`` is the owner's object, other names come from the world,
    in the path and in the body (keys and values)."""
    seen = []
    row = Row("POST", "/api/v1/{area}/{obj}", "platform", obj="thing", json={"id-{obj}": ["{obj}", "{area}", "{nope}"]})
    world = authz.World({"platform": None}, {("thing", "m1"): 7, ("thing", "m2"): 8}, {"area": "x"})

    class Api:
        def call(self, method, path, user=None, json=None, headers=None):
            seen.append((method, path, json))

            class Resp:
                status_code = 404

            return Resp()

    assert authz.run_row(row, world, client=None, api=Api(), principals=("platform",), allowed=lambda *a: False) == []
    assert seen == [
        ("POST", "/api/v1/x/7", {"id-7": ["7", "x", "{nope}"]}),
        ("POST", "/api/v1/x/8", {"id-8": ["8", "x", "{nope}"]}),
    ]


def test_every_route_check_names_what_is_missing(app):
    """A blueprint's route without a row fails, named; with rows for all, it passes."""
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("payments.")]
    assert rules
    with pytest.raises(AssertionError) as err:
        authz.assert_every_route_has_a_row(app, [], blueprints=["payments"])
    assert rules[0].rule in str(err.value)
    rows = [Row("GET", "/sandbox-gateway/pay/{trade}", "public"), Row("POST", "/payments/notify/sandbox", "public")]
    with pytest.raises(AssertionError) as err:
        authz.assert_every_route_has_a_row(app, rows, blueprints=["payments"])
    assert "without an authorization row:\n  POST /sandbox-gateway/pay/<trade_no> (payments.gateway_pay)\n" in str(
        err.value
    )
    rows.append(Row("POST", "/sandbox-gateway/pay/T1?x=1", "public"))
    rows.append(Row("POST", "/payments/notify/sandbox/refund", "public"))
    covered = authz.assert_every_route_has_a_row(app, rows, blueprints=["payments"])
    assert len(covered) == len(rows) == 4


def test_catalog_check_fails_on_a_broken_catalog(tmp_path):
    """An untranslated msgid, a stale .mo and a source string missing from
    the catalog are each named; the first-party catalogs pass."""
    import jishi_pickup
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import write_po

    package = tmp_path / "jishi_broken"
    shutil.copytree(f"{jishi_pickup.__path__[0]}/translations", package / "translations")
    (package / "templates").mkdir()
    (package / "templates" / "page.html").write_text("{{ _('A brand new string') }}")
    zh_dir = package / "translations" / "zh_CN" / "LC_MESSAGES"
    catalog = Catalog(locale="zh_CN")
    catalog.add("Pickup", "自提")
    catalog.add("Forgotten")
    with open(zh_dir / "messages.po", "wb") as fh:
        write_po(fh, catalog)
    with pytest.raises(AssertionError) as err:
        check_catalogs(package, locales=("zh_CN",))
    message = str(err.value)
    assert "untranslated or fuzzy: ['Forgotten']" in message
    assert "messages.mo is out of date" in message
    assert "A brand new string" in message
    catalog.get("Forgotten").string = "忘了"
    catalog.add("A brand new string", "新字符串")
    with open(zh_dir / "messages.po", "wb") as fh:
        write_po(fh, catalog)
    with open(zh_dir / "messages.mo", "wb") as fh:
        write_mo(fh, catalog)
    assert check_catalogs(package, locales=("zh_CN",))["zh_CN"]["Forgotten"].string == "忘了"
    with pytest.raises(AssertionError, match="at least 10"):
        check_catalogs(package, locales=("zh_CN",), min_messages=10)


def test_count_queries_this_thread_leaves_other_threads_out(app):
    """Issue 20: ``count_queries(engine, this_thread=True)`` counts the
    calling thread's statements only (a benchmark's request, not the visit
    writer flushing in its own thread meanwhile); without it, every thread's."""
    import threading

    from jishi.testing import count_queries
    from sqlalchemy import text

    engine = db.engine

    def other():
        with engine.connect() as conn:
            conn.execute(text("SELECT 2"))

    for only, expected in ((True, 1), (False, 2)):
        with count_queries(engine, this_thread=only) as q:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            t = threading.Thread(target=other)
            t.start()
            t.join()
        assert q.count == expected, q.statements
