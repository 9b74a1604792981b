"""Recording, listing and removing a buyer's footprints (浏览足迹).

Views arrive in batches from the kernel's visit tracking (hook
``products_viewed``), never from a request: opening a product costs its
page nothing here. Listing and removing take the buyer (the signed-in
principal) from their caller, never from the request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from jishi.accounts.models import User
from jishi.catalog.models import Product
from jishi.catalog.service import MAX_ID, ListedProduct, checked_product_id, listed_product_columns
from jishi.db import db
from jishi.errors import DomainError
from jishi.hookspecs import ProductView
from jishi.i18n import gettext as _
from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from jishi_footprints.models import Footprint

#: footprints kept per buyer: opening another drops the oldest (JD and
#: Taobao keep a few months' worth; a buyer looks back a page or two)
MAX_FOOTPRINTS = 200
#: a page of the list
PAGE = 30
_ROWS_A_STATEMENT = 300  # 900 bound values: under SQLite's oldest limit (999)


class FootprintError(DomainError):
    """422 for a cursor that is not one."""


@dataclass(frozen=True)
class Seen(ListedProduct):
    """A footprint as the list shows it: the product now (its price, main
    image) and whether a buyer can still open and buy it."""

    id: int
    viewed_at: datetime


def record(views: Sequence[ProductView]) -> int:
    """Note ``views`` (the ``products_viewed`` hook's batch): per buyer and
    product the latest time, never moved back by an older view; a buyer or
    product gone meanwhile is skipped; each buyer keeps the newest
    :data:`MAX_FOOTPRINTS`. Commits; the number of rows written."""
    latest: dict[tuple[int, int], datetime] = {}
    for view in views:
        key = (view.user_id, view.product_id)
        at = view.viewed_at.replace(microsecond=0)  # (to the second: the list's cursor is)
        if key not in latest or at > latest[key]:
            latest[key] = at
    if not latest:
        return 0
    users = {u for u, _p in latest}
    products = {p for _u, p in latest}
    users &= set(db.session.execute(select(User.id).where(User.id.in_(users))).scalars())
    products &= set(db.session.execute(select(Product.id).where(Product.id.in_(products))).scalars())
    rows = [
        {"user_id": u, "product_id": p, "viewed_at": at}
        for (u, p), at in sorted(latest.items())  # (one order: two batches at once never deadlock)
        if u in users and p in products
    ]
    postgres = db.session.get_bind().dialect.name == "postgresql"
    insert = postgresql.insert if postgres else sqlite.insert
    for i in range(0, len(rows), _ROWS_A_STATEMENT):
        stmt = insert(Footprint).values(rows[i : i + _ROWS_A_STATEMENT])
        later = (func.greatest if postgres else func.max)(Footprint.viewed_at, stmt.excluded.viewed_at)
        db.session.execute(
            stmt.on_conflict_do_update(index_elements=["user_id", "product_id"], set_={"viewed_at": later})
        )
    over = db.session.execute(
        select(Footprint.user_id)
        .where(Footprint.user_id.in_(users))
        .group_by(Footprint.user_id)
        .having(func.count() > MAX_FOOTPRINTS)
    ).scalars()
    for user_id in list(over):
        newest = (
            select(Footprint.id)
            .where(Footprint.user_id == user_id)
            .order_by(Footprint.viewed_at.desc(), Footprint.id.desc())
            .limit(MAX_FOOTPRINTS)
        )
        db.session.execute(
            delete(Footprint).where(Footprint.user_id == user_id, Footprint.id.not_in(newest.scalar_subquery()))
        )
    db.session.commit()
    return len(rows)


_CURSOR = re.compile(r"^(\d{1,12})\.(\d{1,10})$")


def _cursor(item: Seen) -> str:
    return f"{int(item.viewed_at.replace(tzinfo=UTC).timestamp())}.{item.id}"


def _after(before: str) -> tuple[datetime, int]:
    found = _CURSOR.match(before)
    if found is None or int(found.group(2)) > MAX_ID:
        raise FootprintError("before", _("Not a page of footprints: start from the first."), code="invalid")
    try:
        at = datetime.fromtimestamp(int(found.group(1)), UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        raise FootprintError("before", _("Not a page of footprints: start from the first."), code="invalid") from None
    return at, int(found.group(2))


def seen(user, *, before: str | None = None, limit: int = PAGE) -> tuple[list[Seen], str | None]:
    """A page of ``user``'s footprints, newest first, in one statement; and
    the ``before`` of the next page (None at the end). A product taken off
    the shelf (or hidden) stays listed, not ``available``."""
    stmt = (
        select(
            Footprint.id,
            Footprint.product_id,
            Footprint.viewed_at,
            *listed_product_columns(),
        )
        .join(Product, Product.id == Footprint.product_id)
        .where(Footprint.user_id == user.id)
        .order_by(Footprint.viewed_at.desc(), Footprint.id.desc())
        .limit(limit + 1)
    )
    if before:
        at, last = _after(before)
        stmt = stmt.where(or_(Footprint.viewed_at < at, and_(Footprint.viewed_at == at, Footprint.id < last)))
    rows = db.session.execute(stmt).all()
    items = [Seen.from_row(r, id=r.id, viewed_at=r.viewed_at) for r in rows[:limit]]
    return items, (_cursor(items[-1]) if len(rows) > limit else None)


def count(user) -> int:
    return db.session.execute(
        select(func.count()).select_from(Footprint).where(Footprint.user_id == user.id)
    ).scalar_one()


def remove(user, product_id: int) -> bool:
    """Forget that ``user`` opened ``product_id``: True when there was a
    footprint (a second call changes nothing)."""
    product_id = checked_product_id(product_id)
    result = db.session.execute(
        delete(Footprint).where(Footprint.user_id == user.id, Footprint.product_id == product_id)
    )
    return bool(result.rowcount)


def clear(user) -> int:
    """Forget every footprint of ``user``; how many there were."""
    return db.session.execute(delete(Footprint).where(Footprint.user_id == user.id)).rowcount or 0
