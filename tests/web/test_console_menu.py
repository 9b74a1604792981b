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


class GroupedMenu:
    """Entries in known groups, an unknown group and a developer page."""

    @hookimpl
    def console_menu_items(self, console, principal):
        return [
            MenuItem("Zeta entry", "console.orders", group="zeta", sort=1),
            MenuItem("Settings entry", "console.settings", group="settings", sort=1),
            MenuItem("Marketing entry", "console.products", group="marketing", sort=1),
            MenuItem("Alpha entry", "console.reports", group="alpha", sort=1),
            MenuItem("Dev entry", "console.users", group="settings", developer=True),
        ]


def _groups(app, user):
    from jishi.web_helpers import console_menu_groups

    with app.test_request_context("/"):
        login_user(user)
        return [(g.key, [str(i.label) for i in g.items]) for g in console_menu_groups("platform")]


@pytest.mark.parametrize("extra_plugins", [[GroupedMenu()]], ids=["plugin"])
def test_menu_groups_in_fixed_order_unknown_last_developer_hidden(app, factory):
    """C5: the kernel shows ungrouped entries first, then 商品/订单/营销/财务/
    商户/设置 in that order, then unknown groups by name; developer entries
    only with JISHI_DEVELOPER_PAGES."""
    groups = _groups(app, factory.admin())
    keys = [k for k, _items in groups]
    assert keys[0] == "" and keys[-2:] == ["alpha", "zeta"]
    assert keys.index("products") < keys.index("orders") < keys.index("marketing") < keys.index("finance")
    assert keys.index("finance") < keys.index("settings") < keys.index("alpha")
    items = dict(groups)
    assert len(items[""]) == 1 and "Marketing entry" in items["marketing"]
    assert "Dev entry" not in items["settings"]
    app.config["JISHI_DEVELOPER_PAGES"] = True
    try:
        assert "Dev entry" in dict(_groups(app, factory.admin()))["settings"]
    finally:
        app.config["JISHI_DEVELOPER_PAGES"] = False


def test_console_menu_is_rendered_in_groups_with_a_language_switch(client, factory, login):
    """C5: the console layout shows group titles (in zh_CN by default) and a
    zh_CN/en switch that changes the console's language."""
    login(factory.admin())
    html = client.get("/console/").get_data(as_text=True)
    assert '<h2 class="menu-group-title">商品</h2>' in html and '<h2 class="menu-group-title">订单</h2>' in html
    assert html.index('data-group="products"') < html.index('data-group="orders"') < html.index('data-group="settings"')
    assert 'name="locale" value="en"' in html
    client.post("/locale", data={"locale": "en"}, headers={"Referer": "http://localhost/console/"})
    html = client.get("/console/").get_data(as_text=True)
    assert '<h2 class="menu-group-title">Products</h2>' in html
