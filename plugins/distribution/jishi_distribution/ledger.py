"""The promoters' commission ledger: every change of an account is one
``distribution_entries`` row plus the same change of the account row, in
the caller's transaction (no commit here).

- Earning adds to ``frozen``; releasing moves it to ``available``, paying
  off any ``debt`` first; a reversal takes from ``frozen`` (a frozen
  commission) or from ``available`` (a released one), and what
  ``available`` cannot cover becomes ``debt`` (available never goes below
  zero; debt is set off against the next releases).
- A withdrawal is ONE conditional UPDATE (``available >= n`` and the
  interval since the last request passed): parallel requests serialise on
  the account row and the loser finds the balance already taken.
- Every other change locks the account row first (``SELECT ... FOR
  UPDATE``), so a reversal's split between available and debt is computed
  on the row as it is.

Per record (``Commission.paid_amount``): a withdrawal marked paid is
allocated to the promoter's released records oldest first, each up to what
is left of it (``amount - reversed - paid_amount``), in the same
transaction (:func:`allocate_paid`); what cannot be placed there (the
promoter's debt: a reversal took money already withdrawing) goes to the
oldest records reversed after all, up to their original amount, so the
excess ``paid_amount - (amount - reversed)`` of a record is its debt. The
records' debts always add up to the account's ``debt``: when a credit sets
debt off (:func:`credit`), or a reversal of a paid record is covered by the
available balance, the difference of ``paid_amount`` moves from the records
in debt to the oldest records with room (:func:`shift_paid`). So ``sum(paid_amount) == paid`` and a record's room plus debt always add up
to the account: ``available + withdrawing - debt == sum(room) - sum(debt)``.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from jishi.db import db, utcnow
from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from jishi_distribution.models import C_RELEASED, C_REVERSED, Account, Commission, Entry

FIELDS = ("frozen", "available", "withdrawing", "paid", "debt")


def ensure_account(user_id: int) -> None:
    """The promoter's account row exists (insert or nothing, race-free)."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(
        insert(Account)
        .values(user_id=user_id, frozen=0, available=0, withdrawing=0, paid=0, debt=0, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id"])
    )


def lock(user_id: int) -> Account:
    """The account row, locked for this transaction (PostgreSQL), fresh."""
    ensure_account(user_id)
    return db.session.execute(
        select(Account).where(Account.user_id == user_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


def post(user_id: int, kind: str, ref: str, **deltas: int) -> None:
    """One entry and the same change of the account (``frozen=``,
    ``available=``, ``withdrawing=``, ``paid=``, ``debt=`` deltas)."""
    deltas = {k: v for k, v in deltas.items() if v}
    if not deltas:
        return
    if set(deltas) - set(FIELDS):
        raise ValueError(f"unknown account fields {sorted(set(deltas) - set(FIELDS))}")
    ensure_account(user_id)
    db.session.execute(
        update(Account)
        .where(Account.user_id == user_id)
        .values(updated_at=utcnow(), **{k: getattr(Account, k) + v for k, v in deltas.items()})
        .execution_options(synchronize_session=False)
    )
    db.session.add(
        Entry(
            user_id=user_id,
            kind=kind,
            ref=ref,
            created_at=utcnow(),
            **{f"{k}_delta": v for k, v in deltas.items()},
        )
    )
    db.session.flush()


def credit(user_id: int, kind: str, ref: str, amount: int, **moves: int) -> None:
    """``amount`` becomes available (with ``moves``, e.g. ``frozen=-amount``),
    paying off the promoter's debt first."""
    account = lock(user_id)
    offset = min(account.debt, amount)
    post(user_id, kind, ref, available=amount - offset, debt=-offset, **moves)
    if offset:
        shift_paid(user_id)


def _settled_rows(user_id: int) -> list[Commission]:
    """The promoter's released (or since reversed) records, oldest first,
    locked (the account row is locked already: callers serialise on it)."""
    return list(
        db.session.scalars(
            select(Commission)
            .where(Commission.promoter_id == user_id, Commission.status.in_((C_RELEASED, C_REVERSED)))
            .order_by(Commission.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def _add_paid(c: Commission, delta: int) -> None:
    db.session.execute(
        update(Commission)
        .where(Commission.id == c.id)
        .values(paid_amount=Commission.paid_amount + delta)
        .execution_options(synchronize_session=False)
    )
    c.paid_amount += delta  # the row as written (no second read)
    db.session.flush()


def allocate_paid(user_id: int, amount: int) -> int:
    """Mark ``amount`` fen paid on the promoter's records, oldest first:
    first up to what is left of each (``amount - reversed - paid_amount``),
    then (a debt) up to each reversed record's original amount. Returns what
    was placed (``amount`` whenever the ledger is consistent)."""
    rows = _settled_rows(user_id)
    left = amount
    for room in (lambda c: c.amount - c.reversed - c.paid_amount, lambda c: c.amount - c.paid_amount):
        for c in rows:
            put = min(max(0, room(c)), left)
            if put:
                _add_paid(c, put)
                left -= put
    return amount - left


def shift_paid(user_id: int) -> None:
    """Make the records' debts add up to the account's ``debt``: the
    difference of ``paid_amount`` moves from the records in debt (oldest
    first) to the oldest records with room (the account row is locked)."""
    rows = _settled_rows(user_id)
    amount = sum(max(0, c.paid_amount - (c.amount - c.reversed)) for c in rows) - balances(user_id)["debt"]
    if amount <= 0:
        return
    free = 0
    for c in rows:
        excess = min(max(0, c.paid_amount - (c.amount - c.reversed)), amount - free)
        if excess:
            _add_paid(c, -excess)
            free += excess
    for c in rows:
        put = min(max(0, c.amount - c.reversed - c.paid_amount), free)
        if put:
            _add_paid(c, put)
            free -= put


def take(user_id: int, kind: str, ref: str, amount: int, *, frozen: bool) -> None:
    """A reversal of ``amount``: from ``frozen``, or from ``available`` with
    the shortfall becoming ``debt``."""
    if amount <= 0:
        return
    if frozen:
        lock(user_id)
        post(user_id, kind, ref, frozen=-amount)
        return
    account = lock(user_id)
    from_available = min(account.available, amount)
    post(user_id, kind, ref, available=-from_available, debt=amount - from_available)


def withdraw(user_id: int, amount: int, not_since: datetime | None) -> bool:
    """Move ``amount`` from available to withdrawing if the promoter has it
    and made no request since ``not_since``: one conditional UPDATE. False
    (nothing written) otherwise; on True the caller writes the entry
    (:func:`record`) once its withdrawal row has an id."""
    ensure_account(user_id)
    now = utcnow()
    q = update(Account).where(Account.user_id == user_id, Account.available >= amount)
    if not_since is not None:
        q = q.where(or_(Account.last_withdraw_at.is_(None), Account.last_withdraw_at < not_since))
    result = db.session.execute(
        q.values(
            available=Account.available - amount,
            withdrawing=Account.withdrawing + amount,
            last_withdraw_at=now,
            updated_at=now,
        ).execution_options(synchronize_session=False)
    )
    return cast(CursorResult, result).rowcount == 1


def record(user_id: int, kind: str, ref: str, **deltas: int) -> None:
    """The entry of a change the caller already made to the account row."""
    db.session.add(
        Entry(user_id=user_id, kind=kind, ref=ref, created_at=utcnow(), **{f"{k}_delta": v for k, v in deltas.items()})
    )
    db.session.flush()


def balances(user_id: int) -> dict[str, int]:
    row = db.session.execute(select(*(getattr(Account, f) for f in FIELDS)).where(Account.user_id == user_id)).first()
    return dict(zip(FIELDS, (int(v) for v in row), strict=True)) if row else dict.fromkeys(FIELDS, 0)


def ledger_sums(user_id: int) -> dict[str, int]:
    """The same figures as sums of the ledger: always equal to :func:`balances`."""
    row = db.session.execute(
        select(*(func.coalesce(func.sum(getattr(Entry, f"{f}_delta")), 0) for f in FIELDS)).where(
            Entry.user_id == user_id
        )
    ).one()
    return dict(zip(FIELDS, (int(v) for v in row), strict=True))
