"""MS17, K3: the merchant console's menu lists only what the principal may
open. A clerk sees no 拼团 / 秒杀 (or any entry whose page would answer 403);
the merchant's owner does; platform entries stay in the platform console and
merchant entries in the merchant console."""

from __future__ import annotations

import pytest
from flask import url_for
from flask_login import login_user
from jishi.web_helpers import console_menu

pytestmark = pytest.mark.jishi_plugins(
    "multistore", "groupbuy", "flashsale", "coupons", "pickup", "delivery_local", "delivery_express", "virtual"
)

PROMOTIONS = {"groupbuy.activities", "flashsale.activities"}


def _menu(app, user, console, view=None):
    """(endpoint, console, url) of each entry ``user`` sees in ``console``."""
    from jishi_multistore.principal import SESSION_VIEW_KEY

    with app.test_request_context("/"):
        if view is not None:
            from flask import session

            session[SESSION_VIEW_KEY] = view
        login_user(user)
        return [(i.endpoint, i.console, url_for(i.endpoint)) for i in console_menu(console)]


def _opens(client, login, user, urls):
    login(user)
    return {url: client.get(url).status_code for url in urls}


def test_clerk_sees_no_entry_that_answers_403(app, ms, login, client):
    m1 = ms.merchant("一号店")
    clerk = ms.clerk(m1)
    menu = _menu(app, clerk, "merchant")
    endpoints = {e for e, _c, _u in menu}
    assert not PROMOTIONS & endpoints
    assert {"merchant.dashboard", "merchant.orders", "merchant.comments"} <= endpoints
    assert {c for _e, c, _u in menu} == {"merchant"}
    codes = _opens(client, login, clerk, [u for _e, _c, u in menu])
    assert all(code == 200 for code in codes.values()), codes
    # and the promotions the menu hides do answer 403 to the clerk
    assert client.get("/seller/groupbuy/activities").status_code == 403
    assert client.get("/seller/flashsale/activities").status_code == 403


def test_owner_sees_the_promotions_and_every_entry_opens(app, ms, login, client):
    m1 = ms.merchant("一号店")
    owner = ms.admin_of(m1)
    menu = _menu(app, owner, "merchant")
    endpoints = {e for e, _c, _u in menu}
    assert PROMOTIONS <= endpoints
    assert {
        "merchant.products",
        "merchant.finance",
        "merchant.staff",
        "coupons_seller.index",
        "pickup.points",
    } <= endpoints
    assert {c for _e, c, _u in menu} == {"merchant"}
    codes = _opens(client, login, owner, [u for _e, _c, u in menu])
    assert all(code == 200 for code in codes.values()), codes


def test_platform_entries_only_in_the_platform_console(app, ms, factory, login, client):
    m1 = ms.merchant("一号店")
    admin = factory.admin()
    platform = _menu(app, admin, "platform")
    endpoints = {e for e, _c, _u in platform}
    assert PROMOTIONS | {"multistore_admin.merchants", "console.users", "express_admin.templates"} <= endpoints
    assert {c for _e, c, _u in platform} == {"platform"}
    assert not {e for e in endpoints if e.startswith("merchant.")}
    codes = _opens(client, login, admin, [u for _e, _c, u in platform])
    assert all(code == 200 for code in codes.values()), codes
    # the platform's read-only view of a merchant shows the merchant console's entries, none of the platform's
    viewing = _menu(app, admin, "merchant", view=m1.id)
    assert {c for _e, c, _u in viewing} == {"merchant"}
    assert "merchant.dashboard" in {e for e, _c, _u in viewing}
    assert not {e for e, _c, _u in viewing if e.startswith(("console.", "multistore_admin.", "express_admin."))}
