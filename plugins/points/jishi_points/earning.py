"""The other ways to earn (issue 16 "Earning"): a registration bonus and
review rewards, and the settings of both and of the daily sign-in
(:mod:`.signin`).

The kernel sends ``user_registered``, ``review_posted`` and
``review_moderated`` AFTER the transaction that registered the buyer or
posted the review has committed (:func:`jishi.signals.queue`). So an award
is its own transaction, committed by the receiver, and it is idempotent:
its ledger entry's unique key ``(kind, source_kind, source_id)`` (the user
for the bonus, the reviewed ORDER LINE for a review) lets one award in,
whatever redelivers it. Because a process may die between the kernel's
commit and the receiver (or the receiver may fail and be logged in
``signal_failures``), the periodic job :func:`catch_up` gives what is still
owed for recent registrations and reviews; both paths go through the same
idempotent award, so a buyer is never paid twice.
"""

from __future__ import annotations

from datetime import timedelta

from jishi import settings, signals
from jishi.db import commit, db, rollback, utcnow
from sqlalchemy import and_, exists, select
from sqlalchemy.exc import IntegrityError

from jishi_points import ledger
from jishi_points.ledger import Post
from jishi_points.models import CLAWED_BACK, EARNED, SOURCE_REGISTER, SOURCE_REVIEW, PointsEntry

# settings (points.*): see docs/plugins/points.md
REGISTER_BONUS = "points.register_bonus"
SIGNIN_POINTS = "points.signin_points"
SIGNIN_STEP = "points.signin_step"
SIGNIN_STEP_CAP = "points.signin_step_cap"
SIGNIN_WEEK_BONUS = "points.signin_week_bonus"
REVIEW_TEXT = "points.review_text"
REVIEW_PICTURES = "points.review_pictures"
REVIEW_MIN_CHARS = "points.review_min_chars"

DEFAULTS = {
    REGISTER_BONUS: 0,
    SIGNIN_POINTS: 5,
    SIGNIN_STEP: 1,
    SIGNIN_STEP_CAP: 5,
    SIGNIN_WEEK_BONUS: 10,
    REVIEW_TEXT: 0,
    REVIEW_PICTURES: 0,
    REVIEW_MIN_CHARS: 10,
}

#: The most any of these settings is read as (a typo of a few zeros
#: never gives a buyer millions of points).
MAX_POINTS = 10**6

#: How far back :func:`catch_up` looks for awards still owed.
CATCH_UP_REGISTERED = timedelta(days=1)
CATCH_UP_REVIEWS = timedelta(days=7)
#: Left to the signal's receiver before the job steps in.
CATCH_UP_GRACE = timedelta(minutes=2)
CATCH_UP_BATCH = 500
#: The newest accounts / reviews (by id: an index scan, the kernel's
#: ``created_at`` columns have no index) the job looks at on each run.
CATCH_UP_SCAN = 5000


def setting(key: str) -> int:
    """The setting as a whole number from 0 to :data:`MAX_POINTS` (a bad value reads as the default)."""
    value = settings.get(key, DEFAULTS[key])
    try:
        value = int(value)
    except (TypeError, ValueError):
        value = DEFAULTS[key]
    return min(max(0, value), MAX_POINTS)


def _has(kind: str, source_kind: str, source_id: int) -> bool:
    return (
        db.session.execute(
            select(PointsEntry.id).where(
                PointsEntry.kind == kind, PointsEntry.source_kind == source_kind, PointsEntry.source_id == source_id
            )
        ).first()
        is not None
    )


def award_once(user_id: int, entry: Post) -> bool:
    """Post ``entry`` unless its source already has one (its unique key):
    True when this call posted it. In the caller's transaction; a
    concurrent award of the same source loses on the unique key inside a
    SAVEPOINT, so the caller's transaction stays usable."""
    if _has(entry.kind, entry.source_kind, entry.source_id or 0):
        return False
    try:
        with db.session.begin_nested():
            ledger.post(user_id, entry)
    except IntegrityError:
        return False
    return True


# --- Registration bonus ---------------------------------------------------------------


def award_registration(user) -> int:
    """The registration bonus (``points.register_bonus``, 0 = off), usable at
    once, once per buyer; platform staff get none. Returns the points given
    by this call. In the caller's transaction."""
    from jishi.accounts.models import ROLE_BUYER

    points = setting(REGISTER_BONUS)
    if not points or user.role != ROLE_BUYER:
        return 0
    return points if award_once(user.id, Post(EARNED, SOURCE_REGISTER, user.id, delta=points)) else 0


def _on_registered(user, **kwargs) -> None:
    award_registration(user)
    commit()


# --- Review rewards --------------------------------------------------------------------


def _text_length(content: str) -> int:
    """Characters of the review's text, whitespace not counted."""
    return len("".join((content or "").split()))


def picture_count(review) -> int:
    """How many pictures the review has: its ``images`` (the kernel's
    review pictures, K11)."""
    return len(getattr(review, "images", None) or ())


def review_points(review) -> int:
    """What ``review`` earns: ``points.review_text`` when its text has at
    least ``points.review_min_chars`` characters (whitespace not counted),
    plus ``points.review_pictures`` when it also has pictures; else 0."""
    text = setting(REVIEW_TEXT)
    if not text or _text_length(review.content) < max(1, setting(REVIEW_MIN_CHARS)):
        return 0
    return text + (setting(REVIEW_PICTURES) if picture_count(review) else 0)


def award_review(review) -> int:
    """Reward a shown review (visible, not deleted) once per order line.
    Returns the points given by this call. In the caller's transaction."""
    if review.deleted_at is not None or not review.is_visible:
        return 0
    points = review_points(review)
    if not points:
        return 0
    entry = Post(EARNED, SOURCE_REVIEW, review.order_line_id, delta=points)
    return points if award_once(review.user_id, entry) else 0


def take_back_review(review) -> int:
    """A review the PLATFORM deleted (moderation) loses its reward: the
    points given for its line are clawed back (even below zero, like an
    order's claw-back), once. A seller deleting a review takes nothing:
    a seller cannot fine a buyer for a review it did not like."""
    if review.deleted_at is None or review.deleted_by != "platform":
        return 0
    given = db.session.execute(
        select(PointsEntry.delta).where(
            PointsEntry.kind == EARNED,
            PointsEntry.source_kind == SOURCE_REVIEW,
            PointsEntry.source_id == review.order_line_id,
        )
    ).scalar_one_or_none()
    if not given:
        return 0
    entry = Post(CLAWED_BACK, SOURCE_REVIEW, review.order_line_id, delta=-given)
    return given if award_once(review.user_id, entry) else 0


def _on_review_posted(review, **kwargs) -> None:
    award_review(review)
    commit()


def _on_review_moderated(review, action="", **kwargs) -> None:
    if action == "approved":
        award_review(review)
    elif action == "deleted":
        take_back_review(review)
    commit()


def connect() -> None:
    signals.connect(signals.user_registered, _on_registered, plugin="points")
    signals.connect(signals.review_posted, _on_review_posted, plugin="points")
    signals.connect(signals.review_moderated, _on_review_moderated, plugin="points")


# --- The catch-up job ------------------------------------------------------------------


def catch_up() -> str:
    """The periodic job ``points_earn_catch_up``: registration bonuses of
    buyers registered in the last day and rewards of reviews shown (posted
    in the last 7 days) that no receiver gave, one commit per award, among
    the newest :data:`CATCH_UP_SCAN` accounts and reviews. Safe to run
    again or on two workers at once: each award is :func:`award_once`."""
    from jishi.accounts.models import ROLE_BUYER, User
    from jishi.reviews.models import Review

    now = utcnow()
    users = reviews = 0
    if setting(REGISTER_BONUS):
        owed = db.session.scalars(
            select(User)
            .where(
                User.id.in_(select(User.id).order_by(User.id.desc()).limit(CATCH_UP_SCAN).scalar_subquery()),
                User.role == ROLE_BUYER,
                User.created_at >= now - CATCH_UP_REGISTERED,
                User.created_at <= now - CATCH_UP_GRACE,
                ~exists().where(
                    and_(
                        PointsEntry.kind == EARNED,
                        PointsEntry.source_kind == SOURCE_REGISTER,
                        PointsEntry.source_id == User.id,
                    )
                ),
            )
            .order_by(User.id)
            .limit(CATCH_UP_BATCH)
        ).all()
        for user in owed:
            users += bool(award_registration(user))
            commit()
    if setting(REVIEW_TEXT):
        owed_reviews = db.session.scalars(
            select(Review)
            .where(
                Review.id.in_(select(Review.id).order_by(Review.id.desc()).limit(CATCH_UP_SCAN).scalar_subquery()),
                Review.deleted_at.is_(None),
                Review.is_visible.is_(True),
                Review.created_at >= now - CATCH_UP_REVIEWS,
                Review.created_at <= now - CATCH_UP_GRACE,
                ~exists().where(
                    and_(
                        PointsEntry.kind == EARNED,
                        PointsEntry.source_kind == SOURCE_REVIEW,
                        PointsEntry.source_id == Review.order_line_id,
                    )
                ),
            )
            .order_by(Review.id)
            .limit(CATCH_UP_BATCH)
        ).all()
        for review in owed_reviews:
            reviews += bool(award_review(review))
            commit()
    rollback()
    return f"{users} registration bonuses, {reviews} review rewards"
