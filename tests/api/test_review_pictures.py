"""K11 reviews with pictures (晒图): a buyer uploads pictures to the media
library (owner kind "buyer", private to the buyer), a review names up to
nine of the buyer's own uploads, in order; the review API, the web review
form (a multiple file input, no JS) and the product page show them, with a
"with pictures" (有图) filter and count; moderation and deletion hide them
with the review (K14 bad input, K15 ownership)."""

from __future__ import annotations

import io

import pytest
from flask import g
from jishi import media, settings
from jishi.db import db
from jishi.media.models import MediaAsset
from jishi.orders.models import OrderLine
from jishi.reviews.models import Review
from jishi.testing import flows
from jishi.testing.principals import sign_in_form
from sqlalchemy import func, select

from tests.api.review_helpers import pictures, received_lines, upload

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _set(**values):
    settings.set_many(values)
    db.session.commit()
    g.pop("jishi_settings", None)


def _assets() -> int:
    return db.session.scalar(select(func.count(MediaAsset.id))) or 0


def _review_of(line) -> Review | None:
    return db.session.scalars(select(Review).where(Review.order_line_id == line.id)).one_or_none()


def test_upload_answers_id_and_urls_private_to_the_buyer(api, client, factory):
    """K11: a signed-in buyer's upload answers its id and the standard sizes'
    addresses (served); the asset is the buyer's (owner kind "buyer"), in no
    seller's library; the same bytes again answer the same id."""
    buyer = factory.user()
    data = factory.image_bytes("JPEG", size=(900, 600))
    resp = upload(api, buyer, data)
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert set(body["urls"]) == {"thumb", "medium", "large"} and (body["width"], body["height"]) == (900, 600)
    assert client.get(body["urls"]["thumb"]).status_code == 200
    asset = db.session.get(MediaAsset, body["id"])
    assert (asset.owner_kind, asset.owner_id, asset.created_by) == ("buyer", buyer.id, buyer.id)
    assert upload(api, buyer, data).json["id"] == body["id"]
    assert api.get("/seller/media", user=factory.admin()).json["items"] == []
    with pytest.raises(ValueError):
        media.buyer_owner(buyer.id).seller_id  # noqa: B018 - a buyer's library has no seller


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("pdf named .jpg", 422, "not_image"),
        ("too big", 413, "too_large"),
        ("too many pixels", 422, "too_many_pixels"),
        ("truncated", 422, "broken"),
    ],
)
def test_bad_uploads_name_the_field(app, api, factory, case, status, code):
    """K11/K14: the media library's checks: not an image (by content), too
    big, too many pixels, truncated: 4xx naming ``file``, nothing stored."""
    buyer = factory.user()
    png = factory.image_bytes("PNG", size=(300, 300))
    data = {
        "pdf named .jpg": PDF,
        "too big": png,
        "too many pixels": factory.image_bytes("PNG", size=(1200, 1000), color=(0, 0, 0)),
        "truncated": png[: len(png) // 2],
    }[case]
    app.config.update(JISHI_MEDIA_MAX_BYTES=100 if case == "too big" else 10 * 1024 * 1024)
    app.config.update(JISHI_MEDIA_MAX_PIXELS=1_000_000)
    try:
        resp = upload(api, buyer, data)
    finally:
        app.config.update(JISHI_MEDIA_MAX_BYTES=10 * 1024 * 1024, JISHI_MEDIA_MAX_PIXELS=40_000_000)
    assert resp.status_code == status, resp.json
    assert (resp.json["field"], resp.json["code"]) == ("file", code)
    assert _assets() == 0


def test_upload_needs_a_file_and_a_buyer(api, factory):
    """K11/K15: no file part: 422 naming ``file``; signed out: 401."""
    resp = api.post("/reviews/images", user=factory.user(), data={}, content_type="multipart/form-data")
    assert resp.status_code == 422 and resp.json["field"] == "file"
    assert upload(api, None, factory.image_bytes()).status_code == 401
    assert _assets() == 0


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "JISHI_REVIEW_IMAGE_RATE_LIMIT": "2 per minute"}])
def test_uploads_are_rate_limited_per_buyer(api, factory, app_config):
    """K11/K15: a buyer over JISHI_REVIEW_IMAGE_RATE_LIMIT gets 429; another
    buyer (same address) still uploads."""
    a, b = factory.user(), factory.user()
    codes = [upload(api, a, factory.image_bytes("PNG", color=(i, 0, 0))).status_code for i in range(3)]
    assert codes == [201, 201, 429]
    assert upload(api, b, factory.image_bytes()).status_code == 201


def test_post_review_with_pictures_in_order(api, client, factory):
    """K11: a review names the buyer's pictures; they come back in the
    buyer's order (create, product list, admin list) with every size."""
    buyer = factory.user()
    [line] = received_lines(factory, buyer)
    a, b, c = pictures(api, factory, buyer, 3)
    resp = api.post("/reviews", user=buyer, json={"order_line_id": line.id, "rating": 5, "images": [c, a, b]})
    assert resp.status_code == 201, resp.json
    assert [p["id"] for p in resp.json["images"]] == [c, a, b]
    assert all(p["thumb"] and p["large"] and p["thumb"] != p["large"] for p in resp.json["images"])
    page = api.get(f"/products/{line.product_id}/reviews").json
    assert [p["id"] for p in page["items"][0]["images"]] == [c, a, b]
    assert page["with_pictures_count"] == 1 and page["count"] == 1
    admin_page = api.get("/admin/reviews", user=factory.admin()).json
    assert [p["id"] for p in admin_page["items"][0]["images"]] == [c, a, b]
    review = _review_of(line)
    assert review.image_count == 3 and len(review.images) == 3
    assert client.get(resp.json["images"][0]["large"]).status_code == 200


def test_review_without_pictures_has_none(api, factory):
    """K11: no ``images``: an empty list (and none with pictures)."""
    buyer = factory.user()
    [line] = received_lines(factory, buyer)
    resp = api.post("/reviews", user=buyer, json={"order_line_id": line.id, "rating": 4, "content": "好"})
    assert resp.status_code == 201 and resp.json["images"] == []
    assert api.get(f"/products/{line.product_id}/reviews").json["with_pictures_count"] == 0


def test_pictures_must_be_the_buyers_own_and_at_most_nine(api, factory):
    """K11/K14/K15: another buyer's upload, a seller's media, an unknown id,
    a deleted upload, ten pictures, a non-id: 422 naming ``images``,
    nothing written (the line stays reviewable, no review row)."""
    buyer, other = factory.user(), factory.user()
    [line] = received_lines(factory, buyer)
    mine = pictures(api, factory, buyer, 10)
    [theirs] = pictures(api, factory, other, 1, shade=200)
    shop_asset = media.upload(factory.image_bytes("PNG", color=(1, 2, 3)), media.owner_of(None))
    gone = media.owned(mine[9], media.buyer_owner(buyer.id))
    media.delete(gone)
    for images in (
        [mine[0], theirs],
        [shop_asset.id],
        [2**31 - 2],
        [mine[9]],
        mine[:9] + [theirs],
        mine,
        ["1"],
        [True],
        "1",
        [0],
    ):
        resp = api.post("/reviews", user=buyer, json={"order_line_id": line.id, "rating": 5, "images": images})
        assert resp.status_code == 422, (images, resp.json)
        assert resp.json["field"].split(".")[0] == "images", (images, resp.json)
    assert _review_of(line) is None
    assert db.session.get(OrderLine, line.id).reviewed is False
    resp = api.post("/reviews", user=buyer, json={"order_line_id": line.id, "rating": 5, "images": mine[:9]})
    assert resp.status_code == 201 and len(resp.json["images"]) == 9


def test_with_pictures_filter_and_count(api, factory):
    """K11: ``with_pictures=true`` lists only the reviews with pictures
    (keyset pages too); ``with_pictures_count`` counts them, ``count`` all."""
    buyer = factory.user()
    product = factory.product(price=500, stock=50)
    lines = []
    for _ in range(4):
        [payment] = flows.place(buyer, [(product.skus[0], 1)], factory.address(buyer))
        flows.pay(payment)
        lines.append(flows.receive(flows.ship(payment.orders[0])).lines[0])
    ids = pictures(api, factory, buyer, 2)
    for i, line in enumerate(lines):
        images = [ids[i % 2]] if i in (0, 2) else []
        assert (
            api.post("/reviews", user=buyer, json={"order_line_id": line.id, "rating": 5, "images": images}).status_code
            == 201
        )
    url = f"/products/{product.id}/reviews"
    page = api.get(url).json
    assert (page["count"], page["with_pictures_count"]) == (4, 2)
    shown = api.get(url + "?with_pictures=true").json
    assert [r["order_line_id"] for r in shown["items"]] == [lines[2].id, lines[0].id]
    first = api.get(url + "?with_pictures=true&limit=1").json
    assert [r["order_line_id"] for r in first["items"]] == [lines[2].id]
    rest = api.get(url + f"?with_pictures=true&limit=1&cursor={first['next_cursor']}").json
    assert [r["order_line_id"] for r in rest["items"]] == [lines[0].id]
    assert api.get(url + "?with_pictures=maybe").status_code == 422


def test_moderation_and_deletion_hide_pictures(api, client, factory):
    """K11/K15: a review awaiting moderation shows neither itself nor its
    pictures (API and page, not counted with pictures); approved it shows
    them; deleted they are gone again."""
    _set(**{"reviews.moderation": True})
    buyer, admin = factory.user(), factory.admin()
    [line] = received_lines(factory, buyer)
    [pic] = pictures(api, factory, buyer, 1)
    resp = api.post("/reviews", user=buyer, json={"order_line_id": line.id, "rating": 5, "images": [pic]})
    assert resp.status_code == 201 and resp.json["is_visible"] is False
    thumb = resp.json["images"][0]["thumb"]
    url, page = f"/products/{line.product_id}/reviews", f"/product/{line.product_id}"

    def shown() -> tuple:
        body = api.get(url).json
        return len(body["items"]), body["with_pictures_count"], thumb in client.get(page).get_data(as_text=True)

    assert shown() == (0, 0, False)
    assert "review-pictures" in admin_console(client, admin)  # the moderator sees them
    assert api.post(f"/admin/reviews/{resp.json['id']}/approve", user=admin).status_code == 200
    assert shown() == (1, 1, True)
    assert api.post(f"/admin/reviews/{resp.json['id']}/delete", user=admin).status_code == 200
    assert shown() == (0, 0, False)


def admin_console(client, admin) -> str:
    sign_in_form(client, admin)
    return client.get("/console/reviews?show=pending").get_data(as_text=True)


def _form(files, **fields):
    data = {"rating": "5", "content": "很好", **fields}
    data["images"] = [(io.BytesIO(b), name) for b, name in files]
    return data


def test_web_form_posts_pictures(client, factory):
    """K11: the review form (multipart, a multiple file input, no JS) posts
    the pictures with the review; the product page shows their thumbnails
    and the "with pictures" (有图) filter with its count."""
    buyer = factory.user()
    [line] = received_lines(factory, buyer)
    sign_in_form(client, buyer)
    url = f"/orders/{line.order_id}/lines/{line.id}/review"
    form = client.get(url).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form and 'type="file" name="images"' in form and "multiple" in form
    files = [(factory.image_bytes("PNG", color=(200, 0, 0)), "a.png"), (factory.image_bytes("JPEG"), "b.jpg")]
    resp = client.post(url, data=_form(files), content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:800]
    review = _review_of(line)
    assert review.image_count == 2
    assets = [db.session.get(MediaAsset, i["id"]) for i in review.images]
    assert [a.filename for a in assets] == ["a.png", "b.jpg"] and {a.owner_id for a in assets} == {buyer.id}
    page = client.get(f"/product/{line.product_id}").get_data(as_text=True)
    assert 'class="review-pictures"' in page
    assert all(p["thumb"] in page for p in review.pictures)
    assert "有图 (1)" in page
    filtered = client.get(f"/product/{line.product_id}?pictures=1").get_data(as_text=True)
    assert "很好" in filtered


@pytest.mark.parametrize("case", ["not an image", "ten pictures", "bad rating"])
def test_web_form_refusals_keep_nothing(client, factory, case):
    """K11/K14: a non-image, ten pictures, or a bad rating with good
    pictures: the form again (422) naming the problem, no review and no
    upload kept; the typed text stays."""
    buyer = factory.user()
    [line] = received_lines(factory, buyer)
    sign_in_form(client, buyer)
    url = f"/orders/{line.order_id}/lines/{line.id}/review"
    good = [(factory.image_bytes("PNG", color=(i, 9, 9)), f"{i}.png") for i in range(10)]
    files, fields = {
        "not an image": ([good[0], (PDF, "photo.jpg")], {}),
        "ten pictures": (good, {}),
        "bad rating": (good[:2], {"rating": "9"}),
    }[case]
    resp = client.post(url, data=_form(files, content="留着这段字", **fields), content_type="multipart/form-data")
    assert resp.status_code == 422
    text = resp.get_data(as_text=True)
    assert "留着这段字" in text
    if case != "bad rating":
        assert 'aria-invalid="true"' in text
    assert _review_of(line) is None and _assets() == 0
    assert db.session.get(OrderLine, line.id).reviewed is False
