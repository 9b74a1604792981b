"""Reviews after receipt (SPEC K11).

A buyer reviews each order line once, after receipt and within
``reviews.days`` days of it, while ``reviews.enabled`` is on. With
``reviews.moderation`` on a review waits (``is_visible`` False) until the
platform approves it. Sellers and the platform reply; either may delete
(soft delete: the row stays, with who deleted it).

A review may carry up to :data:`MAX_IMAGES` pictures (晒图): media assets
the buyer uploaded (:func:`jishi.media.buyer_owner`), in the buyer's order.
They show wherever the review shows and nowhere else: awaiting moderation
or deleted, the review hides them too.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import cast

from sqlalchemy import CursorResult, Integer, bindparam, case, func, select, update
from sqlalchemy.exc import IntegrityError

from jishi import media, settings, signals
from jishi.db import commit, db, rollback, utcnow
from jishi.errors import DomainError
from jishi.i18n import gettext as _
from jishi.orders import state
from jishi.orders.models import Order, OrderLine
from jishi.reviews.models import Review

MAX_IMAGES = 9


class ReviewError(DomainError):
    """A review that is not allowed; ``field`` names the input at fault."""

    def __init__(self, field: str | None, message: str, status: int = 422, code: str = "invalid"):
        super().__init__(field, message, code=code, status=status)


def _why_not(user, line: OrderLine) -> ReviewError | None:
    order: Order = line.order
    if order.user_id != user.id:
        return ReviewError("order_line_id", _("Unknown order line."), status=404, code="not_found")
    if not settings.get("reviews.enabled", True):
        return ReviewError("order_line_id", _("Reviews are turned off."), status=409, code="disabled")
    if order.status not in (state.RECEIVED, state.COMPLETED) or order.received_at is None:
        return ReviewError(
            "order_line_id", _("You can review a product after you receive it."), status=409, code="conflict"
        )
    if line.reviewed:
        return ReviewError("order_line_id", _("You have already reviewed this product."), status=409, code="conflict")
    if line.refunded_quantity >= line.quantity:
        return ReviewError("order_line_id", _("This product was refunded."), status=409, code="conflict")
    days = int(settings.get("reviews.days", 30) or 0)
    if days and utcnow() - order.received_at > timedelta(days=days):
        return ReviewError(
            "order_line_id", _("The time to review this product has passed."), status=409, code="conflict"
        )
    return None


def can_review(user, order_line: OrderLine) -> bool:
    return _why_not(user, order_line) is None


def _pictures(user, images) -> list[dict]:
    """``images`` (media asset ids, in order) as a review's ``images``: at
    most :data:`MAX_IMAGES`, each one of ``user``'s own uploads (not
    deleted); a repeated id counts once. Raises :class:`ReviewError`
    naming ``images``."""
    if images is None:
        return []
    if not isinstance(images, (list, tuple)) or not all(isinstance(i, int) and not isinstance(i, bool) for i in images):
        raise ReviewError("images", _("Pictures must be a list of uploaded image ids."))
    ids = list(dict.fromkeys(images))
    if len(ids) > MAX_IMAGES:
        raise ReviewError("images", _("A review has at most %(n)d pictures.", n=MAX_IMAGES))
    mine = media.owned_many(ids, media.buyer_owner(user.id))
    if any(i not in mine for i in ids):
        raise ReviewError("images", _("This picture is not one of your uploads."))
    return [{"id": i, "files": dict(mine[i].files or {})} for i in ids]


def post_review(
    user, order_line: OrderLine, rating: int, content: str = "", anonymous: bool = False, images=None
) -> Review:
    """Post ``user``'s review of ``order_line``: ``images`` are ids of the
    buyer's uploaded pictures (at most nine, kept in this order). Checks
    everything before writing; commits (with whatever the caller flushed
    before, such as the pictures a web form uploaded)."""
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise ReviewError("rating", _("Rating must be 1 to 5."))
    content = (content or "").strip()
    if len(content) > 2000:
        raise ReviewError("content", _("The review is longer than 2000 characters."))
    problem = _why_not(user, order_line)
    if problem:
        raise problem
    pictures = _pictures(user, images)
    won = cast(
        CursorResult,
        db.session.execute(
            update(OrderLine)
            .where(OrderLine.id == order_line.id, OrderLine.reviewed.is_(False))
            .values(reviewed=True)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    if won != 1:
        rollback()
        raise ReviewError("order_line_id", _("You have already reviewed this product."), status=409, code="conflict")
    review = Review(
        order_line_id=order_line.id,
        product_id=order_line.product_id,
        user_id=user.id,
        seller_id=order_line.order.seller_id,
        rating=rating,
        content=content,
        is_anonymous=bool(anonymous),
        is_visible=not settings.get("reviews.moderation", False),
        images=pictures,
        image_count=len(pictures),
    )
    db.session.add(review)
    try:
        db.session.flush()
    except IntegrityError:
        rollback()
        raise ReviewError(
            "order_line_id", _("You have already reviewed this product."), status=409, code="conflict"
        ) from None
    signals.queue(signals.review_posted, review)
    commit()
    db.session.refresh(order_line)
    return review


def reply(review: Review, actor, text: str) -> Review:
    text = (text or "").strip()
    if not text:
        raise ReviewError("reply", _("Write a reply."))
    if len(text) > 2000:
        raise ReviewError("reply", _("The reply is longer than 2000 characters."))
    review.reply = text
    review.replied_at = utcnow()
    commit()
    return review


def delete(review: Review, actor) -> Review:
    if review.deleted_at is None:
        review.deleted_at = utcnow()
        review.deleted_by = "platform" if getattr(actor, "is_platform", False) else "seller"
        signals.queue(signals.review_moderated, review, action="deleted")
        commit()
    return review


def approve(review: Review, actor) -> Review:
    if not review.is_visible:
        review.is_visible = True
        signals.queue(signals.review_moderated, review, action="approved")
        commit()
    return review


def _visible():
    return (Review.deleted_at.is_(None), Review.is_visible.is_(True))


def product_reviews(product_id: int, *, cursor=None, limit: int = 20, with_pictures: bool = False):
    """Visible reviews of a product, newest first; keyset by id; with
    ``with_pictures`` only those with pictures ("有图")."""
    q = select(Review).where(Review.product_id == product_id, *_visible()).order_by(Review.id.desc()).limit(limit + 1)
    if with_pictures:
        q = q.where(Review.image_count > 0)
    if cursor:
        try:
            q = q.where(Review.id < int(cursor))
        except (TypeError, ValueError):
            raise ReviewError("cursor", _("Bad cursor.")) from None
    rows = list(db.session.execute(q).scalars())
    nxt = None
    if len(rows) > limit:
        rows = rows[:limit]
        nxt = str(rows[-1].id)
    return rows, nxt


def _has_pictures():
    return case((Review.image_count > 0, 1), else_=0)


def product_rating(product_id: int) -> tuple[int, int]:
    """(average rating x10 rounded half up, number of visible reviews)."""
    avg, count, _pics = product_review_summary(product_id)
    return avg, count


def product_review_summary(product_id: int) -> tuple[int, int, int]:
    """(average rating x10 rounded half up, number of visible reviews, how
    many of them have pictures), in one statement."""
    total, count, pics = db.session.execute(
        select(
            func.coalesce(func.sum(Review.rating), 0),
            func.count(Review.id),
            func.coalesce(func.sum(_has_pictures()), 0),
        ).where(Review.product_id == product_id, *_visible())
    ).one()
    total, count = int(total or 0), int(count or 0)
    if not count:
        return 0, 0, 0
    return (total * 10 * 2 + count) // (2 * count), count, int(pics or 0)


def product_reviews_rated(
    product_id: int, *, limit: int = 10, with_pictures: bool = False
) -> tuple[list[Review], tuple[int, int, int]]:
    """The newest ``limit`` visible reviews of a product (with
    ``with_pictures``, the newest with pictures only) and its
    :func:`product_review_summary`, in ONE statement: the count, the sum and
    the count with pictures are window aggregates over every visible review,
    computed before LIMIT. Filtering does not touch WHERE (the aggregates
    would shrink with it): the reviews with pictures sort first and the
    others are dropped here."""
    from jishi.loaders import held_rows

    params = {"product_id": product_id, "limit": limit}
    held = _rated_rows_statement(with_pictures)
    session = db.session()
    if held is None or session.dispatch.do_orm_execute:  # (a listener sees every ORM read: the ORM's)
        held = None
        rows = session.execute(_rated_statement(with_pictures), params).all()
        made = None
    else:
        parts, stmt, forms = held
        if session.autoflush:
            session.flush()  # as session.execute would (a no-op when nothing is pending)
        # run from its SQL compiled once per dialect (no cache key made and hashed per page)
        rows = held_rows(session.connection(), stmt, params, forms)
        made = _rated_instances(session, parts, rows) if rows else []
    if not rows:
        return [], (0, 0, 0)
    first = rows[0]
    n, t, p = int(first[1] or 0), int(first[2] or 0), int(first[3] or 0)
    if made is None and held is None:
        made = [r[0] for r in rows]
    if made is None:
        # the session holds one of them: the ORM's load (held instances kept as they are)
        orm = session.execute(_rated_statement(with_pictures), params).all()
        made = [r[0] for r in orm]
    reviews = [r for r in made if not with_pictures or r.image_count]
    return reviews, ((t * 10 * 2 + n) // (2 * n), n, p)


def _rated_instances(session, parts, rows) -> list[Review] | None:
    """The reviews of :func:`_rated_rows_statement`'s rows as persistent
    instances of ``session``, each with its ``user`` (and the user's
    ``member_level``) loaded, as the ORM's joined eager loads give them: an
    instance the session already holds, loaded, is used as it is (the ORM
    neither refreshes it nor replaces it: the signed-in buyer, their member
    level), the others made clean from the rows (a user reviewing twice:
    one instance). None, before any instance is made, when a held one lacks
    a value the ORM would load into it (expired, partly loaded) or a load
    event listens: the caller then reads through the ORM."""
    from sqlalchemy.orm.attributes import instance_state, set_committed_value

    from jishi.accounts.models import MemberLevel, User
    from jishi.loaders import persistent

    if session.dispatch.loaded_as_persistent:
        return None
    rcols, ucols, mcols = parts
    identity_map = session.identity_map
    kinds = ((Review, rcols, "user"), (User, ucols, "member_level"), (MemberLevel, mcols, None))
    held: dict = {}
    for model, cols, relation in kinds:  # decided before any instance is made: all of them this way, or none
        mapper = model.__mapper__
        if mapper.class_manager.dispatch.load:
            return None
        pos = cols[0][1]
        for row in rows:
            if row[pos] is None:
                continue
            key = mapper.identity_key_from_primary_key([row[pos]])
            obj = identity_map.get(key)
            if obj is not None:
                values = instance_state(obj).dict
                if any(k not in values for k, _i in cols) or (relation is not None and relation not in values):
                    return None
                held[key] = obj

    def instance(model, cols, row):
        mapper = model.__mapper__
        key = mapper.identity_key_from_primary_key([row[cols[0][1]]])
        obj = held.get(key)
        if obj is None:
            obj = persistent(session, model, {k: row[i] for k, i in cols}, existing="none")
            if obj is None:  # (checked above: cannot happen)
                raise RuntimeError("review instance not made")
            held[key] = obj
            return obj, True
        return obj, False

    out = []
    for row in rows:
        review, new_review = instance(Review, rcols, row)
        if new_review:
            user = None
            if row[ucols[0][1]] is not None:
                user, new_user = instance(User, ucols, row)
                if new_user:
                    level = None
                    if row[mcols[0][1]] is not None:
                        level, _new = instance(MemberLevel, mcols, row)
                    set_committed_value(user, "member_level", level)
            set_committed_value(review, "user", user)
        out.append(review)
    return out


@functools.cache
def _rated_statement(with_pictures: bool):
    """:func:`product_reviews_rated`'s SELECT with ``product_id`` and
    ``limit`` parameters, built once (the product page runs it: no building
    or cache keying per page)."""
    count = func.count(Review.id).over()
    total = func.sum(Review.rating).over()
    pics = func.sum(_has_pictures()).over()
    order = (_has_pictures().desc(), Review.id.desc()) if with_pictures else (Review.id.desc(),)
    return (
        select(Review, count, total, pics)
        .where(Review.product_id == bindparam("product_id", type_=Integer), *_visible())
        .order_by(*order)
        .limit(bindparam("limit", type_=Integer))
    )


@functools.cache
def _rated_rows_statement(with_pictures: bool):
    """:func:`_rated_statement` as a Core SELECT of the columns its joined
    eager loads read (the review, the window aggregates, the review's user
    and the user's member level, outer joined), built once and run from
    its SQL compiled once per dialect (:func:`jishi.loaders.held_rows`):
    ``((review, user, member level) column positions, statement, its
    compiled SQL per dialect)``; the aggregates are at positions 1-3."""
    from jishi.accounts.models import MemberLevel, User

    def columns(model):
        mapper = model.__mapper__
        return [(mapper.get_property_by_column(c).key, c) for c in mapper.columns if c.table is not None]

    models = (Review, User, MemberLevel)
    eager = {
        (model, rel.key)
        for model in models
        for rel in model.__mapper__.relationships
        if rel.lazy not in ("select", True, "noload", "raise", "raise_on_sql", "write_only", "dynamic")
    }
    plain = all(c.table is not None for model in models for c in model.__mapper__.columns)
    if eager != {(Review, "user"), (User, "member_level")} or not plain:
        return None  # loads the ORM makes that these rows would not: the ORM's read
    own, users, levels = columns(Review), columns(User), columns(MemberLevel)
    aggregates = [func.count(Review.id).over(), func.sum(Review.rating).over(), func.sum(_has_pictures()).over()]
    # the primary key first in each part (its row present or not); the
    # aggregates right after the review's id
    own, users, levels = (sorted(attrs, key=lambda kv: kv[0] != "id") for attrs in (own, users, levels))
    cols: list = [own[0][1], *aggregates]
    parts: list[tuple] = []
    for attrs in (own, users, levels):
        if not parts:
            positions = [(own[0][0], 0)] + [(key, len(cols) + n) for n, (key, _c) in enumerate(own[1:])]
            cols += [c for _k, c in own[1:]]
        else:
            positions = [(key, len(cols) + n) for n, (key, _c) in enumerate(attrs)]
            cols += [c for _k, c in attrs]
        parts.append(tuple(positions))
    order = (_has_pictures().desc(), Review.id.desc()) if with_pictures else (Review.id.desc(),)
    query = (
        select(*cols)
        .select_from(
            Review.__table__.outerjoin(User.__table__, User.id == Review.user_id).outerjoin(
                MemberLevel.__table__, MemberLevel.id == User.member_level_id
            )
        )
        .where(Review.product_id == bindparam("product_id", type_=Integer), *_visible())
        .order_by(*order)
        .limit(bindparam("limit", type_=Integer))
    )
    return tuple(parts), query, {}


def list_reviews(
    *,
    visible: bool | None = None,
    product_id: int | None = None,
    include_deleted: bool = False,
    cursor=None,
    limit: int = 20,
):
    """Reviews for the console, newest first; keyset by id."""
    q = select(Review).order_by(Review.id.desc()).limit(limit + 1)
    if visible is not None:
        q = q.where(Review.is_visible.is_(visible))
    if product_id is not None:
        q = q.where(Review.product_id == product_id)
    if not include_deleted:
        q = q.where(Review.deleted_at.is_(None))
    if cursor:
        q = q.where(Review.id < int(cursor))
    rows = list(db.session.execute(q).scalars())
    nxt = None
    if len(rows) > limit:
        rows = rows[:limit]
        nxt = str(rows[-1].id)
    return rows, nxt
