"""Pages of the media library (blueprint "media"): the seller's library
(platform console or merchant console, from the signed-in principal's seller
scope: upload, list, delete) and the serving of locally stored files at
``/media/<name>`` with a year-long Cache-Control and an ETag."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from jishi import media
from jishi.db import rollback
from jishi.i18n import gettext as _
from jishi.media.storage import CACHE_CONTROL, NAME, LocalStorage, content_type, storage
from jishi.sellers import current_scope, seller_page

bp = Blueprint("media", __name__)


def _owner() -> media.Owner:
    scope = current_scope("console")
    assert scope is not None  # seller_page made sure
    return media.owner_of(scope.seller_id)


def _library(error=None, status: int = 200):
    scope = current_scope("console")
    before = request.args.get("before", type=int)
    assets = media.library(_owner(), limit=60, before_id=before)
    return render_template(
        "media/library.html",
        scope=scope,
        assets=assets,
        urls={a.id: media.asset_urls(a) for a in assets},
        error=error,
        max_kb=current_app.config["JISHI_MEDIA_MAX_BYTES"] // 1024,
        more=len(assets) == 60,
    ), status


@bp.get("/seller/media", endpoint="library")
@seller_page("products")
def library():
    return _library()


@bp.post("/seller/media", endpoint="upload")
@seller_page("products")
def upload():
    try:
        asset = media.upload(request.files.get("file"), _owner(), user_id=current_user.id, field="file")
    except media.MediaError as exc:
        rollback()
        return _library(error=exc, status=exc.status)
    flash(_("Image uploaded: %(name)s", name=asset.filename or asset.digest[:8]), "success")
    return redirect(url_for("media.library"))


@bp.post("/seller/media/<int:asset_id>/delete", endpoint="delete")
@seller_page("products")
def delete(asset_id: int):
    asset = media.owned(asset_id, _owner(), deleted=True)
    if asset is None:
        abort(404)
    media.delete(asset)
    flash(_("Image removed from the library. Products already showing it keep it."), "success")
    return redirect(url_for("media.library"))


@bp.get("/media/<name>", endpoint="file")
def serve(name: str):
    """A stored file (local storage), cacheable for a year: its name is its content."""
    if not NAME.match(name):
        abort(404)
    store = storage()
    if not isinstance(store, LocalStorage):
        return redirect(store.url(name), 301)
    data = store.load(name)
    if data is None:
        abort(404)
    resp = current_app.response_class(data, mimetype=content_type(name))
    resp.set_etag(name)
    resp.headers["Cache-Control"] = CACHE_CONTROL
    return resp.make_conditional(request)
