"""Favorites pages (blueprint ``favorites``; no JavaScript needed).

- The product page's heart (slot ``product_detail_after_price``): a form
  posting to ``/favorites/products/<id>`` that keeps the product or lets
  it go, then back to the page; signed out, a link to sign in first.
- 我的收藏 ``/favorites``: the signed-in buyer's favorites, newest first,
  20 a page, each with its price now, or "no longer available", and a
  button to let it go. Linked from the account page (slot ``account_links``).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from jishi.forms import render_kept, safe_next
from jishi.i18n import gettext as _
from markupsafe import Markup

from jishi_favorites import service

bp = Blueprint("favorites", __name__)


@bp.get("/favorites")
@login_required
def listing():
    raw = (request.args.get("before") or "").strip()
    before = None
    if raw:
        if not raw.isdecimal() or len(raw) > 10 or not 0 < int(raw) <= service.MAX_ID:
            abort(404)
        before = int(raw)
    items, next_before = service.kept(current_user, before=before)
    return render_template(
        "favorites/listing.html", items=items, next_before=next_before, total=service.count(current_user)
    )


@bp.post("/favorites/products/<int:product_id>")
@login_required
def toggle(product_id: int):
    """Keep (``action=keep``) or let go (``action=let_go``) a product."""
    from jishi.db import commit

    action = request.form.get("action")
    if action == "keep":
        service.keep(current_user, product_id)  # a FavoriteError answers its page (404, 409)
        commit()
        flash(_("Kept in your favorites."), "success")
    elif action == "let_go":
        service.let_go(current_user, product_id)
        commit()
        flash(_("Removed from your favorites."), "success")
    else:
        abort(400)
    return redirect(safe_next(url_for("favorites.listing")))


def render_slot(slot: str, context: dict):
    if slot == "account_links":
        return Markup('<a href="%s">%s</a>') % (url_for("favorites.listing"), _("My favorites"))
    if slot != "product_detail_after_price":
        return None
    product = context.get("product")
    if product is None:
        return None
    if not current_user.is_authenticated:  # the same for every visitor: kept rendered (issue 20)
        return render_kept("favorites/_heart_signed_out.html", {"product_id": product.id})
    loaded = context.get("loaded")
    if loaded is not None and "favorites.kept" in loaded:
        kept = loaded.first("favorites.kept") is not None
    else:  # a page without the product page's loaders (a theme, the designer)
        kept = service.is_kept(current_user, product.id)
    template = current_app.jinja_env.get_template("favorites/_heart.html")  # no context processors needed
    return Markup(template.render(product=product, kept=kept))
