"""What promotion plugins (flash sales, group buys...) share: a seller's
activity console, the activity lookup, the activity form's fields, and the
one-variant checkout page a promotion sends its buyers to.

Public API for plugins (see docs/writing-plugins.md). An *activity* is any
model of the plugin with ``id``, ``seller_id`` (None: the shop itself) and
``product_id``; it belongs to its product's seller.

Console (pages behind ``seller_page("products")``, API behind
``seller_api("products")``)::

    scope, platform = promotions.acting()
    rows = promotions.visible_activities(Activity, seller_id=scope.seller_id, platform=platform)
    product = promotions.product_for(form_int("product_id"), scope, platform)   # None: 404
    activity = promotions.api_activity(Activity, activity_id)                    # API: 404
    answer = promotions.save_form(lambda: service.save_activity(...), "myplugin.activity")

Buyer checkout (one variant, the promotion's choice in ``options``)::

    return promotions.checkout_page("myplugin/checkout.html", sku_id, quantity,
                                    {"myplugin": {...}}, failed=url_for("shop.index"), args=args)
    return promotions.place_checkout(sku_id, quantity, {"myplugin": {...}}, retry=...)

When activities may run (a checkout hook that skips its query while none
runs; the windows are a setting, read with the request's settings)::

    promotions.publish_windows("myplugin.windows", select(A.starts_at, A.ends_at).where(..., A.ends_at > at), at)
    if promotions.may_run("myplugin.windows", at): ...   # None/absent setting: True
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from jishi import settings
from jishi.db import commit, db, rollback
from jishi.errors import DomainError
from jishi.hookspecs import SellerScope
from jishi.i18n import gettext as _
from jishi.i18n import parse_shop_time, to_shop_time
from jishi.money import MoneyError, parse_yuan

__all__ = [
    "MAX_ID",
    "acting",
    "activity_for",
    "api_activity",
    "buyer_addresses",
    "carried_fields",
    "checkout_page",
    "choice_args",
    "idempotency_key",
    "local_input",
    "parse_local_input",
    "place_checkout",
    "price_fields",
    "product_for",
    "product_names",
    "products_for",
    "save_form",
    "visible_activities",
]

#: ids are 1 .. 2**31-1; a larger one is simply not found
MAX_ID = 2**31 - 1


# -- who acts, which activities ------------------------------------------------------


def acting(via: str = "console") -> tuple[SellerScope | None, bool]:
    """``(scope, platform)`` of the signed-in user: ``platform`` is True for
    platform staff acting for the platform (``seller_id`` None), who may see
    every activity and use any product; anyone else acts for their scope's
    seller only. ``via`` as for :func:`jishi.sellers.current_scope`."""
    from jishi.sellers import current_scope

    scope = current_scope(via)
    platform = scope is not None and scope.seller_id is None and bool(getattr(current_user, "is_platform", False))
    return scope, platform


def visible_activities(model, *, seller_id: int | None, platform: bool, limit: int = 500) -> list:
    """Rows of ``model`` the acting seller may see, newest first: the
    platform all of them, a seller its own (``seller_id`` None: the shop's)."""
    q = db.select(model).order_by(model.id.desc())
    if not platform:
        q = q.where(model.seller_id == seller_id) if seller_id is not None else q.where(model.seller_id.is_(None))
    return list(db.session.execute(q.limit(limit)).scalars())


def activity_for(model, activity_id: int, *, seller_id: int | None, platform: bool):
    """One row of ``model`` the acting seller may see; None when there is
    none, also for another seller's (answer it as not found)."""
    row = db.session.get(model, activity_id) if isinstance(activity_id, int) and 0 < activity_id <= MAX_ID else None
    if row is None or (not platform and row.seller_id != seller_id):
        return None
    return row


def api_activity(model, activity_id: int):
    """For a ``seller_api`` endpoint: the row of ``model`` the acting seller
    may see, else a 404 ``not_found`` (also for another seller's)."""
    from jishi.api.common import not_found

    scope, platform = acting("api")
    row = (
        activity_for(model, activity_id, seller_id=scope.seller_id if scope else None, platform=platform)
        if scope
        else None
    )
    if row is None:
        not_found("activity")
    return row


def products_for(scope: SellerScope, platform: bool, limit: int = 300) -> list:
    """The products an activity form offers, newest first: the platform any
    product, a seller its own."""
    from jishi.catalog.models import Product

    q = db.select(Product).order_by(Product.id.desc()).limit(limit)
    if not platform:
        q = (
            q.where(Product.seller_id == scope.seller_id)
            if scope.seller_id is not None
            else q.where(Product.seller_id.is_(None))
        )
    return list(db.session.execute(q).scalars())


def product_names(rows) -> dict[int, str]:
    """``product_id -> name`` of the activities ``rows`` (one query), for
    lists that name products instead of showing their ids; a deleted
    product is missing."""
    from jishi.catalog.models import Product

    ids = {r.product_id for r in rows if r.product_id}
    if not ids:
        return {}
    return dict(db.session.execute(db.select(Product.id, Product.name).where(Product.id.in_(ids))).all())


def product_for(product_id: int | None, scope: SellerScope, platform: bool):
    """The product ``product_id`` if the acting seller may run an activity
    on it (None: unknown, or another seller's)."""
    from jishi.catalog.models import Product

    if not isinstance(product_id, int) or not 0 < product_id <= MAX_ID:
        return None
    product = db.session.get(Product, product_id)
    if product is None or (not platform and product.seller_id != scope.seller_id):
        return None
    return product


def picked_product(scope: SellerScope, platform: bool):
    """The product an activity form names (``product_id`` in the query or
    the form): None when it names none; 404 when it names one the acting
    seller may not use."""
    from flask import abort

    from jishi.web.common import form_int

    product_id = form_int("product_id", source=request.values)
    if product_id is None:
        return None
    product = product_for(product_id, scope, platform)
    if product is None:
        abort(404)
    return product


# -- the activity form ---------------------------------------------------------------


def local_input(dt: datetime | None, fmt: str = "%Y-%m-%dT%H:%M") -> str:
    """A stored (UTC) moment as the shop's local time for a
    ``datetime-local`` field ("" for None)."""
    return to_shop_time(dt).strftime(fmt) if dt is not None else ""


def parse_local_input(text: str) -> datetime | None:
    """A ``datetime-local`` field in shop time as a moment (None when not a time)."""
    try:
        return parse_shop_time(text)
    except ValueError:
        return None


def price_fields(form: Mapping, prefix: str = "price-") -> list[tuple[int, int | None]]:
    """``(sku_id, fen)`` for each non-empty ``<prefix><sku_id>`` field, in
    form order; ``fen`` is None when the text is not an amount in yuan
    (:func:`jishi.money.parse_yuan`), so the service's validation answers it
    naming the field."""
    out = []
    for key in form:
        if not key.startswith(prefix):
            continue
        sid, value = key[len(prefix) :], (form.get(key) or "").strip()
        if not value or not sid.isdecimal() or len(sid) > 10:
            continue
        try:
            fen: int | None = parse_yuan(value)
        except MoneyError:
            fen = None
        out.append((int(sid), fen))
    return out


def save_form(save: Callable[[], Any], endpoint: str):
    """Run ``save()`` (it returns the activity): a :class:`DomainError` rolls
    back, is flashed and None is returned (render the form again); otherwise
    commit, flash "Saved." and answer a redirect to ``endpoint`` with the
    activity's ``activity_id``."""
    try:
        activity = save()
    except DomainError as exc:
        rollback()
        from jishi.web.common import flash_error

        flash_error(exc)
        return None
    commit()
    flash(_("Saved."), "success")
    return redirect(url_for(endpoint, activity_id=activity.id))


# -- the buyer's checkout ------------------------------------------------------------


def choice_args(source: Mapping, *names: str) -> dict:
    """``sku_id`` and ``quantity`` (default 1) from a form or query string,
    plus the whole-number fields ``names``; None where absent or not a number."""
    from jishi.web.common import form_int

    args = {"sku_id": form_int("sku_id", source=source), "quantity": form_int("quantity", 1, source=source)}
    for name in names:
        args[name] = form_int(name, source=source)
    return args


def buyer_addresses(user) -> list:
    """The buyer's addresses, the default one first."""
    from jishi.accounts.models import Address

    return list(
        db.session.execute(
            db.select(Address).where(Address.user_id == user.id).order_by(Address.is_default.desc(), Address.id)
        ).scalars()
    )


def carried_fields(args: Mapping, form: Mapping) -> dict:
    """What a checkout form carries over a redirect back to its page: the
    choice (``args`` without the empty ones) and the checkout's own fields
    (``delivery-*``, ``message-*``, ``opt.*``)."""
    keep = {k: v for k, v in args.items() if v is not None}
    keep.update({k: v for k, v in form.items() if k.startswith(("delivery-", "message-", "opt.")) and v})
    return keep


def idempotency_key(form: Mapping) -> str | None:
    """The checkout form's ``idempotency_key`` as the API accepts one (no
    ``#``, at most 72 characters)."""
    return (form.get("idempotency_key") or "").replace("#", "").strip()[:72] or None


def _options(source: Mapping, options: Mapping) -> dict:
    from jishi.web.shopping import checkout_options

    return {**checkout_options(source), **options}


def checkout_page(template: str, sku_id: int, quantity: int, options: Mapping, *, failed: str, **context):
    """The promotion's checkout page for one variant: the buyer's addresses
    (``address_id`` from the query string, else the default one), the
    kernel's checkout of ``quantity`` x ``sku_id`` with the page's checkout
    fields and ``options`` (the promotion's choice), rendered with
    ``template`` (``checkout``, ``addresses``, ``address_id``,
    ``address_next``, ``idempotency_key`` and ``context``). A
    :class:`~jishi.checkout.errors.CheckoutError` is flashed and redirects to
    ``failed``."""
    from jishi.checkout.errors import CheckoutError
    from jishi.checkout.service import build_checkout
    from jishi.web.common import flash_error, form_int

    addresses = buyer_addresses(current_user)
    address_id = form_int("address_id", source=request.args)
    if address_id is None or all(a.id != address_id for a in addresses):
        address_id = addresses[0].id if addresses else None
    try:
        co = build_checkout(current_user, [(sku_id, quantity)], address_id, _options(request.args, options))
    except CheckoutError as exc:
        rollback()
        flash_error(exc)
        return redirect(failed)
    return render_template(
        template,
        checkout=co,
        addresses=addresses,
        address_id=address_id,
        address_next=request.full_path,
        idempotency_key=secrets.token_urlsafe(24),
        **context,
    )


def place_checkout(sku_id: int, quantity: int, options: Mapping, *, retry: str):
    """Place the promotion's checkout page (POST): the kernel's
    ``place_order`` of ``quantity`` x ``sku_id`` with the form's address,
    checkout fields, idempotency key and ``options``; on to payment, or a
    :class:`~jishi.checkout.errors.CheckoutError` flashed and back to ``retry``."""
    from jishi.checkout.errors import CheckoutError
    from jishi.checkout.service import place_order
    from jishi.web.common import flash_error, form_int

    try:
        payments = place_order(
            current_user,
            [(sku_id, quantity)],
            form_int("address_id", source=request.form),
            _options(request.form, options),
            idempotency_key=idempotency_key(request.form),
            expected_total=form_int("expected_total", source=request.form, minimum=0),
        )
    except CheckoutError as exc:
        flash_error(exc)
        return redirect(retry)
    if payments[0].status == "paid":  # ¥0: paid at placement
        return redirect(url_for("shop.payment_return", number=payments[0].number))
    return redirect(url_for("shop.pay", number=payments[0].number))


# -- when activities may run (issue 20) ---------------------------------------------


def publish_windows(key: str, spans, at: datetime) -> list[list[str]]:
    """Write the setting ``key``: ``[[start, end], ...]`` (ISO, naive UTC,
    overlapping ones merged) of the rows of ``spans``, a SELECT of
    ``(starts_at, ends_at)`` of every activity that may still run (enabled,
    ``ends_at > at``), in the current transaction: wherever an activity is
    saved, and by a periodic job (ended ones leave; a database without the
    setting gets it). The setting's row is locked first (``FOR UPDATE``,
    created empty when missing), so that of two activities saved at once
    the second reads the first's once committed: the windows always cover
    every activity that may run. Writes only when they changed; answers
    them."""
    from jishi.db import conflict_insert, utcnow
    from jishi.settings import Setting

    db.session.execute(
        conflict_insert(Setting).values(key=key, value=None, updated_at=utcnow()).on_conflict_do_nothing()
    )
    row = db.session.execute(
        db.select(Setting).where(Setting.key == key).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    merged: list[list[datetime]] = []
    for start, end in sorted(db.session.execute(spans).all()):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    windows = [[start.isoformat(), end.isoformat()] for start, end in merged]
    if row.value != windows:
        settings.set_many({key: windows})  # the locked row: no statement to find it
        db.session.flush()
    return windows


def may_run(key: str, at: datetime) -> bool:
    """False when the windows of the setting ``key`` (see
    :func:`publish_windows`) say no activity runs at ``at`` (naive UTC);
    True when one may, or when the setting is not written yet. Costs no
    statement of its own (the request's settings)."""
    windows = settings.get(key)
    if not isinstance(windows, list):
        return True
    try:
        return any(datetime.fromisoformat(w[0]) <= at < datetime.fromisoformat(w[1]) for w in windows)
    except (TypeError, ValueError, IndexError):
        return True
