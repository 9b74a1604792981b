"""jishi-hello's one table, to exercise per-plugin migrations (K1)."""

from __future__ import annotations

from datetime import datetime

from jishi.db import db, utcnow
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column


class HelloGreeting(db.Model):
    __tablename__ = "hello_greetings"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    text: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
