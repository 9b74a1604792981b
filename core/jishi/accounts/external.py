"""Accounts for sign-in plugins (WeChat, SMS...): the public API a plugin
offering another way to sign in uses instead of touching ``users`` itself.

- :func:`create_account`: a buyer account with no phone number and no
  password yet (the user signs in only through the plugin until a phone is
  bound); :func:`has_phone` tells such an account from a phone account.
- :func:`find_by_phone`, :func:`set_phone`: a verified phone number (one the
  provider vouches for) found or bound, one account per phone.
- :func:`sign_in` (a web session), :func:`token_answer` (a bearer token, the
  same answer as ``POST /api/v1/auth/login``: ``{"token", "user"}``, read by
  :data:`TokenSchema`; the user alone: :data:`UserSchema`).
- :func:`retire`: an account merged into another stops working (inactive,
  every session and token revoked); :func:`carry_over` carries its cart and addresses over.
- Member levels for a plugin that drives them (points growth levels):
  :func:`save_member_level` (create, rename or re-rank one),
  :func:`delete_member_level` (one no user holds), :func:`set_member_level`
  (a user's level, ``None`` removes it).

The caller commits (``jishi.db.commit``), except where a function says so.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select, update

from jishi import signals
from jishi.accounts.auth import issue_token, rotate_session_token
from jishi.accounts.models import ApiToken, MemberLevel, User
from jishi.accounts.service import AccountError, _check_phone
from jishi.api.accounts import AccountTokenSchema as TokenSchema
from jishi.api.accounts import AccountUserSchema as UserSchema
from jishi.db import db, utcnow
from jishi.i18n import gettext as _

__all__ = [
    "NO_PHONE_PREFIX",
    "AccountError",
    "TokenSchema",
    "UserSchema",
    "carry_over",
    "create_account",
    "delete_member_level",
    "find_by_phone",
    "has_phone",
    "retire",
    "save_member_level",
    "set_member_level",
    "set_phone",
    "sign_in",
    "token_answer",
]

#: The ``phone`` of an account created without one: ``ext:`` and 16 hex
#: digits (never an 11-digit mobile number, so it never collides with one
#: and the phone + password form never signs it in).
NO_PHONE_PREFIX = "ext:"
# Not an argon2 hash: check_password() answers False for every password.
_UNUSABLE_PASSWORD = "!no-password"


def create_account(name: str = "") -> User:
    """A new buyer account with no phone and no usable password; sends
    ``user_registered`` after the caller commits."""
    name = (name or "").strip()[:60]
    user = User(phone=NO_PHONE_PREFIX + secrets.token_hex(8), password_hash=_UNUSABLE_PASSWORD, name=name)
    db.session.add(user)
    db.session.flush()
    signals.queue(signals.user_registered, user)
    return user


def has_phone(user: User) -> bool:
    """Whether the account has a real phone number."""
    return user.has_phone


def find_by_phone(phone: str) -> User | None:
    """The account with this mobile number (11 digits), or ``None``."""
    phone = _check_phone(phone)
    return db.session.execute(select(User).where(User.phone == phone)).scalar_one_or_none()


def set_phone(user: User, phone: str) -> None:
    """Give an account without a phone the verified ``phone``; raises
    :class:`AccountError` (field ``phone``) when it is not a mobile number or
    another account has it (code ``conflict``)."""
    phone = _check_phone(phone)
    other = db.session.execute(select(User.id).where(User.phone == phone, User.id != user.id)).first()
    if other is not None:
        raise AccountError("phone", _("This phone number is already registered."), code="conflict")
    user.phone = phone


def sign_in(user: User, remember: bool = False) -> None:
    """Start a web session for ``user`` (in a request)."""
    from flask_login import login_user

    login_user(user, remember=remember)


def token_answer(user: User) -> dict:
    """A new bearer token for ``user``: ``{"token": ..., "user": user}``, what
    ``POST /api/v1/auth/login`` answers (dump it with :data:`TokenSchema`; the user alone: :data:`UserSchema`)."""
    return {"token": issue_token(user), "user": user}


def retire(user: User) -> None:
    """An account merged into another: inactive, its web sessions and API tokens revoked."""
    user.is_active = False
    rotate_session_token(user)
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def carry_over(source: User, target: User) -> int:
    """Move ``source``'s cart lines into ``target``'s cart (quantities of
    the same SKU added, up to the cart's limit) and its addresses into
    ``target``'s address book (none of them the default when ``target`` has
    one); returns the number of rows moved."""
    from jishi.accounts.models import Address
    from jishi.cart.models import CartLine
    from jishi.cart.service import MAX_QUANTITY

    lines = list(db.session.execute(select(CartLine).where(CartLine.user_id == source.id)).scalars())
    theirs = {}
    if lines:
        theirs = {
            line.sku_id: line
            for line in db.session.execute(
                select(CartLine).where(CartLine.user_id == target.id, CartLine.sku_id.in_([x.sku_id for x in lines]))
            ).scalars()
        }
    for line in lines:
        existing = theirs.get(line.sku_id)
        if existing is not None:
            existing.quantity = min(existing.quantity + line.quantity, MAX_QUANTITY)
            db.session.delete(line)
        else:
            line.user_id = target.id
    addresses = list(db.session.execute(select(Address).where(Address.user_id == source.id)).scalars())
    if addresses:
        has_default = db.session.execute(
            select(Address.id).where(Address.user_id == target.id, Address.is_default.is_(True)).limit(1)
        ).first()
        for address in addresses:
            address.user_id = target.id
            if has_default:
                address.is_default = False
    db.session.flush()
    return len(lines) + len(addresses)


def save_member_level(name: str, rank: int, level: MemberLevel | None = None) -> MemberLevel:
    """A new member level (``level`` None) or ``level`` renamed / re-ranked;
    :class:`AccountError` naming ``name`` (1 to 40 characters) or ``rank``
    (0 to 1000)."""
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > 40:
        raise AccountError("name", _("This field is required."))
    if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank <= 1000:
        raise AccountError("rank", _("Must be an integer from 0 to 1000."))
    if level is None:
        level = MemberLevel(name=name, rank=rank)
        db.session.add(level)
    else:
        level.name, level.rank = name, rank
    db.session.flush()
    return level


def delete_member_level(level: MemberLevel) -> None:
    """Delete ``level``; :class:`AccountError` (``conflict``) while a user holds it."""
    if db.session.execute(select(User.id).where(User.member_level_id == level.id).limit(1)).first():
        raise AccountError("id", _("Users still have this level."), code="conflict")
    db.session.delete(level)
    db.session.flush()


def set_member_level(user: User, level_id: int | None) -> None:
    """Give ``user`` the member level ``level_id`` (``None`` removes it);
    :class:`AccountError` naming ``member_level_id`` for an unknown level."""
    if level_id is None:
        user.member_level = None
    else:
        level = db.session.get(MemberLevel, level_id)
        if level is None:
            raise AccountError("member_level_id", _("Unknown member level."))
        user.member_level = level
    db.session.flush()
