"""Small endpoints: the API's liveness answer; the shop's name, logo and
icon (``GET /site``) for a mini-program's header."""

from __future__ import annotations

from marshmallow import Schema, fields

from jishi.api.common import Blueprint

blp = Blueprint("misc", __name__, url_prefix="/api/v1", description="Health; the shop")


class PingSchema(Schema):
    ok = fields.Boolean(required=True, metadata={"description": "always true: the process answers"})


@blp.get("/ping")
@blp.response(200, PingSchema)
def ping():
    """Liveness: 200 while the process serves requests; it touches no
    database (the benchmarks' baseline). Readiness (the database, Redis)
    is ``GET /readyz``, outside the API (docs/operations.md#health)."""
    return {"ok": True}


class SiteSchema(Schema):
    name = fields.String(required=True, metadata={"description": "the shop's name (setting shop.name)"})
    logo = fields.String(required=True, metadata={"description": "the logo's image address; empty: none (shop.logo)"})
    icon = fields.String(
        required=True, metadata={"description": "a square icon's address: shop.icon, else Jishi's (never empty)"}
    )
    notice = fields.String(required=True, metadata={"description": "the home page's notice; empty: none"})
    hot_searches = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "the search page's suggested words, in order (search.hot_words; at most 10)"},
    )


@blp.get("/site")
@blp.response(200, SiteSchema)
def site():
    """The shop's name, logo, icon, home-page notice and hot searches
    (public), as the storefront shows them: for a mini-program's header,
    its share cards, its search page and its about page. Addresses are the site's (``/media/...``)
    unless the platform typed another site's."""
    from flask import url_for

    from jishi import settings
    from jishi.catalog.service import hot_searches

    return {
        "name": settings.get("shop.name") or "",
        "logo": settings.get("shop.logo") or "",
        "icon": settings.get("shop.icon") or url_for("static", filename="jishi/apple-touch-icon.png"),
        "notice": settings.get("shop.notice") or "",
        "hot_searches": hot_searches(),
    }
