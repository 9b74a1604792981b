"""The multistore plugin object (entry point ``multistore``).

Every hook the plugin implements is declared here once and dispatched to the
area modules, each of which implements it as a function named ``hook_<name>``
with the hook's arguments:

- :mod:`.onboarding`  application rules, applications, review (MS2, MS3)
- :mod:`.merchants`   management, states, shop profile, shop list, announcements (MS4–MS6, MS13, MS15)
- :mod:`.products`    merchant products, product review, listing, comments (MS7, MS14)
- :mod:`.orders`      cross-store split, checkout checks, merchant orders (MS8–MS10)
- :mod:`.finance`     commission, ledger, withdrawals, merchant data (MS11, MS12, MS16)
- :mod:`.demo`        the mall's demo data for ``jishi demo``

An area's pages and API live in ``<area>_views.py`` and ``<area>_api.py``,
registered on the shared blueprints of :mod:`.blueprints`.
"""

from __future__ import annotations

import importlib

from jishi.hookspecs import hookimpl

from jishi_multistore import blueprints as bps
from jishi_multistore import models  # noqa: F401 - the plugin's tables

requires = ()

AREAS = ("onboarding", "merchants", "products", "orders", "finance", "demo")
_modules: list = []
for _area in AREAS:
    for _suffix in ("", "_views", "_api"):
        try:
            _module = importlib.import_module(f"jishi_multistore.{_area}{_suffix}")
        except ModuleNotFoundError as exc:
            if exc.name != f"jishi_multistore.{_area}{_suffix}":
                raise
            continue
        _modules.append(_module)


def _impls(hook: str, /):
    return [getattr(m, "hook_" + hook) for m in _modules if hasattr(m, "hook_" + hook)]


def _collect(hook: str, /, **kwargs) -> list:
    out: list = []
    for impl in _impls(hook):
        out.extend(impl(**kwargs) or ())
    return out


def _first(hook: str, /, **kwargs):
    for impl in _impls(hook):
        result = impl(**kwargs)
        if result is not None:
            return result
    return None


def _each(hook: str, /, **kwargs) -> None:
    for impl in _impls(hook):
        impl(**kwargs)


# --- App extension -------------------------------------------------------


@hookimpl
def config_defaults():
    out: dict = {}
    for impl in _impls("config_defaults"):
        out.update(impl() or {})
    return out


@hookimpl
def blueprints():
    return [bps.shop, bps.merchant, bps.admin]


@hookimpl
def api_blueprints():
    return [bps.api]


@hookimpl
def template_slot(slot, context):
    from markupsafe import Markup

    parts = [p for p in (impl(slot=slot, context=context) for impl in _impls("template_slot")) if p]
    return Markup("").join(parts) if parts else None


@hookimpl
def console_menu_items(console, principal):
    return _collect("console_menu_items", console=console, principal=principal)


@hookimpl
def settings_panels():
    return _collect("settings_panels")


@hookimpl
def periodic_jobs():
    return _collect("periodic_jobs")


@hookimpl
def register_commands(cli):
    _each("register_commands", cli=cli)


@hookimpl(tryfirst=True)  # merchants first: other plugins' demo data set them up
def demo_data(data):
    parts = [p for p in (impl(data=data) for impl in _impls("demo_data")) if p]
    return ", ".join(parts) or None


@hookimpl
def demo_orders(data):
    parts = [p for p in (impl(data=data) for impl in _impls("demo_orders")) if p]
    return ", ".join(parts) or None


@hookimpl
def app_ready(app):
    from jishi_multistore.principal import current_principal

    app.jinja_env.globals["ms_principal"] = current_principal
    _each("app_ready", app=app)


# --- Catalog -------------------------------------------------------------


@hookimpl
def product_filters(context):
    return _collect("product_filters", context=context)


@hookimpl
def purchase_blockers(product, user):
    return _collect("purchase_blockers", product=product, user=user)


@hookimpl
def seller_profiles(seller_ids):
    return _first("seller_profiles", seller_ids=seller_ids)


@hookimpl
def seller_scope(user, via):
    return _first("seller_scope", user=user, via=via)


# --- Checkout ------------------------------------------------------------


@hookimpl
def split_cart(lines, user):
    return _first("split_cart", lines=lines, user=user)


@hookimpl
def validate_checkout(checkout):
    return _collect("validate_checkout", checkout=checkout)


@hookimpl
def order_placing(checkout, payments, orders):
    _each("order_placing", checkout=checkout, payments=payments, orders=orders)


# --- Orders and settlement -----------------------------------------------


@hookimpl
def order_notices(order, principal):
    return _collect("order_notices", order=order, principal=principal)


@hookimpl
def order_actions(order, principal):
    return _collect("order_actions", order=order, principal=principal)


@hookimpl
def order_transitioned(order, name, from_status, actor_kind):
    _each("order_transitioned", order=order, name=name, from_status=from_status, actor_kind=actor_kind)


@hookimpl
def settle_order(order):
    _each("settle_order", order=order)


@hookimpl
def settle_refund(refund):
    _each("settle_refund", refund=refund)
