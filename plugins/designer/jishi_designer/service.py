"""Pages, drafts, revisions and the resolved page document.

- The DRAFT is edited block by block; every save is a conditional UPDATE on
  ``draft_version`` (a stale editor gets a 409, never a lost edit).
- ``publish`` / ``schedule`` / ``rollback`` each write a new immutable
  revision; ``rollback`` copies an old one (a new number, so every cache
  and ETag keyed by it changes).
- A scheduled revision is live from ``scheduled_at`` on: the page read
  picks it at once, the ``designer_publish_scheduled`` job records it with
  a conditional UPDATE (exactly once, whichever worker runs it).
- :func:`document` resolves a layout: block types from the
  ``page_block_types`` hook, each type's ``resolve`` called ONCE with all
  its blocks. The published layout is cached in the process by revision id
  (revisions never change), so a page costs one small read of its pointers
  plus its blocks' batches.
- A page's pointers (which revision is published, which is scheduled and
  when) are kept with the request's settings (:func:`jishi.settings.derived`),
  so a storefront page, the home page first, reads them once per version
  of the settings instead of once per request (issue 20). Every path that
  moves a pointer — :func:`publish`, :func:`schedule`, :func:`rollback`,
  :func:`cancel_schedule`, :func:`publish_scheduled`, :func:`delete_page` —
  writes the setting :data:`PAGES_VERSION` in its own transaction
  (:func:`_pages_changed`): its commit drops this process's copy at once,
  and other processes read the settings again within
  ``JISHI_SETTINGS_TTL`` (2 s), as they see any setting saved (the shop's
  name in the header, the storefront's fragment cache). A scheduled moment
  passing needs no write: the kept pointers hold ``scheduled_at`` and each
  request compares it with the clock.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any

from flask import current_app
from jishi.db import commit, db, utcnow
from jishi.hookspecs import BlockContext, BlockType, PageBlock
from jishi.i18n import gettext as _
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from jishi_designer.models import KIND_CUSTOM, KIND_HOME, KIND_SHOP, DesignPage, DesignRevision, DesignTemplate
from jishi_designer.schema import SLUG, DesignError, clean, defaults

HOME = "home"
MAX_BLOCKS = 40
RESERVED = {HOME}
#: the setting every change of a page's live pointers writes (a new random
#: value): the settings' version moves on, and with it the kept pointers
PAGES_VERSION = "designer.pages_version"
_KEPT = "jishi_designer.pointers"  # settings.derived name of the kept pointers
_KEPT_LIMIT = 1024  # slugs kept per settings version (unknown ones included): then start over
_MISSING = object()


def shop_slug(seller_id: int) -> str:
    return f"shop-{seller_id}"


# --- Block types ---------------------------------------------------------------------


def block_types() -> dict[str, BlockType]:
    """Every enabled plugin's block types by code (the first declaration of
    a code wins), in palette order."""
    found: dict[str, BlockType] = {}
    for types in current_app.extensions["jishi"].hook.page_block_types():
        for bt in types or ():
            found.setdefault(bt.code, bt)
    return dict(sorted(found.items(), key=lambda kv: (kv[1].sort, kv[0])))


def render_types() -> dict[str, BlockType]:
    """:func:`block_types` asked once per app, for rendering (codes,
    ``resolve``, ``template``, ``sellers``: what does not change while the
    app runs; the labels are in the language of the first request, so the
    editor asks :func:`block_types` itself)."""
    app = current_app._get_current_object()
    cached = app.extensions.get("jishi_designer.types")
    if cached is None:
        cached = app.extensions["jishi_designer.types"] = block_types()
    return cached


def palette(seller_id: int | None) -> list[BlockType]:
    """The types a page of ``seller_id`` may use (merchants: ``sellers``)."""
    return [bt for bt in block_types().values() if seller_id is None or bt.sellers]


# --- Pages -----------------------------------------------------------------------------


def pages_of(seller_id: int | None) -> list[DesignPage]:
    """The pages a seller edits: the platform its home and custom pages (the
    home page is created on first look); a merchant its shop page."""
    if seller_id is None:
        home_page()
    else:
        shop_page(seller_id)
    stmt = select(DesignPage).where(
        DesignPage.seller_id.is_(None) if seller_id is None else DesignPage.seller_id == seller_id
    )
    return list(db.session.scalars(stmt.order_by(DesignPage.kind != KIND_HOME, DesignPage.id)))


def _ensure(slug: str, seller_id: int | None, kind: str, title: str) -> DesignPage:
    page = db.session.scalar(select(DesignPage).where(DesignPage.slug == slug))
    if page is not None:
        return page
    page = DesignPage(slug=slug, seller_id=seller_id, kind=kind, title=title, draft=[], draft_version=0)
    db.session.add(page)
    try:
        commit()
    except IntegrityError:  # another request made it first
        db.session.rollback()
        page = db.session.scalar(select(DesignPage).where(DesignPage.slug == slug))
        assert page is not None
    return page


def home_page() -> DesignPage:
    return _ensure(HOME, None, KIND_HOME, _("Home page"))


def shop_page(seller_id: int) -> DesignPage:
    return _ensure(shop_slug(seller_id), seller_id, KIND_SHOP, _("Shop page"))


def create_page(seller_id: int | None, slug: str, title: str) -> DesignPage:
    """A custom page of the platform at ``/p/<slug>``."""
    if seller_id is not None:
        raise DesignError("slug", _("Merchants decorate their shop page only."), status=403)
    slug = (slug or "").strip().lower()
    title = (title or "").strip()
    if not SLUG.match(slug) or slug in RESERVED or slug.startswith("shop-"):
        raise DesignError("slug", _("A page address is lowercase letters, digits and dashes (not home or shop-…)."))
    if not title or len(title) > 60:
        raise DesignError("title", _("Give the page a title of at most 60 characters."))
    if db.session.scalar(select(DesignPage.id).where(DesignPage.slug == slug)):
        raise DesignError("slug", _("A page with this address exists."), code="conflict")
    page = DesignPage(slug=slug, seller_id=None, kind=KIND_CUSTOM, title=title, draft=[], draft_version=0)
    db.session.add(page)
    try:
        commit()
    except IntegrityError:
        db.session.rollback()
        raise DesignError("slug", _("A page with this address exists."), code="conflict") from None
    return page


def owned_page(page_id: int, seller_id: int | None) -> DesignPage | None:
    """The page ``page_id`` when ``seller_id`` owns it (else None: a 404)."""
    page = db.session.get(DesignPage, page_id)
    if page is None or page.seller_id != seller_id:
        return None
    return page


def delete_page(page: DesignPage) -> None:
    if page.kind != KIND_CUSTOM:
        raise DesignError("page", _("The home page and shop pages cannot be deleted."), code="conflict")
    db.session.execute(DesignRevision.__table__.delete().where(DesignRevision.page_id == page.id))
    db.session.delete(page)
    _pages_changed()
    commit()


def _pages_changed() -> None:
    """A page's live pointers change in this transaction: write
    :data:`PAGES_VERSION` (a settings change, so its commit drops the kept
    pointers of this process, and other processes' within the settings'
    TTL). The row is made first if missing (``ON CONFLICT DO NOTHING``: two
    first publishes at once never collide)."""
    from jishi import settings
    from jishi.db import conflict_insert
    from jishi.settings import Setting

    db.session.execute(
        conflict_insert(Setting)
        .values(key=PAGES_VERSION, value=None, updated_at=utcnow())
        .on_conflict_do_nothing()
        .execution_options(synchronize_session=False)
    )
    settings.set_many({PAGES_VERSION: secrets.token_hex(8)})


# --- Draft -----------------------------------------------------------------------------


def _save_draft(page: DesignPage, blocks: list[dict], seen_version: int | None = None) -> None:
    """Store ``blocks`` as the draft if nobody saved it since ``seen_version``."""
    seen = page.draft_version if seen_version is None else seen_version
    result = db.session.execute(
        update(DesignPage)
        .where(DesignPage.id == page.id, DesignPage.draft_version == seen)
        .values(draft=blocks, draft_version=DesignPage.draft_version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise DesignError("version", _("Someone else changed this page; reload it and try again."), code="conflict")
    commit()
    db.session.refresh(page)


def _find(page: DesignPage, block_id: str) -> int:
    for i, block in enumerate(page.draft or []):
        if block.get("id") == block_id:
            return i
    raise DesignError("block", _("No such block on this page."), status=404)


def add_block(page: DesignPage, type_code: str, seen_version: int | None = None, position: int | None = None) -> dict:
    """A new block of ``type_code`` with its defaults (not validated yet:
    required settings are asked when it is edited; an incomplete block is
    refused at publish)."""
    types = {bt.code: bt for bt in palette(page.seller_id)}
    bt = types.get(type_code)
    if bt is None:
        raise DesignError("type", _("Unknown block type."))
    blocks = list(page.draft or [])
    if len(blocks) >= MAX_BLOCKS:
        raise DesignError("type", _("A page holds at most %(n)s blocks.", n=MAX_BLOCKS))
    block = {"id": secrets.token_hex(4), "type": bt.code, "settings": defaults(bt)}
    blocks.insert(len(blocks) if position is None else max(0, min(position, len(blocks))), block)
    _save_draft(page, blocks, seen_version)
    return block


def update_block(page: DesignPage, block_id: str, raw: dict, seen_version: int | None = None) -> dict:
    """Validate ``raw`` against the block's type and store it in the draft."""
    blocks = [dict(b) for b in page.draft or []]
    i = _find(page, block_id)
    bt = block_types().get(blocks[i]["type"])
    if bt is None:
        raise DesignError("type", _("This block's plugin is not enabled."), code="conflict")
    blocks[i]["settings"] = clean(bt, raw, page.seller_id)
    _save_draft(page, blocks, seen_version)
    return blocks[i]


def move_block(page: DesignPage, block_id: str, to: int, seen_version: int | None = None) -> None:
    blocks = list(page.draft or [])
    i = _find(page, block_id)
    block = blocks.pop(i)
    blocks.insert(max(0, min(to, len(blocks))), block)
    _save_draft(page, blocks, seen_version)


def remove_block(page: DesignPage, block_id: str, seen_version: int | None = None) -> None:
    blocks = list(page.draft or [])
    blocks.pop(_find(page, block_id))
    _save_draft(page, blocks, seen_version)


def _checked_layout(page: DesignPage) -> list[dict]:
    """The draft validated again in full (types enabled and usable by the
    page's owner, settings complete): what a revision stores."""
    types = {bt.code: bt for bt in palette(page.seller_id)}
    out = []
    for i, block in enumerate(page.draft or []):
        bt = types.get(block.get("type"))
        if bt is None:
            raise DesignError(f"blocks.{i}.type", _("Unknown block type."))
        try:
            settings = clean(bt, block.get("settings") or {}, page.seller_id, prefix=f"blocks.{i}.settings")
        except DesignError as exc:
            message = _("Block %(n)s (%(type)s): %(problem)s", n=i + 1, type=bt.label, problem=exc.message)
            raise DesignError(exc.field, message, status=exc.status) from None
        out.append({"id": block["id"], "type": bt.code, "settings": settings})
    return out


# --- Revisions -------------------------------------------------------------------------


def _new_revision(page: DesignPage, blocks: list, user, note: str, **extra: Any) -> DesignRevision:
    # one revision at a time per page: the page row is locked (PostgreSQL;
    # SQLite's writers are serialised anyway) before the next number is read,
    # and the unique (page, number) backs it up
    db.session.execute(select(DesignPage.id).where(DesignPage.id == page.id).with_for_update())
    number = (
        db.session.scalar(select(func.max(DesignRevision.number)).where(DesignRevision.page_id == page.id)) or 0
    ) + 1
    rev = DesignRevision(
        page_id=page.id,
        number=number,
        title=page.title,
        blocks=blocks,
        note=note,
        created_by_id=getattr(user, "id", None),
        **extra,
    )
    db.session.add(rev)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise DesignError(
            "version", _("Someone else published this page; reload it and try again."), code="conflict"
        ) from None
    return rev


def _go_live(page: DesignPage, rev: DesignRevision) -> None:
    rev.published_at = utcnow()
    page.published_revision_id = rev.id
    _pages_changed()


def _commit_revision() -> None:
    try:
        commit()
    except IntegrityError:  # two publishes at once took the same number
        db.session.rollback()
        raise DesignError(
            "version", _("Someone else published this page; reload it and try again."), code="conflict"
        ) from None


def publish(page: DesignPage, user) -> DesignRevision:
    """The draft, validated, becomes a new live revision."""
    rev = _new_revision(page, _checked_layout(page), user, "publish")
    _go_live(page, rev)
    _commit_revision()
    return rev


def schedule(page: DesignPage, at: datetime, user) -> DesignRevision:
    """The draft, validated, goes live at ``at`` (UTC); replaces an earlier schedule."""
    if at <= utcnow():
        raise DesignError("at", _("Pick a moment in the future."))
    rev = _new_revision(page, _checked_layout(page), user, "schedule", publish_at=at)
    page.scheduled_revision_id = rev.id
    page.scheduled_at = at
    _pages_changed()
    _commit_revision()
    return rev


def cancel_schedule(page: DesignPage) -> None:
    db.session.execute(
        update(DesignPage)
        .where(DesignPage.id == page.id)
        .values(scheduled_revision_id=None, scheduled_at=None)
        .execution_options(synchronize_session=False)
    )
    _pages_changed()
    commit()
    db.session.refresh(page)


def rollback(page: DesignPage, revision_id: int, user) -> DesignRevision:
    """Publish a copy of an earlier revision as a NEW revision (the number
    moves on, so caches and ETags change); the draft is left as it is."""
    old = db.session.get(DesignRevision, revision_id)
    if old is None or old.page_id != page.id:
        raise DesignError("revision", _("No such version of this page."), status=404)
    rev = _new_revision(page, list(old.blocks or []), user, "rollback", source_number=old.number)
    _go_live(page, rev)
    _commit_revision()
    return rev


def history(page: DesignPage, limit: int = 50) -> list[DesignRevision]:
    stmt = select(DesignRevision).where(DesignRevision.page_id == page.id).order_by(DesignRevision.id.desc())
    return list(db.session.scalars(stmt.limit(limit)))


def publish_scheduled() -> str:
    """The ``designer_publish_scheduled`` job: each due schedule goes live
    exactly once (a conditional UPDATE on the page's pointer)."""
    now = utcnow()
    due = db.session.execute(
        select(DesignPage.id, DesignPage.scheduled_revision_id).where(
            DesignPage.scheduled_at.is_not(None), DesignPage.scheduled_at <= now
        )
    ).all()
    done = 0
    for page_id, rev_id in due:
        result = db.session.execute(
            update(DesignPage)
            .where(DesignPage.id == page_id, DesignPage.scheduled_revision_id == rev_id)
            .values(published_revision_id=rev_id, scheduled_revision_id=None, scheduled_at=None)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            db.session.execute(
                update(DesignRevision)
                .where(DesignRevision.id == rev_id, DesignRevision.published_at.is_(None))
                .values(published_at=now)
                .execution_options(synchronize_session=False)
            )
            _pages_changed()
            done += 1
        commit()
    return f"{done} scheduled pages published"


# --- Reading ---------------------------------------------------------------------------

_LAYOUTS: OrderedDict[tuple, tuple[int, str, list]] = OrderedDict()
_LAYOUTS_LOCK = threading.Lock()
_LAYOUTS_SIZE = 256


_POINTERS = None


def _pointers_statement():
    """The page's pointers by slug, built once (a statement's construction
    cost more than its execution): not the draft, so a page's read never
    loads what the editor is doing."""
    global _POINTERS
    if _POINTERS is None:
        _POINTERS = select(
            DesignPage.id,
            DesignPage.seller_id,
            DesignPage.slug,
            DesignPage.kind,
            DesignPage.published_revision_id,
            DesignPage.scheduled_revision_id,
            DesignPage.scheduled_at,
            DesignPage.updated_at,
        ).where(DesignPage.slug == bindparam("slug"))
    return _POINTERS


def pointers(slug: str):
    """The row of page ``slug``'s pointers (None: no such page), kept with
    the request's settings (module docstring): a statement only the first
    time per settings version (:func:`jishi.settings.kept`). Kept only
    when :func:`jishi.settings.reads_current` says the read sees every
    commit the settings' copy saw (on SQLite a transaction opened before
    that copy was taken may read an older snapshot)."""
    from jishi import settings

    fresh = settings.reads_current()  # asked before the read
    kept = settings.kept(_KEPT, _KEPT_LIMIT)  # outside a request: a new store every call
    found = kept.get(slug, _MISSING)
    if found is not _MISSING:
        return found
    found = db.session.execute(_pointers_statement(), {"slug": slug}).first()
    if fresh:
        kept.put(slug, found)
    return found


def live(slug: str) -> tuple[Any, int, str, list] | None:
    """The page ``slug`` and its live layout ``(page, number, title, blocks)``:
    the scheduled revision once its moment has passed, else the published
    one; None when nothing is published. ``page`` is a row of the page's
    pointers (``id``, ``seller_id``, ``slug``, ``kind``, the revision ids,
    ``scheduled_at``, ``updated_at``). At most one statement (none while
    the pointers are kept: :func:`pointers`), and a second only the first
    time a revision is read in this process."""
    page = pointers(slug)
    if page is None:
        return None
    rev_id = page.published_revision_id
    if page.scheduled_revision_id and page.scheduled_at and page.scheduled_at <= utcnow():
        rev_id = page.scheduled_revision_id
    if rev_id is None:
        return None
    # keyed by the revision AND the page's last change, so that a database
    # restored or emptied (ids used again) never serves another layout
    key = (rev_id, page.id, page.updated_at)
    with _LAYOUTS_LOCK:
        cached = _LAYOUTS.get(key)
        if cached is not None:
            _LAYOUTS.move_to_end(key)
    if cached is None:
        rev = db.session.get(DesignRevision, rev_id)
        if rev is None:
            return None
        cached = (rev.number, rev.title, list(rev.blocks or []))
        with _LAYOUTS_LOCK:
            _LAYOUTS[key] = cached
            while len(_LAYOUTS) > _LAYOUTS_SIZE:
                _LAYOUTS.popitem(last=False)
    return page, *cached


def shop_owner(page: DesignPage) -> dict | None:
    """A shop page's merchant as buyers see it (``seller_profiles``), or
    None when it is unknown or shut (deleted, closed for good): its page is
    then not shown. Platform pages: None."""
    if page.kind != KIND_SHOP or page.seller_id is None:
        return None
    from jishi.catalog.service import seller_profiles

    profile = seller_profiles([page.seller_id]).get(page.seller_id)
    if profile is None or profile.status == "shut":
        return None
    return {
        "id": profile.id,
        "name": profile.name,
        "url": profile.url,
        "logo": profile.logo,
        "status": profile.status,
        "status_label": profile.status_label,
        "can_sell": profile.can_sell,
    }


def document(blocks: list, context: BlockContext) -> list[dict]:
    """The layout's blocks with their data resolved: each block type's
    ``resolve`` called once with all its blocks. A block whose type is not
    enabled (or not usable on the page) is left out, or in the editor kept
    with ``unavailable``."""
    from jishi_designer import links

    types = {code: bt for code, bt in render_types().items() if context.seller_id is None or bt.sellers}
    by_type: dict[str, list[PageBlock]] = {}
    for raw in blocks:
        if raw.get("type") in types:
            by_type.setdefault(raw["type"], []).append(PageBlock(raw["id"], raw["type"], raw.get("settings") or {}))
    data: dict[str, dict] = {}
    for code, group in by_type.items():
        resolve = types[code].resolve
        results = list(resolve(group, context)) if resolve else [{} for _b in group]
        for block, result in zip(group, results, strict=True):
            data[block.id] = dict(result or {})
    with_urls = None if context.editor else _kept_urls(blocks)
    if with_urls is None:
        found: list[dict] = []
        for raw in blocks:
            links.collect(raw.get("settings") or {}, found)
        href = links.resolver(found)
        with_urls = [_with_urls(raw.get("settings") or {}, href) for raw in blocks]
        if not context.editor and not any(ln["kind"] == "shop" for ln in found):
            _keep_urls(blocks, with_urls)
    out = []
    for raw, settings in zip(blocks, with_urls, strict=True):
        if raw.get("type") not in types:
            if context.editor:
                out.append({**raw, "data": {}, "unavailable": True})
            continue
        out.append({"id": raw["id"], "type": raw["type"], "settings": settings, "data": data.get(raw["id"], {})})
    return out


_KEPT_URLS = "jishi_designer.urls"  # settings.kept name: a live layout's settings with their links' urls


def _urls_key(blocks: list) -> tuple | None:
    from flask.globals import _cv_request

    req_ctx = _cv_request.get(None)
    if req_ctx is None or req_ctx.url_adapter is None:
        return None
    adapter = req_ctx.url_adapter
    return (id(blocks), adapter.server_name, adapter.script_name, adapter.subdomain, adapter.url_scheme)


def _kept_urls(blocks: list) -> list | None:
    """The blocks' settings with their links' ``url`` as resolved before
    for this very layout (the process's cached revision list: :func:`live`)
    and the address served under, or None. Kept only for layouts without
    shop links (a shop's address comes from its profile): a link to a
    product, category, page or activity is a function of its value and
    the routes. Read-only."""
    from jishi import settings

    key = _urls_key(blocks)
    found = settings.kept(_KEPT_URLS, 256).get(key) if key is not None else None
    if found is None or found[0] is not blocks:  # (the id of a list that is gone, used again)
        return None
    return found[1]


def _keep_urls(blocks: list, with_urls: list) -> None:
    from jishi import settings

    key = _urls_key(blocks)
    if key is not None:
        settings.kept(_KEPT_URLS, 256).put(key, (blocks, with_urls))


def _with_urls(value, href):
    """``settings`` with each link given its ``url``."""
    if isinstance(value, dict):
        if set(value) == {"kind", "value"} and isinstance(value.get("kind"), str):
            return {**value, "url": href(value)}
        return {k: _with_urls(v, href) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_urls(v, href) for v in value]
    return value


def etag(number: int, resolved: list[dict]) -> str:
    """The page's version tag: the revision number and a digest of the
    resolved document (prices and stock included), so a client re-downloads
    when either changed."""
    digest = hashlib.sha256(json.dumps(resolved, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"{number}-{digest}"


# --- Platform templates ------------------------------------------------------------------


def _template_categories(raw) -> list[str]:
    """Merchant categories a template is offered to: text (one per line or
    comma-separated) or a list; each 1–40 characters, at most 20; empty: all."""
    if raw is None:
        return []
    items = raw if isinstance(raw, list | tuple) else re.split(r"[,，\n]", str(raw))
    out: list[str] = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        if len(text) > 40:
            raise DesignError("categories", _("A merchant category is at most 40 characters."))
        if text not in out:
            out.append(text)
    if len(out) > 20:
        raise DesignError("categories", _("A template names at most 20 merchant categories."))
    return out


def _template_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise DesignError("name", _("Give the template a name of at most 60 characters."))
    return name


def save_template(page: DesignPage, name: str, user, categories=None) -> DesignTemplate:
    """The platform page's draft (validated in full, like a publish) saved as
    a template merchants may start from. Platform pages only. ``categories``:
    the merchant categories it is offered to (empty: every merchant)."""
    if page.seller_id is not None:
        raise DesignError("page", _("Only platform pages can be saved as templates."), status=403)
    name = _template_name(name)
    scope = _template_categories(categories)
    blocks = _checked_layout(page)
    tpl = DesignTemplate(name=name, blocks=blocks, categories=scope, created_by_id=getattr(user, "id", None))
    db.session.add(tpl)
    commit()
    return tpl


def update_template(tpl: DesignTemplate, name: str, categories=None, page: DesignPage | None = None) -> DesignTemplate:
    """Rename a template, set the merchant categories it is offered to and,
    with ``page`` (a platform page), replace its blocks with that page's
    draft, validated in full like a publish. All or nothing; copies merchants
    already made are their own and do not change."""
    name = _template_name(name)
    scope = _template_categories(categories)
    if page is not None:
        if page.seller_id is not None:
            raise DesignError("page", _("Only platform pages can be saved as templates."), status=403)
        tpl.blocks = _checked_layout(page)
    tpl.name, tpl.categories, tpl.updated_at = name, scope, utcnow()
    commit()
    return tpl


def delete_template(tpl: DesignTemplate) -> None:
    """Delete a template; merchants' copies already made stay as they are."""
    db.session.delete(tpl)
    commit()


def merchant_category(seller_id: int | None) -> str:
    """A merchant's category through the kernel's ``seller_profiles`` hook
    (multistore fills it; "" without a seller plugin or a category)."""
    if seller_id is None:
        return ""
    from jishi.catalog.service import seller_profiles

    profile = seller_profiles([seller_id]).get(seller_id)
    return getattr(profile, "category", "") or ""


def offered(tpl: DesignTemplate, category: str) -> bool:
    """Whether ``tpl`` is offered to a merchant of ``category`` (unscoped
    templates are offered to every merchant)."""
    return not tpl.categories or category in tpl.categories


def templates(seller_id: int | None = None, *, every: bool = False) -> list[DesignTemplate]:
    """Templates newest first: all of them (``every``, the platform's list),
    else those offered to merchant ``seller_id``'s category (one
    ``seller_profiles`` call and one statement)."""
    rows = list(db.session.scalars(select(DesignTemplate).order_by(DesignTemplate.id.desc())))
    if every:
        return rows
    category = merchant_category(seller_id)
    return [t for t in rows if offered(t, category)]


def apply_template(page: DesignPage, template_id: int, seen_version: int | None = None) -> list[str]:
    """Replace the draft of a merchant's shop page with a copy of template
    ``template_id`` made the merchant's own: block types a merchant may not
    use are left out; hand-picked products become a rule list of the
    merchant's own products, links that do not fit the merchant are dropped,
    and a block still invalid starts from its defaults. Returns the labels
    of the blocks left out. The published page is untouched until publish."""
    tpl = db.session.get(DesignTemplate, template_id)
    if tpl is None:
        raise DesignError("template", _("No such template."), status=404)
    if not offered(tpl, merchant_category(page.seller_id)):
        raise DesignError("template", _("This template is not offered to your shop's category."), status=403)
    types = {bt.code: bt for bt in palette(page.seller_id)}
    every = block_types()
    blocks, left_out = [], []
    for raw in tpl.blocks or []:
        bt = types.get(raw.get("type"))
        if bt is None:
            known = every.get(raw.get("type"))
            left_out.append(known.label if known else str(raw.get("type")))
            continue
        settings = dict(raw.get("settings") or {})
        blocks.append(
            {"id": secrets.token_hex(4), "type": bt.code, "settings": _own_copy(bt, settings, page.seller_id)}
        )
    _save_draft(page, blocks[:MAX_BLOCKS], seen_version)
    return left_out


def _own_copy(bt: BlockType, settings: dict, seller_id: int | None) -> dict:
    if settings.get("mode") == "hand":  # the platform's picks are other shops' products
        settings.update(mode="rule", products=[])
    settings.pop("seller", None)
    try:
        return clean(bt, settings, seller_id)
    except DesignError:
        pass
    settings = _without_links(settings)
    try:
        return clean(bt, settings, seller_id)
    except DesignError:
        return defaults(bt)


def _without_links(value):
    if isinstance(value, dict):
        if set(value) == {"kind", "value"}:
            return None
        return {k: _without_links(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_links(v) for v in value]
    return value
