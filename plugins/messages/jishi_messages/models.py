"""The messages plugin's tables (prefix ``messages_``, own migrations).

One :class:`Thread` per buyer and shop (Taobao's and JD's 联系客服: one
conversation with a shop, whatever product or order it is about); each
:class:`Message` may carry a product card or an order card. ``seller_key``
is the shop: 0 for the platform (the shop itself without multistore, the
self-operated products with it), otherwise the multistore merchant's id
(a plain integer, so the unique (buyer, shop) holds on every database).

Unread counts are not stored: each side has a read mark (the id of the last
message it has read) that only moves forward, and what the other side wrote
after it is unread. Marking read is one conditional UPDATE, so a message
arriving meanwhile stays unread.
"""

from __future__ import annotations

from datetime import datetime

from jishi.db import db, utcnow
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

PLATFORM_KEY = 0

BUYER = "buyer"  # the buyer wrote it
SELLER = "seller"  # the shop's staff (the merchant's, or the platform's for its own shop)
PLATFORM = "platform"  # the platform stepping into a merchant's conversation (a dispute)
SIDES = (BUYER, SELLER, PLATFORM)


class Thread(db.Model):
    """A buyer's conversation with one shop."""

    __tablename__ = "messages_threads"
    __table_args__ = (
        UniqueConstraint("user_id", "seller_key", name="uq_messages_threads_buyer_shop"),
        Index("ix_messages_threads_shop", "seller_key", "last_message_id"),
        Index("ix_messages_threads_buyer", "user_id", "last_message_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    seller_key: Mapped[int] = mapped_column(default=PLATFORM_KEY)
    # What the buyer last came from (the product page or the order), shown
    # on top of the conversation; each message keeps its own card.
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    last_message_id: Mapped[int] = mapped_column(default=0)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    buyer_read_id: Mapped[int] = mapped_column(default=0)
    seller_read_id: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def seller_id(self) -> int | None:
        """The kernel's seller id: None for the platform's own shop."""
        return None if self.seller_key == PLATFORM_KEY else self.seller_key


class Message(db.Model):
    """One message of a thread: text and/or pictures, maybe a product or
    order card. ``side`` says who wrote it (:data:`SIDES`); ``sender_id``
    the user (kept for the record, never shown to the buyer)."""

    __tablename__ = "messages_posts"
    __table_args__ = (Index("ix_messages_posts_thread", "thread_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("messages_threads.id"))
    side: Mapped[str] = mapped_column(String(10))
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text, default="")
    images: Mapped[list] = mapped_column(JSON, default=list)  # [{"id": asset id, "files": {size: stored name}}]
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
