"""Conversations between buyers and shops: who talks to whom, posting,
reading, unread counts.

- The shop of a product is its seller (``Product.seller_id``; None, the
  platform: self-operated products, or every product without multistore);
  the shop of an order is the order's seller. An order must be the buyer's
  own.
- One thread per (buyer, shop); it is created by the buyer's first message
  (never by opening a page), race-free through its unique key.
- Posting checks everything (text length, pictures the poster's own uploads,
  the card) before writing, stores the message, moves the thread on and
  queues :data:`jishi_messages.signals.message_posted`; it commits.
- Owners: callers pass the thread they found for the signed-in principal
  (:func:`buyer_thread`, :func:`seller_thread`, :func:`any_thread`).
"""

from __future__ import annotations

from typing import Any

from jishi import media, signals
from jishi.catalog.models import Product
from jishi.db import commit, db, rollback, utcnow
from jishi.errors import DomainError
from jishi.i18n import gettext as _
from jishi.orders.models import Order
from sqlalchemy import case, func, literal, select, update
from sqlalchemy.exc import IntegrityError

from jishi_messages import signals as msg_signals
from jishi_messages.models import BUYER, PLATFORM, PLATFORM_KEY, SELLER, Message, Thread

MAX_TEXT = 1000  # characters of one message
MAX_IMAGES = 4  # pictures of one message
PAGE = 50  # messages per page (and most per page a client may ask for: MAX_PAGE)
MAX_PAGE = 100
MAX_ID = 2**31 - 1


class MessageError(DomainError):
    """Refused input (the field it names) or a missing subject (404)."""


def key_of(seller_id: int | None) -> int:
    return PLATFORM_KEY if seller_id is None else int(seller_id)


# --- Subjects -----------------------------------------------------------------


def product_subject(product_id: Any) -> Product:
    """A product on the shelf (else 404 naming ``product_id``)."""
    if not isinstance(product_id, int) or isinstance(product_id, bool) or not 1 <= product_id <= MAX_ID:
        raise MessageError("product_id", _("No such product."), code="not_found", status=404)
    product = db.session.get(Product, product_id)
    if product is None or not product.on_shelf:
        raise MessageError("product_id", _("No such product."), code="not_found", status=404)
    return product


def order_subject(user, order_id: Any) -> Order:
    """One of ``user``'s orders (another's is 404 too, naming ``order_id``)."""
    if not isinstance(order_id, int) or isinstance(order_id, bool) or not 1 <= order_id <= MAX_ID:
        raise MessageError("order_id", _("No such order."), code="not_found", status=404)
    order = db.session.get(Order, order_id)
    if order is None or order.user_id != user.id:
        raise MessageError("order_id", _("No such order."), code="not_found", status=404)
    return order


def subject(user, product_id=None, order_id=None) -> tuple[int, Product | None, Order | None]:
    """(shop key, product, order) of what the buyer writes about: exactly
    one of a product or an order."""
    if (product_id is None) == (order_id is None):
        raise MessageError("product_id", _("Say which product or which order you are asking about."))
    if product_id is not None:
        product = product_subject(product_id)
        return key_of(product.seller_id), product, None
    order = order_subject(user, order_id)
    return key_of(order.seller_id), None, order


# --- Threads ------------------------------------------------------------------


def find_thread(user_id: int, seller_key: int) -> Thread | None:
    return db.session.execute(
        select(Thread).where(Thread.user_id == user_id, Thread.seller_key == seller_key)
    ).scalar_one_or_none()


def open_thread(user, seller_key: int) -> Thread:
    """The buyer's thread with the shop, made now if there is none (in a
    savepoint: two first messages at once make one thread)."""
    thread = find_thread(user.id, seller_key)
    if thread is not None:
        return thread
    thread = Thread(user_id=user.id, seller_key=seller_key)
    try:
        with db.session.begin_nested():
            db.session.add(thread)
    except IntegrityError:
        found = find_thread(user.id, seller_key)
        if found is None:
            raise
        return found
    return thread


def buyer_thread(user, thread_id: int) -> Thread | None:
    """``user``'s own thread ``thread_id`` (None: missing or another's)."""
    thread = db.session.get(Thread, thread_id) if 1 <= thread_id <= MAX_ID else None
    return thread if thread is not None and thread.user_id == user.id else None


def seller_thread(seller_id: int | None, thread_id: int) -> Thread | None:
    """A thread of the seller's shop (None: missing or another shop's)."""
    thread = db.session.get(Thread, thread_id) if 1 <= thread_id <= MAX_ID else None
    return thread if thread is not None and thread.seller_key == key_of(seller_id) else None


def any_thread(thread_id: int) -> Thread | None:
    """Any thread (the platform reading a dispute)."""
    return db.session.get(Thread, thread_id) if 1 <= thread_id <= MAX_ID else None


def _unread_count(side: str):
    """A correlated count of the messages of a thread unread by ``side``."""
    others = (SELLER, PLATFORM) if side == BUYER else (BUYER, PLATFORM)
    mark = Thread.buyer_read_id if side == BUYER else Thread.seller_read_id
    return (
        select(func.count(Message.id))
        .where(Message.thread_id == Thread.id, Message.side.in_(others), Message.id > mark)
        .correlate(Thread)
        .scalar_subquery()
    )


def _threads(where, side: str, *, before: int | None = None, limit: int = PAGE) -> list[tuple[Thread, int]]:
    stmt = select(Thread, _unread_count(side)).where(*where, Thread.last_message_id > 0)
    if before is not None:
        stmt = stmt.where(Thread.last_message_id < before)
    rows = db.session.execute(stmt.order_by(Thread.last_message_id.desc()).limit(limit)).all()
    return [(t, int(n)) for t, n in rows]


def buyer_threads(user, *, before: int | None = None, limit: int = PAGE) -> list[tuple[Thread, int]]:
    """The buyer's threads, latest message first, each with its unread count
    (one statement); ``before`` a ``last_message_id`` pages on."""
    return _threads([Thread.user_id == user.id], BUYER, before=before, limit=limit)


def seller_threads(seller_id: int | None, *, before: int | None = None, limit: int = PAGE, unread_only=False):
    """The shop's threads, latest first, each with the shop's unread count."""
    where = [Thread.seller_key == key_of(seller_id)]
    if unread_only:
        where.append(
            select(Message.id)
            .where(Message.thread_id == Thread.id, Message.side != SELLER, Message.id > Thread.seller_read_id)
            .exists()
        )
    return _threads(where, SELLER, before=before, limit=limit)


def all_threads(*, seller_id: int | None = None, merchants_only=True, before: int | None = None, limit=PAGE):
    """Every thread (the platform's dispute view): one shop's (``seller_id``),
    or every merchant's (``merchants_only``), latest first."""
    where = []
    if seller_id is not None:
        where.append(Thread.seller_key == key_of(seller_id))
    elif merchants_only:
        where.append(Thread.seller_key != PLATFORM_KEY)
    return _threads(where, SELLER, before=before, limit=limit)


def buyer_unread(user) -> int:
    """Messages from shops (and the platform) the buyer has not read."""
    return _total(Thread.user_id == user.id, BUYER)


def seller_unread(seller_id: int | None) -> int:
    """Messages from buyers (and the platform) the shop has not read."""
    return _total(Thread.seller_key == key_of(seller_id), SELLER)


def _total(where, side: str) -> int:
    others = (SELLER, PLATFORM) if side == BUYER else (BUYER, PLATFORM)
    mark = Thread.buyer_read_id if side == BUYER else Thread.seller_read_id
    stmt = (
        select(func.count(Message.id))
        .join(Thread, Thread.id == Message.thread_id)
        .where(where, Message.side.in_(others), Message.id > mark)
    )
    return int(db.session.execute(stmt).scalar_one())


def unread_in(thread: Thread, side: str) -> int:
    others = (SELLER, PLATFORM) if side == BUYER else (BUYER, PLATFORM)
    mark = thread.buyer_read_id if side == BUYER else thread.seller_read_id
    stmt = select(func.count(Message.id)).where(
        Message.thread_id == thread.id, Message.side.in_(others), Message.id > mark
    )
    return int(db.session.execute(stmt).scalar_one())


# --- Messages -----------------------------------------------------------------


def messages(thread: Thread, *, after: int | None = None, before: int | None = None, limit: int = PAGE):
    """Messages of ``thread`` in order: those after ``after`` (polling: the
    oldest new ones first), else the latest ``limit`` (before ``before``)."""
    stmt = select(Message).where(Message.thread_id == thread.id)
    if after is not None:
        return list(db.session.execute(stmt.where(Message.id > after).order_by(Message.id).limit(limit)).scalars())
    if before is not None:
        stmt = stmt.where(Message.id < before)
    rows = list(db.session.execute(stmt.order_by(Message.id.desc()).limit(limit)).scalars())
    rows.reverse()
    return rows


def cards(rows) -> dict:
    """``{"products": {id: Product}, "orders": {id: Order}}`` the messages
    (or threads) name, two statements at most."""
    pids = {r.product_id for r in rows if r.product_id}
    oids = {r.order_id for r in rows if r.order_id}
    products = (
        {p.id: p for p in db.session.execute(select(Product).where(Product.id.in_(pids))).scalars()} if pids else {}
    )
    orders = {o.id: o for o in db.session.execute(select(Order).where(Order.id.in_(oids))).scalars()} if oids else {}
    return {"products": products, "orders": orders}


def _text(body) -> str:
    if body is not None and not isinstance(body, str):
        raise MessageError("body", _("The message must be text."))
    text = (body or "").strip()
    if "\x00" in text:
        raise MessageError("body", _("The message must be text."))
    if len(text) > MAX_TEXT:
        raise MessageError("body", _("A message has at most %(n)d characters.", n=MAX_TEXT))
    return text


def _pictures(images, owner) -> list[dict]:
    if not images:
        return []
    if not isinstance(images, (list, tuple)) or not all(isinstance(i, int) and not isinstance(i, bool) for i in images):
        raise MessageError("images", _("Pictures must be a list of uploaded image ids."))
    ids = list(dict.fromkeys(images))
    if len(ids) > MAX_IMAGES:
        raise MessageError("images", _("A message has at most %(n)d pictures.", n=MAX_IMAGES))
    mine = media.owned_many(ids, owner)
    if any(i not in mine for i in ids):
        raise MessageError("images", _("This picture is not one of your uploads."))
    return [{"id": i, "files": dict(mine[i].files or {})} for i in ids]


def image_owner(side: str, thread: Thread, sender) -> media.Owner:
    """Whose uploads a side's pictures are: the buyer's own; the shop's
    library for its staff; the platform's for the platform."""
    if side == BUYER:
        return media.buyer_owner(sender.id)
    if side == PLATFORM:
        return media.owner_of(None)
    return media.owner_of(thread.seller_id)


def post(
    thread: Thread,
    side: str,
    sender,
    body: str | None = "",
    *,
    images=None,
    product: Product | None = None,
    order: Order | None = None,
) -> Message:
    """Post a message in ``thread`` as ``side`` (the caller found the thread
    for the signed-in principal). Checks first (``body`` at most
    :data:`MAX_TEXT` characters, ``images`` the poster's uploads, not empty),
    then stores, moves the thread on (the poster has read up to it) and
    queues the signal; commits. A card must be of the thread's shop (422
    naming ``product_id`` / ``order_id``)."""
    text = _text(body)
    if product is not None and key_of(product.seller_id) != thread.seller_key:
        raise MessageError("product_id", _("This product is not sold by this shop."))
    if order is not None and key_of(order.seller_id) != thread.seller_key:
        raise MessageError("order_id", _("This order is not from this shop."))
    pictures = _pictures(images, image_owner(side, thread, sender))
    if not text and not pictures and product is None and order is None:
        rollback()
        raise MessageError("body", _("Write a message or add a picture."))
    now = utcnow()
    message = Message(
        thread_id=thread.id,
        side=side,
        sender_id=sender.id,
        body=text,
        images=pictures,
        product_id=product.id if product is not None else None,
        order_id=order.id if order is not None else None,
        created_at=now,
    )
    db.session.add(message)
    db.session.flush()
    # greatest() in a form both databases know: CASE
    values: dict = {
        "last_message_id": case((Thread.last_message_id < message.id, message.id), else_=Thread.last_message_id),
        "last_message_at": case((Thread.last_message_id < message.id, now), else_=Thread.last_message_at),
    }
    if side == BUYER:
        values["buyer_read_id"] = case((Thread.buyer_read_id < message.id, message.id), else_=Thread.buyer_read_id)
        if product is not None or order is not None:
            values["product_id"] = message.product_id
            values["order_id"] = message.order_id
    elif side == SELLER:
        values["seller_read_id"] = case((Thread.seller_read_id < message.id, message.id), else_=Thread.seller_read_id)
    db.session.execute(
        update(Thread).where(Thread.id == thread.id).values(**values).execution_options(synchronize_session=False)
    )
    signals.queue(msg_signals.message_posted, message, thread=thread, recipient=BUYER if side != BUYER else SELLER)
    commit()
    db.session.refresh(thread)
    return message


def mark_read(thread: Thread, side: str, upto: int | None = None) -> int:
    """The ``side`` (buyer or seller) has read ``thread`` up to ``upto``
    (default: its latest message; never past it, never backwards). One
    conditional UPDATE; commits. Answers the read mark."""
    latest = select(func.coalesce(func.max(Message.id), 0)).where(Message.thread_id == thread.id).scalar_subquery()
    column = Thread.buyer_read_id if side == BUYER else Thread.seller_read_id
    target = latest if upto is None else case((literal(upto) < latest, literal(upto)), else_=latest)
    db.session.execute(
        update(Thread)
        .where(Thread.id == thread.id, column < target)
        .values({column: target})
        .execution_options(synchronize_session=False)
    )
    commit()
    db.session.refresh(thread)
    return thread.buyer_read_id if side == BUYER else thread.seller_read_id


def shop_names(threads) -> dict[int, str]:
    """``seller_key -> name`` for the threads' shops (the platform: the
    shop's name setting)."""
    from jishi import settings
    from jishi.catalog.service import seller_profiles

    keys = {t.seller_key for t in threads}
    out: dict[int, str] = {}
    if PLATFORM_KEY in keys:
        out[PLATFORM_KEY] = str(settings.get("shop.name", "集市"))
    ids = sorted(k for k in keys if k != PLATFORM_KEY)
    if ids:
        for sid, profile in seller_profiles(ids).items():
            out[sid] = profile.name
    return out


def buyer_names(threads) -> dict[int, str]:
    from jishi.accounts.models import User

    ids = {t.user_id for t in threads}
    if not ids:
        return {}
    rows = db.session.execute(select(User.id, User.name, User.phone).where(User.id.in_(ids))).all()
    return {r.id: (r.name or _mask(r.phone)) for r in rows}


def _mask(phone: str | None) -> str:
    phone = phone or ""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else phone


def picture_urls(message: Message, size: str = "medium") -> list[str]:
    store = media.storage()
    out = []
    for pic in message.images or []:
        files = pic.get("files") or {}
        name = files.get(size) or files.get("large") or next(iter(files.values()), None)
        if name:
            out.append(store.url(name))
    return out
