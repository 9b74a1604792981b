"""The messages demo (``jishi demo``): the demo buyer asked the shop about
a product and the shop answered (a conversation with a reply, read by
both); with multistore, the buyer also asked the first open merchant about
one of its products, still unread in that merchant's console."""

from __future__ import annotations

from jishi.catalog.models import Product
from jishi.db import db
from sqlalchemy import select

from jishi_messages import service
from jishi_messages.models import BUYER, SELLER


def demo_data(data: dict) -> str | None:
    buyer, admin, products = data.get("buyer"), data.get("admin"), data.get("products") or []
    own = [p for p in products if p.seller_id is None and p.on_shelf]
    if buyer is None or admin is None or not own:
        return None
    product = own[0]
    thread = service.open_thread(buyer, service.key_of(None))
    service.post(thread, BUYER, buyer, "你好，这个今天下单什么时候发货？", product=product)
    service.post(thread, SELLER, admin, "您好，下午四点前付款当天发货，一般两天内送到。")
    service.mark_read(thread, BUYER)
    made = "a conversation with the shop"
    merchant_ids = [
        m.id
        for m in (data.get("merchants") or {}).values()
        if getattr(m, "review_status", "approved") == "approved"
        and getattr(m, "status", "open") == "open"
        and getattr(m, "deleted_at", None) is None
    ]
    if merchant_ids:
        theirs = db.session.execute(
            select(Product).where(Product.seller_id.in_(merchant_ids), Product.on_shelf.is_(True)).limit(1)
        ).scalar_one_or_none()
        if theirs is not None:
            other = service.open_thread(buyer, service.key_of(theirs.seller_id))
            service.post(other, BUYER, buyer, "请问有礼盒装吗？", product=theirs)
            made += ", an unread question to a merchant"
    return made
