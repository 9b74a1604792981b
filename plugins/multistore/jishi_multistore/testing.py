"""Factories for tests of multistore and of plugins that build on it."""

from __future__ import annotations

from itertools import count

from jishi.db import db, utcnow
from jishi.testing import factories

from jishi_multistore.models import (
    OPEN,
    REVIEW_APPROVED,
    ROLE_ADMIN,
    ROLE_CLERK,
    Merchant,
    MerchantMember,
    ProductState,
)

_seq = count(1)


def merchant(name: str | None = None, *, owner=None, status: str = OPEN, approved: bool = True, **kw) -> Merchant:
    """An approved merchant whose owner is its admin member."""
    owner = owner or factories.user(name=f"店主{next(_seq)}")
    now = utcnow()
    m = Merchant(
        owner_id=owner.id,
        name=name or f"商户{next(_seq)}",
        review_status=REVIEW_APPROVED if approved else "pending",
        status=status,
        reviewed_at=now if approved else None,
        approved_at=now if approved else None,
        **kw,
    )
    db.session.add(m)
    db.session.flush()
    if approved:
        db.session.add(MerchantMember(merchant_id=m.id, user_id=owner.id, role=ROLE_ADMIN))
    db.session.commit()
    return m


def admin_of(m: Merchant):
    """The merchant's owner (its admin)."""
    return db.session.get(type(m.owner), m.owner_id)


def clerk(m: Merchant, user=None):
    """A new clerk of ``m``."""
    user = user or factories.user(name="店员")
    db.session.add(MerchantMember(merchant_id=m.id, user_id=user.id, role=ROLE_CLERK))
    db.session.commit()
    return user


def product(m: Merchant, *, review_status: str = REVIEW_APPROVED, on_shelf: bool = True, **kw):
    """A product of merchant ``m``, reviewed and (by default) on sale."""
    p = factories.product(seller_id=m.id, on_shelf=on_shelf, **kw)
    db.session.add(ProductState(product_id=p.id, merchant_id=m.id, review_status=review_status, reviewed_at=utcnow()))
    db.session.commit()
    return p
