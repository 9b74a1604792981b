"""Account rules (SPEC K5, K15): registration, sign-in, addresses, locale,
roles and member levels. No Flask request in here except the web-session
helpers :func:`login` / :func:`logout`."""

from __future__ import annotations

import contextlib
import re

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from jishi import signals
from jishi.accounts.auth import (
    _hasher,
    check_password,
    hash_password,
    rotate_session_token,
)
from jishi.accounts.models import ROLES, Address, MemberLevel, User
from jishi.db import commit, db, rollback
from jishi.errors import DomainError
from jishi.i18n import gettext as _

PHONE_RE = re.compile(r"^1\d{10}$")
MIN_PASSWORD = 8
MAX_ADDRESSES = 50
ADDRESS_FIELDS = {"name": 40, "phone": 20, "province": 30, "city": 30, "district": 30, "detail": 200}
REQUIRED_ADDRESS_FIELDS = ("name", "phone", "province", "city", "detail")
# A real hash of a random password: authenticate() spends the same time
# whether or not the phone exists (no account enumeration by timing).
_DUMMY_HASH = None


class AccountError(DomainError):
    """Bad account input; ``field`` names the offending field."""


def _check_phone(phone) -> str:
    phone = phone.strip() if isinstance(phone, str) else ""
    if not PHONE_RE.match(phone):
        raise AccountError("phone", _("Enter an 11-digit mobile number starting with 1."))
    return phone


def _check_password(password) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise AccountError("password", _("The password needs at least %(n)d characters.", n=MIN_PASSWORD))
    if len(password) > 128:
        raise AccountError("password", _("The password is too long."))
    return password


def register(phone: str, password: str, name: str = "") -> User:
    """Create a buyer account; raises :class:`AccountError` naming the field."""
    phone = _check_phone(phone)
    _check_password(password)
    name = (name or "").strip()
    if len(name) > 60:
        raise AccountError("name", _("At most %(n)d characters.", n=60))
    if db.session.execute(select(User.id).where(User.phone == phone)).first():
        raise AccountError("phone", _("This phone number is already registered."), code="conflict")
    user = User(phone=phone, password_hash=hash_password(password), name=name)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        rollback()
        raise AccountError("phone", _("This phone number is already registered."), code="conflict") from None
    signals.queue(signals.user_registered, user)
    commit()
    return user


def authenticate(phone: str, password: str) -> User | None:
    """The active user with this phone and password, else ``None``."""
    global _DUMMY_HASH
    if not isinstance(phone, str) or not isinstance(password, str):
        return None
    user = db.session.execute(select(User).where(User.phone == phone.strip())).scalar_one_or_none()
    if user is None or not user.is_active:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password("not-a-password")
        with contextlib.suppress(VerificationError, InvalidHashError):
            _hasher.verify(_DUMMY_HASH, password)  # only to spend the same time
        return None
    if not check_password(user, password):
        return None
    if db.session.is_modified(user):  # the hash was upgraded
        commit()
    return user


def login(user: User, remember: bool = False) -> None:
    """Start a web session (Flask-Login)."""
    from flask_login import login_user

    login_user(user, remember=remember)


def logout(user: User | None = None) -> None:
    """End the web session and revoke every session of the user."""
    from flask_login import current_user, logout_user

    user = user or (current_user if current_user.is_authenticated else None)
    if user is not None:
        rotate_session_token(user)
        commit()
    logout_user()


def update_profile(user: User, data: dict) -> User:
    if "name" in data:
        name = data["name"]
        if not isinstance(name, str) or len(name.strip()) > 60:
            raise AccountError("name", _("At most %(n)d characters.", n=60))
        user.name = name.strip()
    if "locale" in data:
        _set_locale(user, data["locale"])
    commit()
    return user


def _set_locale(user: User, locale) -> None:
    from flask import current_app

    if locale is not None and locale not in current_app.config["JISHI_LOCALES"]:
        raise AccountError("locale", _("Unknown language."))
    user.locale = locale


def set_locale(user: User, locale: str | None) -> None:
    """The user's language (``None``: follow the browser)."""
    _set_locale(user, locale)
    commit()


# --- Addresses -------------------------------------------------------------


def list_addresses(user: User) -> list[Address]:
    """The user's addresses, default first."""
    return list(
        db.session.execute(
            select(Address).where(Address.user_id == user.id).order_by(Address.is_default.desc(), Address.id.desc())
        ).scalars()
    )


def get_address(user: User, address_id: int) -> Address | None:
    """The user's address ``address_id``; ``None`` for another user's."""
    address = db.session.get(Address, address_id)
    if address is None or address.user_id != user.id:
        return None
    return address


def _clean_address(data: dict, partial: bool) -> dict:
    out = {}
    for key, max_len in ADDRESS_FIELDS.items():
        if key not in data:
            if not partial and key in REQUIRED_ADDRESS_FIELDS:
                raise AccountError(key, _("This field is required."))
            continue
        value = data[key]
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise AccountError(key, _("Must be text."))
        value = value.strip()
        if key in REQUIRED_ADDRESS_FIELDS and not value:
            raise AccountError(key, _("This field is required."))
        if len(value) > max_len:
            raise AccountError(key, _("At most %(n)d characters.", n=max_len))
        out[key] = value
    if "phone" in out and not re.match(r"^[0-9+\- ]{5,20}$", out["phone"]):
        raise AccountError("phone", _("Enter a valid phone number."))
    for key, low, high in (("lat", -90, 90), ("lng", -180, 180)):
        if key in data:
            value = data[key]
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high
            ):
                raise AccountError(key, _("Out of range."))
            out[key] = value
    if "is_default" in data:
        if not isinstance(data["is_default"], bool):
            raise AccountError("is_default", _("Must be true or false."))
        out["is_default"] = data["is_default"]
    return out


def clean_address(data: dict) -> dict:
    """A complete address checked as the address book checks it (name,
    phone, province, city, district, detail, lat, lng; ``is_default`` is not
    an address's): raises :class:`AccountError` naming the field."""
    values = _clean_address(data, partial=False)
    values.pop("is_default", None)
    return values


def _clear_default(user: User, keep_id: int | None) -> None:
    stmt = update(Address).where(Address.user_id == user.id, Address.is_default.is_(True))
    if keep_id is not None:
        stmt = stmt.where(Address.id != keep_id)
    db.session.execute(stmt.values(is_default=False).execution_options(synchronize_session="fetch"))


def add_address(user: User, data: dict) -> Address:
    """Add an address; the first one (or one marked ``is_default``) becomes the default."""
    values = _clean_address(data, partial=False)
    count = db.session.execute(select(func.count()).select_from(Address).where(Address.user_id == user.id)).scalar_one()
    if count >= MAX_ADDRESSES:
        raise AccountError(None, _("You have too many addresses."), code="limit")
    values["is_default"] = values.get("is_default", False) or count == 0
    address = Address(user_id=user.id, **values)
    db.session.add(address)
    db.session.flush()
    if address.is_default:
        _clear_default(user, address.id)
    commit()
    return address


def update_address(user: User, address_id: int, data: dict) -> Address | None:
    """Change the user's address; ``None`` when it is not theirs."""
    address = get_address(user, address_id)
    if address is None:
        return None
    values = _clean_address(data, partial=True)
    if values.get("is_default") is False and address.is_default:
        values.pop("is_default")  # there is always one default; choose another instead
    for key, value in values.items():
        setattr(address, key, value)
    if values.get("is_default"):
        _clear_default(user, address.id)
    commit()
    return address


def delete_address(user: User, address_id: int) -> bool:
    """Delete the user's address; the newest remaining becomes the default."""
    address = get_address(user, address_id)
    if address is None:
        return False
    was_default = address.is_default
    db.session.delete(address)
    db.session.flush()
    if was_default:
        nxt = db.session.execute(
            select(Address).where(Address.user_id == user.id).order_by(Address.id.desc()).limit(1)
        ).scalar_one_or_none()
        if nxt is not None:
            nxt.is_default = True
    commit()
    return True


# --- Roles and member levels (platform admin) ------------------------------


def list_users(
    *, q: str | None = None, role: str | None = None, after_id: int | None = None, limit: int = 20
) -> tuple[list[User], int | None]:
    """Users newest first, keyset by id; returns (users, next after_id)."""
    stmt = select(User).order_by(User.id.desc())
    if q:
        stmt = stmt.where(
            User.phone.contains(q.strip(), autoescape=True) | User.name.contains(q.strip(), autoescape=True)
        )
    if role:
        stmt = stmt.where(User.role == role)
    if after_id:
        stmt = stmt.where(User.id < after_id)
    rows = list(db.session.execute(stmt.limit(limit + 1)).scalars())
    nxt = None
    if len(rows) > limit:
        rows = rows[:limit]
        nxt = rows[-1].id
    return rows, nxt


def set_role(user: User, role: str, actor: User | None = None) -> None:
    if role not in ROLES:
        raise AccountError("role", _("Unknown role."))
    if actor is not None and actor.id == user.id and role != user.role:
        raise AccountError("role", _("You cannot change your own role."))
    user.role = role
    rotate_session_token(user)  # new rights: sign in again
    commit()


def list_member_levels() -> list[MemberLevel]:
    return list(db.session.execute(select(MemberLevel).order_by(MemberLevel.rank, MemberLevel.id)).scalars())


def save_member_level(data: dict, level: MemberLevel | None = None) -> MemberLevel:
    name = data.get("name", level.name if level else None)
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 40:
        raise AccountError("name", _("This field is required."))
    rank = data.get("rank", level.rank if level else 1)
    if not isinstance(rank, int) or isinstance(rank, bool) or not 0 <= rank <= 1000:
        raise AccountError("rank", _("Must be an integer from 0 to 1000."))
    if level is None:
        level = MemberLevel(name=name.strip(), rank=rank)
        db.session.add(level)
    else:
        level.name, level.rank = name.strip(), rank
    commit()
    return level


def delete_member_level(level: MemberLevel) -> None:
    if db.session.execute(select(User.id).where(User.member_level_id == level.id).limit(1)).first():
        raise AccountError("id", _("Users still have this level."), code="conflict")
    db.session.delete(level)
    commit()


def set_member_level(user: User, level_id: int | None) -> None:
    """Give ``user`` a member level (``None`` removes it)."""
    if level_id is not None:
        level = db.session.get(MemberLevel, level_id)
        if level is None:
            raise AccountError("member_level_id", _("Unknown member level."))
        user.member_level = level
    else:
        user.member_level = None
    commit()
