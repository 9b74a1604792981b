"""Points API.

- Buyers: ``GET /api/v1/points`` (the signed-in buyer's balance, frozen
  points and history, newest first, ``before=<entry id>`` for the next
  page; ``expiring``: what will expire and when). The buyer comes from the principal, never the request.
- Platform staff with the ``points`` permission:
  ``POST /api/v1/platform/points/adjustments`` (add or take a buyer's points
  with a reason; taking more than the usable balance is a 409).
"""

from __future__ import annotations

from flask_login import current_user
from jishi.access import platform_api
from jishi.api.common import Blueprint, DateTime, QueryId, StrictInt, login_required
from jishi.db import commit, rollback
from jishi.errors import DomainError
from marshmallow import Schema, fields, validate

from jishi_points import expiry, ledger, service

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
    source_kind = fields.String(
        metadata={
            "description": "order, refund, adjustment, signin (a sign-in), review (an order line), register, "
            "or expiry (source_id: the lot that expired)"
        }
    )
    source_id = fields.Integer(allow_none=True)
    reason = fields.String()
    created_at = DateTime()


class ExpiryDateSchema(Schema):
    date = fields.Date(metadata={"description": "the shop's calendar day on which the points expire"})
    expires_at = DateTime(metadata={"description": "the first moment that day at which some of them expire"})
    points = fields.Integer(metadata={"description": "points expiring that day"})


class ExpiringSchema(Schema):
    rule = fields.String(metadata={"description": "none, days (N days after earning) or year_end"})
    dates = fields.List(
        fields.Nested(ExpiryDateSchema),
        metadata={"description": "the next (at most 3) days on which points expire, soonest first"},
    )
    soon = fields.Integer(metadata={"description": "points expiring within soon_days days"})
    soon_days = fields.Integer()


class PointsSchema(Schema):
    balance = fields.Integer(metadata={"description": "usable points (negative after a claw-back of spent points)"})
    frozen = fields.Integer(metadata={"description": "points of orders not yet completed"})
    entries = fields.List(fields.Nested(PointsEntrySchema))
    next_before = fields.Integer(allow_none=True, metadata={"description": "pass as before= for the next page"})
    expiring = fields.Nested(ExpiringSchema, metadata={"description": "what will expire and when"})


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
        "expiring": expiry.expiring_for(current_user.id),
    }


class AdjustmentArgs(Schema):
    user_id = StrictInt(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    points = StrictInt(
        required=True,
        metadata={
            "description": "positive adds, negative takes (not 0)",
            "minimum": -service.MAX_ADJUSTMENT,  # (the service refuses the rest, naming the field)
            "maximum": service.MAX_ADJUSTMENT,
        },
    )
    reason = fields.String(required=True, metadata={"description": "shown to the buyer in the history"})


class AdjustedSchema(Schema):
    user_id = fields.Integer()
    balance = fields.Integer()
    frozen = fields.Integer()


@blp.post("/platform/points/adjustments")
@platform_api("points")
@blp.arguments(AdjustmentArgs)
@blp.response(201, AdjustedSchema)
def adjust(args):
    """Adjust a buyer's usable points with a reason (an ``adjusted`` entry)."""
    try:
        service.adjust(args["user_id"], args["points"], args["reason"])
    except DomainError:
        rollback()
        raise
    commit()
    balance, frozen = ledger.balance(args["user_id"])
    return {"user_id": args["user_id"], "balance": balance, "frozen": frozen}
