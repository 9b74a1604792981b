"""Block settings: validated against their type's :class:`BlockField`
schema before anything is saved, and read from the editor's form.

:func:`clean` answers a :class:`DesignError` (422) naming the field
(``settings.slides.1.image``), so the editor and the API say exactly what is
wrong; nothing is half-saved. Links (:func:`clean_link`) are checked to
point at something that exists (and, on a merchant's shop page, is the
merchant's own); rich text goes through ``nh3`` (an allow-list sanitizer).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import nh3
from jishi import media
from jishi.catalog.models import Category, Product
from jishi.db import db
from jishi.errors import DomainError
from jishi.hookspecs import BlockField, BlockType
from jishi.i18n import gettext as _
from sqlalchemy import select

LINK_KINDS = ("product", "category", "shop", "page", "activity", "url")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
RICH_TAGS = {"p", "br", "strong", "b", "em", "i", "u", "h3", "h4", "ul", "ol", "li", "blockquote", "a", "img", "span"}
RICH_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}}


class DesignError(DomainError):
    """Bad page or block input (422) or a conflicting edit (409), naming the field."""


def sanitize(html: str) -> str:
    """Rich text as safe HTML: a small allow-list of tags and attributes,
    links and images by http(s) or a path only, ``rel=noopener`` on links."""
    return nh3.clean(
        html or "",
        tags=RICH_TAGS,
        attributes=RICH_ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer",
    )


def defaults(block_type: BlockType) -> dict:
    """A new block's settings: each field's default."""
    out: dict[str, Any] = {}
    for f in block_type.fields:
        if f.default is not None:
            out[f.key] = f.default
        elif f.kind in ("ids", "items"):
            out[f.key] = []
        elif f.kind == "bool":
            out[f.key] = False
    return out


def clean(block_type: BlockType, raw: Mapping[str, Any], seller_id: int | None, prefix: str = "settings") -> dict:
    """``raw`` validated against ``block_type.fields`` for a page of
    ``seller_id``; unknown keys are dropped. Raises :class:`DesignError`."""
    if not isinstance(raw, Mapping):
        raise DesignError(prefix, _("Settings must be an object."))
    checker = _Checker(seller_id)
    out = _clean_fields(block_type.fields, raw, f"{prefix}.", checker)
    checker.verify()
    return out


def _clean_fields(fields: Sequence[BlockField], raw: Mapping[str, Any], prefix: str, checker: _Checker) -> dict:
    out: dict[str, Any] = {}
    for f in fields:
        name = prefix + f.key
        value = _clean_value(f, raw.get(f.key), name, checker)
        if f.required and value in (None, "", [], {}):
            raise DesignError(name, _("%(field)s is required.", field=f.label))
        if value is not None:
            out[f.key] = value
    return out


def _clean_value(f: BlockField, value: Any, name: str, checker: _Checker) -> Any:
    kind = f.kind
    if kind in ("text", "textarea", "richtext", "color", "image", "choice"):
        if value is None:
            return None
        if not isinstance(value, str | int):
            raise DesignError(name, _("%(field)s must be text.", field=f.label))
        text = str(value).strip()
        limit = f.max_length if kind == "text" else 20000
        if len(text) > limit:
            raise DesignError(name, _("%(field)s is longer than %(n)s characters.", field=f.label, n=limit))
        if kind == "richtext":
            return sanitize(text)
        if kind == "color" and text and not COLOR.match(text):
            raise DesignError(name, _("%(field)s must be a colour like #ff6600.", field=f.label))
        if kind == "choice" and text and text not in {c for c, _l in f.choices}:
            raise DesignError(name, _("%(field)s: unknown choice.", field=f.label))
        if kind == "choice" and not text and f.default is not None:
            return f.default
        if kind == "image" and text:
            checker.image(text, name)
        return text
    if kind == "int":
        if value in (None, ""):
            return f.default
        if isinstance(value, bool) or not (
            isinstance(value, int)
            or (isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) <= 18)
        ):
            raise DesignError(name, _("%(field)s must be a whole number.", field=f.label))
        number = int(value)
        if (f.min is not None and number < f.min) or (f.max is not None and number > f.max):
            raise DesignError(
                name, _("%(field)s must be between %(lo)s and %(hi)s.", field=f.label, lo=f.min, hi=f.max)
            )
        return number
    if kind == "bool":
        return value in (True, "1", "on", "true", 1)
    if kind == "ids":
        if value in (None, ""):
            return []
        if isinstance(value, str):
            value = [v.strip() for v in value.replace("，", ",").split(",") if v.strip()]
        if not isinstance(value, list):
            raise DesignError(name, _("%(field)s must be a list of ids.", field=f.label))
        ids = []
        for v in value:
            if isinstance(v, bool) or not str(v).isdecimal() or len(str(v)) > 9 or int(v) < 1:
                raise DesignError(name, _("%(field)s must be a list of ids.", field=f.label))
            if int(v) not in ids:
                ids.append(int(v))
        if len(ids) > f.max_items:
            raise DesignError(name, _("%(field)s holds at most %(n)s items.", field=f.label, n=f.max_items))
        return ids
    if kind == "link":
        return clean_link(value, name, checker)
    if kind == "items":
        if value in (None, ""):
            return []
        if not isinstance(value, list):
            raise DesignError(name, _("%(field)s must be a list.", field=f.label))
        if len(value) > f.max_items:
            raise DesignError(name, _("%(field)s holds at most %(n)s items.", field=f.label, n=f.max_items))
        rows = []
        for i, row in enumerate(value):
            if not isinstance(row, Mapping):
                raise DesignError(f"{name}.{i}", _("%(field)s must be a list.", field=f.label))
            rows.append(_clean_fields(f.fields, row, f"{name}.{i}.", checker))
        return rows
    raise DesignError(name, _("Unknown field kind."))  # a block type's own mistake


def clean_link(value: Any, name: str, checker: _Checker | None = None) -> dict | None:
    """A link ``{"kind": ..., "value": ...}`` (None: no link). ``url`` must be
    http(s) or a path of this site; the others must exist (checked together
    with the rest of the block, one statement per kind)."""
    if value in (None, "", {}):
        return None
    if not isinstance(value, Mapping):
        raise DesignError(name, _("A link must be an object with a kind and a value."))
    kind = str(value.get("kind") or "").strip()
    target = str(value.get("value") or "").strip()
    if not kind and not target:
        return None
    if kind not in LINK_KINDS:
        raise DesignError(f"{name}.kind", _("Unknown link kind."))
    if not target:
        raise DesignError(f"{name}.value", _("Say where the link goes."))
    if kind == "url":
        if len(target) > 300 or not (
            target.startswith(("https://", "http://")) or (target.startswith("/") and not target.startswith("//"))
        ):
            raise DesignError(f"{name}.value", _("A web address starts with https://, http:// or /."))
        return {"kind": kind, "value": target}
    if kind in ("product", "category", "shop"):
        if not target.isdecimal() or len(target) > 9:
            raise DesignError(f"{name}.value", _("Give the id of what the link opens."))
    elif kind == "page":
        if not SLUG.match(target):
            raise DesignError(f"{name}.value", _("Unknown page."))
    if checker is not None:
        checker.link(kind, target, f"{name}.value")
    return {"kind": kind, "value": target}


SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")


class _Checker:
    """Collects what a block refers to and checks it all at the end, a
    statement per kind (not per reference)."""

    def __init__(self, seller_id: int | None):
        self.seller_id = seller_id
        self.refs: dict[str, dict[str, str]] = {}
        self.images: list[tuple[str, str]] = []

    def link(self, kind: str, value: str, name: str) -> None:
        self.refs.setdefault(kind, {}).setdefault(value, name)

    def image(self, value: str, name: str) -> None:
        self.images.append((value, name))

    def verify(self) -> None:
        for value, name in self.images:
            media.resolve_urls([value], seller_id=self.seller_id, field=name)
        for kind, wanted in self.refs.items():
            found = self._existing(kind, set(wanted))
            for value, name in wanted.items():
                if value not in found:
                    raise DesignError(name, _("The link points at something that does not exist."))

    def _existing(self, kind: str, values: set[str]) -> set[str]:
        if kind == "product":
            stmt = select(Product.id).where(Product.id.in_([int(v) for v in values]))
            if self.seller_id is not None:
                stmt = stmt.where(Product.seller_id == self.seller_id)
            return {str(i) for i in db.session.scalars(stmt)}
        if kind == "category":
            return {
                str(i) for i in db.session.scalars(select(Category.id).where(Category.id.in_([int(v) for v in values])))
            }
        if kind == "shop":
            from jishi.catalog.service import seller_profiles

            return {str(i) for i in seller_profiles([int(v) for v in values])}
        if kind == "page":
            from jishi_designer.models import DesignPage

            stmt = select(DesignPage.slug).where(DesignPage.slug.in_(values))
            return set(db.session.scalars(stmt))
        if kind == "activity":
            from jishi_designer.links import activity_endpoints

            return values & set(activity_endpoints())
        return set()
