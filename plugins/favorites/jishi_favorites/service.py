"""Keeping, listing and letting go of favorite products.

Every function takes the buyer (the signed-in principal) from its caller,
never from the request. Keeping is idempotent: the unique key on (buyer,
product) makes a second keep, or two at once, one row, and the answer says
whether this call added it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from jishi.accounts.models import User
from jishi.catalog.models import Product
from jishi.catalog.service import ListedProduct, checked_product_id, listed_product_columns, visible_products
from jishi.db import db, utcnow
from jishi.errors import DomainError
from jishi.i18n import gettext as _
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError

from jishi_favorites.models import FavoriteProduct

#: products a buyer may keep (Taobao's 收藏夹 holds a few hundred too)
MAX_FAVORITES = 500
#: a page of the list
PAGE = 20
MAX_ID = 2**31 - 1


class FavoriteError(DomainError):
    """404 for a product a buyer cannot open, 409 over the limit."""


@dataclass(frozen=True)
class Kept(ListedProduct):
    """A favorite as the list shows it: the product now (its price, main
    image) and whether a buyer can still open and buy it."""

    id: int
    kept_at: object


def checked_id(product_id) -> int:
    """``product_id`` when it can be a product's id, else 404 naming it."""
    return checked_product_id(product_id)


def keep(user, product_id: int) -> bool:
    """Keep ``product_id`` for ``user``: True when this call added it, False
    when it was kept already. 404 for a product the buyer cannot open (off
    the shelf, hidden by a plugin's ``product_filters``); 409 at
    :data:`MAX_FAVORITES` (the oldest are not dropped for it), exactly:
    a buyer's keeps at once pass one by one (PostgreSQL: the buyer's row
    locked for the transaction)."""
    product_id = checked_id(product_id)
    mine = FavoriteProduct.user_id == user.id
    if db.session.get_bind().dialect.name == "postgresql":
        # One keep of a buyer at a time, so the count below is exact: two
        # taps at 499 otherwise both saw 499 and ended at 501. (SQLite's
        # writers are one at a time already: its keep begins immediately.)
        db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    visible, kept, n = db.session.execute(  # one statement: may it be kept, is it, how many are
        select(
            visible_products(select(Product.id).where(Product.id == product_id)).scalar_subquery(),
            select(FavoriteProduct.id).where(mine, FavoriteProduct.product_id == product_id).scalar_subquery(),
            select(func.count()).select_from(FavoriteProduct).where(mine).scalar_subquery(),
        )
    ).one()
    if visible is None:
        raise FavoriteError("product_id", _("This product does not exist."), status=404, code="not_found")
    if kept is not None:
        return False
    if n >= MAX_FAVORITES:
        raise FavoriteError(
            "product_id",
            _("You keep %(n)d products already: let some go first.", n=MAX_FAVORITES),
            status=409,
            code="favorites_full",
        )
    try:
        with db.session.begin_nested():
            db.session.add(FavoriteProduct(user_id=user.id, product_id=product_id, created_at=utcnow()))
    except IntegrityError:  # the same buyer's other tap won: it is kept
        return False
    return True


def let_go(user, product_id: int) -> bool:
    """Stop keeping ``product_id``: True when it was kept (a second call,
    or a product never kept, changes nothing)."""
    product_id = checked_id(product_id)
    result = db.session.execute(
        delete(FavoriteProduct).where(FavoriteProduct.user_id == user.id, FavoriteProduct.product_id == product_id)
    )
    return bool(result.rowcount)


def is_kept(user, product_id: int) -> bool:
    return (
        db.session.execute(
            select(FavoriteProduct.id).where(
                FavoriteProduct.user_id == user.id, FavoriteProduct.product_id == product_id
            )
        ).first()
        is not None
    )


def count(user) -> int:
    return db.session.execute(
        select(func.count()).select_from(FavoriteProduct).where(FavoriteProduct.user_id == user.id)
    ).scalar_one()


def kept(user, *, before: int | None = None, limit: int = PAGE) -> tuple[list[Kept], int | None]:
    """A page of ``user``'s favorites, newest first, in one statement; and
    the ``before`` of the next page (None at the end). A product taken off
    the shelf (or hidden) stays listed, not ``available``."""
    stmt = (
        select(
            FavoriteProduct.id,
            FavoriteProduct.product_id,
            FavoriteProduct.created_at,
            *listed_product_columns(),
        )
        .join(Product, Product.id == FavoriteProduct.product_id)
        .where(FavoriteProduct.user_id == user.id)
        .order_by(FavoriteProduct.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        stmt = stmt.where(FavoriteProduct.id < before)
    rows = db.session.execute(stmt).all()
    items = [Kept.from_row(r, id=r.id, kept_at=r.created_at) for r in rows[:limit]]
    return items, (items[-1].id if len(rows) > limit else None)


@functools.cache
def kept_query():
    """The product page's loader (``product_page_loaders``): the buyer's row
    for the product, read with the page's one statement."""
    return select(FavoriteProduct.id).where(
        FavoriteProduct.user_id == bindparam("user_id"), FavoriteProduct.product_id == bindparam("product_id")
    )
