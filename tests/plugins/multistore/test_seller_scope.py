"""MS17/K3: multistore answers the kernel's ``seller_scope`` hook, so every
plugin's seller pages and API act for the signed-in member's merchant."""

from __future__ import annotations

from flask import current_app
from flask_login import login_user
from jishi.hookspecs import SellerScope


def _scope(user, via, view=None):
    from flask import g, session
    from jishi.sellers import current_scope

    g.pop("jishi_seller_scope", None)  # the tests' app context outlives a request
    with current_app.test_request_context("/"):
        login_user(user)
        if view is not None:
            session["multistore_view"] = view
        return current_scope(via)


def test_members_act_for_their_merchant(app, ms, factory):
    m1, m2 = ms.merchant("一号店"), ms.merchant("二号店")
    admin1, clerk1 = ms.admin_of(m1), ms.clerk(m1)
    buyer = factory.user()
    platform = factory.user(role="platform_admin")
    scope = _scope(admin1, "api")
    assert isinstance(scope, SellerScope) and scope.seller_id == m1.id and scope.name == "一号店"
    assert scope.can("settings") and scope.can("money") and not scope.read_only
    assert scope.layout == "multistore/merchant/base.html" and scope.console == "merchant"
    clerk_scope = _scope(clerk1, "console")
    assert clerk_scope.seller_id == m1.id and clerk_scope.can("orders") and not clerk_scope.can("settings")
    assert _scope(ms.admin_of(m2), "console").seller_id == m2.id
    assert _scope(buyer, "console") is None
    # The platform acts for its own shop, or views a merchant read-only on pages (not the API).
    assert _scope(platform, "console").seller_id is None
    viewing = _scope(platform, "console", view=m2.id)
    assert viewing.seller_id == m2.id and viewing.read_only
    assert _scope(platform, "api", view=m2.id).seller_id is None
