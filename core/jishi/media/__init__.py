"""The media library: images uploaded by the platform or a merchant,
re-encoded to standard sizes and stored through a :class:`Storage`.

Public API for plugins (see docs/writing-plugins.md §6):

- :class:`Owner`, :func:`owner_of` — whose library (from a seller id:
  ``None`` is the platform's own shop, any other id a merchant);
  :func:`buyer_owner` — a buyer's own uploads (a review's pictures, K11),
  private to the buyer: no library page lists them, and only that buyer
  may attach them to a review;
- :func:`upload` — store an upload (``bytes`` or a Werkzeug ``FileStorage``)
  for an owner; bad files raise :class:`MediaError` naming the field and
  store nothing;
- :func:`resolve_urls` — check (and resolve ``media:<id>``) the image
  addresses a seller's row refers to: another owner's media is a
  :class:`MediaError` (422) naming the field. Call it before saving any
  image field a seller fills in (a shop's logo, a banner...);
- :func:`asset_url` — the address of one size of an asset.

    from jishi import media

    logo = media.resolve_urls([form["logo"]], seller_id=merchant.id, field="logo")[0]
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from jishi.db import commit, db, rollback, utcnow
from jishi.errors import DomainError
from jishi.i18n import gettext as _
from jishi.media.images import EXTENSIONS, ImageRejected, decode
from jishi.media.models import MediaAsset
from jishi.media.storage import Storage, storage

__all__ = [
    "MediaAsset",
    "MediaError",
    "Owner",
    "Storage",
    "asset_url",
    "buyer_owner",
    "owner_of",
    "resolve_urls",
    "storage",
    "upload",
]

REF_PREFIX = "media:"
BUYER = "buyer"


class MediaError(DomainError):
    """A refused upload or media reference; ``field`` names the input."""


@dataclass(frozen=True)
class Owner:
    """A media library's owner: ``kind`` "platform" (``id`` 0), "merchant"
    (``id`` its seller id) or "buyer" (``id`` the user's id: a review's
    pictures)."""

    kind: str
    id: int

    @property
    def seller_id(self) -> int | None:
        if self.kind == BUYER:
            raise ValueError("a buyer's uploads belong to no seller")
        return None if self.kind == "platform" else self.id


def owner_of(seller_id: int | None) -> Owner:
    """The library of a seller (``None``: the platform's own shop)."""
    return Owner("platform", 0) if seller_id is None else Owner("merchant", int(seller_id))


def buyer_owner(user_id: int) -> Owner:
    """A buyer's uploads (the pictures of the buyer's reviews, K11)."""
    return Owner(BUYER, int(user_id))


def _sizes() -> dict[str, int]:
    return dict(current_app.config["JISHI_MEDIA_SIZES"])


def _read(source: Any, limit: int, field: str) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source), ""
    if source is None or not getattr(source, "filename", None):
        raise MediaError(field, _("Choose an image file to upload."), code="missing")
    data = source.stream.read(limit + 1)
    return data, str(source.filename)[-200:]


def upload(
    source: Any,
    owner: Owner,
    *,
    filename: str = "",
    user_id: int | None = None,
    field: str = "file",
    commit_now: bool = True,
):
    """Store an image for ``owner``: ``source`` is the file's bytes or a
    Werkzeug ``FileStorage``. Answers the :class:`MediaAsset` (the existing
    one when the owner uploaded the same bytes before; a deleted one comes
    back). Too big (413), not an image, truncated, too many pixels (422):
    :class:`MediaError` naming ``field``, nothing stored. Commits, unless
    ``commit_now`` is False: then the row is only flushed (in a savepoint)
    and the caller's transaction decides (a review posted with its
    pictures)."""
    cfg = current_app.config
    limit = int(cfg["JISHI_MEDIA_MAX_BYTES"])
    data, name = _read(source, limit, field)
    filename = (filename or name or "").strip()[-200:]
    if not data:
        raise MediaError(field, _("The file is empty."), code="empty")
    if len(data) > limit:
        raise MediaError(field, _("The file is larger than %(n)d KB.", n=limit // 1024), code="too_large", status=413)
    try:
        decoded = decode(
            data, sizes=_sizes(), fmt=cfg["JISHI_MEDIA_FORMAT"], max_pixels=int(cfg["JISHI_MEDIA_MAX_PIXELS"])
        )
    except ImageRejected as exc:
        messages = {
            "not_image": _("This file is not a JPEG, PNG, WebP or GIF image."),
            "unsupported": _("This file is not a JPEG, PNG, WebP or GIF image."),
            "too_many_pixels": _("The image has more than %(n)d pixels.", n=int(cfg["JISHI_MEDIA_MAX_PIXELS"])),
            "broken": _("The image is damaged or incomplete."),
        }
        raise MediaError(field, messages[exc.code], code=exc.code) from None
    digest = hashlib.sha256(data).hexdigest()
    ext = EXTENSIONS[cfg["JISHI_MEDIA_FORMAT"].upper()]
    store = storage()
    files = {}
    for r in decoded.renditions:
        stored = f"{digest}-{r.pixels}.{ext}"
        store.save(stored, r.data, "image/webp" if ext == "webp" else "image/jpeg")
        files[r.label] = stored
    existing = _by_digest(owner, digest)
    if existing is not None:
        existing.deleted_at = None
        existing.files = files
        if commit_now:
            commit()
        else:
            db.session.flush()
        return existing
    asset = MediaAsset(
        owner_kind=owner.kind,
        owner_id=owner.id,
        digest=digest,
        filename=filename,
        source_format=decoded.source_format,
        width=decoded.width,
        height=decoded.height,
        size_bytes=len(data),
        files=files,
        created_by=user_id,
    )
    if not commit_now:
        try:
            with db.session.begin_nested():
                db.session.add(asset)
        except IntegrityError:  # the same upload, at the same moment
            existing = _by_digest(owner, digest)
            if existing is None:
                raise
            return existing
        return asset
    db.session.add(asset)
    try:
        commit()
    except IntegrityError:  # the same upload, at the same moment
        rollback()
        existing = _by_digest(owner, digest)
        if existing is None:
            raise
        return existing
    return asset


def _by_digest(owner: Owner, digest: str) -> MediaAsset | None:
    return db.session.execute(
        select(MediaAsset).where(
            MediaAsset.owner_kind == owner.kind, MediaAsset.owner_id == owner.id, MediaAsset.digest == digest
        )
    ).scalar_one_or_none()


def library(owner: Owner, *, limit: int = 60, before_id: int | None = None) -> list[MediaAsset]:
    """The owner's media (not deleted), newest first; ``before_id`` pages on."""
    stmt = select(MediaAsset).where(
        MediaAsset.owner_kind == owner.kind, MediaAsset.owner_id == owner.id, MediaAsset.deleted_at.is_(None)
    )
    if before_id is not None:
        stmt = stmt.where(MediaAsset.id < before_id)
    return list(db.session.execute(stmt.order_by(MediaAsset.id.desc()).limit(limit)).scalars())


def owned(asset_id: int, owner: Owner, *, deleted: bool = False) -> MediaAsset | None:
    """The owner's asset ``asset_id`` (None: missing, another owner's, or
    deleted unless ``deleted``)."""
    asset = db.session.get(MediaAsset, asset_id)
    if asset is None or (asset.owner_kind, asset.owner_id) != (owner.kind, owner.id):
        return None
    if asset.deleted_at is not None and not deleted:
        return None
    return asset


def owned_many(asset_ids: list[int], owner: Owner) -> dict[int, MediaAsset]:
    """Those of ``asset_ids`` that are ``owner``'s (not deleted), by id, in
    one statement (none for no ids)."""
    if not asset_ids:
        return {}
    rows = db.session.execute(
        select(MediaAsset).where(
            MediaAsset.id.in_(set(asset_ids)),
            MediaAsset.owner_kind == owner.kind,
            MediaAsset.owner_id == owner.id,
            MediaAsset.deleted_at.is_(None),
        )
    ).scalars()
    return {a.id: a for a in rows}


def delete(asset: MediaAsset) -> None:
    """Take ``asset`` out of its library (a soft delete): rows already
    showing it keep their address, the files stay. Deleting it again
    changes nothing. Commits."""
    if asset.deleted_at is None:
        asset.deleted_at = utcnow()
    commit()


def asset_url(asset: MediaAsset, size: str = "large") -> str:
    """The address of ``size`` (thumb, medium, large...) of ``asset``."""
    files = asset.files or {}
    name = files.get(size) or next(iter(files.values()), None)
    return storage().url(name) if name else ""


def asset_urls(asset: MediaAsset) -> dict[str, str]:
    store = storage()
    return {label: store.url(name) for label, name in (asset.files or {}).items()}


def resolve_urls(values: list[str], seller_id: int | None, field: str) -> list[str]:
    """``values`` (image addresses) with each ``media:<id>`` replaced by that
    asset's large image; every value that is an address of the media library
    must be one of ``seller_id``'s own media (a deleted one still counts: rows
    keep pointing at it). Addresses elsewhere (another site) pass unchanged.
    Raises :class:`MediaError` naming ``field`` (``field.<i>`` in a list of
    several) for another owner's or an unknown media id or address. At most
    one query, none when no value is the library's."""
    owner = owner_of(seller_id)
    store = storage()
    wanted_ids: dict[int, int] = {}
    wanted_digests: dict[int, str] = {}
    for i, value in enumerate(values):
        text = (value or "").strip()
        if text.startswith(REF_PREFIX):
            ref = text[len(REF_PREFIX) :]
            if not ref.isdecimal() or len(ref) > 10:
                raise MediaError(_field(field, i, values), _("Unknown media."), code="unknown_media")
            wanted_ids[i] = int(ref)
            continue
        name = store.name_from_url(text)
        if name is not None:
            wanted_digests[i] = name.split("-", 1)[0]
    if not wanted_ids and not wanted_digests:
        return list(values)
    stmt = select(MediaAsset.id, MediaAsset.digest, MediaAsset.owner_kind, MediaAsset.owner_id, MediaAsset.files)
    conds = []
    if wanted_ids:
        conds.append(MediaAsset.id.in_(set(wanted_ids.values())))
    if wanted_digests:
        conds.append(MediaAsset.digest.in_(set(wanted_digests.values())))
    from sqlalchemy import or_

    rows = db.session.execute(stmt.where(or_(*conds))).all()
    mine = [r for r in rows if (r.owner_kind, r.owner_id) == (owner.kind, owner.id)]
    by_id = {r.id: r for r in mine}
    digests = {r.digest for r in mine}
    out = list(values)
    for i in sorted({**wanted_ids, **wanted_digests}):
        if i in wanted_ids:
            row = by_id.get(wanted_ids[i])
            if row is None:
                raise MediaError(_field(field, i, values), _("This media is not in your library."), code="not_yours")
            files = row.files or {}
            out[i] = store.url(files.get("large") or next(iter(files.values())))
        elif wanted_digests[i] not in digests:
            raise MediaError(_field(field, i, values), _("This media is not in your library."), code="not_yours")
    return out


def _field(field: str, i: int, values: list) -> str:
    return field if len(values) == 1 else f"{field}.{i}"
