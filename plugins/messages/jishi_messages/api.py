"""Messages JSON API under ``/api/v1`` for mini-program and app clients
(the buyer's side; the shop answers in its console).

- ``GET /me/messages/threads`` — the buyer's conversations, latest first,
  with unread counts (``before=<last_message_id>`` pages on);
- ``GET /me/messages/unread`` — how many messages the buyer has not read;
- ``POST /me/messages`` — write to the shop of a product or of one of the
  buyer's orders (``product_id`` or ``order_id``): the conversation with
  that shop is made on the first message;
- ``GET /me/messages/threads/<id>`` — a conversation and its latest
  messages; ``after=<message id>`` answers only newer ones (polling),
  ``before=<message id>`` older ones;
- ``POST /me/messages/threads/<id>/messages`` — post in it;
- ``POST /me/messages/threads/<id>/read`` — mark it read (up to ``upto``);
- ``POST /me/messages/images`` — upload a picture (the buyer's own media).

The shop's side (a merchant's app; the platform's staff for the
self-operated shop), the shop always the signed-in principal's, permission
``messages`` or ``orders``: ``GET /seller/messages/threads`` (``unread=true``
for unread only), ``GET /seller/messages/unread``,
``GET /seller/messages/threads/<id>``, ``POST .../messages`` (pictures from
the shop's media library, ``POST /seller/media``), ``POST .../read``.

Posting and uploads share a rate limit per user (429 ``rate_limited``).
"""

from __future__ import annotations

import functools

from flask_login import current_user
from flask_smorest.fields import Upload
from jishi import media
from jishi.api.common import Blueprint, DateTime, Id, Money, QueryId, login_required, not_found
from marshmallow import Schema, fields, validate

from jishi_messages import service
from jishi_messages.limits import post_limit
from jishi_messages.models import BUYER, SELLER
from jishi_messages.views import SELLER_PERMISSIONS

blp = Blueprint("messages_api", __name__, url_prefix="/api/v1", description="Buyer-shop messages (在线客服 / 留言).")


# --- Schemas -------------------------------------------------------------------


class MessagesShopSchema(Schema):
    seller_id = fields.Integer(allow_none=True, metadata={"description": "null: the platform (self-operated)"})
    name = fields.String()


class MessagesProductCardSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    price = Money()
    image = fields.String()
    on_shelf = fields.Boolean()


class MessagesOrderCardSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    status = fields.String()
    pay_amount = Money()


class MessagesPictureSchema(Schema):
    id = fields.Integer()
    urls = fields.Dict(keys=fields.String(), values=fields.String())


class MessagesMessageSchema(Schema):
    id = fields.Integer()
    thread_id = fields.Integer()
    side = fields.String(
        metadata={"description": "buyer; seller (the shop's staff); platform (the platform stepping in)"}
    )
    mine = fields.Boolean(metadata={"description": "written by the buyer"})
    body = fields.String()
    images = fields.List(fields.Nested(MessagesPictureSchema))
    product = fields.Nested(MessagesProductCardSchema, allow_none=True)
    order = fields.Nested(MessagesOrderCardSchema, allow_none=True)
    created_at = DateTime()


class MessagesThreadSchema(Schema):
    id = fields.Integer()
    shop = fields.Nested(MessagesShopSchema)
    product = fields.Nested(MessagesProductCardSchema, allow_none=True, metadata={"description": "what it is about"})
    order = fields.Nested(MessagesOrderCardSchema, allow_none=True)
    last_message_id = fields.Integer()
    last_message_at = DateTime()
    unread = fields.Integer(metadata={"description": "messages the buyer has not read"})
    shop_read_id = fields.Integer(metadata={"description": "the shop has read up to this message (已读)"})


class MessagesThreadPageSchema(Schema):
    thread = fields.Nested(MessagesThreadSchema)
    messages = fields.List(fields.Nested(MessagesMessageSchema), metadata={"description": "oldest first"})
    has_more = fields.Boolean(metadata={"description": "older messages exist (ask with before=<first id>)"})


class MessagesUnreadSchema(Schema):
    unread = fields.Integer()


class MessagesReadSchema(Schema):
    read_id = fields.Integer(metadata={"description": "the buyer has read up to this message"})
    unread = fields.Integer()


class MessagesListArgs(Schema):
    before = QueryId(metadata={"description": "a thread's last_message_id: older conversations"})
    limit = fields.Integer(load_default=service.PAGE, validate=validate.Range(min=1, max=service.MAX_PAGE))


class MessagesThreadArgs(Schema):
    after = fields.Integer(
        validate=validate.Range(min=0, max=service.MAX_ID),
        metadata={"description": "a message id: only newer messages (polling)"},
    )
    before = QueryId(metadata={"description": "a message id: older messages"})
    limit = fields.Integer(load_default=service.PAGE, validate=validate.Range(min=1, max=service.MAX_PAGE))


class MessagesPostArgs(Schema):
    body = fields.String(load_default="", validate=validate.Length(max=service.MAX_TEXT))
    images = fields.List(
        Id(),
        load_default=list,
        validate=validate.Length(max=service.MAX_IMAGES),
        metadata={"description": "ids of the buyer's uploaded pictures (POST /me/messages/images)"},
    )
    product_id = Id(metadata={"description": "attach a product card"})
    order_id = Id(metadata={"description": "attach a card of one of your orders"})


class MessagesStartArgs(MessagesPostArgs):
    pass


class MessagesReadArgs(Schema):
    upto = Id(metadata={"description": "the last message read (default: the latest)"})


class MessagesImageUploadSchema(Schema):
    file = Upload(required=True)


# --- Values ----------------------------------------------------------------------


def product_card(p):
    return (
        None if p is None else {"id": p.id, "name": p.name, "price": p.price, "image": p.image, "on_shelf": p.on_shelf}
    )


def order_card(o):
    return None if o is None else {"id": o.id, "number": o.number, "status": o.status, "pay_amount": o.pay_amount}


def message_values(m, found: dict, mine_side: str = BUYER) -> dict:
    store = media.storage()
    return {
        "id": m.id,
        "thread_id": m.thread_id,
        "side": m.side,
        "mine": m.side == mine_side,
        "body": m.body,
        "images": [
            {"id": pic["id"], "urls": {k: store.url(v) for k, v in (pic.get("files") or {}).items()}}
            for pic in (m.images or [])
        ],
        "product": product_card(found["products"].get(m.product_id)),
        "order": order_card(found["orders"].get(m.order_id)),
        "created_at": m.created_at,
    }


def thread_values(rows: list) -> list[dict]:
    threads = [t for t, _n in rows]
    names = service.shop_names(threads)
    found = service.cards(threads)
    return [
        {
            "id": t.id,
            "shop": {"seller_id": t.seller_id, "name": names.get(t.seller_key, "")},
            "product": product_card(found["products"].get(t.product_id)),
            "order": order_card(found["orders"].get(t.order_id)),
            "last_message_id": t.last_message_id,
            "last_message_at": t.last_message_at,
            "unread": n,
            "shop_read_id": t.seller_read_id,
        }
        for t, n in rows
    ]


def _own(thread_id: int):
    thread = service.buyer_thread(current_user, thread_id)
    if thread is None:
        not_found("thread")
    return thread


def _cards(args) -> tuple:
    product = service.product_subject(args["product_id"]) if args.get("product_id") is not None else None
    order = service.order_subject(current_user, args["order_id"]) if args.get("order_id") is not None else None
    return product, order


# --- Routes ----------------------------------------------------------------------


@blp.get("/me/messages/threads")
@login_required
@blp.arguments(MessagesListArgs, location="query")
@blp.response(200, MessagesThreadSchema(many=True))
def threads(args):
    """The buyer's conversations with shops, latest message first, each
    with the number of messages the buyer has not read."""
    return thread_values(service.buyer_threads(current_user, before=args.get("before"), limit=args["limit"]))


@blp.get("/me/messages/unread")
@login_required
@blp.response(200, MessagesUnreadSchema)
def unread():
    """How many messages from shops the buyer has not read (for a badge)."""
    return {"unread": service.buyer_unread(current_user)}


@blp.post("/me/messages")
@login_required
@post_limit
@blp.arguments(MessagesStartArgs)
@blp.response(201, MessagesMessageSchema)
def start(args):
    """Write to the shop selling a product (``product_id``) or of one of
    your orders (``order_id``): the message carries its card and goes into
    your one conversation with that shop (made now if there is none)."""
    seller_key, product, order = service.subject(current_user, args.get("product_id"), args.get("order_id"))
    thread = service.open_thread(current_user, seller_key)
    m = service.post(thread, BUYER, current_user, args["body"], images=args["images"], product=product, order=order)
    return message_values(m, service.cards([m]))


@blp.get("/me/messages/threads/<int:thread_id>")
@login_required
@blp.arguments(MessagesThreadArgs, location="query")
@blp.response(200, MessagesThreadPageSchema)
def thread(args, thread_id):
    """A conversation and its messages, oldest first: the latest ``limit``;
    with ``after`` only those newer than that message (poll every few
    seconds with the last id you hold); with ``before`` older ones.
    Reading does not mark read (``POST .../read`` does)."""
    t = _own(thread_id)
    rows = service.messages(t, after=args.get("after"), before=args.get("before"), limit=args["limit"])
    has_more = False
    if args.get("after") is None and rows:
        has_more = bool(service.messages(t, before=rows[0].id, limit=1))
    found = service.cards(rows)
    return {
        "thread": thread_values([(t, service.unread_in(t, BUYER))])[0],
        "messages": [message_values(m, found) for m in rows],
        "has_more": has_more,
    }


@blp.post("/me/messages/threads/<int:thread_id>/messages")
@login_required
@post_limit
@blp.arguments(MessagesPostArgs)
@blp.response(201, MessagesMessageSchema)
def post(args, thread_id):
    """Post in your conversation: text (at most 1000 characters), pictures
    (your uploads, at most 4), a product card or a card of your order."""
    t = _own(thread_id)
    product, order = _cards(args)
    m = service.post(t, BUYER, current_user, args["body"], images=args["images"], product=product, order=order)
    return message_values(m, service.cards([m]))


@blp.post("/me/messages/threads/<int:thread_id>/read")
@login_required
@blp.arguments(MessagesReadArgs)
@blp.response(200, MessagesReadSchema)
def read(args, thread_id):
    """Mark the conversation read up to ``upto`` (default: its latest
    message); the mark never moves back."""
    t = _own(thread_id)
    read_id = service.mark_read(t, BUYER, args.get("upto"))
    return {"read_id": read_id, "unread": service.unread_in(t, BUYER)}


@blp.post("/me/messages/images")
@login_required
@post_limit
@blp.arguments(MessagesImageUploadSchema, location="files")
@blp.response(201, MessagesPictureSchema)
@blp.alt_response(413, description="The file is larger than JISHI_MEDIA_MAX_BYTES (field: file).")
def upload_image(files):
    """Upload a picture to send (``multipart/form-data``, field ``file``):
    stored as the buyer's own upload (checked and re-encoded by the media
    library); send its id in ``images``."""
    asset = media.upload(files["file"], media.buyer_owner(current_user.id), user_id=current_user.id, field="file")
    return {"id": asset.id, "urls": media.asset_urls(asset)}


# --- The shop's side (a merchant's app, the platform's own shop) -------------------


class MessagesBuyerSchema(Schema):
    id = fields.Integer()
    name = fields.String(metadata={"description": "the buyer's name, or the masked phone"})


class MessagesSellerThreadSchema(Schema):
    id = fields.Integer()
    buyer = fields.Nested(MessagesBuyerSchema)
    product = fields.Nested(MessagesProductCardSchema, allow_none=True, metadata={"description": "what it is about"})
    order = fields.Nested(MessagesOrderCardSchema, allow_none=True)
    last_message_id = fields.Integer()
    last_message_at = DateTime()
    unread = fields.Integer(metadata={"description": "messages the shop has not read"})
    buyer_read_id = fields.Integer(metadata={"description": "the buyer has read up to this message"})


class MessagesSellerThreadPageSchema(Schema):
    thread = fields.Nested(MessagesSellerThreadSchema)
    messages = fields.List(fields.Nested(MessagesMessageSchema), metadata={"description": "oldest first"})
    has_more = fields.Boolean()


class MessagesSellerListArgs(MessagesListArgs):
    unread = fields.Boolean(load_default=False, metadata={"description": "only threads with unread messages"})


class MessagesSellerPostArgs(Schema):
    body = fields.String(load_default="", validate=validate.Length(max=service.MAX_TEXT))
    images = fields.List(
        Id(),
        load_default=list,
        validate=validate.Length(max=service.MAX_IMAGES),
        metadata={"description": "ids of the shop's media (POST /seller/media)"},
    )


def seller_messages_api(view):
    """The shop's staff holding ``messages`` or ``orders``; the shop is the principal's."""
    from jishi.api.common import fail
    from jishi.i18n import gettext as _
    from jishi.sellers import current_scope, seller_api

    @seller_api(None)
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        scope = current_scope("api")
        if not any(scope.can(p) for p in SELLER_PERMISSIONS):
            fail(403, "forbidden", _("You may not do this."))
        return view(*args, **kwargs)

    return wrapper


def _seller_id():
    from jishi.sellers import current_scope

    return current_scope("api").seller_id


def seller_thread_values(rows: list) -> list[dict]:
    threads = [t for t, _n in rows]
    names = service.buyer_names(threads)
    found = service.cards(threads)
    return [
        {
            "id": t.id,
            "buyer": {"id": t.user_id, "name": names.get(t.user_id, "")},
            "product": product_card(found["products"].get(t.product_id)),
            "order": order_card(found["orders"].get(t.order_id)),
            "last_message_id": t.last_message_id,
            "last_message_at": t.last_message_at,
            "unread": n,
            "buyer_read_id": t.buyer_read_id,
        }
        for t, n in rows
    ]


def _shop_thread(thread_id: int):
    thread = service.seller_thread(_seller_id(), thread_id)
    if thread is None:
        not_found("thread")
    return thread


@blp.get("/seller/messages/threads")
@seller_messages_api
@blp.arguments(MessagesSellerListArgs, location="query")
@blp.response(200, MessagesSellerThreadSchema(many=True))
def seller_threads(args):
    """The shop's conversations (a merchant's staff: their merchant's; the
    platform's staff: the self-operated shop's), latest first, with unread
    counts; ``unread=true`` only those with unread messages."""
    rows = service.seller_threads(
        _seller_id(), before=args.get("before"), limit=args["limit"], unread_only=args["unread"]
    )
    return seller_thread_values(rows)


@blp.get("/seller/messages/unread")
@seller_messages_api
@blp.response(200, MessagesUnreadSchema)
def seller_unread():
    """Messages from buyers (and the platform) the shop has not read."""
    return {"unread": service.seller_unread(_seller_id())}


@blp.get("/seller/messages/threads/<int:thread_id>")
@seller_messages_api
@blp.arguments(MessagesThreadArgs, location="query")
@blp.response(200, MessagesSellerThreadPageSchema)
def seller_thread(args, thread_id):
    """One of the shop's conversations (``after`` / ``before`` as for buyers;
    ``mine`` is true for the shop's messages)."""
    t = _shop_thread(thread_id)
    rows = service.messages(t, after=args.get("after"), before=args.get("before"), limit=args["limit"])
    has_more = bool(rows) and args.get("after") is None and bool(service.messages(t, before=rows[0].id, limit=1))
    found = service.cards(rows)
    return {
        "thread": seller_thread_values([(t, service.unread_in(t, SELLER))])[0],
        "messages": [message_values(m, found, SELLER) for m in rows],
        "has_more": has_more,
    }


@blp.post("/seller/messages/threads/<int:thread_id>/messages")
@seller_messages_api
@post_limit
@blp.arguments(MessagesSellerPostArgs)
@blp.response(201, MessagesMessageSchema)
def seller_post(args, thread_id):
    """Answer as the shop: text and pictures of the shop's media library."""
    t = _shop_thread(thread_id)
    m = service.post(t, SELLER, current_user, args["body"], images=args["images"])
    return message_values(m, service.cards([m]), SELLER)


@blp.post("/seller/messages/threads/<int:thread_id>/read")
@seller_messages_api
@blp.arguments(MessagesReadArgs)
@blp.response(200, MessagesReadSchema)
def seller_read(args, thread_id):
    """Mark the conversation read for the shop (its staff share the mark)."""
    t = _shop_thread(thread_id)
    read_id = service.mark_read(t, SELLER, args.get("upto"))
    return {"read_id": read_id, "unread": service.unread_in(t, SELLER)}
