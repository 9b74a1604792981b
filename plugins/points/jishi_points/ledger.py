"""The points ledger: every change is an entry plus the same change of the
buyer's account row, in the caller's transaction (no commit here).

Spending is ONE conditional statement (``balance >= n``) followed by its
entries: two spends at once serialise on the account row and the second
finds the balance already taken (PostgreSQL re-evaluates the condition on
the updated row). Claw-backs may take the balance below zero; a negative
balance blocks spending until points are earned back.

Lots (Odoo's per-award expiry, :class:`~jishi_points.models.PointsLot`):
every positive usable ``delta`` is an award; it first pays off a negative
balance (a claw-back's debt) and only the rest becomes a lot, expiring by
the rule of :mod:`.expiry`. Every negative usable ``delta`` (a spend, a
negative adjustment, a claw-back of usable points) draws the positive part
of the balance from the lots, soonest-expiring first (then the oldest; lots
that never expire last); the expiry job instead zeroes the lot that
expires (:mod:`.expiry`). All of it after the account row's UPDATE, so in
the transaction that holds the account's lock. Invariant (property-tested):
``sum(remaining) == max(0, balance)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from jishi.db import db, utcnow
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from jishi_points.expiry import expires_at_for
from jishi_points.models import ADJUSTED, SPENT, PointsAccount, PointsEntry, PointsLot

PAGE = 20


@dataclass(frozen=True)
class Post:
    """One entry to write: ``delta`` usable points, ``frozen_delta`` frozen ones."""

    kind: str
    source_kind: str
    source_id: int | None
    delta: int = 0
    frozen_delta: int = 0
    reason: str = ""


def ensure_account(user_id: int) -> None:
    """The buyer's account row exists (insert or nothing, race-free)."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(
        insert(PointsAccount)
        .values(user_id=user_id, balance=0, frozen=0, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id"])
    )


def _entries(user_id: int, posts: Iterable[Post]) -> list[PointsEntry]:
    now = utcnow()
    rows = [
        PointsEntry(
            user_id=user_id,
            kind=p.kind,
            delta=p.delta,
            frozen_delta=p.frozen_delta,
            source_kind=p.source_kind,
            source_id=p.source_id,
            reason=p.reason[:200],
            created_at=now,
        )
        for p in posts
    ]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def _draw(user_id: int, points: int) -> None:
    """Take ``points`` from the buyer's lots, soonest-expiring first (then
    the oldest, never-expiring last). Called with the account row locked
    (after its UPDATE), so nobody else draws them meanwhile."""
    if points <= 0:
        return
    lots = db.session.execute(
        select(PointsLot.id, PointsLot.remaining)
        .where(PointsLot.user_id == user_id, PointsLot.remaining > 0)
        .order_by(PointsLot.expires_at.asc().nulls_last(), PointsLot.id)
    ).all()
    for lot_id, remaining in lots:
        take = min(points, remaining)
        result = db.session.execute(
            update(PointsLot)
            .where(PointsLot.id == lot_id, PointsLot.remaining >= take)
            .values(remaining=PointsLot.remaining - take)
            .execution_options(synchronize_session=False)
        )
        if cast(CursorResult, result).rowcount != 1:  # pragma: no cover - the account lock rules it out
            raise RuntimeError(f"points lot {lot_id} changed under the account lock")
        points -= take
        if not points:
            return
    raise RuntimeError(f"points lots of user {user_id} short by {points}")  # pragma: no cover


def _lots(user_id: int, before: int, entries: list[PointsEntry]) -> None:
    """Keep the lots in step with ``entries`` just written, the usable
    balance having been ``before`` (see the module doc)."""
    running = before
    for entry in entries:
        delta = entry.delta
        if delta > 0:
            award = delta - max(0, -running)  # a debt is paid off first
            if award > 0:
                db.session.add(
                    PointsLot(
                        user_id=user_id,
                        entry_id=entry.id,
                        amount=award,
                        remaining=award,
                        earned_at=entry.created_at,
                        expires_at=expires_at_for(entry.created_at),
                    )
                )
        elif delta < 0:
            _draw(user_id, min(-delta, max(0, running)))
        running += delta
    db.session.flush()


def post(user_id: int, *posts: Post) -> None:
    """Write ``posts`` and move the account by their sums (unconditionally:
    earning, returning, clawing back, adjusting), keeping the lots in step."""
    posts = tuple(p for p in posts if p.delta or p.frozen_delta)
    if not posts:
        return
    ensure_account(user_id)
    change = sum(p.delta for p in posts)
    after = db.session.execute(
        update(PointsAccount)
        .where(PointsAccount.user_id == user_id)
        .values(
            balance=PointsAccount.balance + change,
            frozen=PointsAccount.frozen + sum(p.frozen_delta for p in posts),
            updated_at=utcnow(),
        )
        .returning(PointsAccount.balance)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    entries = _entries(user_id, posts)
    if any(p.delta for p in posts):
        _lots(user_id, after - change, entries)


def spend(user_id: int, posts: Iterable[Post]) -> bool:
    """Spend the points of ``posts`` (``spent`` or ``adjusted`` entries,
    their ``delta`` negative) if the buyer has them all: one conditional
    UPDATE, then the entries. False (nothing written) when the balance is
    short."""
    posts = tuple(posts)
    total = -sum(p.delta for p in posts)
    if total <= 0 or any(p.kind not in (SPENT, ADJUSTED) or p.delta > 0 or p.frozen_delta for p in posts):
        raise ValueError("spend takes spent or adjusted entries with negative deltas")
    result = db.session.execute(
        update(PointsAccount)
        .where(PointsAccount.user_id == user_id, PointsAccount.balance >= total)
        .values(balance=PointsAccount.balance - total, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    won = cast(CursorResult, result).rowcount
    if won != 1:
        return False
    _entries(user_id, posts)
    _draw(user_id, total)
    return True


def balance(user_id: int) -> tuple[int, int]:
    """(usable, frozen) points of the buyer, from the account row."""
    row = db.session.execute(
        select(PointsAccount.balance, PointsAccount.frozen).where(PointsAccount.user_id == user_id)
    ).first()
    return (row[0], row[1]) if row else (0, 0)


def ledger_sums(user_id: int) -> tuple[int, int]:
    """(usable, frozen) as sums of the ledger: always equal to :func:`balance`."""
    row = db.session.execute(
        select(
            func.coalesce(func.sum(PointsEntry.delta), 0), func.coalesce(func.sum(PointsEntry.frozen_delta), 0)
        ).where(PointsEntry.user_id == user_id)
    ).one()
    return int(row[0]), int(row[1])


def history(user_id: int, before: int | None = None, limit: int = PAGE) -> list[PointsEntry]:
    """The buyer's entries, newest first; ``before``: an entry id (the next page)."""
    q = select(PointsEntry).where(PointsEntry.user_id == user_id)
    if before is not None:
        q = q.where(PointsEntry.id < before)
    return list(db.session.scalars(q.order_by(PointsEntry.id.desc()).limit(limit)))
