"""Issue 13 B: the media library. Uploads are checked by their content (not
their name), re-encoded to the standard sizes without metadata, stored
content-addressed and served with long cache headers; a seller uses only its
own media (products, shop logos: 422 naming the field otherwise)."""

from __future__ import annotations

import io

import pytest
from jishi import media
from jishi.db import db
from jishi.media.models import MediaAsset
from PIL import Image

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _upload(api, user, data: bytes, name: str = "photo.jpg"):
    return api.post(
        "/seller/media", user=user, data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
    )


def _stored_files(app) -> list:
    from pathlib import Path

    root = Path(app.instance_path) / "media"
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_upload_reencodes_to_standard_sizes(app, api, factory):
    """B: a PNG becomes thumb/medium/large WebP files (never enlarged),
    content-addressed, listed in the owner's library."""
    admin = factory.admin()
    data = factory.image_bytes("PNG", size=(1600, 800))
    resp = _upload(api, admin, data, "big.png")
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["source_format"] == "PNG" and (body["width"], body["height"]) == (1600, 800)
    assert body["ref"] == f"media:{body['id']}"
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    assert body["urls"] == {
        "thumb": f"/media/{digest}-200.webp",
        "medium": f"/media/{digest}-600.webp",
        "large": f"/media/{digest}-1200.webp",
    }
    for label, longest in (("thumb", 200), ("medium", 600), ("large", 1200)):
        got = api.client.get(body["urls"][label])
        im = Image.open(io.BytesIO(got.data))
        assert im.format == "WEBP" and max(im.size) == longest and im.size[0] == 2 * im.size[1]
    # a small image is not enlarged
    small = _upload(api, admin, factory.image_bytes("GIF", size=(50, 40))).json
    assert Image.open(io.BytesIO(api.client.get(small["urls"]["large"]).data)).size == (50, 40)
    listed = api.get("/seller/media", user=admin).json["items"]
    assert [i["id"] for i in listed] == [small["id"], body["id"]]


def test_same_bytes_twice_is_one_asset(app, api, factory):
    """B: content-addressed: uploading the same bytes again answers the same item."""
    admin = factory.admin()
    data = factory.image_bytes("JPEG")
    first, second = _upload(api, admin, data).json, _upload(api, admin, data, "again.jpg").json
    assert first["id"] == second["id"]
    assert db.session.query(MediaAsset).count() == 1


def test_exif_orientation_applied_and_metadata_stripped(app, api, factory):
    """B: a JPEG whose EXIF says "rotate 90°" comes out upright, with no EXIF
    (camera, GPS) left in any size."""
    admin = factory.admin()
    data = factory.image_bytes("JPEG", size=(80, 40), orientation=6)  # 6: rotate 90° clockwise to view
    assert Image.open(io.BytesIO(data)).getexif()[0x010F] == "JishiCam"
    body = _upload(api, admin, data).json
    assert (body["width"], body["height"]) == (40, 80)
    for url in body["urls"].values():
        raw = api.client.get(url).data
        im = Image.open(io.BytesIO(raw))
        assert im.size == (40, 80)
        assert not im.getexif() and "exif" not in im.info and "icc_profile" not in im.info
        assert b"JishiCam" not in raw
        # the white quarter moved from top-left to top-right
        assert im.convert("RGB").getpixel((35, 5))[1] > 200 and im.convert("RGB").getpixel((5, 5))[1] < 100


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("pdf named .jpg", 422, "not_image"),
        ("text", 422, "not_image"),
        ("truncated png", 422, "broken"),
        ("too big", 413, "too_large"),
        ("too many pixels", 422, "too_many_pixels"),
        ("bmp", 422, "not_image"),
        ("empty", 422, "empty"),
    ],
)
def test_bad_files_are_refused_naming_the_field(app, api, factory, case, status, code):
    """B: the content decides (a PDF named photo.jpg is refused); too big,
    too many pixels (a decompression bomb's header), truncated: 4xx naming
    ``file``, nothing stored (no row, no file)."""
    admin = factory.admin()
    png = factory.image_bytes("PNG", size=(300, 300))
    bmp = io.BytesIO()
    Image.new("RGB", (10, 10)).save(bmp, "BMP")
    data = {
        "pdf named .jpg": PDF,
        "text": b"hello, not an image",
        "truncated png": png[: len(png) // 2],
        "too big": png,
        "too many pixels": factory.image_bytes("PNG", size=(3000, 3000), color=(0, 0, 0)),
        "bmp": bmp.getvalue(),
        "empty": b"",
    }[case]
    before = _stored_files(app)
    app.config.update(JISHI_MEDIA_MAX_BYTES=100 if case == "too big" else 10 * 1024 * 1024)
    app.config.update(JISHI_MEDIA_MAX_PIXELS=1_000_000)
    try:
        resp = _upload(api, admin, data, "photo.jpg")
    finally:
        app.config.update(JISHI_MEDIA_MAX_BYTES=10 * 1024 * 1024, JISHI_MEDIA_MAX_PIXELS=40_000_000)
    assert resp.status_code == status, resp.json
    assert resp.json["field"] == "file" and resp.json["code"] == code
    assert db.session.query(MediaAsset).count() == 0
    assert _stored_files(app) == before


def test_missing_file_is_a_422(app, api, factory):
    """B: no file part: 422 naming ``file``."""
    resp = api.post("/seller/media", user=factory.admin(), data={}, content_type="multipart/form-data")
    assert resp.status_code == 422 and resp.json["field"] == "file"


def test_served_with_long_cache_and_etag(app, api, factory):
    """B: /media/<name>: year-long immutable Cache-Control, an ETag, 304 on
    If-None-Match; unknown or malformed names 404."""
    body = _upload(api, factory.admin(), factory.image_bytes("PNG")).json
    resp = api.client.get(body["urls"]["medium"])
    assert resp.status_code == 200 and resp.mimetype == "image/webp"
    assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    etag = resp.headers["ETag"]
    again = api.client.get(body["urls"]["medium"], headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.data
    assert api.client.get("/media/" + "0" * 64 + "-600.webp").status_code == 404
    assert api.client.get("/media/..%2Fjishi.cfg").status_code == 404
    assert api.client.get("/media/secret_key").status_code == 404


def test_the_api_is_in_the_openapi_document(client):
    """B: upload (multipart) and list are documented."""
    doc = client.get("/api/v1/openapi.json").json
    ops = doc["paths"]["/api/v1/seller/media"]
    assert "multipart/form-data" in ops["post"]["requestBody"]["content"]
    assert {"201", "413", "422", "401", "403"} <= set(ops["post"]["responses"])
    assert "200" in ops["get"]["responses"]


# --- scoping: a seller uses only its own media ---------------------------------------


@pytest.mark.jishi_plugins("multistore")
def test_merchant_lists_only_its_own_media(app, api, factory, ms):
    """B: each library holds its owner's media only (the platform's, M1's, M2's)."""
    m1, m2 = ms.merchant("一号店"), ms.merchant("二号店")
    a1, a2, platform = ms.admin_of(m1), ms.admin_of(m2), factory.admin()
    ids = {}
    for who, color in ((a1, (1, 2, 3)), (a2, (4, 5, 6)), (platform, (7, 8, 9))):
        ids[who.id] = _upload(api, who, factory.image_bytes("PNG", color=color)).json["id"]
    for who in (a1, a2, platform):
        assert [i["id"] for i in api.get("/seller/media", user=who).json["items"]] == [ids[who.id]]
    # the same picture uploaded by two owners: one set of files, two rows
    same = factory.image_bytes("PNG", color=(9, 9, 9))
    u1, u2 = _upload(api, a1, same).json, _upload(api, a2, same).json
    assert u1["id"] != u2["id"] and u1["urls"] == u2["urls"]


@pytest.mark.jishi_plugins("multistore")
def test_product_refuses_another_owners_media(app, api, factory, ms):
    """B: a merchant's product may show its own media (by address or
    ``media:<id>``), never another owner's: 422 naming ``images.<i>``;
    other sites' addresses pass."""
    m1, m2 = ms.merchant("一号店"), ms.merchant("二号店")
    a1, a2 = ms.admin_of(m1), ms.admin_of(m2)
    own = _upload(api, a1, factory.image_bytes("PNG", color=(10, 20, 30))).json
    other = _upload(api, a2, factory.image_bytes("PNG", color=(30, 20, 10))).json
    platform_media = _upload(api, factory.admin(), factory.image_bytes("PNG", color=(1, 1, 1))).json
    product = ms.product(m1)
    from jishi.catalog import service

    saved = service.save_product({"images": ["https://cdn.example.com/a.jpg", f"media:{own['id']}"]}, product)
    assert [i.url for i in saved.images] == ["https://cdn.example.com/a.jpg", own["urls"]["large"]]
    assert saved.image == "https://cdn.example.com/a.jpg"
    for bad in (
        other["urls"]["large"],
        other["urls"]["thumb"],
        f"media:{other['id']}",
        platform_media["urls"]["large"],
    ):
        with pytest.raises(service.CatalogError) as err:
            service.save_product({"images": [own["urls"]["large"], bad]}, product)
        assert err.value.field == "images.1" and err.value.status == 422, bad
    with pytest.raises(service.CatalogError) as err:
        service.save_product({"images": ["media:999999"]}, product)
    assert err.value.field == "images.0"
    # the merchant API answers 422 naming the field
    resp = api.patch(f"/merchant/products/{product.id}", user=a1, json={"images": [other["urls"]["large"]]})
    assert resp.status_code == 422 and resp.json["field"] == "images.0", resp.json
    db.session.expire_all()
    assert [i.url for i in db.session.get(type(product), product.id).images] == [
        "https://cdn.example.com/a.jpg",
        own["urls"]["large"],
    ]


@pytest.mark.jishi_plugins("multistore")
def test_shop_logo_refuses_another_owners_media(app, api, factory, ms):
    """B: a shop's logo and images: its own media only (422 naming ``logo``)."""
    from jishi_multistore import merchants

    m1, m2 = ms.merchant("一号店"), ms.merchant("二号店")
    own = _upload(api, ms.admin_of(m1), factory.image_bytes("PNG", color=(3, 3, 3))).json
    other = _upload(api, ms.admin_of(m2), factory.image_bytes("PNG", color=(4, 4, 4))).json
    merchants.update_profile(m1, {"logo": own["urls"]["large"], "images": [f"media:{own['id']}"]})
    assert (m1.logo, m1.images) == (own["urls"]["large"], [own["urls"]["large"]])
    with pytest.raises(media.MediaError) as err:
        merchants.update_profile(m1, {"logo": other["urls"]["thumb"]})
    assert err.value.field == "logo" and err.value.status == 422


def test_platform_console_library_page_upload_and_delete(app, client, factory, login):
    """B: the console's media library page: upload by form, list, remove
    (soft delete: the files stay for products already showing them); a bad
    file answers the page with the error naming the field."""
    admin = factory.admin()
    login(admin)
    page = client.get("/seller/media")
    assert page.status_code == 200 and "media-upload" in page.text
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    resp = client.post(
        "/seller/media",
        data={"csrf_token": token, "file": (io.BytesIO(factory.image_bytes("JPEG")), "p.jpg")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    asset = db.session.query(MediaAsset).one()
    listing = client.get("/seller/media").text
    assert media.asset_url(asset, "large") in listing and "p.jpg" in listing
    bad = client.post(
        "/seller/media",
        data={"csrf_token": token, "file": (io.BytesIO(PDF), "p.jpg")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and 'data-field="file"' in bad.text
    assert client.post(f"/seller/media/{asset.id}/delete", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(MediaAsset, asset.id).deleted_at is not None
    assert media.asset_url(asset, "large") not in client.get("/seller/media").text
    assert client.get(media.asset_url(asset, "large")).status_code == 200


def test_product_form_has_a_picker(app, client, factory, login):
    """B: the product form's images field is a picker (and still a textarea)."""
    login(factory.admin())
    page = client.get("/console/products/new").text
    assert 'data-media-picker="multi"' in page and "/api/v1/seller/media" in page and "media-picker.js" in page


@pytest.mark.jishi_plugins("multistore")
def test_category_image_is_the_platforms_media(app, api, client, factory, ms, login):
    """B: a category's image (console form with a picker, admin API): the
    platform's media (``media:<id>`` resolved) or another site's address; a
    merchant's media is refused with 422 naming ``image``; the storefront's
    category page shows it."""
    admin = factory.admin()
    mine = _upload(api, admin, factory.image_bytes("PNG", color=(5, 50, 5))).json
    theirs = _upload(api, ms.admin_of(ms.merchant("一号店")), factory.image_bytes("PNG", color=(50, 5, 5))).json
    resp = api.post("/admin/categories", user=admin, json={"name": "水果", "image": f"media:{mine['id']}"})
    assert resp.status_code == 201, resp.json
    cat_id = resp.json["id"]
    tree = api.get("/categories").json["items"]
    assert tree[0]["image"] == mine["urls"]["large"]
    bad = api.patch(f"/admin/categories/{cat_id}", user=admin, json={"image": theirs["urls"]["medium"]})
    assert bad.status_code == 422 and bad.json["field"] == "image", bad.json
    ok = api.patch(f"/admin/categories/{cat_id}", user=admin, json={"image": "https://img.example.com/a.png"})
    assert ok.status_code == 200
    login(admin)
    page = client.get("/console/categories").text
    assert 'name="image"' in page and 'data-media-picker="single"' in page
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/console/categories",
        data={"csrf_token": token, "id": cat_id, "name": "水果", "sort": "0", "image": mine["urls"]["large"]},
    )
    assert mine["urls"]["large"] in client.get("/categories").text
