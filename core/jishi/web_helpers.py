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
        theme_static=theme_static,
        setting=settings.get,
        active_theme=active_theme_name,
    )
