"""K3: one test per hook, each with a throwaway plugin registered through the
``extra_plugins`` fixture, proving the kernel *uses* what the hook returns.

``test_hook_contract.py`` checks that every hook in ``jishi/hookspecs.py`` has
a ``test_hook_<name>`` here (or elsewhere under tests/).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Blueprint
from flask.cli import ScriptInfo
from jishi import settings
from jishi.checkout.errors import CheckoutError
from jishi.checkout.service import build_checkout
from jishi.cli import make_cli
from jishi.db import db
from jishi.hookspecs import (
    CartGroup,
    DeliveryOption,
    Discount,
    GatewayNotification,
    GatewayResult,
    LoginProvider,
    MenuItem,
    PageLoader,
    PaymentGateway,
    PaymentStart,
    PeriodicJob,
    PlacingWrite,
    PriceRule,
    Problem,
    SellerProfile,
    SettingField,
    SettingsPanel,
    StockReservation,
    StorefrontLink,
    hookimpl,
    slots,
)
from jishi.models import Order, OrderAllocation, OrderLine, PaymentOrder, Sku, User
from jishi.plugins import PluginError
from jishi.testing import flows, make_app
from jishi.testing.principals import sign_in_form
from markupsafe import Markup
from sqlalchemy import bindparam, func, select


def plugin(*objs):
    """Register these throwaway plugin objects in the test's app."""
    return pytest.mark.parametrize("extra_plugins", [list(objs)], ids=["plugin"])


class Recorder:
    def __init__(self):
        self.calls = []


_place, _pay, _login = flows.place, flows.pay, sign_in_form


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar()


# ---------------------------------------------------------------------------
# App extension
# ---------------------------------------------------------------------------


class ConfigDefaults:
    @hookimpl
    def config_defaults(self):
        return {"THROWAWAY_LIMIT": 7, "THROWAWAY_NAME": "default"}


@plugin(ConfigDefaults())
@pytest.mark.parametrize("app_config", [{"THROWAWAY_NAME": "deployment"}])
def test_hook_config_defaults(app, tmp_path):
    """K1/K3: plugin defaults land in app.config; deployment config wins;
    a key declared by two plugins is a start-up error."""
    assert app.config["THROWAWAY_LIMIT"] == 7
    assert app.config["THROWAWAY_NAME"] == "deployment"
    with pytest.raises(PluginError, match="THROWAWAY_LIMIT"):
        make_app(tmp_path / "two", extra_plugins=[ConfigDefaults(), ConfigDefaults()])


throwaway_bp = Blueprint("throwaway", __name__, url_prefix="/throwaway")


@throwaway_bp.get("/")
def throwaway_page():
    return "throwaway page"


class Blueprints:
    @hookimpl
    def blueprints(self):
        return [throwaway_bp]


@plugin(Blueprints())
def test_hook_blueprints(client):
    """K3: a plugin's blueprint is registered and serves its routes."""
    resp = client.get("/throwaway/")
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "throwaway page"


def _api_blueprint():
    from flask_smorest import Blueprint as ApiBlueprint

    blp = ApiBlueprint("throwaway_api", __name__, url_prefix="/api/v1/throwaway", description="Throwaway")

    @blp.get("/ping")
    @blp.response(200)
    def ping():
        """Answer pong."""
        return {"pong": True}

    return blp


class ApiBlueprints:
    @hookimpl
    def api_blueprints(self):
        return [_api_blueprint()]


@plugin(ApiBlueprints())
def test_hook_api_blueprints(client):
    """K3/K14: a plugin's API blueprint answers and is in the OpenAPI document."""
    assert client.get("/api/v1/throwaway/ping").get_json() == {"pong": True}
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/throwaway/ping" in spec["paths"]


class Commands:
    @hookimpl
    def register_commands(self, cli):
        import click

        @cli.command("throwaway")
        def throwaway():
            from flask import current_app

            click.echo(f"throwaway in {current_app.name}")


@plugin(Commands())
def test_hook_register_commands(app):
    """K3/K13: a plugin's click command joins the ``jishi`` group, in app context."""
    result = CliRunner().invoke(make_cli(), ["throwaway"], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "throwaway in jishi"


TEMPLATES = Path(__file__).parent / "fixture_plugins" / "hook_templates"


class TemplateDirs:
    @hookimpl
    def template_dirs(self):
        return [str(TEMPLATES)]


@plugin(TemplateDirs())
def test_hook_template_dirs(app):
    """K3/K12: a plugin's template folder is searched after the themes and
    before the kernel's templates."""
    from flask import render_template

    with app.test_request_context("/"):
        assert render_template("throwaway/hello.html", who="集市").strip() == "Hello 集市 from a plugin template"
    assert str(TEMPLATES) in app.extensions["jishi"].plugin_template_dirs


class Slot:
    @hookimpl
    def template_slot(self, slot, context):
        if slot == "home_blocks":
            return Markup('<section id="throwaway-slot">限时特惠</section>')
        return None


@plugin(Slot())
def test_hook_template_slot(client):
    """K3/K12: a slot's markup appears in the storefront page."""
    html = client.get("/").get_data(as_text=True)
    assert '<section id="throwaway-slot">限时特惠</section>' in html


class DeclaredSlot:
    mark = "b"  # declares nothing: called for every slot

    def __init__(self):
        self.asked = []

    @hookimpl
    def template_slot(self, slot, context):
        self.asked.append(slot)
        return Markup("<i>%s</i>") % self.mark if slot.startswith("probe") else None


class DeclaredOne(DeclaredSlot):
    mark = "a"

    @hookimpl
    @slots("probe_one")
    def template_slot(self, slot, context):
        return super().template_slot(slot, context)


class DeclaredTwo(DeclaredSlot):
    mark = "c"

    @hookimpl
    @slots("probe_one", "probe_two")
    def template_slot(self, slot, context):
        return super().template_slot(slot, context)


class DeclaredLate(DeclaredSlot):
    mark = "d"

    @hookimpl
    @slots("probe_two")
    def template_slot(self, slot, context):
        return super().template_slot(slot, context)


_DECLARED = [DeclaredOne(), DeclaredSlot(), DeclaredTwo()]


@plugin(*_DECLARED)
def test_hook_template_slot_declared(app):
    """K3: an implementation declaring its slots (``@slots(...)``) is called
    for those only, one declaring none for every slot; the markup joins in
    plugin order (the last registered first, as pluggy calls) either way,
    and a plugin registered later is called from then on."""
    from jishi.app import slot

    a, b, c = _DECLARED
    for p in _DECLARED:
        p.asked.clear()
    with app.test_request_context("/"):
        assert str(slot("probe_one")) == "<i>c</i><i>b</i><i>a</i>"
        assert str(slot("probe_two")) == "<i>c</i><i>b</i>"
        assert str(slot("elsewhere")) == ""
        assert str(slot("probe_one")) == "<i>c</i><i>b</i><i>a</i>"  # kept per slot, same answer
        late = DeclaredLate()
        app.extensions["jishi"].pm.register(late, name="late-slot")
        try:
            assert str(slot("probe_two")) == "<i>d</i><i>c</i><i>b</i>"
        finally:
            app.extensions["jishi"].pm.unregister(name="late-slot")
        assert str(slot("probe_two")) == "<i>c</i><i>b</i>"
    assert a.asked == ["probe_one", "probe_one"]
    assert b.asked == ["probe_one", "probe_two", "elsewhere", "probe_one", "probe_two", "probe_two"]
    assert c.asked == ["probe_one", "probe_two", "probe_one", "probe_two", "probe_two"]
    assert late.asked == ["probe_two"]


class DesignedHome:
    def __init__(self):
        self.asked = []

    @hookimpl
    def storefront_page(self, slug, user):
        self.asked.append((slug, user.id if user else None))
        if slug == "home":
            return Markup('<section id="designed">装修首页</section>')
        return None


_designed = DesignedHome()


@plugin(_designed)
def test_hook_storefront_page(client, factory):
    """K3 (issue 18): a plugin's page body replaces the home page's inside
    the theme's layout; the kernel asks for ``home`` with the signed-in
    buyer. Without an answer the kernel's own home page shows (every other
    test here)."""
    factory.product(name="内核首页商品")
    _designed.asked.clear()
    html = client.get("/").get_data(as_text=True)
    assert '<section id="designed">装修首页</section>' in html and "内核首页商品" not in html
    assert "<html" in html and _designed.asked == [("home", None)]
    buyer = factory.user()
    sign_in_form(client, buyer)
    client.get("/")
    assert _designed.asked[-1] == ("home", buyer.id)


class Links:
    @hookimpl
    def storefront_links(self):
        return [
            StorefrontLink("Throwaway corner", "throwaway.throwaway_page", icon="T", places=("home", "tabbar")),
            StorefrontLink("Early corner", "throwaway.throwaway_page", sort=5, places=("header",)),
        ]

    @hookimpl
    def blueprints(self):
        return [throwaway_bp]


@plugin(Links())
def test_hook_storefront_links(client):
    """Issue 13 A6 (K3): a plugin's entrances are linked where it asks:
    the home page's entrances, the header, the tab bar — and nowhere else."""
    html = client.get("/").get_data(as_text=True)
    entrances = html[html.index('<ul class="entrances">') :]
    header = html[html.index('<header class="site-header') : html.index("</header>")]
    tabbar = html[html.index('<nav class="tabbar"') :]
    tabbar = tabbar[: tabbar.index("</nav>")]
    assert "Throwaway corner" in entrances[: entrances.index("</ul>")] and "Throwaway corner" in tabbar
    assert "Throwaway corner" not in header
    assert '<a href="/throwaway/" data-entrance="throwaway.throwaway_page">Early corner</a>' in header
    assert "Early corner" not in tabbar
    assert client.get("/throwaway/").status_code == 200


class Menu:
    @hookimpl
    def console_menu_items(self, console, principal):
        if console == "platform":
            return [MenuItem("Throwaway section", "throwaway.throwaway_page", sort=150)]
        return None

    @hookimpl
    def blueprints(self):
        return [throwaway_bp]


@plugin(Menu())
def test_hook_console_menu_items(client, factory):
    """K3: a plugin's menu entry is shown in the platform console."""
    _login(client, factory.admin())
    html = client.get("/console/").get_data(as_text=True)
    assert "Throwaway section" in html
    assert "/throwaway/" in html


class Gifts:
    @hookimpl
    def permissions(self):
        from jishi.hookspecs import Permission

        return [
            Permission("gifts", "Gifts", consoles=("platform",), sort=5),
            Permission("orders", "Shadowed orders"),  # the kernel declared it first
        ]


@plugin(Gifts())
def test_hook_permissions(app, client, factory):
    """K3 / seed 000 §9: a plugin's permission can be given to a platform
    role (not to a seller's: it is platform-only); a code the kernel
    declared keeps the kernel's label."""
    from jishi import roles
    from jishi.accounts.models import StaffRole

    with app.test_request_context("/"):
        platform = {p.code: str(p.label) for p in roles.declared("platform")}
        assert platform["gifts"] == "Gifts" and next(iter(platform)) == "gifts"
        assert platform["orders"] != "Shadowed orders"
        assert "gifts" not in {p.code for p in roles.declared("seller")}
    _login(client, factory.admin())
    assert client.post("/console/roles", data={"name": "礼品", "permissions": ["gifts"]}).status_code == 302
    role = db.session.execute(db.select(StaffRole).where(StaffRole.name == "礼品")).scalar_one()
    assert role.permissions == ["gifts"]


class Panels:
    @hookimpl
    def settings_panels(self):
        return [
            SettingsPanel("throwaway", "Throwaway", (SettingField("throwaway.limit", "Limit", "int", 42),), sort=500)
        ]


class SecretPanel:
    @hookimpl
    def settings_panels(self):
        return [SettingsPanel("vault", "Vault", (SettingField("vault.key", "API key", "secret"),), sort=500)]


@plugin(SecretPanel())
def test_hook_settings_secret_field(app, client, factory, login):
    """K3 (issue 14): a ``secret`` setting is never shown back (dots and its
    last four characters when it has at least 12); an empty field keeps it."""
    login(factory.admin())
    assert (
        client.post("/console/settings", data={"panel": "vault", "vault.key": "sk-0123456789abcdef"}).status_code == 302
    )
    page = client.get("/console/settings").get_data(as_text=True)
    assert "sk-0123456789abcdef" not in page and "••••••••cdef" in page
    assert client.post("/console/settings", data={"panel": "vault", "vault.key": ""}).status_code == 302
    with app.test_request_context("/"):
        assert settings.get("vault.key") == "sk-0123456789abcdef"
    client.post("/console/settings", data={"panel": "vault", "vault.key": "short"})
    page = client.get("/console/settings").get_data(as_text=True)
    assert "short" not in page.split('id="panel-vault"', 1)[1].split("</form>", 1)[0]


@plugin(Panels())
def test_hook_settings_panels(app):
    """K3: a panel's default is what ``jishi.settings.get`` answers until the
    platform stores a value."""
    assert any(p.key == "throwaway" for p in app.extensions["jishi"].settings_panels())
    with app.test_request_context("/"):
        assert settings.get("throwaway.limit") == 42
    with app.test_request_context("/"):
        settings.set_many({"throwaway.limit": 5})
        db.session.commit()
    with app.test_request_context("/"):
        assert settings.get("throwaway.limit") == 5


class Jobs:
    def __init__(self):
        self.runs = 0

    def tick(self):
        self.runs += 1
        return f"ticked {self.runs}"

    @hookimpl
    def periodic_jobs(self):
        return [PeriodicJob("throwaway_tick", self.tick, every_seconds=5)]


JOBS = Jobs()


@plugin(JOBS)
def test_hook_periodic_jobs(app):
    """K3/K13: ``jishi worker --once`` runs the plugin's job and prints its summary."""
    result = CliRunner().invoke(make_cli(), ["worker", "--once"], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    assert "throwaway_tick: ticked 1" in result.output.splitlines()
    assert JOBS.runs == 1


class Ready(Recorder):
    @hookimpl
    def app_ready(self, app):
        self.calls.append((app, sorted(app.blueprints)))


READY = Ready()


@plugin(READY)
def test_hook_app_ready(app):
    """K3: app_ready is called once with the finished app (blueprints registered)."""
    [(called_with, blueprints)] = READY.calls
    assert called_with is app
    assert "shop" in blueprints and "console" in blueprints


class Providers:
    @hookimpl
    def login_providers(self):
        return [LoginProvider("wechat", "微信登录", "/oauth/wechat/start")]


@plugin(Providers())
def test_hook_login_providers(client):
    """K3/K5: an extra sign-in method is offered on the login page."""
    html = client.get("/login").get_data(as_text=True)
    assert "微信登录" in html and "/oauth/wechat/start" in html


# ---------------------------------------------------------------------------
# Checkout
# ---------------------------------------------------------------------------


class SplitBySeller:
    @hookimpl
    def split_cart(self, lines, user):
        groups: dict = {}
        for line in lines:
            groups.setdefault(line.seller_id, []).append(line.key)
        return [CartGroup(f"seller:{s}", f"Store {s}", tuple(keys), seller_id=s) for s, keys in groups.items()]


@plugin(SplitBySeller())
def test_hook_split_cart(app, factory):
    """K3/K7/MS8: two groups from split_cart become two orders on placement,
    under one payment order."""
    buyer = factory.user()
    addr = factory.address(buyer)
    a = factory.product(price=1000, seller_id=1)
    b = factory.product(price=2000, seller_id=2)
    [payment] = _place(buyer, [(a.skus[0].id, 1), (b.skus[0].id, 1)], addr)
    orders = sorted(payment.orders, key=lambda o: o.seller_id)
    assert [(o.seller_id, o.group_key, o.goods_amount) for o in orders] == [
        (1, "seller:1", 1000),
        (2, "seller:2", 2000),
    ]


class Prices:
    @hookimpl
    def line_price_rules(self, line, user):
        return [
            PriceRule("cheap", unit_price=100, priority=5, label="cheap"),
            PriceRule("flash", unit_price=800, priority=100, label="flash"),
        ]


@plugin(Prices())
def test_hook_line_price_rules(app, factory):
    """K3: the highest-priority rule wins even over a lower price; the order
    line records the price and its source."""
    buyer = factory.user()
    addr = factory.address(buyer)
    p = factory.product(price=1000)
    with app.test_request_context("/"):
        co = build_checkout(buyer, [(p.skus[0].id, 2)], addr.id)
        assert (co.lines[0].unit_price, co.lines[0].price_source) == (800, "flash")
    [payment] = _place(buyer, [(p.skus[0].id, 2)], addr)
    line = payment.orders[0].lines[0]
    assert (line.unit_price, line.price_source, line.goods_amount) == (800, "flash", 1600)


class BatchPrices:
    """Rules for every line at once: one call per pricing, whatever the lines."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def price_rules(self, lines, user, options):
        self.calls.append(([line.key for line in lines], getattr(user, "id", None), dict(options)))
        return {
            line.key: [PriceRule("batch", unit_price=line.base_price - 100, priority=20, label="batch")]
            for line in lines
            if line.base_price >= 1000
        }

    @hookimpl
    def line_price_rules(self, line, user):
        return [PriceRule("member-like", unit_price=line.base_price - 50, priority=10)]


BATCH = BatchPrices()


@plugin(BATCH)
def test_hook_price_rules(app, factory):
    """K3: ``price_rules`` is called ONCE for all the lines of a checkout and
    its rules join each line's ``line_price_rules`` rules (priority decides);
    a line it leaves out keeps the per-line rules; the order lines record it."""
    BATCH.calls.clear()
    buyer = factory.user()
    addr = factory.address(buyer)
    a = factory.product(price=1000).skus[0]
    b = factory.product(price=500).skus[0]
    with app.test_request_context("/"):
        co = build_checkout(buyer, [(a.id, 1), (b.id, 2)], addr.id, {"note": 1})
        assert [(x.unit_price, x.price_source) for x in co.lines] == [(900, "batch"), (450, "member-like")]
    assert [(sorted(keys), uid, opts.get("note")) for keys, uid, opts in BATCH.calls] == [
        (sorted([f"sku:{a.id}", f"sku:{b.id}"]), buyer.id, 1)
    ]
    [payment] = _place(buyer, [(a.id, 1), (b.id, 2)], addr)
    assert sorted((x.unit_price, x.price_source) for x in payment.orders[0].lines) == [
        (450, "member-like"),
        (900, "batch"),
    ]


class StrayKey:
    @hookimpl
    def price_rules(self, lines, user):
        return {"sku:0": [PriceRule("stray", unit_price=1, priority=99)]}


@plugin(StrayKey())
def test_hook_price_rules_unknown_line_is_an_error(app, factory):
    """K3: rules for a line that is not being priced are a plugin bug, never
    silently ignored."""
    buyer = factory.user()
    sku = factory.product(price=1000).skus[0]
    with app.test_request_context("/"), pytest.raises(RuntimeError, match="sku:0"):
        build_checkout(buyer, [(sku.id, 1)])


class PooledPrice:
    """A price with its own stock (3 units in pool "promo"), and a losing one."""

    @hookimpl
    def line_price_rules(self, line, user):
        return [
            PriceRule("promo", unit_price=700, priority=60, stock=3, stock_source="promo"),
            PriceRule("loser", unit_price=1, priority=1, stock=0, stock_source="nowhere"),
        ]

    @hookimpl
    def reserve_stock(self, line, order):
        from jishi.hookspecs import StockReservation

        return StockReservation(source="promo", quantity=line.quantity) if line.stock_source == "promo" else None


@plugin(PooledPrice())
def test_hook_line_price_rules_stock(app, factory, queries, api):
    """K3/FS: the winning rule's ``stock`` is the line's stock (the kernel's
    "only N left" check speaks of it, not of the SKU's 50); the order line is
    written with its ``stock_source`` in the INSERT (no UPDATE after), and
    that pool's ``reserve_stock`` takes it; a losing rule changes nothing."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=1000, stock=50).skus[0]
    with app.test_request_context("/"):
        co = build_checkout(buyer, [(sku.id, 4)], addr.id)
        line = co.lines[0]
        assert (line.unit_price, line.stock, line.stock_source) == (700, 3, "promo")
        assert [p.code for p in co.problems] == ["out_of_stock"]
    api.headers(buyer)
    with queries() as q:
        r = api.post(
            "/checkout/place",
            user=buyer,
            json={"items": [{"sku_id": sku.id, "quantity": 2}], "address_id": addr.id},
            headers={"Idempotency-Key": "pooled"},
        )
    assert r.status_code == 201, r.json
    assert not [x for x in q.statements if x.startswith("UPDATE order_lines")], q.statements
    ol = db.session.execute(select(OrderLine)).scalar_one()
    assert (ol.stock_source, ol.unit_price) == ("promo", 700)
    assert db.session.get(Sku, sku.id).stock == 50  # the promo pool took it, not the SKU


class NoPoolTaker:
    """A rule naming a pool nobody reserves from: the SKU's stock is used."""

    @hookimpl
    def line_price_rules(self, line, user):
        return [PriceRule("promo", unit_price=700, priority=60, stock=3, stock_source="promo")]


@plugin(NoPoolTaker())
def test_hook_line_price_rules_unclaimed_pool(app, factory):
    """K3: a line whose pool no ``reserve_stock`` takes comes out of its SKU,
    and the order line says so."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=1000, stock=50).skus[0]
    [payment] = _place(buyer, [(sku.id, 2)], addr)
    assert payment.orders[0].lines[0].stock_source == "sku"
    assert db.session.get(Sku, sku.id).stock == 48


class Pickup:
    @hookimpl
    def delivery_options(self, group, address, checkout):
        return [DeliveryOption("pickup", "到店自提", 0, needs_address=False, data={"point": "西湖店"})]


@plugin(Pickup())
def test_hook_delivery_options(app, factory, api):
    """K3/K7: a plugin's delivery option appears in the checkout preview and,
    chosen, is what the order records (no address needed)."""
    buyer = factory.user()
    p = factory.product(price=1000)
    resp = api.post("/checkout/preview", user=buyer, json={"items": [{"sku_id": p.skus[0].id, "quantity": 1}]})
    assert resp.status_code == 200, resp.get_json()
    group = resp.get_json()["groups"][0]
    assert [o["code"] for o in group["delivery_options"]] == ["standard", "pickup"]  # the kernel's first
    assert group["delivery"] == "pickup"  # no address yet: the first way that needs none
    address = factory.address(buyer)
    body = {"items": [{"sku_id": p.skus[0].id, "quantity": 1}], "address_id": address.id}
    assert api.post("/checkout/preview", user=buyer, json=body).get_json()["groups"][0]["delivery"] == "standard"
    [payment] = _place(buyer, [(p.skus[0].id, 1)], None, {"delivery": {group["key"]: "pickup"}})
    order = payment.orders[0]
    assert (order.delivery_method, order.delivery_fee, order.delivery_data, order.address) == (
        "pickup",
        0,
        {"point": "西湖店"},
        None,
    )


class FullReduction:
    @hookimpl
    def order_discounts(self, checkout):
        if checkout.goods_amount >= 10000:
            return [Discount("full_reduction", "满100减10", 1000)]
        return None


@plugin(SplitBySeller(), FullReduction())
def test_hook_order_discounts(app, factory):
    """K3/MS9: 100−10 over stores A 20, B 30, C 50 gives A 18, B 27, C 45 —
    the discount split 2/3/5 to the fen and recorded per line."""
    buyer = factory.user()
    addr = factory.address(buyer)
    skus = [
        factory.product(price=price, seller_id=seller).skus[0] for seller, price in ((1, 2000), (2, 3000), (3, 5000))
    ]
    [payment] = _place(buyer, [(s.id, 1) for s in skus], addr)
    orders = sorted(payment.orders, key=lambda o: o.seller_id)
    assert [o.discount_amount for o in orders] == [200, 300, 500]
    assert [o.goods_amount - o.discount_amount for o in orders] == [1800, 2700, 4500]
    allocations = db.session.execute(select(OrderAllocation).order_by(OrderAllocation.order_id)).scalars().all()
    assert [(a.source, a.amount) for a in allocations] == [
        ("full_reduction", 200),
        ("full_reduction", 300),
        ("full_reduction", 500),
    ]


class AllToFirst:
    @hookimpl
    def order_discounts(self, checkout):
        return [Discount("coupon", "coupon", 300)]

    @hookimpl
    def allocate_discount(self, discount, lines):
        return [discount.amount] + [0] * (len(lines) - 1)


@plugin(AllToFirst())
def test_hook_allocate_discount(app, factory):
    """K3: an allocate_discount override replaces the proportional default."""
    buyer = factory.user()
    addr = factory.address(buyer)
    a = factory.product(price=1000).skus[0]
    b = factory.product(price=1000).skus[0]
    [payment] = _place(buyer, [(a.id, 1), (b.id, 1)], addr)
    by_sku = {line.sku_id: line.discount_amount for line in payment.orders[0].lines}
    assert by_sku == {a.id: 300, b.id: 0}


class ShopClosed:
    @hookimpl
    def validate_checkout(self, checkout):
        return [Problem("closed", "The shop is closed today.", field="shop")]


@plugin(ShopClosed())
def test_hook_validate_checkout(app, factory):
    """K3/K7: a plugin's problem blocks placement; nothing is written."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=1000, stock=5).skus[0]
    with pytest.raises(CheckoutError) as info:
        _place(buyer, [(sku.id, 1)], addr)
    assert ("closed", "shop") in [(p.code, p.field) for p in info.value.problems]
    assert _count(Order) == 0 and _count(PaymentOrder) == 0
    assert db.session.get(Sku, sku.id).stock == 5


class FlashPool(Recorder):
    @hookimpl(tryfirst=True)
    def reserve_stock(self, line, order):
        self.calls.append((line.sku_id, line.quantity, order.id))
        return StockReservation("flash", line.quantity)

    @hookimpl(tryfirst=True)
    def release_stock(self, order_line, quantity, reason):
        if order_line.stock_source != "flash":
            return None
        self.calls.append(("release", order_line.sku_id, quantity, reason))
        return True


@plugin(FlashPool())
def test_hook_reserve_stock(app, factory, extra_plugins):
    """K3/FS: a plugin's stock pool takes the line; SKU stock is untouched and
    the order line records the pool."""
    [pool] = extra_plugins
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=1000, stock=5).skus[0]
    [payment] = _place(buyer, [(sku.id, 2)], addr)
    order = payment.orders[0]
    assert pool.calls == [(sku.id, 2, order.id)]
    assert order.lines[0].stock_source == "flash"
    assert db.session.get(Sku, sku.id).stock == 5


class PoolForOneSku:
    """A pool taking the lines of one SKU (``sku_id``) whatever their price
    rule says, and a rule that claims plenty of SKU stock for the SKUs in
    ``claims`` (so that the quote passes where the SKU's own UPDATE then
    refuses, as when a concurrent buyer took the stock)."""

    def __init__(self):
        self.sku_id: int | None = None
        self.claims: set[int] = set()

    @hookimpl
    def line_price_rules(self, line, user):
        return (
            [PriceRule("claim", unit_price=line.sku.price, priority=5, stock=99)] if line.sku_id in self.claims else []
        )

    @hookimpl(tryfirst=True)
    def reserve_stock(self, line, order):
        return StockReservation("pool", line.quantity) if line.sku_id == self.sku_id else None


@plugin(PoolForOneSku())
def test_hook_reserve_stock_after_the_sku_update(app, factory, extra_plugins):
    """K3/FS (issue 20): the placement sends the SKUs' conditional UPDATE
    with its INSERTs, for every line its price rule gives the SKU, before
    the pools take theirs. A pool that then takes such a line: its SKU gets
    back what the UPDATE took, and the other lines' SKUs are taken (or
    refused, everything rolled back) as before; a SKU the UPDATE found
    short costs nothing when a pool takes its line."""
    from jishi.checkout.errors import OutOfStock

    [pool] = extra_plugins
    buyer = factory.user()
    addr = factory.address(buyer)
    short = factory.product(price=1000, stock=1).skus[0]
    plenty = factory.product(price=500, stock=5).skus[0]
    stock = lambda: [db.session.get(Sku, s.id).stock for s in (short, plenty)]  # noqa: E731

    pool.sku_id, pool.claims = short.id, {short.id}  # the UPDATE refuses short's 2; the pool takes the line
    [payment] = _place(buyer, [(short.id, 2), (plenty.id, 3)], addr)
    assert sorted((ln.sku_id, ln.stock_source) for ln in payment.orders[0].lines) == sorted(
        [(short.id, "pool"), (plenty.id, "sku")]
    )
    db.session.expire_all()
    assert stock() == [1, 2]

    pool.sku_id, pool.claims = plenty.id, set()  # the UPDATE takes plenty's 2; the pool takes the line: given back
    [payment] = _place(buyer, [(short.id, 1), (plenty.id, 2)], addr)
    db.session.expire_all()
    assert stock() == [0, 2]

    pool.claims = {short.id}  # short's line refused after the give-back: nothing written
    with pytest.raises(OutOfStock):
        _place(buyer, [(short.id, 1), (plenty.id, 1)], addr)
    db.session.rollback()
    assert stock() == [0, 2]
    assert db.session.scalar(select(func.count()).select_from(PaymentOrder)) == 2


@plugin(FlashPool())
def test_hook_release_stock(app, factory, extra_plugins):
    """K3/K8: closing an order gives stock back through the pool that took it."""
    from jishi.orders import service as orders

    [pool] = extra_plugins
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=1000, stock=5).skus[0]
    [payment] = _place(buyer, [(sku.id, 2)], addr)
    with app.test_request_context("/"):
        orders.cancel(payment.orders[0], actor=buyer)
    assert pool.calls[-1] == ("release", sku.id, 2, "closed")
    assert db.session.get(Sku, sku.id).stock == 5  # the SKU pool was never used


class Rejecting:
    @hookimpl
    def order_placing(self, checkout, payments, orders):
        assert payments and orders and all(o.id for o in orders)
        raise CheckoutError([Problem("coupon_used", "This coupon was just used.", field="coupons")])


@plugin(Rejecting())
def test_hook_order_placing(app, factory):
    """K3/K7: order_placing raising CheckoutError rolls the whole placement
    back: no payment, order, line, and the stock is restored."""
    buyer = factory.user()
    addr = factory.address(buyer)
    sku = factory.product(price=1000, stock=5).skus[0]
    with pytest.raises(CheckoutError, match="just used"):
        _place(buyer, [(sku.id, 3)], addr, key="k-1")
    assert _count(PaymentOrder) == 0 and _count(Order) == 0 and _count(OrderLine) == 0
    assert db.session.get(Sku, sku.id).stock == 5


class NotesEachOrder:
    """Notes each order being placed in its history with the placement's
    INSERTs: an ``INSERT .. SELECT`` finding the orders by their numbers;
    its check counts the rows and refuses when told to."""

    def __init__(self):
        self.seen: list = []
        self.checked: list = []
        self.refuse = False
        self.forms: dict = {}
        self.statement = None

    @hookimpl
    def order_placing_writes(self, orders):
        from jishi.models import OrderEvent
        from sqlalchemy import String, insert, literal

        self.seen.append(sorted((o.seller_id, o.group.key, [ln.sku_id for ln in o.group.lines]) for o in orders))
        if self.statement is None:
            events, placed = OrderEvent.__table__, Order.__table__
            self.statement = (
                insert(events)
                .from_select(
                    ["order_id", "from_status", "to_status", "actor_role", "note", "kind", "created_at"],
                    select(
                        placed.c.id,
                        placed.c.status,
                        placed.c.status,
                        literal("system", String),
                        literal("noted", String),
                        literal("note", String),
                        placed.c.created_at,
                    ).where(placed.c.number.in_(bindparam("numbers", expanding=True))),
                )
                .returning(events.c.order_id)
            )
        return [PlacingWrite(self.statement, {"numbers": [o.number for o in orders]}, self.forms, check=self.check)]

    def check(self, rows):
        self.checked.append(sorted(row[0] for row in rows))
        if self.refuse:
            raise CheckoutError([Problem("noted", "Not today.")])


@plugin(NotesEachOrder(), SplitBySeller())
def test_hook_order_placing_writes(app, factory, extra_plugins, queries):
    """K3/K7 (issue 20): a plugin's statements about the orders being
    placed run with the placement's INSERTs (no statement of their own
    after them), find the orders by their numbers, and their check sees
    their rows; a check raising CheckoutError rolls everything back."""
    from jishi.models import OrderEvent

    notes = extra_plugins[0]
    buyer = factory.user()
    addr = factory.address(buyer)
    a = factory.product(price=1000, seller_id=1, stock=5).skus[0]
    b = factory.product(price=2000, seller_id=2, stock=5).skus[0]
    with queries() as q:
        [payment] = _place(buyer, [(a.id, 1), (b.id, 2)], addr)
    assert notes.seen == [[(1, "seller:1", [a.id]), (2, "seller:2", [b.id])]]
    orders = sorted(payment.orders, key=lambda o: o.seller_id)
    assert notes.checked == [sorted(o.id for o in orders)]
    noted = db.session.execute(select(OrderEvent.order_id).where(OrderEvent.note == "noted")).scalars().all()
    assert sorted(noted) == sorted(o.id for o in orders)
    # run after the kernel's INSERTs and its stock UPDATE (the same pipeline on PostgreSQL)
    ran = q.statements
    note = [i for i, x in enumerate(ran) if x.startswith("INSERT INTO order_events") and " SELECT " in x]
    stock = [i for i, x in enumerate(ran) if x.startswith("UPDATE skus ")]
    assert len(note) == 1 and len(stock) == 1 and stock[0] < note[0], ran

    notes.refuse = True
    with pytest.raises(CheckoutError, match="Not today"):
        _place(buyer, [(a.id, 1)], addr, key="refused")
    db.session.rollback()
    assert _count(PaymentOrder) == 1 and _count(Order) == 2
    assert db.session.get(Sku, a.id).stock == 4


# ---------------------------------------------------------------------------
# Payments and settlement
# ---------------------------------------------------------------------------


class Voucher(PaymentGateway):
    """A throwaway gateway on the public contract: 礼品卡, its notifications
    signed with HMAC, its refunds answered at once."""

    code = "voucher"
    label = "礼品卡"
    channels = ("pc", "mini_program")
    sort = 1

    def __init__(self):
        self.calls = []
        self.refunds = []

    def start(self, payment, channel, payer):
        from jishi.gateways import trade_number

        self.calls.append((payment.id, channel, trade_number(payment)))
        if channel == "mini_program":
            return PaymentStart(client_params={"voucherTrade": trade_number(payment)})
        return PaymentStart(redirect_url=f"/voucher/{payment.number}")

    @staticmethod
    def sign(body: str) -> str:
        import hashlib
        import hmac

        return hmac.new(b"voucher-key", body.encode(), hashlib.sha256).hexdigest()

    def verify_notification(self, request, kind):
        import hmac
        import json

        from jishi.gateways import NotificationRefused, amount_to_fen

        body = request.get_data(as_text=True)
        if not hmac.compare_digest(request.headers.get("X-Voucher-Sign", ""), self.sign(body)):
            raise NotificationRefused("bad signature", "X-Voucher-Sign")
        data = json.loads(body)
        return GatewayNotification(
            kind=kind,
            reference=data["id"],
            payment_number=data["out_trade_no"],
            gateway_trade_no=data["trade"],
            amount=amount_to_fen(data["amount"]),
            status=data["status"],
            refund_number=data.get("out_refund_no"),
        )

    def reply(self, ok, message=""):
        return ({"code": "OK"}, 200) if ok else ({"code": "FAIL", "message": message}, 400)

    def refund(self, refund):
        self.refunds.append((refund.number, refund.amount, refund.gateway_trade_no))
        return GatewayResult("pending", amount=refund.amount, reference="VR-" + refund.number)

    @hookimpl
    def payment_gateways(self):
        return [self]


@plugin(Voucher())
def test_hook_payment_gateways(app, client, factory, extra_plugins):
    """K3/K9, issue 14: a plugin's gateway is offered first (sort) on the
    channels it names, started when chosen, its notifications verified by it
    and applied by the kernel (answered in its own form), its refunds
    committed before it is called and done only when it confirms."""
    import json

    from jishi.gateways import Payer, fen_to_amount
    from jishi.payments import service as payments

    [voucher] = extra_plugins
    buyer = factory.user()
    addr = factory.address(buyer)
    [payment] = _place(buyer, [(factory.product(price=500).skus[0].id, 1)], addr)
    with app.test_request_context("/"):
        assert next(iter(payments.gateways())) == "voucher"
        offered = [g.code for g in payments.offered("mini_program")]
        assert offered[0] == "voucher" and "sandbox" not in offered
        started = payments.start(payment, "voucher", "mini_program", Payer(user=buyer))
        with pytest.raises(payments.PaymentError) as refused:
            payments.start(payment, "voucher", "native", Payer(user=buyer))
        assert refused.value.field == "method"
    assert started.client_params == {"voucherTrade": payment.number}
    assert voucher.calls == [(payment.id, "mini_program", payment.number)]

    def post(data, path="/payments/notify/voucher"):
        body = json.dumps(data)
        return client.post(path, data=body, headers={"X-Voucher-Sign": voucher.sign(body)})

    total = payment.amount  # the goods and the delivery fee
    paid = {
        "id": "n1",
        "out_trade_no": payment.number,
        "trade": "V-1",
        "amount": fen_to_amount(total),
        "status": "paid",
    }
    forged = client.post("/payments/notify/voucher", data=json.dumps(paid), headers={"X-Voucher-Sign": "0" * 64})
    assert forged.status_code == 400 and forged.json["code"] == "FAIL"
    r = post(paid)
    assert r.status_code == 200 and r.json == {"code": "OK"}
    assert post(paid).json == {"code": "OK"}  # a replay: harmless
    db.session.expire_all()
    payment = db.session.get(PaymentOrder, payment.id)
    assert (payment.status, payment.method, payment.gateway_trade_no) == ("paid", "voucher", "V-1")
    order = payment.orders[0]
    assert order.payment_method == "voucher"

    refund = flows.refund(order)
    assert refund.status == "refunding"  # the gateway accepted; not done yet
    [(number, amount, trade)] = voucher.refunds
    assert (amount, trade) == (total, "V-1")
    done = {"id": "n2", "out_trade_no": payment.number, "trade": "V-1", "amount": fen_to_amount(total)}
    done["status"] = "succeeded"
    done["out_refund_no"] = number
    assert post(done, "/payments/notify/voucher/refund").json == {"code": "OK"}
    db.session.expire_all()
    assert db.session.get(type(refund), refund.id).status == "refunded"
    assert payments.balance(payment.id) == {"charged": total, "refunded": total, "reserved": total}


class OpenIds(Recorder):
    @hookimpl
    def payer_openid(self, user, channel):
        self.calls.append((user.id, channel))
        return f"o-{user.id}" if channel == "mini_program" else None


class Payers(PaymentGateway):
    code = "payers"
    label = "Payers"
    channels = ("mini_program", "h5")

    def __init__(self):
        self.payers = []

    def start(self, payment, channel, payer):
        self.payers.append((channel, payer.openid, payer.user.id))
        return PaymentStart(client_params={"ok": True})

    @hookimpl
    def payment_gateways(self):
        return [self]


@plugin(OpenIds(), Payers())
def test_hook_payer_openid(app, api, factory, extra_plugins):
    """Issue 14: the payer's openid under the paying app comes from the
    sign-in plugin that bound it (the client's own ``openid`` only where
    none is bound)."""
    openids, gw = extra_plugins
    buyer = factory.user()
    [payment] = _place(buyer, [(factory.product(price=800).skus[0].id, 1)], factory.address(buyer))
    r = api.post(
        f"/payments/{payment.number}/pay",
        user=buyer,
        json={"method": "payers", "channel": "mini_program", "openid": "client"},
    )
    assert r.status_code == 200 and r.json["client_params"] == {"ok": True}
    r = api.post(
        f"/payments/{payment.number}/pay", user=buyer, json={"method": "payers", "channel": "h5", "openid": "client"}
    )
    assert r.status_code == 200
    assert gw.payers == [("mini_program", f"o-{buyer.id}", buyer.id), ("h5", "client", buyer.id)]
    assert openids.calls == [(buyer.id, "mini_program"), (buyer.id, "h5")]


class Ledger(Recorder):
    @hookimpl
    def settle_order(self, order):
        assert order.status == "completed"
        self.calls.append(order.id)


@plugin(Ledger())
def test_hook_settle_order(app, factory, extra_plugins):
    """K3/MS11: settle_order is called once, inside the completing transaction."""
    from jishi.orders import service as orders
    from jishi.orders.state import TransitionError

    [ledger] = extra_plugins
    buyer = factory.user()
    addr = factory.address(buyer)
    [payment] = _place(buyer, [(factory.product(price=500).skus[0].id, 1)], addr)
    _pay(payment)
    order = db.session.get(Order, payment.orders[0].id)
    with app.test_request_context("/"):
        orders.ship(order, carrier="SF", tracking_no="SF1")
        orders.receive(order, actor=buyer)
        assert ledger.calls == []
        orders.complete(order)
        with pytest.raises(TransitionError):
            orders.complete(order)
    assert ledger.calls == [order.id]


class RefundLedger(Recorder):
    @hookimpl
    def settle_refund(self, refund):
        self.calls.append((refund.id, refund.amount, [(rl.order_line_id, rl.quantity) for rl in refund.lines]))


@plugin(RefundLedger())
def test_hook_settle_refund(app, factory, extra_plugins):
    """K3/K10: settle_refund is called once when a refund is paid back."""
    from jishi.aftersales import service as aftersales

    [ledger] = extra_plugins
    buyer = factory.user()
    admin = factory.admin()
    addr = factory.address(buyer)
    [payment] = _place(buyer, [(factory.product(price=3000, stock=5).skus[0].id, 2)], addr)
    _pay(payment)
    order = db.session.get(Order, payment.orders[0].id)
    line = order.lines[0]
    with app.test_request_context("/"):
        refund = aftersales.request_refund(buyer, order, "refund_only", [(line.id, 1)], "不想要了")
        assert ledger.calls == []
        aftersales.approve(refund, admin)
    assert ledger.calls == [(refund.id, 3000, [(line.id, 1)])]


# ---------------------------------------------------------------------------
# Orders
# ---------------------------------------------------------------------------


class Actions:
    @hookimpl
    def order_actions(self, order, principal):
        return [MenuItem("开具发票", "throwaway.throwaway_page")]

    @hookimpl
    def blueprints(self):
        return [throwaway_bp]


@plugin(Actions())
def test_hook_order_actions(app, client, factory):
    """K3/K8: a plugin's order action is shown on the buyer's order page."""
    buyer = factory.user()
    addr = factory.address(buyer)
    [payment] = _place(buyer, [(factory.product(price=500).skus[0].id, 1)], addr)
    _login(client, buyer)
    html = client.get(f"/orders/{payment.orders[0].id}").get_data(as_text=True)
    assert "开具发票" in html and "/throwaway/" in html


# ---------------------------------------------------------------------------
# Catalog visibility, sellers and order notices (added for multistore, MS5/MS8)
# ---------------------------------------------------------------------------


class HideSeller:
    """Hides seller 7's products and blocks buying seller 8's."""

    @hookimpl
    def product_filters(self, context):
        from jishi.catalog.models import Product

        return [Product.seller_id.is_distinct_from(7)]

    @hookimpl
    def purchase_blockers(self, product, user):
        if product.seller_id == 8:
            return [Problem("seller_resting", "商家休息中")]
        return None

    @hookimpl
    def seller_profiles(self, seller_ids):
        return {
            i: SellerProfile(id=i, name=f"店铺{i}", url=f"/shops/{i}", status_label="已打烊" if i == 8 else "")
            for i in seller_ids
        }

    @hookimpl
    def order_notices(self, order, principal):
        if order.seller_id == 8 and order.status == "pending_payment":
            return ["该商户已关闭,请联系商家处理"]
        return None


@plugin(HideSeller())
def test_hook_product_filters(app, api, queries, factory):
    """K3/MS5: a plugin's filter hides products from listings, search and
    detail in the same single listing statement; consoles still see them."""
    mine = factory.product(name="自营茶叶")
    hidden = factory.product(name="隐藏茶叶", seller_id=7)
    other = factory.product(name="八号茶叶", seller_id=8)
    db.session.commit()
    with queries() as q:
        items = api.get("/products?q=茶叶").get_json()["items"]
    assert q.count == 1
    assert {i["id"] for i in items} == {mine.id, other.id}
    assert api.get(f"/products/{hidden.id}").status_code == 404
    assert api.get(f"/products/{other.id}").status_code == 200
    admin = factory.admin()
    admin_items = api.get("/admin/products?limit=100", user=admin).get_json()["items"]
    assert hidden.id in {i["id"] for i in admin_items}


class PageRows:
    """Reads kernel tables through ``product_page_loaders`` and shows them
    in the product page's slot."""

    def __init__(self):
        self.seen = []

    @hookimpl
    def product_page_loaders(self, product, user):
        from jishi.models import Category, Sku

        skus = select(Sku).where(Sku.product_id == product.id).order_by(Sku.id.desc())
        cols = (
            select(Sku.id.label("sku_id"), Sku.spec_values.label("values"), Category.name.label("category"))
            .join(Category, Category.id == product.category_id)
            .where(Sku.product_id == product.id)
        )
        none = select(Sku).where(Sku.product_id == -1)
        who = select(User.id.label("id"), User.created_at.label("at")).where(User.id == (user.id if user else -1))
        return [
            PageLoader("rows.skus", skus),
            PageLoader("rows.cols", cols),
            PageLoader("rows.none", none),
            PageLoader("rows.who", who),
        ]

    @hookimpl
    def template_slot(self, slot, context):
        if slot != "product_detail_after_price" or "loaded" not in context:
            return None
        loaded = context["loaded"]
        self.seen.append(loaded)
        skus = loaded["rows.skus"]
        return Markup("<p id='rows'>%s|%s|%s|%s</p>") % (
            ",".join(f"{s.id}:{s.price}:{s.is_active}" for s in skus),
            loaded.first("rows.cols")["category"],
            len(loaded["rows.none"]),
            loaded.first("rows.who") is not None,
        )


@plugin(PageRows())
def test_hook_product_page_loaders(app, client, factory, queries, extra_plugins):
    """D: a plugin's loaders run in the product page's ONE loaders statement
    (with the kernel's images, params, specs and tags): model rows come back
    as clean instances of the session (types as the columns say: bool,
    datetime, JSON), column rows as dicts, a loader matching nothing as an
    empty list; the slot gets them as ``context["loaded"]``."""
    from datetime import datetime

    from jishi.models import Sku

    plugin_obj = extra_plugins[0]
    cat = factory.category("茶类")
    p = factory.product(
        category=cat,
        skus=[{"price": 100, "stock": 1, "spec_values": {"色": "红"}}, {"price": 200, "stock": 2, "is_active": False}],
    )
    a, b = p.skus[0].id, p.skus[1].id
    with queries() as q:
        html = client.get(f"/product/{p.id}").get_data(as_text=True)
    assert f"<p id='rows'>{b}:200:False,{a}:100:True|茶类|0|False</p>" in html
    assert len([s for s in q.statements if "json_" in s]) == 1 and q.count == 4, (
        q.statements
    )  # the visit is buffered off the request (issue 19)
    loaded = plugin_obj.seen[-1]
    assert [type(s) for s in loaded["rows.skus"]] == [Sku, Sku]
    assert {r["sku_id"]: r["values"] for r in loaded["rows.cols"]} == {a: {"色": "红"}, b: {}}
    assert loaded["rows.none"] == [] and loaded.first("rows.none") is None
    _login(client, factory.user())
    client.get(f"/product/{p.id}")
    assert isinstance(plugin_obj.seen[-1].first("rows.who")["at"], datetime)


class SlotsSeen:
    """Records ``product_page_loaders``' ``slots`` argument."""

    def __init__(self):
        self.seen: list[bool] = []

    @hookimpl
    def product_page_loaders(self, product, user, slots):
        self.seen.append(slots)


@plugin(SlotsSeen())
def test_hook_product_page_loaders_slots(client, api, factory, extra_plugins):
    """D: the product page asks the loaders for its slots (``slots`` True);
    the product detail API renders no slot (False), so a loader feeding only
    a slot can return nothing there (the favorites heart, issue 20)."""
    p = factory.product()
    assert client.get(f"/product/{p.id}").status_code == 200
    assert api.get(f"/products/{p.id}").status_code == 200
    assert extra_plugins[0].seen == [True, False]


class ViewsSeen:
    """Records ``products_viewed``' batches; raises when told to."""

    def __init__(self):
        self.batches: list[list] = []
        self.fail = False

    @hookimpl
    def products_viewed(self, views):
        self.batches.append(list(views))
        if self.fail:
            raise RuntimeError("a plugin's bad day")


@plugin(ViewsSeen())
def test_hook_products_viewed(app, client, api, factory, extra_plugins):
    """K16: a signed-in buyer's product page and product detail reach
    ``products_viewed`` in tracking's batch, oldest first, with the buyer,
    the product and the second; a visitor's, a bot's and other pages do
    not; the request pays no statement for it; what the hook raises is
    logged and the counters are written all the same."""
    from datetime import timedelta

    from jishi.db import utcnow
    from jishi.hookspecs import ProductView
    from jishi.models import PageVisit
    from jishi.testing import flush_visits

    seen = extra_plugins[0]
    buyer = factory.user()
    tea, cup = factory.product(name="龙井"), factory.product(name="茶杯")
    ua = {"User-Agent": "Mozilla/5.0 (iPhone) MicroMessenger/8.0"}
    start = utcnow().replace(microsecond=0)
    client.get(f"/product/{tea.id}", headers=ua)  # a visitor: counted, no view
    app.test_client().get(f"/api/v1/products/{cup.id}", headers=ua)  # the same over the API
    _login(client, buyer)
    assert client.get(f"/product/{tea.id}", headers=ua).status_code == 200
    assert api.get(f"/products/{cup.id}", user=buyer, headers=ua).status_code == 200
    assert seen.batches == []  # not in the request: after it, in the batch
    client.get("/search", headers=ua)
    client.get(f"/product/{cup.id}", headers={"User-Agent": "Googlebot/2.1"})
    assert flush_visits(app) == 5  # (the bot counts nothing)
    (batch,) = seen.batches
    assert [(v.user_id, v.product_id) for v in batch] == [(buyer.id, tea.id), (buyer.id, cup.id)]
    assert all(isinstance(v, ProductView) and start <= v.viewed_at <= start + timedelta(seconds=30) for v in batch)
    assert [v.viewed_at for v in batch] == sorted(v.viewed_at for v in batch)
    seen.fail = True
    client.get(f"/product/{tea.id}", headers=ua)
    before = db.session.execute(
        select(PageVisit.count).where(PageVisit.kind == "product", PageVisit.ref_id == tea.id)
    ).scalar()
    assert flush_visits(app) == 1 and len(seen.batches) == 2
    db.session.rollback()
    after = db.session.execute(
        select(PageVisit.count).where(PageVisit.kind == "product", PageVisit.ref_id == tea.id)
    ).scalar()
    assert after == before + 1


class CheckoutRows:
    """Reads the lines' stock through ``checkout_loaders`` (a query declared
    once) and records what the later checkout hooks see."""

    QUERY = None

    def __init__(self):
        self.asked: list[bool] = []
        self.seen: list = []

    @hookimpl
    def checkout_loaders(self, lines, user, options, placing):
        from sqlalchemy import bindparam

        if CheckoutRows.QUERY is None:
            CheckoutRows.QUERY = select(Sku.id.label("id"), Sku.stock.label("stock")).where(
                Sku.id.in_(bindparam("ids", expanding=True))
            )
        self.asked.append(placing)
        return [PageLoader("rows.stock", CheckoutRows.QUERY, {"ids": [line.sku_id for line in lines]})]

    @hookimpl
    def validate_checkout(self, checkout):
        self.seen.append(checkout.loaded)


@plugin(CheckoutRows())
def test_hook_checkout_loaders(app, factory, queries, extra_plugins):
    """Issue 20: a plugin's ``checkout_loaders`` run once per checkout in
    ONE statement with the kernel's read of the buyer's address; the rows
    reach the later hooks as ``checkout.loaded`` (the address is the
    checkout's, not a key of it); another buyer's address is refused as
    before; an address the session holds is not read again."""
    rows = extra_plugins[0]
    buyer, other = factory.user(), factory.user()
    addr, theirs = factory.address(buyer), factory.address(other)
    a, b = factory.product(price=100, stock=7), factory.product(price=200, stock=9)
    sku_a, sku_b = a.skus[0].id, b.skus[0].id
    items = [(sku_a, 1), (sku_b, 2)]
    addr_id, theirs_id, buyer_id = addr.id, theirs.id, buyer.id
    db.session.commit()
    db.session.expunge_all()  # nothing held: the address is read
    buyer = db.session.get(User, buyer_id)
    with app.test_request_context("/"):
        with queries() as q:
            co = build_checkout(buyer, items, addr_id)
        loaded_statements = [s for s in q.statements if "json_" in s]
        assert len(loaded_statements) == 1 and "addresses" in loaded_statements[0], q.statements
        assert not [s for s in q.statements if s.startswith("SELECT addresses")], q.statements
        assert co.address.id == addr_id and co.address.user_id == buyer.id
        assert rows.asked == [False] and rows.seen[-1] is co.loaded and "jishi.address" not in co.loaded
        assert sorted((r["id"], r["stock"]) for r in co.loaded["rows.stock"]) == sorted([(sku_a, 7), (sku_b, 9)])
        with queries() as q:  # the address held by the session now: not read again
            co = build_checkout(buyer, items, addr_id, placing=True)
        assert rows.asked[-1] is True and co.address.id == addr_id
        assert [s for s in q.statements if "json_" in s] and "addresses" not in " ".join(q.statements)
        with pytest.raises(CheckoutError) as err:
            build_checkout(buyer, items, theirs_id)
        assert err.value.problems[0].field == "address_id"


def test_page_loaders_refuse_a_shared_key(app):
    """D: two loaders with one key are a programming error, said at once."""
    from jishi.loaders import run
    from jishi.models import Sku

    q = select(Sku)
    with pytest.raises(ValueError, match="share a key"):
        run([PageLoader("x", q), PageLoader("x", q)])


def test_page_loaders_statement_is_built_once_and_reused_with_new_values(app, factory):
    """Issue 20: the loaders statement is built once per shape (the loaders'
    keys and SQL) and run again with each call's values: a second product's
    rows are its own, not the first's, and so with an IN list of two."""
    from jishi import loaders
    from jishi.models import Sku

    def skus_of(product_ids):
        return [
            PageLoader("a", select(Sku).where(Sku.product_id.in_(product_ids)).order_by(Sku.id)),
            PageLoader("b", select(Sku.id.label("id"), Sku.price.label("price")).where(Sku.price > 150)),
        ]

    one, two = factory.product(price=100), factory.product(price=200)
    loaders._CACHE.clear()
    first = loaders.run(skus_of([one.id]))
    assert [s.id for s in first["a"]] == [one.skus[0].id] and len(loaders._CACHE) == 1
    second = loaders.run(skus_of([two.id]))  # the cached statement, new values
    assert [s.id for s in second["a"]] == [two.skus[0].id] and len(loaders._CACHE) == 1
    assert second["b"] == [{"id": two.skus[0].id, "price": 200}]
    both = loaders.run(skus_of([one.id, two.id]))
    assert [s.price for s in both["a"]] == [100, 200]


def test_declared_page_loaders_take_their_values_from_params(app, factory):
    """Issue 20: a loader declared once (``PageLoader.params``: the same query
    object with named parameters) runs with each call's values; two loaders
    may use the same parameter name, an IN list is an expanding parameter,
    and a declared loader mixes with one built per call (the older form)."""
    from jishi import loaders
    from jishi.models import Sku
    from sqlalchemy import bindparam

    by_product = select(Sku).where(Sku.product_id == bindparam("pid")).order_by(Sku.id)
    prices = select(Sku.id.label("id"), Sku.price.label("price")).where(Sku.product_id == bindparam("pid"))
    listed = select(Sku.id.label("id")).where(Sku.product_id.in_(bindparam("ids", expanding=True))).order_by(Sku.id)

    def page(pid, ids, floor):
        return [
            PageLoader("a", by_product, {"pid": pid}),
            PageLoader("b", prices, {"pid": pid}),
            PageLoader("c", listed, {"ids": ids}),
            PageLoader("d", select(Sku.id.label("id")).where(Sku.price > floor).order_by(Sku.id)),  # built per call
        ]

    one, two = factory.product(price=100), factory.product(price=200)
    s1, s2 = one.skus[0].id, two.skus[0].id
    loaders._CACHE.clear()
    first = loaders.run(page(one.id, [one.id], 150))
    assert [s.id for s in first["a"]] == [s1] and first["b"] == [{"id": s1, "price": 100}]
    assert first["c"] == [{"id": s1}] and first["d"] == [{"id": s2}]
    assert len(loaders._CACHE) == 1
    second = loaders.run(page(two.id, [one.id, two.id], 50))  # the cached statement, new values
    assert len(loaders._CACHE) == 1
    assert [s.id for s in second["a"]] == [s2] and second["b"] == [{"id": s2, "price": 200}]
    assert second["c"] == [{"id": s1}, {"id": s2}] and second["d"] == [{"id": s1}, {"id": s2}]
    # a key is not part of the shape: the same declared query under another key reuses the statement
    third = loaders.run([PageLoader("x", by_product, {"pid": one.id})])
    fourth = loaders.run([PageLoader("y", by_product, {"pid": two.id})])
    assert [s.id for s in third["x"]] == [s1] and [s.id for s in fourth["y"]] == [s2]
    assert len(loaders._CACHE) == 2


@plugin(HideSeller())
def test_hook_purchase_blockers(app, api, client, factory):
    """K3/MS5: a blocked product shows the reason instead of buy buttons,
    says so in the API, and cannot be added to the cart (409 with the code)."""
    buyer = factory.user()
    blocked = factory.product(name="休息的店", seller_id=8)
    fine = factory.product(name="营业的店")
    db.session.commit()
    body = api.get(f"/products/{blocked.id}", user=buyer).get_json()
    assert body["purchasable"] is False and body["blockers"] == [{"code": "seller_resting", "message": "商家休息中"}]
    assert api.get(f"/products/{fine.id}", user=buyer).get_json()["purchasable"] is True
    resp = api.post("/cart/items", user=buyer, json={"sku_id": blocked.skus[0].id, "quantity": 1})
    assert resp.status_code == 409 and resp.get_json()["code"] == "seller_resting"
    assert api.post("/cart/items", user=buyer, json={"sku_id": fine.skus[0].id, "quantity": 1}).status_code == 201
    html = client.get(f"/product/{blocked.id}").get_data(as_text=True)
    assert "商家休息中" in html and "add-to-cart" not in html


class CartCap:
    """No more than 3 units of a line of seller 9's products in the cart."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def cart_line_problems(self, product, sku_id, quantity, user):
        self.calls.append((product.id, sku_id, quantity, user.id))
        if product.seller_id == 9 and quantity > 3:
            return [Problem("cart_cap", "最多 3 件", field="quantity")]
        return None


_cart_cap = CartCap()


@plugin(_cart_cap)
def test_hook_cart_line_problems(app, api, factory):
    """Issue 18: the hook sees the line's total after an add and a changed
    quantity; its first problem answers 409 with its code and field and
    writes nothing; other products are untouched."""
    from jishi.cart.models import CartLine

    buyer = factory.user()
    capped = factory.product(name="限量", seller_id=9, stock=20)
    fine = factory.product(name="不限", stock=20)
    db.session.commit()
    sku = capped.skus[0].id
    _cart_cap.calls.clear()
    assert api.post("/cart/items", user=buyer, json={"sku_id": sku, "quantity": 2}).status_code == 201
    resp = api.post("/cart/items", user=buyer, json={"sku_id": sku, "quantity": 2})
    assert resp.status_code == 409 and (resp.get_json()["code"], resp.get_json()["field"]) == ("cart_cap", "quantity")
    assert [c[2] for c in _cart_cap.calls] == [2, 4] and _cart_cap.calls[0][:2] == (capped.id, sku)
    line_id = db.session.scalar(select(CartLine.id).where(CartLine.sku_id == sku))
    resp = api.patch(f"/cart/items/{line_id}", user=buyer, json={"quantity": 5})
    assert resp.status_code == 409 and resp.get_json()["code"] == "cart_cap"
    db.session.expire_all()
    assert db.session.get(CartLine, line_id).quantity == 2
    assert api.post("/cart/items", user=buyer, json={"sku_id": fine.skus[0].id, "quantity": 9}).status_code == 201


class CartRows:
    """``purchase_loaders``: the product's category (a model), its SKUs with
    at least ``min_stock`` (dicts, a parameter of its own) and the product's
    of the same seller (the kernel's ``seller_id``); ``cart_line_problems``
    refuses more than the category's sort (read from the loaded rows)."""

    def __init__(self):
        from jishi.models import Category, Product

        self.seen = []
        self.category = (
            select(Category)
            .join(Product, Product.category_id == Category.id)
            .where(Product.id == bindparam("product_id"))
        )
        self.skus = select(Sku.id.label("id"), Sku.stock.label("stock")).where(
            Sku.product_id == bindparam("product_id"), Sku.stock >= bindparam("min_stock")
        )
        self.same_seller = select(Product.id.label("id")).where(Product.seller_id == bindparam("seller_id"))

    @hookimpl
    def purchase_loaders(self, user):
        return [
            PageLoader("rows.category", self.category, {}),
            PageLoader("rows.skus", self.skus, {"min_stock": 5}),
            PageLoader("rows.same_seller", self.same_seller, {}),
        ]

    @hookimpl
    def cart_line_problems(self, product, sku_id, quantity, user):
        from jishi.catalog.service import product_loaded

        loaded = product_loaded(product.id)
        self.seen.append(loaded)
        category = loaded.first("rows.category")
        if category is not None and quantity > category.sort:
            return [Problem("category_cap", "too many", field="quantity")]
        return None


_cart_rows = CartRows()


@plugin(_cart_rows)
def test_hook_purchase_loaders(app, api, factory, queries):
    """Issue 20: a plugin's ``purchase_loaders`` run inside the cart's read of
    the SKU: the add costs the token, that read and the INSERT (or UPDATE)
    whatever the plugin reads; its hooks find the rows (a model as a clean
    instance of the session, columns as dicts, the kernel's ``product_id``
    and ``seller_id`` bound to the product added, its own ``min_stock``)."""
    from jishi.models import Category

    cat = factory.category("限两件")
    cat.sort = 2
    p = factory.product(category=cat, seller_id=7, skus=[{"price": 100, "stock": 9}, {"price": 200, "stock": 1}])
    other = factory.product(seller_id=7)
    lone = factory.product()
    db.session.commit()
    sku_id, ids = p.skus[0].id, sorted([p.id, other.id])
    buyer = factory.user()
    headers = api.headers(buyer)
    for quantity in (1, 1):  # a new line, then the same line
        with queries() as q:
            resp = api.post("/cart/items", headers=headers, json={"sku_id": sku_id, "quantity": quantity})
        assert resp.status_code == 201, resp.get_json()
        assert q.count == 3, "\n".join(x[:150] for x in q.statements)
    loaded = _cart_rows.seen[-1]
    assert isinstance(loaded.first("rows.category"), Category) and loaded.first("rows.category").id == cat.id
    assert loaded["rows.skus"] == [{"id": sku_id, "stock": 9}]  # min_stock 5
    assert sorted(r["id"] for r in loaded["rows.same_seller"]) == ids
    resp = api.post("/cart/items", headers=headers, json={"sku_id": sku_id, "quantity": 1})
    assert resp.status_code == 409 and resp.get_json()["code"] == "category_cap"  # 3 > the category's 2
    assert api.post("/cart/items", headers=headers, json={"sku_id": lone.skus[0].id}).status_code == 201
    loaded = _cart_rows.seen[-1]
    assert loaded["rows.category"] == [] and loaded["rows.same_seller"] == []  # no category, no seller


@plugin(HideSeller())
def test_hook_seller_profiles(app, api, client, factory):
    """K3/MS8: the seller's name, link and state tag appear on the product
    page, in the product API and in the order detail."""
    buyer = factory.user()
    addr = factory.address(buyer)
    product = factory.product(name="三号店的茶", seller_id=3)
    db.session.commit()
    body = api.get(f"/products/{product.id}").get_json()
    assert body["seller"]["name"] == "店铺3" and body["seller"]["url"] == "/shops/3"
    assert api.get(f"/products/{factory.product().id}").get_json()["seller"] is None
    html = client.get(f"/product/{product.id}").get_data(as_text=True)
    assert 'href="/shops/3"' in html
    [payment] = _place(buyer, [(product.skus[0].id, 1)], addr)
    order_id = payment.orders[0].id
    assert api.get(f"/orders/{order_id}", user=buyer).get_json()["seller"] is None  # one group: the shop's
    db.session.execute(db.update(Order).where(Order.id == order_id).values(seller_id=3))
    db.session.commit()
    assert api.get(f"/orders/{order_id}", user=buyer).get_json()["seller"]["name"] == "店铺3"
    _login(client, buyer)
    assert 'href="/shops/3"' in client.get(f"/orders/{order_id}").get_data(as_text=True)


@plugin(HideSeller())
def test_hook_order_notices(app, api, client, factory):
    """K3/MS5: a plugin's notice shows on the buyer's order page and API."""
    buyer = factory.user()
    addr = factory.address(buyer)
    product = factory.product(seller_id=9)
    db.session.commit()
    [payment] = _place(buyer, [(product.skus[0].id, 1)], addr)
    order = payment.orders[0]
    assert api.get(f"/orders/{order.id}", user=buyer).get_json()["notices"] == []
    db.session.execute(db.update(Order).where(Order.id == order.id).values(seller_id=8))
    db.session.commit()
    assert api.get(f"/orders/{order.id}", user=buyer).get_json()["notices"] == ["该商户已关闭,请联系商家处理"]
    _login(client, buyer)
    assert "该商户已关闭" in client.get(f"/orders/{order.id}").get_data(as_text=True)


class CounterLabel:
    @hookimpl
    def order_status_label(self, order, status):
        if order.buyer_message == "counter" and status == "paid":
            return "柜台待取"
        return None


@plugin(CounterLabel())
def test_hook_order_status_label(app, client, factory):
    """Issue 13 A4: a plugin names a status for its own orders (pickup's
    待自提) on the buyer's order list and page, its history included; other
    orders keep the kernel's 待发货."""
    buyer = factory.user()
    addr = factory.address(buyer)
    product = factory.product()
    db.session.commit()
    ids = []
    for message in ("counter", ""):
        [payment] = _place(buyer, [(product.skus[0].id, 1)], addr)
        order = payment.orders[0]
        db.session.execute(db.update(Order).where(Order.id == order.id).values(buyer_message=message))
        db.session.commit()
        flows.pay(payment)
        ids.append(order.id)
    _login(client, buyer)
    page = client.get(f"/orders/{ids[0]}").get_data(as_text=True)
    assert '<span class="status">柜台待取</span>' in page and "待发货" not in page
    assert '<span class="status">待发货</span>' in client.get(f"/orders/{ids[1]}").get_data(as_text=True)
    listing = client.get("/orders").get_data(as_text=True)
    assert (
        listing.count('<span class="status">柜台待取</span>') == 1 and '<span class="status">待发货</span>' in listing
    )


class Transitions:
    def __init__(self):
        self.calls = []

    @hookimpl
    def order_transitioned(self, order, name, from_status, actor_kind):
        from jishi.orders.models import OrderEvent

        # Inside the transaction: the history row of this move is pending too.
        assert any(isinstance(o, OrderEvent) and o.to_status == order.status for o in db.session.new)
        self.calls.append((name, from_status, order.status, actor_kind))
        if order.buyer_message == "refuse":
            raise RuntimeError("ledger unavailable")


_transitions = Transitions()


@plugin(_transitions)
def test_hook_order_transitioned(app, factory):
    """K3/MS11: called in the transaction of every move; raising rolls the
    move back."""
    from jishi.orders import state

    _transitions.calls.clear()
    buyer = factory.user()
    addr = factory.address(buyer)
    [payment] = _place(buyer, [(factory.product(price=500).skus[0].id, 1)], addr)
    _pay(payment)
    order = db.session.get(Order, payment.orders[0].id)
    state.transition(order, "ship", actor_kind="platform")
    db.session.commit()
    assert _transitions.calls == [("pay", "pending_payment", "paid", "system"), ("ship", "paid", "shipped", "platform")]
    order.buyer_message = "refuse"
    db.session.commit()
    with pytest.raises(RuntimeError):
        state.transition(order, "receive", actor_kind="buyer")
    db.session.rollback()
    assert db.session.get(Order, order.id).status == "shipped"


class DemoAdds:
    seen: dict = {}

    @hookimpl
    def demo_data(self, data):
        DemoAdds.seen = dict(data)
        owner = data["buyer"]
        data["logins"]["demo merchant"] = (owner.phone, "demo1234")
        return "1 demo merchant"


@plugin(DemoAdds())
def test_hook_demo_data(app):
    """K3/K13: ``jishi demo`` hands plugins what it made, prints their
    summary and their demo logins."""
    from jishi.demo import load_demo

    logins: dict = {}
    summary = load_demo(logins)
    assert "; 1 demo merchant;" in summary
    assert logins["demo merchant"][1] == "demo1234" and "platform admin" in logins
    seen = DemoAdds.seen
    assert len(seen["products"]) >= 20 and seen["admin"].is_platform_admin and "生鲜水果" in seen["categories"]


class DemoOrders:
    order_count_at_setup = None

    @hookimpl
    def demo_data(self, data):
        DemoOrders.order_count_at_setup = _count(Order)
        data["demo_sku"] = data["products"][1].skus[0].id

    @hookimpl
    def demo_orders(self, data):
        [payment] = _place(data["buyer"], [(data["demo_sku"], 1)], data["address"])
        return f"plugin order {payment.orders[0].number}"


@plugin(DemoOrders())
def test_hook_demo_orders(app):
    """K3/K13: demo orders are placed after every plugin set up (``demo_data``
    sees no order yet); the kernel's come first, then the plugins'."""
    from jishi.demo import load_demo

    summary = load_demo({}, history=False)
    assert DemoOrders.order_count_at_setup == 0
    assert "; 2 orders; plugin order " in summary
    assert _count(Order) == 3


scoped_bp = Blueprint("scoped", __name__, url_prefix="/scoped")


@scoped_bp.route("/page", methods=["GET", "POST"])
def scoped_page():
    from jishi.sellers import current_scope, seller_page

    @seller_page("settings")
    def view():
        return f"seller={current_scope().seller_id}"

    return view()


@scoped_bp.route("/api", methods=["GET", "POST"])
def scoped_api():
    from flask import jsonify
    from jishi.sellers import current_scope, seller_api

    @seller_api("orders")
    def view():
        return jsonify(seller=current_scope("api").seller_id)

    return view()


class SellerScopes:
    """Users named "merchant-7" act for seller 7 (read-only when named
    "viewer-7", clerks without ``settings`` when named "clerk-7")."""

    @hookimpl
    def blueprints(self):
        return [scoped_bp]

    @hookimpl
    def seller_scope(self, user, via):
        from jishi.hookspecs import SellerScope

        kind, _, seller = (user.name or "").partition("-")
        if not seller:
            return None
        if kind == "viewer" and via == "api":
            return None
        perms = {"orders"} if kind == "clerk" else {"orders", "settings"}
        return SellerScope(int(seller), "店铺" + seller, kind, frozenset(perms), read_only=kind == "viewer")


@plugin(SellerScopes())
def test_hook_seller_scope(app, client, factory):
    """K3: seller pages and API take the seller from the ``seller_scope``
    hook (never from the request); the kernel's default gives platform staff
    the shop itself (seller None); read-only scopes may only read; a missing
    permission is 403; nobody else has a scope."""
    merchant = factory.user(name="merchant-7")
    clerk = factory.user(name="clerk-7")
    viewer = factory.user(name="viewer-7", role="platform_admin")
    buyer = factory.user()
    admin = factory.user(role="platform_admin")
    staff = factory.user(role="platform_staff")
    db.session.commit()
    assert client.get("/scoped/page").status_code == 302  # to the login page
    assert client.get("/scoped/api").status_code == 401
    expected = [
        (merchant, 200, "seller=7", 200, 7, 200),
        (clerk, 403, None, 200, 7, 403),
        (viewer, 200, "seller=7", 200, None, 403),  # read-only on pages; API: the platform's own shop
        (admin, 200, "seller=None", 200, None, 200),
        (staff, 403, None, 200, None, 403),  # platform staff lack "settings"
        (buyer, 403, None, 403, None, 403),
    ]
    for user, page, text, api_status, api_seller, post in expected:
        client.get("/logout")
        _login(client, user)
        resp = client.get("/scoped/page?seller_id=99")
        assert resp.status_code == page, (user.name, resp.status_code)
        if text:
            assert resp.get_data(as_text=True) == text
        resp = client.get("/scoped/api?seller_id=99")
        assert resp.status_code == api_status, (user.name, resp.status_code)
        if api_status == 200:
            assert resp.get_json()["seller"] == api_seller
        else:
            assert resp.get_json()["code"] == "forbidden"
        assert client.post("/scoped/page", data={"seller_id": 99}).status_code in (
            (post,) if post == 403 else (200, 400)
        )


def _tracking_specs():
    """A plugin's declared hooks: a module of ``@hookspec`` functions (a
    class of plain functions makes pluggy >= 1.7 warn that their first
    parameter is not ``self``)."""
    import types

    import pluggy

    module = types.ModuleType("tracking_specs")

    @pluggy.HookspecMarker("jishi")
    def tracking_events(order_id):  # pragma: no cover - a spec, never called
        """A plugin-declared hook."""

    module.tracking_events = tracking_events
    return module


class PluginWithHooks:
    """A plugin declaring a hook of its own (``hookspecs`` attribute)."""

    hookspecs = _tracking_specs()


class ImplementsPluginHook:
    @hookimpl
    def tracking_events(self, order_id):
        return [f"event of {order_id}"]


@plugin(PluginWithHooks(), ImplementsPluginHook())
def test_plugin_declared_hookspecs(app):
    """K3: a plugin's ``hookspecs`` attribute adds hooks other plugins implement."""
    assert app.extensions["jishi"].hook.tracking_events(order_id=5) == [["event of 5"]]


class Extras:
    def __init__(self, key="points"):
        self.key = key

    @hookimpl
    def checkout_extras(self, checkout):
        return {self.key: {"lines": len(checkout.lines), "usable": 120}}


@plugin(Extras())
def test_hook_checkout_extras(app, api, factory):
    """K3/K14: what a plugin adds to the checkout preview shows under
    ``plugins.<key>``; two plugins answering one key is an error."""
    buyer = factory.user()
    product = factory.product()
    db.session.commit()
    body = {"items": [{"sku_id": product.skus[0].id, "quantity": 2}]}
    resp = api.post("/checkout/preview", user=buyer, json=body)
    assert resp.status_code == 200 and resp.get_json()["plugins"] == {"points": {"lines": 1, "usable": 120}}
    app.extensions["jishi"].pm.register(Extras(), name="second-points")
    try:
        with pytest.raises(RuntimeError, match="points"):
            api.post("/checkout/preview", user=buyer, json=body)
    finally:
        app.extensions["jishi"].pm.unregister(name="second-points")
