"""Template globals and filters shared by the kernel, plugins and themes."""

from __future__ import annotations

from flask import Flask, current_app, url_for
from flask_login import current_user

from jishi.money import format_fen


def console_menu(console: str = "platform"):
    items = [i for r in current_app.extensions["jishi"].hook.console_menu_items(console=console, principal=current_user) for i in (r or [])]
    visible = []
    for item in sorted(items, key=lambda i: (i.sort, i.label)):
        if item.permission == "platform_admin" and not getattr(current_user, "is_platform_admin", False):
            continue
        visible.append(item)
    return visible


def order_actions(order):
    """Extra actions plugins offer on an order page (``order_actions`` hook)."""
    hook = current_app.extensions["jishi"].hook
    items = [i for r in hook.order_actions(order=order, principal=current_user) for i in (r or [])]
    return sorted(items, key=lambda i: (i.sort, i.label))


def order_notices(order) -> list[str]:
    """Notices plugins attach to an order (``order_notices`` hook)."""
    hook = current_app.extensions["jishi"].hook
    return [n for r in hook.order_notices(order=order, principal=current_user) for n in (r or [])]


def seller_profile(seller_id):
    """The ``SellerProfile`` of one seller (None for the shop itself)."""
    if seller_id is None:
        return None
    from jishi.catalog.service import seller_profiles

    return seller_profiles([seller_id]).get(seller_id)


def seller_profiles(seller_ids) -> dict:
    """``seller_id -> SellerProfile`` for many rows at once (one hook call)."""
    from jishi.catalog.service import seller_profiles as profiles

    return profiles(list(seller_ids))


def purchase_blockers(product) -> list:
    """Why ``product`` cannot be bought now (``purchase_blockers`` hook)."""
    from jishi.catalog.service import purchase_blockers as blockers

    return blockers(product, current_user if current_user.is_authenticated else None)


def seller_scope():
    """The signed-in user's ``SellerScope`` on seller pages (or None)."""
    from jishi.sellers import current_scope

    return current_scope("console")


def theme_static(filename: str) -> str:
    from jishi.themes import active_theme_name

    return url_for("theme_static", name=active_theme_name(), filename=filename)


def install(app: Flask) -> None:
    from jishi import settings
    from jishi.app import slot
    from jishi.themes import active_theme_name

    app.jinja_env.filters["money"] = format_fen
    app.jinja_env.globals.update(
        slot=slot,
        console_menu=console_menu,
        order_actions=order_actions,
        order_notices=order_notices,
        seller_profile=seller_profile,
        seller_profiles=seller_profiles,
        purchase_blockers=purchase_blockers,
        seller_scope=seller_scope,
        theme_static=theme_static,
        setting=settings.get,
        active_theme=active_theme_name,
    )
