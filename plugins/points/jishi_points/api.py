"""Points API for buyers: ``GET /api/v1/points`` (the signed-in buyer's
balance, frozen points and history, newest first, ``before=<entry id>`` for
the next page). The buyer comes from the principal, never the request."""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint
from jishi.api.common import DateTime, QueryId, login_required
from marshmallow import Schema, fields

from jishi_points import ledger

blp = Blueprint(
    "points_api",
    __name__,
    url_prefix="/api/v1",
    description="Points (积分): the buyer's balance, frozen points and history.",
)


class PointsQueryArgs(Schema):
    before = QueryId(load_default=None, metadata={"description": "an entry id: the page of entries before it"})


class PointsEntrySchema(Schema):
    id = fields.Integer()
    kind = fields.String(
        metadata={"description": "earned, frozen, unfrozen, spent, refunded, clawed_back, expired or adjusted"}
    )
    delta = fields.Integer(metadata={"description": "change of the usable points"})
    frozen_delta = fields.Integer(metadata={"description": "change of the frozen points"})
    source_kind = fields.String(metadata={"description": "order, refund or adjustment"})
    source_id = fields.Integer(allow_none=True)
    reason = fields.String()
    created_at = DateTime()


class PointsSchema(Schema):
    balance = fields.Integer(metadata={"description": "usable points (negative after a claw-back of spent points)"})
    frozen = fields.Integer(metadata={"description": "points of orders not yet completed"})
    entries = fields.List(fields.Nested(PointsEntrySchema))
    next_before = fields.Integer(allow_none=True, metadata={"description": "pass as before= for the next page"})


@blp.after_request
def _private(resp):
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@blp.get("/points")
@login_required
@blp.arguments(PointsQueryArgs, location="query")
@blp.response(200, PointsSchema)
def points(args):
    """The signed-in buyer's points: balance, frozen, and a page of history."""
    balance, frozen = ledger.balance(current_user.id)
    entries = ledger.history(current_user.id, before=args["before"], limit=ledger.PAGE + 1)
    more = len(entries) > ledger.PAGE
    entries = entries[: ledger.PAGE]
    return {
        "balance": balance,
        "frozen": frozen,
        "entries": entries,
        "next_before": entries[-1].id if more and entries else None,
    }
