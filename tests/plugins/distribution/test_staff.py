"""Issue 17 "Promoters" (DS, seed 002 导购): with multistore, a merchant's
staff (admin or clerk) become promoters when they open the centre, whatever
the join mode (setting ``staff_promoters``, on by default); a plain buyer
still applies."""

from __future__ import annotations

import pytest

from .helpers import configure

pytestmark = pytest.mark.jishi_plugins("multistore", "distribution")


def test_clerk_is_a_promoter_buyer_applies(app, factory, api, ms):
    """Issue 17/Promoters (DS): in ``apply`` mode a clerk gets a code at once, a buyer does not."""
    configure(join_mode="apply")
    m = ms.merchant()
    clerk = ms.clerk(m)
    me = api.get("/distribution/me", user=clerk).json
    assert me["status"] == "active" and me["code"]
    assert api.get("/distribution/me", user=factory.user()).json["status"] == "none"
    configure(staff_promoters=False)
    assert api.get("/distribution/me", user=ms.clerk(m)).json["status"] == "none"


def test_merchant_opts_own_product_in(app, client, factory, login, ms):
    """Issue 17/Commissions (DS, seed 001 自营 first): a merchant's product
    distributes only when the platform allows merchant products and the
    merchant opts it in from its console (never another merchant's)."""
    from jishi.db import db
    from jishi_distribution.models import ProductRule

    from .helpers import buy, buyer_of, commissions, promoter

    m, other = ms.merchant(), ms.merchant()
    tea = ms.product(m, price=10000)
    theirs = ms.product(other, price=10000)
    login(ms.admin_of(m))
    client.post(f"/seller/distribution/products/{tea.id}", data={"enabled": "on"})
    assert db.session.get(ProductRule, tea.id) is None  # not allowed yet
    configure(merchant_products=True)
    assert client.post(f"/seller/distribution/products/{theirs.id}", data={"enabled": "on"}).status_code == 404
    client.post(f"/seller/distribution/products/{tea.id}", data={"enabled": "on", "level1_fixed": "5"})
    db.session.expire_all()
    assert db.session.get(ProductRule, tea.id).level1_fixed == 500
    assert f'data-id="{tea.id}"' in client.get("/seller/distribution/").get_data(as_text=True)
    a = promoter(factory)
    c = buyer_of(factory, a)
    [o1] = buy(factory, c, [(tea, 2)])
    [o2] = buy(factory, c, [(theirs, 1)])
    assert [(r.level, r.amount) for r in commissions(o1.id)] == [(1, 1000)]
    assert commissions(o2.id) == []
