"""The plugin's tables: WeChat identities bound to accounts, the one-time
states of the website's OAuth2 sign-in and the cached access_token."""

from __future__ import annotations

from datetime import datetime

from jishi.db import db, utcnow
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

#: ``WeChatIdentity.app_kind``: the mini-program or the website application.
MINI_PROGRAM = "mp"
WEBSITE = "web"


class WeChatIdentity(db.Model):
    """One WeChat user (``openid``, per application) bound to one account.
    ``unionid`` (the same person across the applications of one open
    platform account) links a mini-program identity to a website one."""

    __tablename__ = "wechat_identities"
    __table_args__ = (
        UniqueConstraint("appid", "openid"),
        UniqueConstraint("user_id", "appid"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # (no index of its own: the unique key it leads serves its lookups)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    appid: Mapped[str] = mapped_column(String(64))
    app_kind: Mapped[str] = mapped_column(String(10))
    openid: Mapped[str] = mapped_column(String(128))
    unionid: Mapped[str | None] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WeChatLoginState(db.Model):
    """The ``state`` of one website sign-in: used once, within its lifetime,
    by the browser that started it."""

    __tablename__ = "wechat_login_states"
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(10))  # login, staff, bind
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    next_url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    used_at: Mapped[datetime | None]


class WeChatAccessToken(db.Model):
    """The mini-program's ``access_token`` (``/cgi-bin/token``), shared by
    every process until it expires."""

    __tablename__ = "wechat_login_tokens"
    appid: Mapped[str] = mapped_column(String(64), primary_key=True)
    token: Mapped[str] = mapped_column(String(512))
    expires_at: Mapped[datetime]
