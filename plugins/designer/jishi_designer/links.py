"""Where block links go: ``{"kind", "value"}`` to an address, for the web
page and (as ``url``) for mini-program clients, which may also route by
``kind`` and ``value`` themselves."""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app, url_for
from werkzeug.routing import BuildError


def entrances() -> list:
    """Every plugin's entrance links (the ``storefront_links`` hook), as
    the plugins answer them."""
    return [link for found in current_app.extensions["jishi"].hook.storefront_links() for link in found or ()]


def activity_endpoints() -> dict[str, str]:
    """Plugin entrance pages a link may open (``storefront_links``: 秒杀,
    拼团, 领券中心...): endpoint -> label."""
    return {link.endpoint: link.label for link in entrances()}


def activity_icons() -> dict[str, str]:
    """The icons of the plugin entrance pages (``storefront_links``: 秒杀's
    ⚡): endpoint -> icon, for those that have one. Asked once per app (an
    entrance's icon is its plugin's symbol, not a per-request value; the
    plugins are the app's): the designed home page's navigation reads it
    on every request."""
    app = current_app._get_current_object()
    found = app.extensions.get("jishi_designer.activity_icons")
    if found is None:
        found = app.extensions["jishi_designer.activity_icons"] = {
            link.endpoint: link.icon for link in entrances() if link.icon
        }
    return found


def collect(settings, found: list[dict]) -> None:
    """Every link dict inside ``settings`` (nested in items), into ``found``."""
    if isinstance(settings, dict):
        if set(settings) == {"kind", "value"} and isinstance(settings.get("kind"), str):
            found.append(settings)
            return
        for value in settings.values():
            collect(value, found)
    elif isinstance(settings, list):
        for value in settings:
            collect(value, found)


def resolver(links: Iterable[dict]):
    """A function link -> address for these links (shop addresses come from
    the ``seller_profiles`` hook, asked once for all shops)."""
    shop_ids = sorted({int(ln["value"]) for ln in links if ln["kind"] == "shop" and str(ln["value"]).isdecimal()})
    profiles = {}
    if shop_ids:
        from jishi.catalog.service import seller_profiles

        profiles = seller_profiles(shop_ids)
    endpoints = None

    def href(link: dict | None) -> str:
        nonlocal endpoints
        if not link:
            return ""
        kind, value = link.get("kind"), str(link.get("value") or "")
        try:
            if kind == "url":
                return value
            if kind == "product":
                return url_for("shop.product", product_id=int(value))
            if kind == "category":
                return url_for("shop.category", category_id=int(value))
            if kind == "page":
                return url_for("shop.index") if value == "home" else url_for("designer.page", slug=value)
            if kind == "shop":
                profile = profiles.get(int(value))
                return getattr(profile, "url", "") or ""
            if kind == "activity":
                if endpoints is None:
                    endpoints = activity_endpoints()
                return url_for(value) if value in endpoints else ""
        except (BuildError, ValueError):  # a link to a page that went away shows as no link
            return ""
        return ""

    return href
