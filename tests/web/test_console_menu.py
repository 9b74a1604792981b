"""K3: menu items mean what they say. The kernel shows a ``MenuItem`` only in
its ``console`` and only to users its ``permission`` lets in (``platform_admin``
or a word asked of the seller scope of that console); ``icon`` is rendered
before the label."""

from __future__ import annotations

import pytest
from flask_login import login_user
from jishi.hookspecs import MenuItem, SellerScope, hookimpl
from jishi.web_helpers import console_menu, menu_item_visible


class _User:
    def __init__(self, admin=False):
        self.is_platform_admin = admin


PLATFORM = SellerScope(
    seller_id=None, name="shop", role="platform_staff", permissions=frozenset({"orders", "products"})
)
MERCHANT_CLERK = SellerScope(seller_id=7, name="m", role="clerk", permissions=frozenset({"orders"}), console="merchant")


@pytest.mark.parametrize(
    ("item", "console", "user", "scope", "shown"),
    [
        (MenuItem("a", "x.a"), "platform", _User(), None, True),
        (MenuItem("a", "x.a"), "merchant", _User(), None, False),  # a platform item never in another console
        (MenuItem("a", "x.a", console="merchant"), "platform", _User(admin=True), PLATFORM, False),
        (MenuItem("a", "x.a", console="merchant"), "merchant", _User(), MERCHANT_CLERK, True),
        (MenuItem("a", "x.a", permission="platform_admin"), "platform", _User(admin=True), None, True),
        (MenuItem("a", "x.a", permission="platform_admin"), "platform", _User(), PLATFORM, False),
        (MenuItem("a", "x.a", permission="products"), "platform", _User(), PLATFORM, True),
        (MenuItem("a", "x.a", permission="settings"), "platform", _User(), PLATFORM, False),
        (MenuItem("a", "x.a", permission="products"), "platform", _User(), None, False),  # no scope, no entry
        (MenuItem("a", "x.a", console="merchant", permission="orders"), "merchant", _User(), MERCHANT_CLERK, True),
        (MenuItem("a", "x.a", console="merchant", permission="products"), "merchant", _User(), MERCHANT_CLERK, False),
        # a scope of another console does not open this one's items
        (MenuItem("a", "x.a", permission="orders"), "platform", _User(), MERCHANT_CLERK, False),
        (
            MenuItem("a", "x.a", console="merchant", permission=("products", "orders")),
            "merchant",
            _User(),
            MERCHANT_CLERK,
            True,
        ),
        (
            MenuItem("a", "x.a", console="merchant", permission=("products", "money")),
            "merchant",
            _User(),
            MERCHANT_CLERK,
            False,
        ),
    ],
)
def test_menu_item_visible(item, console, user, scope, shown):
    assert menu_item_visible(item, console, user, scope) is shown


class Menu:
    """Declares items for both consoles and every permission, checking nothing."""

    @hookimpl
    def console_menu_items(self, console, principal):
        return [
            MenuItem("Merchant-only entry", "console.orders", console="merchant"),
            MenuItem("Admin-only entry", "console.users", permission="platform_admin", icon="⚙"),
            MenuItem("Products entry", "console.products", permission="products", icon="🛒"),
            MenuItem("Money entry", "console.reports", permission="money"),
        ]


def _menu(app, user, console="platform"):
    with app.test_request_context("/"):
        login_user(user)
        return {str(i.label) for i in console_menu(console)}


@pytest.mark.parametrize("extra_plugins", [[Menu()]], ids=["plugin"])
def test_console_menu_filters_by_console_and_scope(app, factory):
    admin, staff = factory.admin(), factory.user(role="platform_staff")
    buyer = factory.user()
    assert {"Admin-only entry", "Products entry", "Money entry"} <= _menu(app, admin)
    assert "Merchant-only entry" not in _menu(app, admin)  # declared for "merchant": never in the platform console
    staff_menu = _menu(app, staff)
    assert "Products entry" in staff_menu  # platform staff hold "products"...
    assert not {"Admin-only entry", "Money entry", "Merchant-only entry"} & staff_menu  # ...not money
    assert not {"Products entry", "Money entry"} & _menu(app, buyer)  # no seller scope at all
    # without multistore nobody has a merchant scope: its permission items stay hidden there
    assert _menu(app, admin, "merchant") == {"Merchant-only entry"}


@pytest.mark.parametrize("extra_plugins", [[Menu()]], ids=["plugin"])
def test_console_renders_menu_icons(client, factory):
    """An item's ``icon`` is shown before its label (as text, escaped)."""
    admin = factory.admin()
    client.post("/login", data={"phone": admin.phone, "password": "secret123"})
    html = client.get("/console/").get_data(as_text=True)
    assert '<span class="menu-icon" aria-hidden="true">⚙</span> Admin-only entry' in html
    assert '<span class="menu-icon" aria-hidden="true">🛒</span> Products entry' in html
    assert "Merchant-only entry" not in html
