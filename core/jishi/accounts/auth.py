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
from sqlalchemy import Integer, String, bindparam, select
from sqlalchemy.orm.attributes import set_committed_value

from jishi.accounts.models import ApiToken, MemberLevel, User
from jishi.db import db, utcnow
from jishi.loaders import held_rows, persistent

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
    if not uid.isdecimal() or not token:
        return None
    session = db.session()
    if User.__mapper__.identity_key_from_primary_key([int(uid)]) in session.identity_map:
        user = session.get(User, int(uid))  # held: the session's instance, no statement (as before)
    else:
        user = _read_user("session", {"user_id": int(uid)})
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
    return _read_user("bearer", {"token_hash": _token_hash(token)})


#: kind ("bearer", "session") -> ``(statement, user column positions,
#: member level column positions, its compiled SQL per dialect)``: built
#: once (app-independent: the models' tables), the SQL per engine dialect.
#: Users themselves are never kept: every request reads its own.
_USER_READS: dict[str, tuple] = {}


def _user_read(kind: str) -> tuple:
    hit = _USER_READS.get(kind)
    if hit is not None:
        return hit
    columns: list = []
    positions: list[list[tuple[str, int]]] = []
    for entity in (User, MemberLevel):
        mapper = entity.__mapper__
        own = []
        for c in mapper.columns:
            if c.table is entity.__table__:
                own.append((mapper.get_property_by_column(c).key, len(columns)))
                columns.append(c)
        positions.append(own)
    stmt = select(*columns).select_from(User).outerjoin(MemberLevel, User.member_level_id == MemberLevel.id)
    if kind == "bearer":
        stmt = stmt.join(ApiToken, ApiToken.user_id == User.id).where(
            ApiToken.token_hash == bindparam("token_hash", type_=String),
            ApiToken.revoked_at.is_(None),
            User.is_active.is_(True),
        )
    else:
        stmt = stmt.where(User.id == bindparam("user_id", type_=Integer))
    hit = _USER_READS[kind] = (stmt, positions[0], positions[1], {})
    return hit


def _read_user(kind: str, params: dict) -> User | None:
    """The user of :func:`load_bearer_user` (``token_hash``: the active
    user of a token not revoked) or :func:`load_session_user` (``user_id``:
    as ``session.get`` reads it), with its member level, in ONE statement.

    The statement is a Core SELECT of the user's and its member level's
    columns (the ORM's joined eager load of ``member_level``), run from its
    SQL compiled once per dialect (:func:`jishi.loaders.held_rows`), and the
    row becomes clean persistent instances of the session
    (:func:`jishi.loaders.persistent`): the same objects the ORM's loading
    gives (later code may modify and commit them), for a fraction of its
    Python work. When the session already holds the user or its level (or a
    load event listens) the ORM reads them as before, so a held instance is
    never replaced or refreshed behind its holder's back."""
    stmt, ucols, lcols, forms = _user_read(kind)
    session = db.session()
    if session.autoflush:
        session.flush()  # as session.execute would (a no-op when nothing is pending)
    rows = held_rows(session.connection(), stmt, params, forms, direct=True)
    if not rows:
        return None
    (row,) = rows  # (token_hash is unique, id the key: one row at most)
    has_level = row[lcols[0][1]] is not None
    # (the level first: a user of the session is never left without its level loaded)
    level = persistent(session, MemberLevel, {k: row[i] for k, i in lcols}, existing="none") if has_level else None
    user = None
    if level is not None or not has_level:
        user = persistent(session, User, {k: row[i] for k, i in ucols}, existing="none")
    if user is None:
        # the session holds one of them: the ORM's load (held instances kept as they are)
        if kind == "bearer":
            return session.execute(_bearer_statement(), params).scalar_one_or_none()
        return session.get(User, params["user_id"])
    set_committed_value(user, "member_level", level)
    return user


@functools.cache
def _bearer_statement():
    """:func:`load_bearer_user`'s read through the ORM (when the session
    already holds the user or its member level, see :func:`_read_user`): the
    active user of a token that is not revoked, in ONE statement loading
    only the user (the token row is a join, never an ORM instance). Built
    once (no building or cache keying per request)."""
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
