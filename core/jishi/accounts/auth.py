"""Authentication: argon2 password hashes, revocable sessions and API tokens.

Web sessions (Flask-Login) carry ``"<user id>:<session token>"``; logout
rotates the user's session token, so every session cookie of the user stops
working at once. API clients send ``Authorization: Bearer <token>``; only the
token's SHA-256 is stored and logout revokes it.
"""

from __future__ import annotations

import functools
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import request
from sqlalchemy import String, bindparam

from jishi.accounts.models import ApiToken, User
from jishi.db import db, utcnow

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


def load_session_user(session_id: str) -> User | None:
    """The session cookie's user, unless the request authenticates itself
    with ``Authorization: Bearer``: explicit credentials win over a cookie
    (Flask-Login then asks :func:`load_bearer_user`)."""
    if request and request.headers.get("Authorization", "").startswith("Bearer "):
        return None
    uid, _, token = (session_id or "").partition(":")
    if not uid.isdigit() or not token:
        return None
    user = db.session.get(User, int(uid))
    if user is None or not user.is_active or not secrets.compare_digest(user.session_token, token):
        return None
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def load_bearer_user(req) -> User | None:
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    token = header[7:].strip()
    if not token:
        return None
    return db.session.execute(_bearer_statement(), {"token_hash": _token_hash(token)}).scalar_one_or_none()


@functools.cache
def _bearer_statement():
    """:func:`load_bearer_user`'s read: the active user of a token that is
    not revoked, in ONE statement loading only the user (the token row is a
    join, never an ORM instance). Built once (every API request runs it: no
    building or cache keying per request)."""
    return (
        db.select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == bindparam("token_hash", type_=String),
            ApiToken.revoked_at.is_(None),
            User.is_active.is_(True),
        )
    )


def issue_token(user: User) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token)))
    return token


def revoke_current_token() -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return False
    row = db.session.execute(
        db.select(ApiToken).where(ApiToken.token_hash == _token_hash(header[7:].strip()))
    ).scalar_one_or_none()
    if row is None:
        return False
    row.revoked_at = utcnow()
    return True


def rotate_session_token(user: User) -> None:
    user.session_token = secrets.token_hex(16)
