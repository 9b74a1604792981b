"""Messages pages (no JavaScript needed; a small script polls for new
messages when it runs).

Storefront (blueprint ``messages``): my conversations ``/messages``, one
conversation ``/messages/<id>`` (reading it marks it read; posting is a
plain form with text, pictures and the card of the product or order it was
opened from), and ``/messages/contact?product_id=|order_id=`` (联系商家 from
a product page or an order: the conversation with that shop, or a first
message to it).

Seller console (blueprint ``messages_seller``, ``/seller/messages``): the
shop's conversations with unread counts, answering. The seller comes from
the principal (a merchant's staff: their merchant; the platform's staff:
the self-operated shop); permission ``messages`` or ``orders``.

Platform console (blueprint ``messages_admin``, ``/console/messages``): any
merchant's conversation, read-only unless the platform chooses to post
(shown as the platform's); permission ``aftersales`` (disputes).
"""

from __future__ import annotations

import functools

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from jishi import media
from jishi.access import guard_platform, requires
from jishi.db import db
from jishi.errors import DomainError
from jishi.i18n import gettext as _
from jishi.sellers import current_scope, seller_page
from markupsafe import Markup

from jishi_messages import service
from jishi_messages.limits import post_limit
from jishi_messages.models import BUYER, PLATFORM, PLATFORM_KEY, SELLER

bp = Blueprint("messages", __name__)
seller = Blueprint("messages_seller", __name__, url_prefix="/seller/messages")
admin = Blueprint("messages_admin", __name__, url_prefix="/console/messages")
guard_platform(admin)

#: seller permissions that may answer (a 客服 role, or order handling)
SELLER_PERMISSIONS = ("messages", "orders")


def _int_arg(name: str) -> int | None:
    raw = (request.values.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdecimal() or len(raw) > 10:
        abort(404)
    return int(raw)


def _uploads(owner, field: str = "images") -> list[int]:
    """The form's picture files, stored in the request's transaction
    (flushed, not committed: a refused message keeps none)."""
    files = [f for f in request.files.getlist(field) if f and f.filename]
    if len(files) > service.MAX_IMAGES:
        raise service.MessageError(field, _("A message has at most %(n)d pictures.", n=service.MAX_IMAGES))
    return [media.upload(f, owner, user_id=current_user.id, field=field, commit_now=False).id for f in files]


def _error(exc: DomainError) -> tuple[dict, int]:
    db.session.rollback()
    status = exc.status if exc.status in (404, 413, 422) else 422
    return {"field": exc.field, "message": exc.message}, status


def _page(thread, side: str, *, template: str, rows=None, **extra):
    rows = service.messages(thread) if rows is None else rows
    found = service.cards([*rows, thread])
    return render_template(
        template,
        thread=thread,
        rows=rows,
        found=found,
        shop_name=service.shop_names([thread]).get(thread.seller_key, ""),
        buyer_name=service.buyer_names([thread]).get(thread.user_id, ""),
        pictures=service.picture_urls,
        side=side,
        max_text=service.MAX_TEXT,
        max_images=service.MAX_IMAGES,
        **extra,
    )


# --- Storefront ------------------------------------------------------------------


@bp.get("/messages")
@login_required
def inbox():
    rows = service.buyer_threads(current_user)
    threads = [t for t, _n in rows]
    return render_template(
        "messages/inbox.html", rows=rows, names=service.shop_names(threads), found=service.cards(threads)
    )


@bp.get("/messages/<int:thread_id>")
@login_required
def thread(thread_id):
    t = service.buyer_thread(current_user, thread_id)
    if t is None:
        abort(404)
    service.mark_read(t, BUYER)
    card = _card_args()
    return _page(
        t, BUYER, template="messages/thread.html", card=card, poll=current_app.config["JISHI_MESSAGES_POLL_SECONDS"]
    )


def _card_args() -> dict:
    """The product or order card the page was opened with (checked)."""
    product_id, order_id = _int_arg("product_id"), _int_arg("order_id")
    try:
        product = service.product_subject(product_id) if product_id is not None else None
        order = service.order_subject(current_user, order_id) if order_id is not None else None
    except DomainError:
        abort(404)
    return {"product": product, "order": order}


@bp.post("/messages/<int:thread_id>")
@login_required
@post_limit
def post(thread_id):
    t = service.buyer_thread(current_user, thread_id)
    if t is None:
        abort(404)
    card = _card_args()
    try:
        images = _uploads(media.buyer_owner(current_user.id))
        service.post(t, BUYER, current_user, request.form.get("body", ""), images=images, **card)
    except (DomainError, media.MediaError) as exc:
        error, status = _error(exc)
        return _page(t, BUYER, template="messages/thread.html", card=card, error=error, form=request.form), status
    return redirect(url_for("messages.thread", thread_id=t.id) + "#latest")


@bp.route("/messages/contact", methods=["GET", "POST"])
@login_required
def contact():
    """联系商家: the conversation with the shop of ``product_id`` or of the
    buyer's ``order_id`` (a first message starts it)."""
    product_id, order_id = _int_arg("product_id"), _int_arg("order_id")
    try:
        seller_key, product, order = service.subject(current_user, product_id, order_id)
    except DomainError as exc:
        if exc.status == 404 or (product_id is None and order_id is None):
            abort(404)
        raise
    existing = service.find_thread(current_user.id, seller_key)
    args = {"product_id": product_id} if product is not None else {"order_id": order_id}
    if request.method == "GET":
        if existing is not None:
            return redirect(url_for("messages.thread", thread_id=existing.id, **args) + "#compose")
        return _first_page(seller_key, {"product": product, "order": order}, args)
    return _contact_post(seller_key, product, order, args)


@post_limit
def _contact_post(seller_key, product, order, args):
    try:
        images = _uploads(media.buyer_owner(current_user.id))
        t = service.open_thread(current_user, seller_key)
        service.post(t, BUYER, current_user, request.form.get("body", ""), images=images, product=product, order=order)
    except (DomainError, media.MediaError) as exc:
        error, status = _error(exc)
        return _first_page(seller_key, {"product": product, "order": order}, args, error=error), status
    return redirect(url_for("messages.thread", thread_id=t.id) + "#latest")


def _first_page(seller_key: int, card: dict, args: dict, error=None):
    from jishi_messages.models import Thread

    shell = Thread(id=0, user_id=current_user.id, seller_key=seller_key)
    return render_template(
        "messages/contact.html",
        card=card,
        args=args,
        shop_name=service.shop_names([shell]).get(seller_key, ""),
        error=error,
        form=request.form,
        max_text=service.MAX_TEXT,
        max_images=service.MAX_IMAGES,
    )


def _contact_link(args: dict) -> Markup:
    """The "contact the shop" link (``messages/_contact_link.html``, a theme
    may override it), rendered by the template itself and kept between
    requests with the settings' version (issue 20) when exact
    (``jishi.forms.render_kept``: a product page asks for it on every view;
    a theme's link reading the buyer or the request is rendered every
    time)."""
    from jishi.forms import render_kept

    return render_kept("messages/_contact_link.html", args)


def render_slot(slot: str, context: dict):
    if slot == "product_detail_after_price":
        product = context.get("product")
        if product is None:
            return None
        return _contact_link({"product_id": product.id})
    if slot == "order_detail_bottom":
        order = context.get("order")
        if order is None or not current_user.is_authenticated or order.user_id != current_user.id:
            return None
        return _contact_link({"order_id": order.id})
    if slot == "account_links":
        return Markup('<a href="%s">%s</a>') % (url_for("messages.inbox"), _("My messages"))
    return None


# --- Seller console -----------------------------------------------------------------


def seller_messages_page(view):
    @seller_page(None)
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        scope = current_scope()
        if not any(scope.can(p) for p in SELLER_PERMISSIONS):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


@seller.get("/")
@seller_messages_page
def seller_index():
    sid = current_scope().seller_id
    unread_only = request.args.get("unread") == "1"
    rows = service.seller_threads(sid, unread_only=unread_only)
    threads = [t for t, _n in rows]
    return render_template(
        "messages/seller_index.html",
        rows=rows,
        names=service.buyer_names(threads),
        found=service.cards(threads),
        unread_only=unread_only,
        total=service.seller_unread(sid),
    )


def _seller_thread(thread_id):
    t = service.seller_thread(current_scope().seller_id, thread_id)
    if t is None:
        abort(404)
    return t


@seller.get("/<int:thread_id>")
@seller_messages_page
def seller_thread(thread_id):
    t = _seller_thread(thread_id)
    if not current_scope().read_only:
        service.mark_read(t, SELLER)
    return _page(t, SELLER, template="messages/seller_thread.html", action=url_for(".seller_post", thread_id=t.id))


@seller.post("/<int:thread_id>")
@seller_messages_page
@post_limit
def seller_post(thread_id):
    t = _seller_thread(thread_id)
    try:
        images = _uploads(media.owner_of(t.seller_id))
        service.post(t, SELLER, current_user, request.form.get("body", ""), images=images)
    except (DomainError, media.MediaError) as exc:
        error, status = _error(exc)
        return _page(
            t,
            SELLER,
            template="messages/seller_thread.html",
            action=url_for(".seller_post", thread_id=t.id),
            error=error,
            form=request.form,
        ), status
    flash(_("Message sent."), "success")
    return redirect(url_for(".seller_thread", thread_id=t.id) + "#latest")


# --- Platform console (disputes) -------------------------------------------------------


@admin.get("/")
@requires("aftersales")
def admin_index():
    """Every merchant's conversations (the self-operated ones are answered
    in the seller pages); ``seller_id`` narrows to one merchant."""
    sid = _int_arg("seller_id")
    rows = service.all_threads(seller_id=sid)
    threads = [t for t, _n in rows]
    return render_template(
        "messages/admin_index.html",
        rows=rows,
        names=service.buyer_names(threads),
        shops=service.shop_names(threads),
        seller_id=sid,
    )


def _admin_thread(thread_id):
    t = service.any_thread(thread_id)
    if t is None or t.seller_key == PLATFORM_KEY:
        abort(404)  # the platform's own conversations are answered in /seller/messages
    return t


@admin.get("/<int:thread_id>")
@requires("aftersales")
def admin_thread(thread_id):
    """Read-only: reading marks nothing read for the merchant or the buyer."""
    t = _admin_thread(thread_id)
    return _page(t, PLATFORM, template="messages/admin_thread.html", action=url_for(".admin_post", thread_id=t.id))


@admin.post("/<int:thread_id>")
@requires("aftersales")
@post_limit
def admin_post(thread_id):
    t = _admin_thread(thread_id)
    try:
        images = _uploads(media.owner_of(None))
        service.post(t, PLATFORM, current_user, request.form.get("body", ""), images=images)
    except (DomainError, media.MediaError) as exc:
        error, status = _error(exc)
        return _page(
            t,
            PLATFORM,
            template="messages/admin_thread.html",
            action=url_for(".admin_post", thread_id=t.id),
            error=error,
            form=request.form,
        ), status
    flash(_("Posted as the platform."), "success")
    return redirect(url_for(".admin_thread", thread_id=t.id) + "#latest")
