"""Profit sharing API (issue 14, :mod:`.sharing`).

Merchant staff (``/merchant/profit-sharing...``, permission ``money``): the
settlement mode, the gateways that share with the merchant's receiver at
each, binding (``PUT``, the gateway's ``add_receiver`` is asked first) and
unbinding (``DELETE``, 409 while a sharing is open), the merchant's shares
and returns. The platform (``/admin/multistore/profit-sharing...``,
``money``): every share and return; retry a failed one now; release a
refused share to withdrawal. Amounts are integer fen.
"""

from __future__ import annotations

from flask_login import current_user
from jishi.access import platform_api
from jishi.api.common import DateTime, QueryId, get_or_404
from jishi.db import commit, db
from marshmallow import Schema, fields, validate

from jishi_multistore import ledger, sharing
from jishi_multistore.blueprints import api
from jishi_multistore.models import ProfitShare
from jishi_multistore.principal import merchant, merchant_api


class ReceiverArgs(Schema):
    type = fields.String(
        required=True,
        validate=validate.Length(min=1, max=30),
        metadata={"description": "MERCHANT_ID or PERSONAL_OPENID (WeChat Pay, sandbox); loginName or userId (Alipay)"},
    )
    account = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(
        load_default="", validate=validate.Length(max=64), metadata={"description": "required for MERCHANT_ID"}
    )


class ReceiverSchema(Schema):
    gateway = fields.String()
    type = fields.String()
    account = fields.String()
    name = fields.String()
    created_at = DateTime()


class GatewayReceiverSchema(Schema):
    code = fields.String()
    label = fields.Function(lambda g: str(g["label"]))
    receiver_types = fields.List(fields.String())
    receiver = fields.Nested(ReceiverSchema, allow_none=True)


class SharingBalancesSchema(Schema):
    sharing = fields.Integer(metadata={"description": "分账中: sent, not confirmed yet"})
    returning = fields.Integer(metadata={"description": "分账回退中: being returned for refunds"})
    owed = fields.Integer(metadata={"description": "欠款: owed to the platform, netted from the next payouts"})
    paid_out = fields.Integer()


class SharingSchema(Schema):
    mode = fields.String(metadata={"description": "withdrawal or profit_sharing (a platform setting)"})
    gateways = fields.List(fields.Nested(GatewayReceiverSchema))
    balances = fields.Nested(SharingBalancesSchema)


class ShareSchema(Schema):
    id = fields.Integer()
    number = fields.String(metadata={"description": "ours, the same on every retry (out_order_no / out_return_no)"})
    kind = fields.String(metadata={"description": "share (分账) or return (分账回退)"})
    merchant_id = fields.Integer()
    order_id = fields.Integer()
    gateway = fields.String()
    amount = fields.Integer(metadata={"description": "fen sent (share) or to return (return)"})
    netted = fields.Integer(metadata={"description": "share: debt netted, not sent; return: owed at once"})
    status = fields.String(metadata={"description": "requested, succeeded, failed, released, debt"})
    retryable = fields.Boolean()
    attempts = fields.Integer()
    last_error = fields.String()
    reference = fields.String(metadata={"description": "the gateway's number"})
    created_at = DateTime()
    finished_at = DateTime(allow_none=True)


class SharePageSchema(Schema):
    items = fields.List(fields.Nested(ShareSchema))
    next_cursor = fields.String(allow_none=True)


class ShareListArgs(Schema):
    cursor = QueryId()
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    status = fields.String(validate=validate.OneOf(sharing.STATUSES))
    kind = fields.String(validate=validate.OneOf(("share", "return")))


class AdminShareListArgs(ShareListArgs):
    merchant_id = QueryId()


def _page(rows, limit):
    nxt = rows[-1].id if len(rows) == limit else None
    return {"items": rows, "next_cursor": str(nxt) if nxt else None}


def _receiver_out(row):
    return {
        "gateway": row.gateway,
        "type": row.type,
        "account": row.account,
        "name": row.name,
        "created_at": row.created_at,
    }


def overview(mid: int) -> dict:
    bound = sharing.receivers(mid)
    bal = ledger.balances(mid)
    return {
        "mode": sharing.mode(),
        "gateways": [
            {
                "code": g.code,
                "label": g.label,
                "receiver_types": list(sharing.receiver_types(g.code)),
                "receiver": _receiver_out(bound[g.code]) if g.code in bound else None,
            }
            for g in sharing.sharing_gateways()
        ],
        "balances": {
            "sharing": bal[ledger.SHARING],
            "returning": -bal[ledger.RETURNING],
            "owed": -bal[ledger.OWED],
            "paid_out": bal[ledger.PAID_OUT],
        },
    }


@api.get("/merchant/profit-sharing")
@merchant_api("money")
@api.response(200, SharingSchema)
def merchant_sharing():
    """The settlement mode, the gateways that share and the merchant's
    receiver at each, its sharing balances."""
    return overview(merchant().id)


@api.put("/merchant/profit-sharing/receivers/<gateway>")
@merchant_api("money")
@api.arguments(ReceiverArgs)
@api.response(200, ReceiverSchema)
def merchant_bind_receiver(args, gateway):
    """Bind (or replace) the merchant's receiver account at ``gateway``: the
    gateway registers it first (``add_receiver``); 422 ``refused`` when it
    refuses, 503 ``unavailable`` when it cannot be reached, 404 for a
    gateway without profit sharing."""
    row = sharing.bind(merchant(), current_user, gateway, args)
    commit()
    return _receiver_out(row)


@api.delete("/merchant/profit-sharing/receivers/<gateway>")
@merchant_api("money")
@api.response(204)
def merchant_unbind_receiver(gateway):
    """Remove the receiver at ``gateway``; 409 ``pending`` while a sharing or
    a return there is open."""
    sharing.unbind(merchant(), gateway)
    commit()


@api.get("/merchant/profit-sharing/records")
@merchant_api("money")
@api.arguments(ShareListArgs, location="query")
@api.response(200, SharePageSchema)
def merchant_share_records(args):
    """The merchant's shares and returns, newest first."""
    rows = sharing.list_rows(
        merchant_id=merchant().id,
        status=args.get("status"),
        kind=args.get("kind"),
        before_id=args.get("cursor"),
        limit=args["limit"],
    )
    return _page(rows, args["limit"])


@api.get("/admin/multistore/profit-sharing")
@platform_api("money")
@api.arguments(AdminShareListArgs, location="query")
@api.response(200, SharePageSchema)
def admin_share_records(args):
    """Every share and return; filter by status, kind and merchant
    (``status=failed``: the ones to look at)."""
    rows = sharing.list_rows(
        merchant_id=args.get("merchant_id"),
        status=args.get("status"),
        kind=args.get("kind"),
        before_id=args.get("cursor"),
        limit=args["limit"],
    )
    return _page(rows, args["limit"])


@api.post("/admin/multistore/profit-sharing/<int:share_id>/retry")
@platform_api("money")
@api.response(200, ShareSchema)
def admin_retry_share(share_id):
    """Send a failed share or return again now (same number); 409 unless failed."""
    row = get_or_404(ProfitShare, share_id, "profit_share")
    sharing.retry_now(row)
    db.session.expire_all()
    return db.session.get(ProfitShare, share_id)


@api.post("/admin/multistore/profit-sharing/<int:share_id>/release")
@platform_api("money")
@api.response(200, ShareSchema)
def admin_release_share(share_id):
    """Give up on a share the gateway refused: its amount becomes the
    merchant's withdrawable balance; 409 unless refused."""
    row = sharing.release(get_or_404(ProfitShare, share_id, "profit_share"))
    commit()
    return row
