"""Template globals and filters shared by the kernel, plugins and themes."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from flask_login import current_user

from jishi.catalog import service as catalog_service
from jishi.flaskctx import current_app_object
from jishi.money import format_bp, format_fen
from jishi.themes import active_theme_name


def menu_item_visible(item, console: str, principal, scope) -> bool:
    """Whether ``item`` (a :class:`~jishi.hookspecs.MenuItem` or
    :class:`~jishi.hookspecs.TodoItem`) shows in
    ``console`` for ``principal`` acting with seller ``scope``: the item's
    console is this one, and its permission holds (``"platform_admin"``:
    the user is a platform admin; other words: the scope is for this console
    and ``scope.can`` one of them)."""
    if item.console != console:
        return False
    wanted = item.permission
    if wanted is None:
        return True
    for permission in (wanted,) if isinstance(wanted, str) else wanted:
        if permission == "platform_admin":
            if getattr(principal, "is_platform_admin", False):
                return True
        elif scope is not None and scope.console == console and scope.can(permission):
            return True
    return False


def console_menu(console: str = "platform"):
    """The menu of ``console`` for the signed-in user (``console_menu_items``
    hook), without the items they may not see, by ``sort`` then label."""
    from jishi.sellers import current_scope

    items = [
        i
        for r in current_app.extensions["jishi"].hook.console_menu_items(console=console, principal=current_user)
        for i in (r or [])
    ]
    scope = current_scope("console")
    developer = bool(current_app.config.get("JISHI_DEVELOPER_PAGES"))
    return [
        item
        for item in sorted(items, key=lambda i: (i.sort, str(i.label)))
        if menu_item_visible(item, console, current_user, scope) and (developer or not item.developer)
    ]


@dataclass(frozen=True)
class MenuGroup:
    """One section of a console menu: ``key`` ("" for the entries above
    every section), its title and its entries."""

    key: str
    label: str
    items: tuple


def menu_group_labels() -> dict[str, str]:
    from jishi.i18n import gettext as _

    return {
        "products": _("Products"),
        "orders": _("Orders"),
        "marketing": _("Marketing"),
        "finance": _("Finance"),
        "merchants": _("Merchants"),
        "settings": _("Settings"),
    }


def console_menu_groups(console: str = "platform") -> list[MenuGroup]:
    """:func:`console_menu` in sections: the ungrouped entries first, then
    :data:`jishi.hookspecs.MENU_GROUPS` in their order, then unknown groups
    by name; empty sections are left out."""
    from jishi.hookspecs import MENU_GROUPS

    by_group: dict[str, list] = {}
    for item in console_menu(console):
        by_group.setdefault(item.group or "", []).append(item)
    order = {key: i for i, key in enumerate(("", *MENU_GROUPS))}
    labels = menu_group_labels()
    keys = sorted(by_group, key=lambda k: (order.get(k, len(order)), k))
    return [MenuGroup(k, labels.get(k, k), tuple(by_group[k])) for k in keys]


def console_todos(console: str = "platform") -> list:
    """The to-do counts of ``console``'s home (``console_todos`` hook) the
    signed-in user may see (the rules of :func:`menu_item_visible`), by
    ``sort`` then label."""
    from jishi.sellers import current_scope

    hook = current_app.extensions["jishi"].hook
    items = [i for r in hook.console_todos(console=console, principal=current_user) for i in (r or [])]
    scope = current_scope("console")
    return [
        item
        for item in sorted(items, key=lambda i: (i.sort, str(i.label)))
        if menu_item_visible(item, console, current_user, scope)
    ]


def order_actions(order):
    """Extra actions plugins offer on an order page (``order_actions`` hook)."""
    hook = current_app.extensions["jishi"].hook
    items = [i for r in hook.order_actions(order=order, principal=current_user) for i in (r or [])]
    return sorted(items, key=lambda i: (i.sort, i.label))


def order_notices(order) -> list[str]:
    """Notices plugins attach to an order (``order_notices`` hook)."""
    hook = current_app.extensions["jishi"].hook
    return [n for r in hook.order_notices(order=order, principal=current_user) for n in (r or [])]


def order_status_label(order, status: str | None = None) -> str | None:
    """A plugin's words for ``order``'s ``status`` (its current one by
    default; ``order_status_label`` hook), or None for the kernel's."""
    if order is None:
        return None
    hook = current_app.extensions["jishi"].hook
    return hook.order_status_label(order=order, status=status or order.status)


def seller_profile(seller_id):
    """The ``SellerProfile`` of one seller (None for the shop itself)."""
    if seller_id is None:
        return None
    return catalog_service.seller_profiles([seller_id]).get(seller_id)


def seller_profiles(seller_ids) -> dict:
    """``seller_id -> SellerProfile`` for many rows at once (one hook call)."""
    return catalog_service.seller_profiles(list(seller_ids))


def purchase_blockers(product) -> list:
    """Why ``product`` cannot be bought now (``purchase_blockers`` hook)."""
    user = current_user._get_current_object()  # (one proxy look-up)
    return catalog_service.purchase_blockers(product, user if user.is_authenticated else None)


def seller_scope():
    """The signed-in user's ``SellerScope`` on seller pages (or None)."""
    from jishi.sellers import current_scope

    return current_scope("console")


def theme_static(filename: str) -> str:
    return current_app_object().jinja_env.globals["url_for"](
        "theme_static", name=active_theme_name(), filename=filename
    )


def cart_badge() -> int:
    """Units in the signed-in buyer's cart as the storefront last saw them
    (kept in the session by the cart pages: no query), 0 when unknown."""
    from flask import session

    kept = session.get("cart_count")
    if not kept or not current_user.is_authenticated or kept[0] != current_user.id:
        return 0
    return int(kept[1])


def storefront_links(place: str) -> list:
    """The ``storefront_links`` hook's links for ``place`` (``"home"``,
    ``"header"``, ``"tabbar"``) with their URLs, sorted: the hook is called
    once per request, each place's list made once per request (a page asks
    for two or three places, the header and the tab bar on every page)."""
    from flask import g

    by_place = g.get("_jishi_storefront_links")
    if by_place is None:
        links = sorted(
            (link for result in current_app.extensions["jishi"].hook.storefront_links() for link in (result or [])),
            key=lambda link: (link.sort, link.label),
        )
        by_place = g._jishi_storefront_links = {None: links}
    found = by_place.get(place)
    if found is None:
        build = current_app.jinja_env.globals["url_for"]
        found = by_place[place] = [(link, build(link.endpoint)) for link in by_place[None] if place in link.places]
    return list(found)


#: the values :func:`cached_url_for` keys URLs by; anything else is built every call
_URL_VALUE_TYPES = frozenset((str, int, float, bool, type(None)))


def cached_url_for(app: Flask):
    """``url_for`` for templates, remembering what it built: a page calls it
    some forty times (header, footer, tab bar, category links, stylesheets)
    for a handful of distinct URLs, and Werkzeug walks the rule's converters
    for each. A URL is kept per app by endpoint and values (plain ``str``,
    ``int``, ``float``, ``bool`` or None only, their types part of the key)
    and by what the request's URL adapter builds against (server name,
    script root, subdomain, scheme), so a request under another script root
    or host gets its own. Built every call as Flask does: outside a request,
    with ``_anchor``, ``_external`` (any keyword starting with ``_``), a
    relative ``.endpoint``, other value types, or when the app has
    ``url_defaults`` functions or URL build error handlers (they may answer
    per request)."""
    from flask.globals import _cv_request

    build = app.url_for
    cache: dict = {}

    def url_for(endpoint: str, **values) -> str:
        req_ctx = _cv_request.get(None)
        if req_ctx is None or endpoint[:1] == "." or app.url_build_error_handlers:
            return build(endpoint, **values)
        adapter = req_ctx.url_adapter
        if adapter is None or any(app.url_default_functions.values()):
            return build(endpoint, **values)
        key: tuple = (endpoint, adapter.server_name, adapter.script_name, adapter.subdomain, adapter.url_scheme)
        for name, value in values.items():
            kind = value.__class__
            if name[:1] == "_" or kind not in _URL_VALUE_TYPES:
                return build(endpoint, **values)
            key += (name, kind, value)
        found = cache.get(key)
        if found is None:
            found = build(endpoint, **values)
            if len(cache) >= 4096:  # many distinct ids (category links): start over
                cache.clear()
            cache[key] = found
        return found

    return url_for


def mask_secret(value) -> str:
    """A stored secret as the console shows it: dots, and its last four
    characters only when it has at least 12 (a short one shows nothing)."""
    text = str(value or "")
    if not text:
        return ""
    return "••••••••" + (text[-4:] if len(text) >= 12 else "")


def install(app: Flask) -> None:
    from jishi import settings
    from jishi.access import platform_can
    from jishi.app import slot
    from jishi.orders.changes import describe as order_event_text
    from jishi.web.cards import category_links, product_cards
    from jishi.web.fragments import fragment

    app.jinja_env.globals["url_for"] = cached_url_for(app)
    app.jinja_env.filters["money"] = format_fen
    app.jinja_env.filters["percent"] = format_bp
    app.jinja_env.filters["mask_secret"] = mask_secret
    app.jinja_env.globals.update(
        slot=slot,
        console_menu=console_menu,
        console_menu_groups=console_menu_groups,
        console_todos=console_todos,
        order_actions=order_actions,
        order_notices=order_notices,
        order_event_text=order_event_text,
        platform_can=platform_can,
        order_status_label=order_status_label,
        seller_profile=seller_profile,
        seller_profiles=seller_profiles,
        purchase_blockers=purchase_blockers,
        seller_scope=seller_scope,
        theme_static=theme_static,
        setting=settings.get,
        active_theme=active_theme_name,
        cart_badge=cart_badge,
        storefront_links=storefront_links,
        product_cards=product_cards,
        category_links=category_links,
        fragment=fragment,
    )
