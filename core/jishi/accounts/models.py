"""Accounts: users, API tokens, addresses, member levels (SPEC K5, K15)."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jishi.db import db, utcnow

ROLE_BUYER = "buyer"
ROLE_PLATFORM_ADMIN = "platform_admin"
ROLE_PLATFORM_STAFF = "platform_staff"
ROLES = (ROLE_BUYER, ROLE_PLATFORM_ADMIN, ROLE_PLATFORM_STAFF)
PLATFORM_ROLES = (ROLE_PLATFORM_ADMIN, ROLE_PLATFORM_STAFF)


class MemberLevel(db.Model):
    __tablename__ = "member_levels"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    rank: Mapped[int] = mapped_column(default=1)


class StaffRole(db.Model):
    """A role made of named permissions (:class:`jishi.hookspecs.Permission`
    codes): the platform's own (``seller_id`` None) for platform staff, or a
    seller's for its staff (multistore merchants)."""

    __tablename__ = "staff_roles"
    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int | None] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(40))
    permissions: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(60), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30), default=ROLE_BUYER)
    member_level_id: Mapped[int | None] = mapped_column(ForeignKey("member_levels.id"))
    # Rotated on logout / password change: every session cookie embeds it, so
    # logging out revokes every session of the user (Flask-Login alternative id).
    session_token: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(16))
    locale: Mapped[str | None] = mapped_column(String(10))
    # Platform staff's role (None: the default staff permissions).
    staff_role_id: Mapped[int | None] = mapped_column(ForeignKey("staff_roles.id", ondelete="SET NULL"))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    member_level: Mapped[MemberLevel | None] = relationship(lazy="joined")

    # Flask-Login protocol -------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def has_phone(self) -> bool:
        """False for an account a sign-in plugin created without a phone
        (``jishi.accounts.external``: its ``phone`` is ``ext:`` + hex)."""
        return not self.phone.startswith("ext:")

    @property
    def is_platform(self) -> bool:
        return self.role in PLATFORM_ROLES

    @property
    def is_platform_admin(self) -> bool:
        return self.role == ROLE_PLATFORM_ADMIN

    def display_name(self) -> str:
        return self.name or (self.phone[:3] + "****" + self.phone[-4:] if len(self.phone) >= 7 else self.phone)


class ApiToken(db.Model):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


class Address(db.Model):
    __tablename__ = "addresses"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    phone: Mapped[str] = mapped_column(String(20))
    province: Mapped[str] = mapped_column(String(30))
    city: Mapped[str] = mapped_column(String(30))
    district: Mapped[str] = mapped_column(String(30), default="")
    detail: Mapped[str] = mapped_column(String(200))
    # Coordinates are not money: plain floats (degrees) are fine here.
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def snapshot(self) -> dict:
        return {
            "name": self.name,
            "phone": self.phone,
            "province": self.province,
            "city": self.city,
            "district": self.district,
            "detail": self.detail,
            "lat": self.lat,
            "lng": self.lng,
        }

    def one_line(self) -> str:
        return f"{self.province}{self.city}{self.district}{self.detail}"


__all__ = ["Address", "ApiToken", "MemberLevel", "User"]
