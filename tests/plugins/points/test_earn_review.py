"""Issue 16 "Earning": a reward for a review with text
(``points.review_text``, at least ``points.review_min_chars`` characters,
whitespace not counted, so "好" earns nothing), more with pictures
(``points.review_pictures``), once per ORDER LINE (the entry's source is
the line: a second review, or the review seen again, gives nothing more).
A review awaiting moderation earns when approved; one the platform deletes
loses its reward (clawed back), one a seller deletes keeps it."""

from __future__ import annotations

import io
from datetime import timedelta

from jishi import settings, signals
from jishi.db import commit, db, utcnow
from jishi.reviews import service as reviews
from jishi.reviews.models import Review
from jishi.testing import flows
from jishi_points import earning
from jishi_points.models import PointsEntry
from sqlalchemy import select

from .helpers import balance

TEXT = "质量很好,物流也很快,推荐购买"  # 14 characters


def usable(buyer) -> int:
    """Usable points (the orders' own points stay frozen: they were received, not completed)."""
    return balance(buyer)[0]


def rules(text=10, pictures=5, min_chars=10, **more):
    settings.set_many(
        {earning.REVIEW_TEXT: text, earning.REVIEW_PICTURES: pictures, earning.REVIEW_MIN_CHARS: min_chars, **more}
    )
    commit()


def received_lines(factory, buyer, n=1):
    """``n`` received order lines of one order of ``buyer`` (reviewable)."""
    items = [(factory.product(price=1000 + i, stock=5).skus[0], 1) for i in range(n)]
    [payment] = flows.place(buyer, items, factory.address(buyer))
    flows.pay(payment)
    order = flows.receive(flows.ship(payment.orders[0]))
    return list(order.lines)


def post(api, buyer, line, content):
    return api.post("/reviews", user=buyer, json={"order_line_id": line.id, "rating": 5, "content": content})


def review_entries(buyer) -> list[tuple]:
    return db.session.execute(
        select(PointsEntry.kind, PointsEntry.source_id, PointsEntry.delta)
        .where(PointsEntry.user_id == buyer.id, PointsEntry.source_kind == "review")
        .order_by(PointsEntry.id)
    ).all()


def test_text_review_earns_once_per_line(api, factory):
    """Issue 16/Earning: a review with enough text earns the text reward
    (source: its order line); a second review of the line is refused by the
    kernel and earns nothing; the review seen again (a redelivered signal)
    earns nothing; another line of the order earns its own."""
    rules()
    buyer = factory.user()
    a, b = received_lines(factory, buyer, 2)
    assert post(api, buyer, a, TEXT).status_code == 201
    assert usable(buyer) == 10
    assert post(api, buyer, a, TEXT + "再来一次").status_code == 409
    review = db.session.scalars(select(Review).where(Review.order_line_id == a.id)).one()
    signals.send(signals.review_posted, review)
    assert earning.award_review(review) == 0
    review.images = ["/media/a.jpg"]  # the same line seen again with pictures: still nothing more
    assert earning.award_review(review) == 0
    commit()
    assert post(api, buyer, b, TEXT).status_code == 201
    assert review_entries(buyer) == [("earned", a.id, 10), ("earned", b.id, 10)]
    assert usable(buyer) == 20


def test_short_text_earns_nothing(api, factory):
    """Issue 16/Earning: "好", no text, or 9 characters spread by spaces earn
    nothing; exactly 10 characters earn."""
    rules()
    buyer = factory.user()
    lines = received_lines(factory, buyer, 4)
    for line, content in zip(lines, ("好", "", "好 好 好 好 好 好 好 好 好"), strict=False):
        assert post(api, buyer, line, content).status_code == 201
    assert usable(buyer) == 0 and review_entries(buyer) == []
    assert post(api, buyer, lines[3], "一二三四五六七八九十").status_code == 201
    assert usable(buyer) == 10


def test_pictures_earn_more(app, factory):
    """Issue 16/Earning: text + pictures earns both rewards, pictures
    without enough text nothing, text alone the text reward (the rule reads
    a review's ``images``; posted through the API below)."""
    rules(text=10, pictures=5)
    with_pictures = Review(content=TEXT, rating=5)
    with_pictures.images = ["/media/a.jpg", "/media/b.jpg"]
    short_with_pictures = Review(content="好", rating=5)
    short_with_pictures.images = ["/media/a.jpg"]
    assert earning.review_points(with_pictures) == 15
    assert earning.review_points(short_with_pictures) == 0
    assert earning.review_points(Review(content=TEXT, rating=5)) == 10
    rules(text=0, pictures=5)
    assert earning.review_points(with_pictures) == 0  # 0 turns review rewards off


def upload_picture(api, factory, buyer, shade: int) -> int:
    resp = api.post(
        "/reviews/images",
        user=buyer,
        data={"file": (io.BytesIO(factory.image_bytes("PNG", color=(shade, 40, 40))), "p.png")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def test_review_with_uploaded_pictures_earns_the_picture_reward(api, factory):
    """Issue 16/Earning, K11: a review posted with the buyer's uploaded
    pictures (``POST /reviews/images``, then ``images`` in the review) earns
    ``points.review_text`` + ``points.review_pictures``, once per line; a
    review with pictures but too little text earns nothing; one with text
    alone the text reward."""
    rules(text=10, pictures=5)
    buyer = factory.user()
    a, b, c = received_lines(factory, buyer, 3)
    pics = [upload_picture(api, factory, buyer, shade) for shade in (10, 20)]
    body = {"order_line_id": a.id, "rating": 5, "content": TEXT, "images": pics}
    resp = api.post("/reviews", user=buyer, json=body)
    assert resp.status_code == 201 and len(resp.json["images"]) == 2
    assert usable(buyer) == 15
    review = db.session.get(Review, resp.json["id"])
    assert earning.picture_count(review) == 2 and earning.award_review(review) == 0  # once per line
    short = {"order_line_id": b.id, "rating": 5, "content": "好看", "images": pics[:1]}
    assert api.post("/reviews", user=buyer, json=short).status_code == 201
    assert post(api, buyer, c, TEXT).status_code == 201
    assert review_entries(buyer) == [("earned", a.id, 15), ("earned", c.id, 10)]
    assert usable(buyer) == 25


def test_moderation_approve_and_platform_delete(api, factory):
    """Issue 16/Earning: with moderation on, a review earns when approved
    (not when posted); deleted by the platform it loses the reward (clawed
    back, once); a seller's deletion takes nothing back."""
    rules(**{"reviews.moderation": True})
    buyer = factory.user()
    admin = factory.admin()
    a, b = received_lines(factory, buyer, 2)
    assert post(api, buyer, a, TEXT).status_code == 201
    assert post(api, buyer, b, TEXT).status_code == 201
    assert usable(buyer) == 0
    ra, rb = (db.session.scalars(select(Review).where(Review.order_line_id == line.id)).one() for line in (a, b))
    reviews.approve(ra, admin)
    reviews.approve(rb, admin)
    assert usable(buyer) == 20
    reviews.delete(ra, admin)  # the platform's moderation
    assert usable(buyer) == 10
    signals.send(signals.review_moderated, db.session.get(Review, ra.id), action="deleted")
    assert usable(buyer) == 10
    reviews.delete(rb, factory.user())  # a seller (not platform staff)
    assert db.session.get(Review, rb.id).deleted_by == "seller"
    assert usable(buyer) == 10
    assert review_entries(buyer) == [("earned", a.id, 10), ("earned", b.id, 10), ("clawed_back", a.id, -10)]
    signals.send(signals.review_moderated, db.session.get(Review, ra.id), action="approved")
    assert usable(buyer) == 10  # a deleted review earns nothing again


def test_catch_up_rewards_shown_reviews_once(api, factory):
    """Issue 16/Earning: the job rewards shown reviews of the last 7 days
    that no receiver rewarded (older than the 2-minute grace), once; hidden
    (awaiting moderation) and deleted reviews get nothing."""
    rules(text=0)
    buyer = factory.user()
    lines = received_lines(factory, buyer, 3)
    for line in lines:
        assert post(api, buyer, line, TEXT).status_code == 201
    shown, hidden, deleted = (
        db.session.scalars(select(Review).where(Review.order_line_id == line.id)).one() for line in lines
    )
    hidden.is_visible = False
    deleted.deleted_at = utcnow()
    for r in (shown, hidden, deleted):
        r.created_at = utcnow() - timedelta(minutes=10)
    commit()
    rules(text=10)
    assert earning.catch_up().endswith("1 review rewards")
    assert earning.catch_up().endswith("0 review rewards")
    assert review_entries(buyer) == [("earned", shown.order_line_id, 10)]
