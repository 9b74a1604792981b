"""Designer pages.

Storefront (blueprint ``designer``): custom and shop pages ``/p/<slug>``;
the home page through the kernel's ``storefront_page`` hook
(:func:`render_page`).

Console (blueprint ``designer_seller``, ``/seller/designer``; permission
``settings``; the seller comes from the principal): platform staff edit the
home page and custom pages, merchant staff their shop page only. Every edit
is a plain form post that works without JavaScript (up/down buttons for
reordering); ``designer/editor.js`` adds drag and drop on top, posting the
same ``move`` form.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
from collections import OrderedDict
from datetime import datetime
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from jishi import hookspecs
from jishi import settings as shop_settings
from jishi.db import db
from jishi.errors import DomainError
from jishi.forms import flash_error
from jishi.hookspecs import BlockContext, BlockField
from jishi.i18n import gettext as _
from jishi.i18n import parse_shop_time, to_shop_time
from jishi.sellers import current_scope, seller_page
from markupsafe import Markup

from jishi_designer import service
from jishi_designer.blocks import PREFIX
from jishi_designer.models import KIND_SHOP
from jishi_designer.schema import DesignError

CARD = "shop/_product_card.html"  # the theme's product card (a products block renders it per item)
SKIPPED = "designer/blocks/_skipped.html"  # included by the list blocks (shows only in the editor)

bp = Blueprint("designer", __name__)
seller = Blueprint("designer_seller", __name__, url_prefix="/seller/designer")


def reason_text(code: str) -> str:
    return {
        "deleted": _("deleted"),
        "unlisted": _("off shelf or hidden"),
        "sold_out": _("sold out"),
        "not_own": _("not this shop's product"),
        "ended": _("ended"),
    }.get(code, code)


# --- Rendering -------------------------------------------------------------------------


def context_for(seller_id: int | None, *, editor: bool = False) -> BlockContext:
    from jishi.db import utcnow

    user = current_user._get_current_object() if current_user.is_authenticated else None
    lat, lng = request.args.get("lat", type=float), request.args.get("lng", type=float)
    location = (lat, lng) if lat is not None and lng is not None and abs(lat) <= 90 and abs(lng) <= 180 else None
    return BlockContext(seller_id=seller_id, user=user, location=location, editor=editor, now=utcnow())


def render_blocks(resolved: list[dict], *, editor: bool = False) -> Markup:
    """Each resolved block through its type's template (themes may override
    a template by its name); a block of the designer's own types whose
    templates are first-party comes from the fragment cache when the same
    block with the same data was rendered before (:func:`_fragment_key`),
    and a page whose every block is such a block comes whole from the
    cache when the same blocks with the same data were rendered before
    (:func:`_page_key`: one digest and one lookup instead of one per block)."""
    from flask import current_app

    types = service.render_types()
    app = current_app._get_current_object()
    env = app.jinja_env
    cache = None if editor or app.debug else _fragments(app)
    shared = _shared_key(env) if cache is not None else None
    templates = []
    for block in resolved:
        bt = types.get(block["type"])
        templates.append(env.get_template(bt.template) if bt is not None and bt.template else None)
    page_key = _page_key(resolved, templates, shared) if shared is not None else None
    if page_key is not None:
        whole = cache.get(page_key, pages=True)  # type: ignore[union-attr]
        if whole is not None:
            return whole
    # The template context (the context processors' variables) made once
    # for every block rendered, not once per block as render_template would,
    # and not at all when every block comes from the cache.
    base: dict | None = None
    parts = []
    for block, template in zip(resolved, templates, strict=True):
        if template is None:
            continue
        key = _fragment_key(block, template, shared) if shared is not None else None
        # kept: the block's whole section (its type and id are in the key's digest)
        section = cache.get(key) if cache is not None and key is not None else None
        if section is None:
            if base is None:
                base = {"editor": editor, "designer_reason": reason_text}
                app.update_template_context(base)
            html = Markup(
                template.render(
                    {**base, "block": block, "settings": block["settings"], "data": block.get("data") or {}}
                )
            )
            section = Markup('<section class="dz-block dz-%s" data-block="%s">%s</section>') % (
                block["type"].replace(".", "-"),
                block["id"],
                html,
            )
            if cache is not None and key is not None:
                cache.put(key, section)
        parts.append(section)
    whole = _style() + Markup("").join(parts) if parts else Markup("")
    if page_key is not None:
        cache.put(page_key, whole, pages=True)  # type: ignore[union-attr]
    return whole


# --- Fragment cache ----------------------------------------------------------------------
#
# A block's HTML is a function of the block (its settings and its resolved
# data: prices, stock, names, links), the templates that render it, the
# language and the address the site is served under. Blocks of the
# designer's own types rendered by first-party templates (the designer's,
# the kernel's product card, the built-in themes': none reads the buyer, the
# session or the clock) are cached by exactly that, so the cache is never
# stale: a changed price or a product sold out changes the resolved data,
# hence the key, and the next request renders it anew. The data is still
# resolved on every request; only the rendering is saved. Another plugin's
# block, or a template a theme overrides, is rendered every time.

_FIRST_PARTY = (
    os.path.realpath(Path(__file__).parent / "templates") + os.sep,
    os.path.realpath(Path(hookspecs.__file__).parent) + os.sep,  # the kernel's templates and built-in themes
)
_FRAGMENTS_SIZE = 512
_PAGES_SIZE = 128  # whole pages (tens of kB each): the home page, custom pages, the shop pages most visited

try:  # a third of json.dumps's time for a product list's digest
    import orjson
except ImportError:  # pragma: no cover - a kernel dependency; keep working without it
    orjson = None  # type: ignore[assignment]


class _Fragments:
    """Two bounded LRUs (per app): rendered blocks (``items``) and the
    rendered blocks of whole pages (``pages``, ``pages=True``)."""

    def __init__(self, size: int, pages: int = _PAGES_SIZE):
        self.size, self.pages_size = size, pages
        self.items: OrderedDict[tuple, Markup] = OrderedDict()
        self.pages: OrderedDict[tuple, Markup] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple, *, pages: bool = False) -> Markup | None:
        store = self.pages if pages else self.items
        with self.lock:
            found = store.get(key)
            if found is not None:
                store.move_to_end(key)
            return found

    def put(self, key: tuple, html: Markup, *, pages: bool = False) -> None:
        store, size = (self.pages, self.pages_size) if pages else (self.items, self.size)
        with self.lock:
            store[key] = html
            while len(store) > size:
                store.popitem(last=False)


def _fragments(app) -> _Fragments:
    found = app.extensions.get("jishi_designer.fragments")
    if found is None:
        found = app.extensions["jishi_designer.fragments"] = _Fragments(_FRAGMENTS_SIZE)
    return found


def _first_party(template) -> bool:
    return bool(template.filename) and _first_party_file(template.filename)


@functools.lru_cache(maxsize=256)
def _first_party_file(filename: str) -> bool:
    return os.path.realpath(filename).startswith(_FIRST_PARTY)


def _digest(block: dict | list) -> bytes:
    """SHA-256 of ``block`` (or a page's blocks) as canonical JSON (sorted keys; orjson when installed)."""
    if orjson is not None:
        try:
            raw = orjson.dumps(block, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
        except TypeError:
            raw = None
        if raw is not None:
            return hashlib.sha256(raw).digest()
    return hashlib.sha256(json.dumps(block, sort_keys=True, default=str).encode()).digest()


def _included(env) -> tuple | None:
    """The files of the templates the designer's blocks include (the
    theme's product card, the skipped list), or None when one is not
    first-party: decided once per version of the settings (the active theme
    is a setting; templates reload only in debug, where nothing is cached)."""
    card, skipped = env.get_template(CARD), env.get_template(SKIPPED)
    if not (_first_party(card) and _first_party(skipped)):
        return None
    return (card.filename, skipped.filename)


def _shared_key(env) -> tuple | None:
    """What every cached block's HTML also depends on: the templates the
    designer's blocks include (the theme's product card, the skipped list),
    the language, the script root and the active theme; None (nothing is
    cached) when one of those templates is not first-party."""
    included = shop_settings.derived("jishi_designer.included", lambda: _included(env))
    if included is None:
        return None
    return (*included, str(get_locale()), request.script_root, shop_settings.get("theme.active"))


def _page_key(resolved: list[dict], templates: list, shared: tuple) -> tuple | None:
    """The key of the rendered blocks of a whole page: what each block's
    :func:`_fragment_key` holds (its template's file, ``shared``, the
    block's digest), the blocks in order in one digest; None (the page is
    not kept whole) when one of its rendered blocks is not cached (another
    plugin's type, a template not first-party). A block without a template
    is rendered as nothing whatever it holds."""
    files: list[str | None] = []
    for block, template in zip(resolved, templates, strict=True):
        if template is None:
            files.append(None)
        elif block["type"].startswith(PREFIX) and _first_party(template):
            files.append(template.filename)
        else:
            return None
    return (tuple(files), *shared, _digest(resolved))


def _fragment_key(block: dict, template, shared: tuple) -> tuple | None:
    """The fragment cache's key of ``block``, or None when it is not cached
    (another plugin's type, a template not first-party)."""
    if not block["type"].startswith(PREFIX) or not _first_party(template):
        return None
    return (template.filename, *shared, _digest(block))


@functools.cache
def _style() -> Markup:
    """The blocks' stylesheet (``static/designer.css``, 3 kB), inline: a
    designed page needs no extra request and no route of its own."""
    css = (Path(__file__).parent / "static" / "designer.css").read_text(encoding="utf-8")
    return Markup("<style>%s</style>") % Markup(css)


def render_page(slug: str) -> Markup | None:
    """The live page ``slug`` as HTML (None: nothing published)."""
    found = service.live(slug)
    if found is None:
        return None
    page, _number, _title, blocks = found
    resolved = service.document(blocks, context_for(page.seller_id))
    return render_blocks(resolved)


@bp.get("/p/<slug>")
def page(slug):
    """A published custom page or shop page."""
    if slug == service.HOME:
        return redirect(url_for("shop.index"))
    found = service.live(slug)
    if found is None:
        abort(404)
    pg, _number, title, blocks = found
    if pg.kind == KIND_SHOP:
        # a shop page shows on the shop's own page, under its head and notices
        owner = service.shop_owner(pg)
        if owner is None or not owner["url"]:
            abort(404)
        return redirect(owner["url"])
    body = render_blocks(service.document(blocks, context_for(pg.seller_id)))
    return render_template("designer/page.html", title=title, body=body, slug=slug)


@bp.get("/p/ad/<int:ad_id>")
def ad_click(ad_id):
    """A click on a promotion entry: counted, then redirected to the entry's
    own validated link (never to an address from the request); 404 when
    the entry is gone, disabled or links nowhere."""
    from jishi_designer import links, promo
    from jishi_designer.models import PromoAd

    ad = db.session.get(PromoAd, ad_id)
    if ad is None:
        abort(404)
    ref = ad.link
    if ref is None and ad.ref_id:  # a recommended merchant or product opens itself
        from jishi_designer.models import SLOT_MERCHANTS, PromoSlot

        slot = db.session.get(PromoSlot, ad.slot_id)
        ref = {
            "kind": "shop" if slot is not None and slot.kind == SLOT_MERCHANTS else "product",
            "value": str(ad.ref_id),
        }
    target = promo.click_target(ad_id, lambda _link: links.resolver([ref])(ref) if ref else "")
    if not target:
        abort(404)
    return redirect(target, code=302)


# --- Console ---------------------------------------------------------------------------


def design_page(view):
    """A console page of the designer: sign-in, a seller scope with ``settings``."""

    @seller_page("settings")
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        return view(*args, **kwargs)

    return wrapper


def _page_or_404(page_id: int):
    page = service.owned_page(page_id, current_scope().seller_id)
    if page is None:
        abort(404)
    return page


def _seen() -> int | None:
    raw = request.form.get("version", "")
    return int(raw) if (raw.isdecimal() and len(raw) <= 10) else None


def _back(page, anchor: str = ""):
    return redirect(url_for("designer_seller.edit", page_id=page.id) + (f"#{anchor}" if anchor else ""))


@seller.get("/")
@design_page
def index():
    sid = current_scope().seller_id
    return render_template("designer/seller_index.html", pages=service.pages_of(sid), platform=sid is None)


@seller.post("/new")
@design_page
def page_new():
    try:
        page = service.create_page(
            current_scope().seller_id, request.form.get("slug", ""), request.form.get("title", "")
        )
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 403:
            abort(403)
        flash_error(exc)
        sid = current_scope().seller_id
        return render_template(
            "designer/seller_index.html", pages=service.pages_of(sid), platform=sid is None, form=request.form
        ), exc.status
    flash(_("Page created."), "success")
    return redirect(url_for("designer_seller.edit", page_id=page.id))


@seller.get("/<int:page_id>")
@design_page
def edit(page_id):
    return _editor(_page_or_404(page_id))


def _editor(page, status: int = 200):
    """The editor page (also the answer of a refused publish or move, with
    the error flashed and its status)."""
    types = service.block_types()
    resolved = service.document(page.draft or [], context_for(page.seller_id, editor=True))
    data = {b["id"]: b.get("data") or {} for b in resolved}
    unavailable = {b["id"] for b in resolved if b.get("unavailable")}
    return render_template(
        "designer/editor.html",
        page=page,
        types=types,
        palette=service.palette(page.seller_id),
        data=data,
        unavailable=unavailable,
        reason_text=reason_text,
        live=service.live(page.slug),
        designer_templates=service.templates(page.seller_id) if page.seller_id is not None else [],
    ), status


@seller.post("/<int:page_id>/blocks")
@design_page
def block_add(page_id):
    page = _page_or_404(page_id)
    try:
        block = service.add_block(page, request.form.get("type", ""), _seen())
    except DomainError as exc:
        db.session.rollback()
        flash_error(exc)
        return _back(page)
    return redirect(url_for("designer_seller.block_edit", page_id=page.id, block_id=block["id"]))


def _block(page, block_id):
    for block in page.draft or []:
        if block.get("id") == block_id:
            return block
    abort(404)


def form_settings(fields: tuple[BlockField, ...], form, prefix: str = "") -> dict:
    """The settings a generated block form posted (names ``key``,
    ``key.kind``/``key.value`` for a link, ``key.<row>.<sub>`` for items)."""
    out: dict = {}
    for f in fields:
        name = prefix + f.key
        if f.kind == "bool":
            out[f.key] = name in form
        elif f.kind == "link":
            out[f.key] = {"kind": form.get(name + ".kind", ""), "value": form.get(name + ".value", "")}
        elif f.kind == "items":
            rows = []
            for i in range(f.max_items + 1):
                row = form_settings(f.fields, form, f"{name}.{i}.")
                keys = [k for k in form if k.startswith(f"{name}.{i}.")]
                filled = any(
                    (v.get("value") if isinstance(v, dict) else v) for k, v in row.items() if not isinstance(v, bool)
                )
                if keys and filled:
                    rows.append(row)
            out[f.key] = rows
        elif name in form:
            out[f.key] = form.get(name, "")
    return out


@seller.route("/<int:page_id>/blocks/<block_id>", methods=["GET", "POST"])
@design_page
def block_edit(page_id, block_id):
    page = _page_or_404(page_id)
    block = _block(page, block_id)
    bt = service.block_types().get(block["type"])
    if bt is None:
        abort(404)
    settings = block.get("settings") or {}
    status = 200
    error_field = None
    if request.method == "POST":
        raw = form_settings(bt.fields, request.form)
        try:
            service.update_block(page, block_id, raw, _seen())
        except DomainError as exc:
            db.session.rollback()
            flash_error(exc)
            settings, status, error_field = raw, exc.status, getattr(exc, "field", None)
        else:
            flash(_("Block saved."), "success")
            return _back(page, f"block-{block_id}")
    from jishi import media

    library = media.library(media.owner_of(page.seller_id), limit=60)
    return render_template(
        "designer/block_form.html",
        page=page,
        block=block,
        bt=bt,
        settings=settings,
        error_field=error_field,
        library=[(f"media:{a.id}", media.asset_url(a, "thumb")) for a in library],
    ), status


@seller.post("/<int:page_id>/blocks/<block_id>/move")
@design_page
def block_move(page_id, block_id):
    page = _page_or_404(page_id)
    blocks = page.draft or []
    current = next((i for i, b in enumerate(blocks) if b.get("id") == block_id), None)
    if current is None:
        abort(404)
    direction = request.form.get("direction", "")
    to_raw = request.form.get("to", "")
    if direction in ("up", "down"):
        to = current - 1 if direction == "up" else current + 1
    elif to_raw.isdecimal() and len(to_raw) <= 10:
        to = int(to_raw)
    else:
        flash_error(DesignError("to", _("Say where the block goes.")))
        return _editor(page, 422)
    try:
        service.move_block(page, block_id, to, _seen())
    except DomainError as exc:
        db.session.rollback()
        flash_error(exc)
    return _back(page, f"block-{block_id}")


@seller.post("/<int:page_id>/blocks/<block_id>/delete")
@design_page
def block_delete(page_id, block_id):
    page = _page_or_404(page_id)
    try:
        service.remove_block(page, block_id, _seen())
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        flash_error(exc)
    else:
        flash(_("Block removed."), "success")
    return _back(page)


@seller.get("/<int:page_id>/preview")
@design_page
def preview(page_id):
    """The draft as the storefront would show it (the editor's iframe)."""
    page = _page_or_404(page_id)
    resolved = service.document(page.draft or [], context_for(page.seller_id, editor=True))
    return render_template("designer/page.html", title=page.title, body=render_blocks(resolved), slug=page.slug)


@seller.post("/<int:page_id>/publish")
@design_page
def publish(page_id):
    page = _page_or_404(page_id)
    try:
        rev = service.publish(page, current_user)
    except DomainError as exc:
        db.session.rollback()
        flash_error(exc)
        return _editor(page, exc.status)
    flash(_("Published as version %(n)s.", n=rev.number), "success")
    return _back(page)


@seller.post("/<int:page_id>/schedule")
@design_page
def schedule(page_id):
    page = _page_or_404(page_id)
    try:
        raw = (request.form.get("at") or "").strip()
        try:
            at = parse_shop_time(raw) if raw else None
        except ValueError:
            at = None
        if not isinstance(at, datetime):
            raise DesignError("at", _("%(field)s is not a date and time.", field=_("Publish at")))
        rev = service.schedule(page, at, current_user)
    except DomainError as exc:
        db.session.rollback()
        flash_error(exc)
        return _editor(page, exc.status)
    flash(_("Version %(n)s will be published at the chosen time.", n=rev.number), "success")
    return _back(page)


@seller.post("/<int:page_id>/schedule/cancel")
@design_page
def schedule_cancel(page_id):
    page = _page_or_404(page_id)
    service.cancel_schedule(page)
    flash(_("Schedule cancelled."), "success")
    return _back(page)


@seller.get("/<int:page_id>/history")
@design_page
def history(page_id):
    page = _page_or_404(page_id)
    return render_template("designer/history.html", page=page, revisions=service.history(page))


@seller.post("/<int:page_id>/rollback/<int:revision_id>")
@design_page
def rollback(page_id, revision_id):
    page = _page_or_404(page_id)
    try:
        rev = service.rollback(page, revision_id, current_user)
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        flash_error(exc)
        return redirect(url_for("designer_seller.history", page_id=page.id))
    flash(_("Version %(old)s is live again as version %(n)s.", old=rev.source_number, n=rev.number), "success")
    return redirect(url_for("designer_seller.history", page_id=page.id))


@seller.post("/<int:page_id>/delete")
@design_page
def page_delete(page_id):
    page = _page_or_404(page_id)
    try:
        service.delete_page(page)
    except DomainError as exc:
        db.session.rollback()
        flash_error(exc)
        return _back(page)
    flash(_("Page deleted."), "success")
    return redirect(url_for("designer_seller.index"))


# --- Console: promotion slots (platform staff) ------------------------------------------


def promo_page(view):
    """A promotion-slot console page: platform staff with ``settings`` (a
    merchant's staff get 404: slots are the platform's)."""

    @design_page
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if current_scope().seller_id is not None:
            abort(404)
        return view(*args, **kwargs)

    return wrapper


def _slots_page(status: int = 200, form=None):
    from sqlalchemy import select

    from jishi_designer.models import PromoSlot

    slots = db.session.scalars(select(PromoSlot).order_by(PromoSlot.id)).all()
    return render_template("designer/promo_index.html", slots=slots, form=form or {}), status


@seller.get("/promo")
@promo_page
def promo_index():
    return _slots_page()


@seller.post("/promo")
@promo_page
def promo_new():
    from jishi_designer import promo

    try:
        slot = promo.create_slot(
            request.form.get("code", ""), request.form.get("name", ""), request.form.get("kind", "ads")
        )
    except DomainError as exc:
        db.session.rollback()
        flash_error(exc)
        return _slots_page(exc.status, request.form)
    db.session.commit()
    flash(_("Slot created."), "success")
    return redirect(url_for("designer_seller.promo_slot", slot_id=slot.id))


def _slot_or_404(slot_id: int):
    from jishi_designer.models import PromoSlot

    slot = db.session.get(PromoSlot, slot_id)
    if slot is None:
        abort(404)
    return slot


def _slot_page(slot, status: int = 200, form=None):
    from sqlalchemy import select

    from jishi_designer import promo
    from jishi_designer.models import PromoAd
    from jishi_designer.promo import member_levels as list_member_levels

    entries = db.session.scalars(
        select(PromoAd)
        .where(PromoAd.slot_id == slot.id, PromoAd.deleted_at.is_(None))
        .order_by(PromoAd.sort, PromoAd.id)
    )
    if form is not None and hasattr(form, "getlist"):
        form = {**form.to_dict(), "level_ids": form.getlist("level_ids")}
    return render_template(
        "designer/promo_slot.html",
        slot=slot,
        entries=list(entries),
        report=promo.report(slot),
        form=form or {},
        levels=list_member_levels(),
    ), status


@seller.get("/promo/<int:slot_id>")
@promo_page
def promo_slot(slot_id):
    """A slot: its entries, a form for a new one, and the daily report
    (impressions, clicks, CTR; the last 30 days)."""
    return _slot_page(_slot_or_404(slot_id))


def _entry_raw(form) -> dict:
    """An entry form's fields as :func:`jishi_designer.promo.add_entry` takes them."""
    return {
        "title": form.get("title", ""),
        "image": form.get("image", ""),
        "link": {"kind": form.get("link_kind", ""), "value": form.get("link_value", "")},
        "ref_id": form.get("ref_id", ""),
        "target": form.get("target", "all"),
        "level_ids": ",".join(form.getlist("level_ids")),
        "sort": form.get("sort", ""),
        "starts_at": _shop_time(form.get("starts_at", "")),
        "ends_at": _shop_time(form.get("ends_at", "")),
    }


@seller.post("/promo/<int:slot_id>/entries")
@promo_page
def promo_entry_new(slot_id):
    from jishi_designer import promo

    slot = _slot_or_404(slot_id)
    try:
        promo.add_entry(slot, _entry_raw(request.form))
    except DomainError as exc:
        db.session.rollback()
        flash_error(exc)
        return _slot_page(slot, exc.status, request.form)
    db.session.commit()
    flash(_("Entry added."), "success")
    return redirect(url_for("designer_seller.promo_slot", slot_id=slot.id))


def _entry_or_404(slot, entry_id: int):
    from jishi_designer import promo

    entry = promo.live_entry(slot, entry_id)
    if entry is None:
        abort(404)
    return entry


def _entry_form(entry) -> dict:
    """An entry's stored values as its edit form shows them (shop time)."""

    def local(at):
        return to_shop_time(at).strftime("%Y-%m-%dT%H:%M") if at else ""

    link = entry.link or {}
    return {
        "title": entry.title,
        "image": entry.image,
        "link_kind": link.get("kind", ""),
        "link_value": link.get("value", ""),
        "ref_id": str(entry.ref_id or ""),
        "target": entry.target,
        "level_ids": [str(i) for i in entry.level_ids or ()],
        "sort": str(entry.sort),
        "starts_at": local(entry.starts_at),
        "ends_at": local(entry.ends_at),
    }


def _entry_page(slot, entry, form, status: int = 200):
    from jishi_designer.promo import member_levels as list_member_levels

    return render_template(
        "designer/promo_entry.html", slot=slot, entry=entry, form=form, levels=list_member_levels()
    ), status


@seller.route("/promo/<int:slot_id>/entries/<int:entry_id>", methods=["GET", "POST"])
@promo_page
def promo_entry_edit(slot_id, entry_id):
    """Edit an entry: every field again, validated like a new one (a bad
    value answers the form, 422 naming the field, nothing changed)."""
    from jishi_designer import promo

    slot = _slot_or_404(slot_id)
    entry = _entry_or_404(slot, entry_id)
    if request.method == "GET":
        return _entry_page(slot, entry, _entry_form(entry))
    try:
        promo.update_entry(entry, _entry_raw(request.form))
    except DomainError as exc:
        db.session.rollback()
        flash_error(exc)
        form = request.form.to_dict()
        form["level_ids"] = request.form.getlist("level_ids")
        return _entry_page(slot, _entry_or_404(slot, entry_id), form, exc.status)
    db.session.commit()
    flash(_("Entry saved."), "success")
    return redirect(url_for("designer_seller.promo_slot", slot_id=slot.id))


@seller.post("/promo/<int:slot_id>/entries/<int:entry_id>/delete")
@promo_page
def promo_entry_delete(slot_id, entry_id):
    """Delete an entry (softly: its impressions and clicks stay in the report)."""
    from jishi_designer import promo

    slot = _slot_or_404(slot_id)
    promo.delete_entry(_entry_or_404(slot, entry_id))
    db.session.commit()
    flash(_("Entry deleted."), "success")
    return redirect(url_for("designer_seller.promo_slot", slot_id=slot.id))


def _shop_time(text: str):
    """A console date-time (the shop's time) as UTC; bad text is passed on for
    the service to refuse naming the field."""
    text = (text or "").strip()
    if not text:
        return ""
    try:
        return parse_shop_time(text.replace("T", " "))
    except (ValueError, DomainError):
        return text


@seller.post("/promo/<int:slot_id>/toggle")
@promo_page
def promo_slot_toggle(slot_id):
    slot = _slot_or_404(slot_id)
    slot.enabled = not slot.enabled
    db.session.commit()
    return redirect(url_for("designer_seller.promo_slot", slot_id=slot.id))


@seller.post("/promo/<int:slot_id>/entries/<int:entry_id>/toggle")
@promo_page
def promo_entry_toggle(slot_id, entry_id):
    slot = _slot_or_404(slot_id)
    entry = _entry_or_404(slot, entry_id)
    entry.enabled = not entry.enabled
    db.session.commit()
    return redirect(url_for("designer_seller.promo_slot", slot_id=slot.id))


# --- Console: platform templates ------------------------------------------------------


@seller.post("/<int:page_id>/template")
@design_page
def template_save(page_id):
    """Platform staff: save a platform page's draft as a template."""
    page = _page_or_404(page_id)
    try:
        service.save_template(page, request.form.get("name", ""), current_user, request.form.get("categories", ""))
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 403:
            abort(403)
        flash_error(exc)
        return _editor(page, exc.status)
    flash(_("Saved as a template."), "success")
    return _back(page)


@seller.post("/<int:page_id>/from-template")
@design_page
def template_apply(page_id):
    """A merchant: replace its shop page's draft with a copy of a template."""
    page = _page_or_404(page_id)
    if page.seller_id is None:
        abort(404)
    raw = request.form.get("template", "")
    try:
        left_out = service.apply_template(page, int(raw) if (raw.isdecimal() and len(raw) <= 10) else 0, _seen())
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 403:  # a template not offered to this merchant's category
            abort(403)
        flash_error(exc)
        return _editor(page, 422 if exc.status == 404 else exc.status)
    flash(_("The template was copied into your draft."), "success")
    if left_out:
        flash(_("Left out (not for shop pages): %(names)s", names=", ".join(left_out)), "warning")
    return _back(page)


def _templates_page(status: int = 200, form=None, failed: int | None = None):
    pages = service.pages_of(None)
    return render_template(
        "designer/templates.html",
        templates=service.templates(every=True),
        pages=pages,
        form=form or {},
        failed=failed,
    ), status


def _template_or_404(template_id: int):
    from jishi_designer.models import DesignTemplate

    tpl = db.session.get(DesignTemplate, template_id)
    if tpl is None:
        abort(404)
    return tpl


@seller.get("/templates")
@promo_page
def templates_index():
    """Platform staff: the templates, each with its rename / scope / replace
    form and a delete button."""
    return _templates_page()


@seller.post("/templates/<int:template_id>")
@promo_page
def template_edit(template_id):
    """Rename a template, set its merchant categories (one per line or
    comma-separated; empty: every merchant) and, with ``page``, replace its
    blocks with that platform page's draft (validated like a publish)."""
    tpl = _template_or_404(template_id)
    raw_page = request.form.get("page", "")
    page = None
    if raw_page:
        page = _page_or_404(int(raw_page)) if (raw_page.isdecimal() and len(raw_page) <= 10) else None
        if page is None:
            abort(404)
    try:
        service.update_template(tpl, request.form.get("name", ""), request.form.get("categories", ""), page)
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 403:
            abort(403)
        flash_error(exc)
        return _templates_page(exc.status, request.form, tpl.id)
    flash(_("Template saved."), "success")
    return redirect(url_for("designer_seller.templates_index"))


@seller.post("/templates/<int:template_id>/delete")
@promo_page
def template_delete(template_id):
    """Delete a template (merchants' copies already made stay theirs)."""
    service.delete_template(_template_or_404(template_id))
    flash(_("Template deleted."), "success")
    return redirect(url_for("designer_seller.templates_index"))
