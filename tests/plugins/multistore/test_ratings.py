"""Issue 13 C2: a merchant's stars come from its buyers' ratings.

The average of the merchant's latest visible ratings (a rolling window of
``ratings.RATING_WINDOW``) is stored on the merchant and refreshed when a
review is posted, deleted or approved (the kernel's ``review_posted`` /
``review_moderated`` signals); the platform's override wins while set, and
clearing it returns to the computed stars. The shop page and the shop list
show the stars and the average.
"""

from __future__ import annotations

import pytest
from flask import g
from jishi import settings
from jishi.db import db
from jishi.reviews import service as reviews
from jishi.testing import flows
from jishi_multistore import ratings
from jishi_multistore.models import Merchant


def _review(factory, ms, m, rating: int):
    buyer = factory.user()
    p = ms.product(m, price=1000, stock=5)
    [payment] = flows.place(buyer, [(p.skus[0].id, 1)], factory.address(buyer))
    flows.pay(payment)
    order = flows.complete(payment.orders[0])
    return reviews.post_review(buyer, order.lines[0], rating, "评价")


def _m(m) -> Merchant:
    db.session.expire_all()
    return db.session.get(Merchant, m.id)


def test_stars_follow_posted_and_hidden_reviews(app, client, factory, ms):
    """C2: 5 and 2 average 3.5 (4 stars); hiding the 2 leaves 5.0; another
    merchant's reviews never count; the shop page and list show it."""
    m, other = ms.merchant("评分店"), ms.merchant("别家")
    _review(factory, ms, m, 5)
    low = _review(factory, ms, m, 2)
    _review(factory, ms, other, 1)
    got = _m(m)
    assert (got.rating_x10, got.rating_count, got.stars) == (35, 2, 4)
    page = client.get(f"/shops/{m.id}").get_data(as_text=True)
    assert "★★★★☆" in page and "3.5" in page
    listing = client.get("/shops").get_data(as_text=True)
    assert "3.5" in listing
    reviews.delete(low, factory.admin())
    got = _m(m)
    assert (got.rating_x10, got.rating_count, got.stars) == (50, 1, 5)
    assert _m(other).stars == 1


def test_moderated_reviews_count_once_approved(app, factory, ms):
    """C2: a review awaiting moderation does not count until approved."""
    settings.set_many({"reviews.moderation": True})
    db.session.commit()
    g.pop("jishi_settings", None)  # the test's app context caches the settings
    m = ms.merchant()
    pending = _review(factory, ms, m, 1)
    assert (_m(m).rating_count, _m(m).stars) == (0, 5)
    reviews.approve(pending, factory.admin())
    assert (_m(m).rating_count, _m(m).stars) == (1, 1)


def test_rolling_window_takes_the_latest_ratings(app, factory, ms, monkeypatch):
    """C2: only the latest RATING_WINDOW ratings make the average."""
    monkeypatch.setattr(ratings, "RATING_WINDOW", 2)
    m = ms.merchant()
    for r in (1, 1, 5, 4):
        _review(factory, ms, m, r)
    assert (_m(m).rating_x10, _m(m).rating_count, _m(m).stars) == (45, 2, 5)


def test_platform_override_wins_until_cleared(app, api, client, login, factory, ms):
    """C2: the platform's stars win over the ratings (API and console form);
    clearing the override returns to the computed stars."""
    m = ms.merchant()
    _review(factory, ms, m, 3)
    platform = factory.admin()
    resp = api.patch(f"/admin/multistore/merchants/{m.id}", user=platform, json={"stars": 5})
    assert resp.status_code == 200 and (resp.json["stars"], resp.json["stars_override"]) == (5, 5)
    _review(factory, ms, m, 1)
    got = _m(m)
    assert (got.stars, got.rating_x10) == (5, 20)
    resp = api.patch(f"/admin/multistore/merchants/{m.id}", user=platform, json={"stars": None})
    assert resp.status_code == 200 and (resp.json["stars"], resp.json["stars_override"]) == (2, None)
    login(platform)
    client.post(f"/console/multistore/merchants/{m.id}/state", data={"status": "open", "stars": "4"})
    assert (_m(m).stars, _m(m).stars_override) == (4, 4)
    client.post(f"/console/multistore/merchants/{m.id}/state", data={"status": "open", "stars": "auto"})
    assert (_m(m).stars, _m(m).stars_override) == (2, None)


@pytest.mark.parametrize(
    ("count", "total", "expected"), [(0, 0, (None, 5)), (3, 13, (43, 4)), (2, 9, (45, 5)), (1, 1, (10, 1))]
)
def test_computed_average_is_integer_and_rounded_half_up(count, total, expected):
    """C2: the average × 10 and the stars, integers only."""
    assert ratings.computed(count, total) == expected
