"""A merchant's stars from its buyers' ratings (issue 13 C2).

The stars a buyer sees are the platform's override when it set one, else the
rounded average of the merchant's last :data:`RATING_WINDOW` visible ratings
(reviews of its products, not deleted, not awaiting moderation), else 5.

:func:`recompute` runs after every review posted, deleted or approved (the
kernel's ``review_posted`` / ``review_moderated`` signals). It first locks the
merchant's row (a no-op UPDATE), then reads the ratings and writes the
average in the same transaction: two reviews landing together cannot leave
a stale average, since whichever recomputes last waits for the other's lock
and reads every committed rating. Integers only (the average is kept × 10).
"""

from __future__ import annotations

from jishi import signals
from jishi.db import commit, db, rollback
from jishi.i18n import gettext as _
from jishi.reviews.models import Review
from sqlalchemy import case, func, select, update

from jishi_multistore.models import Merchant

#: How many of the latest ratings make the average (a rolling window).
RATING_WINDOW = 100
DEFAULT_STARS = 5


def computed(count: int, total: int) -> tuple[int | None, int]:
    """(average × 10, stars) of ``count`` ratings summing to ``total``;
    both rounded half up; (None, 5) without ratings."""
    if count <= 0:
        return None, DEFAULT_STARS
    x10 = (total * 20 + count) // (2 * count)
    return x10, stars_of(x10)


def stars_of(x10: int | None) -> int:
    """The whole stars of an average × 10 (4.5 and up: 5)."""
    if x10 is None:
        return DEFAULT_STARS
    return min(5, max(1, (x10 + 5) // 10))


def recompute(merchant_id: int | None) -> Merchant | None:
    """Refresh the merchant's average and stars; commits."""
    if merchant_id is None:
        return None
    locked = db.session.execute(
        update(Merchant)
        .where(Merchant.id == merchant_id)
        .values(rating_count=Merchant.rating_count)
        .execution_options(synchronize_session=False)
    ).rowcount
    if locked != 1:
        rollback()
        return None
    recent = (
        select(Review.rating)
        .where(Review.seller_id == merchant_id, Review.deleted_at.is_(None), Review.is_visible.is_(True))
        .order_by(Review.id.desc())
        .limit(RATING_WINDOW)
        .subquery()
    )
    count, total = db.session.execute(select(func.count(), func.coalesce(func.sum(recent.c.rating), 0))).one()
    x10, stars = computed(int(count), int(total))
    db.session.execute(
        update(Merchant)
        .where(Merchant.id == merchant_id)
        .values(
            rating_x10=x10,
            rating_count=int(count),
            stars=case((Merchant.stars_override.is_not(None), Merchant.stars_override), else_=stars),
        )
        .execution_options(synchronize_session=False)
    )
    commit()
    merchant = db.session.get(Merchant, merchant_id)
    if merchant is not None:
        db.session.refresh(merchant)
    return merchant


def set_override(m: Merchant, stars: int | None) -> None:
    """The platform's stars (1–5) win over the computed ones; None returns to
    the computed stars. In the caller's transaction."""
    from jishi_multistore.merchants import MerchantError

    if stars is not None and (isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5):
        raise MerchantError("stars", _("Stars are a whole number from 1 to 5."))
    m.stars_override = stars
    if stars is not None:
        m.stars = stars
    else:
        m.stars = stars_of(m.rating_x10)


def _on_review(review, **kwargs) -> None:
    recompute(review.seller_id)


def connect() -> None:
    signals.connect(signals.review_posted, _on_review, plugin="multistore")
    signals.connect(signals.review_moderated, _on_review, plugin="multistore")
