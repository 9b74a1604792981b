"""The seller page's authorization, with and without multistore: the seller
comes from the signed-in user; another seller's product or rule is a 404;
a clerk (no ``products`` permission) and a buyer get 403; a signed-out
visitor is sent to sign in; the platform's read-only view of a merchant may
only look. ``ROUTES`` must list every route of the plugin (checked)."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi_buy_n_get_m.models import BuyNGetMRule
from sqlalchemy import func, select

#: every route of the plugin's blueprint -> the test that covers its authorization
ROUTES = {
    "buy_n_get_m.index": "test_who_may_open_the_page",
    "buy_n_get_m.edit": "test_another_sellers_product_is_404",
    "buy_n_get_m.save": "test_another_sellers_product_is_404",
    "buy_n_get_m.delete": "test_another_sellers_rule_cannot_be_deleted",
}


def count_rules():
    return db.session.execute(select(func.count(BuyNGetMRule.id))).scalar_one()


def test_every_route_has_an_authz_test(app):
    """K15: adding a route without a row in ROUTES fails here."""
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("buy_n_get_m.")}
    assert endpoints == set(ROUTES)
    names = set(globals())
    assert all(test in names for test in ROUTES.values())


def test_who_may_open_the_page(client, factory, login):
    """K15: signed out: sent to sign in (nothing changes); buyer: 403; platform
    admin (the shop itself): the page."""
    product = factory.product()
    login(None)
    r = client.get("/seller/buy-n-get-m/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert (
        client.post("/seller/buy-n-get-m/", data={"product_id": product.id, "buy_qty": 3, "pay_qty": 2}).status_code
        == 302
    )
    login(factory.user())
    assert client.get("/seller/buy-n-get-m/").status_code == 403
    assert (
        client.post("/seller/buy-n-get-m/", data={"product_id": product.id, "buy_qty": 3, "pay_qty": 2}).status_code
        == 403
    )
    assert count_rules() == 0
    login(factory.admin())
    r = client.get("/seller/buy-n-get-m/")
    assert r.status_code == 200
    assert product.name in r.get_data(as_text=True)  # offered in the product list


def test_platform_sets_changes_and_removes_a_rule(client, factory, login, post_rule):
    """K15: the shop's staff set a rule, change it, see it listed, remove it."""
    product = factory.product(name="苹果")
    login(factory.admin())
    assert post_rule(product.id, 3, 2).status_code == 302
    assert post_rule(product.id, 5, 3).status_code == 302  # the same product: changed, not doubled
    rule = db.session.execute(select(BuyNGetMRule)).scalar_one()
    assert (rule.buy_qty, rule.pay_qty, rule.seller_id) == (5, 3, None)
    html = client.get("/seller/buy-n-get-m/").get_data(as_text=True)
    assert "买5付3" in html
    assert client.get(f"/seller/buy-n-get-m/products/{product.id}").status_code == 200
    assert client.post(f"/seller/buy-n-get-m/{rule.id}/delete").status_code == 302
    assert count_rules() == 0


@pytest.mark.parametrize(
    ("buy", "pay", "field"),
    [
        ("3", "3", "pay_qty"),
        ("3", "0", "pay_qty"),
        ("1", "1", "buy_qty"),
        ("100", "2", "buy_qty"),
        ("2.5", "1", "buy_qty"),
        ("x", "1", "buy_qty"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(client, factory, login, post_rule, buy, pay, field):
    """K14 (bad input): pay must be at least 1 and below buy; buy from 2 to 99; whole numbers."""
    product = factory.product()
    login(factory.admin())
    r = post_rule(product.id, buy, pay)
    assert r.status_code == 422
    assert f'data-field="{field}"' in r.get_data(as_text=True)
    assert count_rules() == 0


def test_missing_product_is_named(client, factory, login):
    """K14 (bad input): no product chosen is a 422 naming product_id."""
    login(factory.admin())
    r = client.post("/seller/buy-n-get-m/", data={"product_id": "", "buy_qty": "3", "pay_qty": "2"})
    assert r.status_code == 422 and 'data-field="product_id"' in r.get_data(as_text=True)


@pytest.mark.jishi_plugins("multistore", "buy_n_get_m")
def test_another_sellers_product_is_404(client, factory, ms, login, post_rule):
    """K15/MS7: merchant A's admin sets rules on A's products only: B's product (or a
    self-operated one) answers 404 on edit and save; the platform acting for
    the shop cannot touch a merchant's product either."""
    a, b = ms.merchant(), ms.merchant()
    pa, pb = ms.product(a), ms.product(b)
    own = factory.product()
    login(ms.admin_of(a))
    assert client.get("/seller/buy-n-get-m/").status_code == 200
    assert client.get(f"/seller/buy-n-get-m/products/{pa.id}").status_code == 200
    assert post_rule(pa.id).status_code == 302
    for pid in (pb.id, own.id, 2**31, 999999):
        assert client.get(f"/seller/buy-n-get-m/products/{pid}").status_code == 404
        assert post_rule(pid).status_code == 404
    html = client.get("/seller/buy-n-get-m/").get_data(as_text=True)
    assert pa.name in html and pb.name not in html and own.name not in html
    rule = db.session.execute(select(BuyNGetMRule)).scalar_one()
    assert rule.seller_id == a.id
    login(factory.admin())  # the platform acts for the shop itself
    assert client.get(f"/seller/buy-n-get-m/products/{pa.id}").status_code == 404
    assert post_rule(pa.id, 2, 1).status_code == 404
    assert pa.name not in client.get("/seller/buy-n-get-m/").get_data(as_text=True)
    assert post_rule(own.id).status_code == 302
    assert count_rules() == 2


@pytest.mark.jishi_plugins("multistore", "buy_n_get_m")
def test_another_sellers_rule_cannot_be_deleted(client, factory, ms, login, post_rule):
    """K15: B's admin and the platform get 404 deleting A's rule; it stays."""
    a, b = ms.merchant(), ms.merchant()
    pa = ms.product(a)
    login(ms.admin_of(a))
    assert post_rule(pa.id).status_code == 302
    rule_id = db.session.execute(select(BuyNGetMRule.id)).scalar_one()
    for other in (ms.admin_of(b), factory.admin()):
        login(other)
        assert client.post(f"/seller/buy-n-get-m/{rule_id}/delete").status_code == 404
    login(None)
    assert client.post(f"/seller/buy-n-get-m/{rule_id}/delete").status_code == 302  # to sign-in
    assert count_rules() == 1
    login(ms.admin_of(a))
    assert client.post(f"/seller/buy-n-get-m/{rule_id}/delete").status_code == 302
    assert count_rules() == 0


@pytest.mark.jishi_plugins("multistore", "buy_n_get_m")
def test_clerk_and_read_only_view(client, factory, ms, login, post_rule):
    """MS17/MS4: a clerk (orders + comments only) gets 403; the platform's read-only
    view of merchant A sees A's rules but cannot change them."""
    from jishi_multistore.principal import SESSION_VIEW_KEY

    a = ms.merchant()
    pa = ms.product(a)
    login(ms.admin_of(a))
    assert post_rule(pa.id).status_code == 302
    login(ms.clerk(a))
    assert client.get("/seller/buy-n-get-m/").status_code == 403
    assert post_rule(pa.id, 2, 1).status_code == 403
    login(factory.admin())
    with client.session_transaction() as sess:
        sess[SESSION_VIEW_KEY] = a.id
    r = client.get("/seller/buy-n-get-m/")
    assert r.status_code == 200 and pa.name in r.get_data(as_text=True)
    assert post_rule(pa.id, 2, 1).status_code == 403
    assert db.session.execute(select(BuyNGetMRule.buy_qty)).scalar_one() == 3


def test_menu_entry_for_sellers_only(client, factory, login):
    """K3 (console menu): the platform console's menu links the page for the shop's staff."""
    login(factory.admin())
    assert 'href="/seller/buy-n-get-m/"' in client.get("/seller/buy-n-get-m/").get_data(as_text=True)


@pytest.mark.jishi_plugins("multistore", "buy_n_get_m")
def test_merchant_console_menu_for_admins_not_clerks(client, factory, ms, login):
    """MS17: under multistore the entry sits in the merchant console for the
    merchant's admin; a clerk's menu does not show it."""
    a = ms.merchant()
    login(ms.admin_of(a))
    assert 'href="/seller/buy-n-get-m/"' in client.get("/merchant/").get_data(as_text=True)
    login(ms.clerk(a))
    r = client.get("/merchant/")
    assert r.status_code == 200 and 'href="/seller/buy-n-get-m/"' not in r.get_data(as_text=True)
