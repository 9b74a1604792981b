"""Distribution API (the promoter centre for apps and mini-programs).

Everything is about the signed-in user (the principal), never an id from
the request: ``GET /distribution/me`` (status, code, link, balances, team
counts), ``POST /distribution/apply``, ``POST /distribution/bind`` (a
referral code), ``GET /distribution/team`` (level 1 or 2),
``GET /distribution/commissions``, ``GET /distribution/orders``,
``GET|POST /distribution/withdrawals``, ``GET /distribution/poster``
(a PNG share poster).

Platform staff: ``/admin/distribution/promoters`` (list; approve, reject,
freeze, unfreeze, remove), ``/admin/distribution/commissions`` (filters),
``/admin/distribution/withdrawals`` (list; approve, reject, pay), with the
``marketing`` / ``money`` permissions.
"""

from __future__ import annotations

from flask import Response
from flask_login import current_user
from jishi.access import platform_api
from jishi.api.common import Blueprint, DateTime, QueryId, StrictBool, StrictInt, login_required, not_found
from jishi.db import commit, db
from jishi.errors import DomainError
from jishi.i18n import gettext as _
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from jishi_distribution import centre, service
from jishi_distribution import withdrawals as wd
from jishi_distribution.models import (
    ACTIVE,
    COMMISSION_STATUSES,
    PROMOTER_STATUSES,
    Commission,
    Promoter,
    Withdrawal,
)

blp = Blueprint(
    "distribution_api",
    __name__,
    url_prefix="/api/v1",
    description="Distribution (分销): the signed-in promoter's centre, referral binding, withdrawals.",
)


@blp.after_request
def _private(resp):
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


class DistributionBalancesSchema(Schema):
    frozen = fields.Integer(metadata={"description": "commission of orders not yet released (fen)"})
    available = fields.Integer(metadata={"description": "withdrawable (fen)"})
    withdrawing = fields.Integer(metadata={"description": "requested, not yet paid (fen)"})
    paid = fields.Integer(metadata={"description": "paid out (fen)"})
    debt = fields.Integer(metadata={"description": "reversals of paid-out commission, set off against future ones"})


class DistributionTeamCountsSchema(Schema):
    level1 = fields.Integer()
    level2 = fields.Integer()


class DistributionSummarySchema(Schema):
    status = fields.String(metadata={"description": "none, pending, active, rejected, frozen or removed"})
    join_mode = fields.String(metadata={"description": "everyone, apply or spend"})
    apply_fields = fields.List(fields.String())
    code = fields.String(allow_none=True)
    link = fields.String(allow_none=True)
    balances = fields.Nested(DistributionBalancesSchema)
    earned_total = fields.Integer()
    team = fields.Nested(DistributionTeamCountsSchema)
    my_promoter_id = fields.Integer(allow_none=True)


@blp.get("/distribution/me")
@login_required
@blp.response(200, DistributionSummarySchema)
def me():
    """The signed-in user's promoter summary (made a promoter first when the platform's rule allows)."""
    service.ensure_promoter(current_user.id, staff=service.is_staff())
    commit()
    return centre.summary(current_user.id)


class DistributionApplyArgs(Schema):
    answers = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)


@blp.post("/distribution/apply")
@login_required
@blp.arguments(DistributionApplyArgs)
@blp.response(201, DistributionSummarySchema)
def apply(args):
    """Apply to become a promoter (the answers to the platform's fields)."""
    service.apply(current_user.id, args["answers"])
    commit()
    return centre.summary(current_user.id)


class DistributionBindArgs(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=16))


class DistributionBindSchema(Schema):
    bound = fields.Boolean(
        metadata={"description": "false: remembered for the next order, or the rules kept the binding"}
    )
    promoter_id = fields.Integer(allow_none=True, metadata={"description": "the user's promoter now"})


@blp.post("/distribution/bind")
@login_required
@blp.arguments(DistributionBindArgs)
@blp.response(200, DistributionBindSchema)
def bind(args):
    """Bind the signed-in user to a referral code's promoter (by the platform's rules)."""
    got = service.visit(current_user.id, args["code"], "api")
    commit()
    return {"bound": got is not None, "promoter_id": service.parent(current_user.id)}


class DistributionTeamArgs(Schema):
    level = fields.Integer(load_default=1, validate=validate.OneOf([1, 2]))
    before = QueryId(load_default=None)


class DistributionMemberSchema(Schema):
    user_id = fields.Integer()
    name = fields.String(metadata={"description": "name, or the masked phone"})
    bound_at = DateTime()
    via = fields.Integer(metadata={"description": "whom they are bound to (you, or your level-1 member)"})
    commission = fields.Integer(metadata={"description": "what you earned on their orders (fen, after reversals)"})


class DistributionTeamSchema(Schema):
    counts = fields.Nested(DistributionTeamCountsSchema)
    members = fields.List(fields.Nested(DistributionMemberSchema))


@blp.get("/distribution/team")
@login_required
@blp.arguments(DistributionTeamArgs, location="query")
@blp.response(200, DistributionTeamSchema)
def team(args):
    """The signed-in promoter's team, first or second level."""
    return {
        "counts": centre.team_counts(current_user.id),
        "members": centre.team(current_user.id, args["level"], args["before"])[: centre.PAGE],
    }


class DistributionCommissionArgs(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(COMMISSION_STATUSES))
    before = QueryId(load_default=None)


class DistributionCommissionSchema(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    order_line_id = fields.Integer()
    level = fields.Integer()
    base = fields.Integer(metadata={"description": "what the line paid (fen)"})
    rule = fields.String(metadata={"description": "rate:<basis points> or fixed:<fen per unit>"})
    amount = fields.Integer()
    reversed = fields.Integer()
    status = fields.String(metadata={"description": "frozen, released, reversed or cancelled"})
    state = fields.String(
        metadata={
            "description": "what the record shows: pending (order not completed), frozen (return window), "
            "available, paid (paid out in full), debt (reversed after payout), reversed, cancelled"
        }
    )
    paid_amount = fields.Integer(metadata={"description": "what withdrawals paid out of it (fen)"})
    debt = fields.Integer(metadata={"description": "paid out beyond what is left after reversals (fen, owed)"})
    created_at = DateTime()
    released_at = DateTime(allow_none=True)


@blp.get("/distribution/commissions")
@login_required
@blp.arguments(DistributionCommissionArgs, location="query")
@blp.response(200, DistributionCommissionSchema(many=True))
def commissions(args):
    """The signed-in promoter's commission records, newest first."""
    return centre.commissions(current_user.id, status=args["status"], before=args["before"])


class DistributionOrdersArgs(Schema):
    before = QueryId(load_default=None)


class DistributionPromotedOrderSchema(Schema):
    order_id = fields.Integer()
    number = fields.String()
    pay_amount = fields.Integer()
    status = fields.String()
    created_at = DateTime()
    commission = fields.Integer()
    reversed = fields.Integer()
    level = fields.Integer()


@blp.get("/distribution/orders")
@login_required
@blp.arguments(DistributionOrdersArgs, location="query")
@blp.response(200, DistributionPromotedOrderSchema(many=True))
def orders(args):
    """Orders the signed-in promoter earns on."""
    return centre.orders(current_user.id, args["before"])


class DistributionAccountSchema(Schema):
    name = fields.String(load_default="")
    account = fields.String(load_default="")
    bank = fields.String(load_default="")


class DistributionWithdrawArgs(Schema):
    amount = StrictInt(required=True, validate=validate.Range(min=1, max=10**9))
    method = fields.String(required=True)
    account = fields.Nested(DistributionAccountSchema, required=True)
    agree = StrictBool(load_default=False)


class DistributionWithdrawalSchema(Schema):
    id = fields.Integer()
    amount = fields.Integer()
    method = fields.String()
    status = fields.String(metadata={"description": "pending, approved, rejected or paid"})
    reject_reason = fields.String()
    created_at = DateTime()
    paid_at = DateTime(allow_none=True)


@blp.get("/distribution/withdrawals")
@login_required
@blp.arguments(DistributionOrdersArgs, location="query")
@blp.response(200, DistributionWithdrawalSchema(many=True))
def withdrawals(args):
    """The signed-in promoter's withdrawals, newest first."""
    return wd.list_withdrawals(user_id=current_user.id, before_id=args["before"])


@blp.post("/distribution/withdrawals")
@login_required
@blp.arguments(DistributionWithdrawArgs)
@blp.response(201, DistributionWithdrawalSchema)
def withdraw(args):
    """Withdraw available commission (the platform approves and pays)."""
    w = wd.request_withdrawal(current_user.id, args["amount"], args["method"], args["account"], args["agree"])
    commit()
    return w


class DistributionPosterArgs(Schema):
    product_id = QueryId(load_default=None, metadata={"description": "a product; none: the shop"})


@blp.get("/distribution/poster")
@login_required
@blp.arguments(DistributionPosterArgs, location="query")
@blp.response(200, content_type="image/png", description="a PNG share poster with the referral QR code")
def poster(args):
    """The signed-in promoter's share poster (PNG)."""
    from jishi_distribution.poster import render

    p = service.ensure_promoter(current_user.id, staff=service.is_staff())
    commit()
    if p is None or p.status != ACTIVE:
        raise DomainError("status", _("Only active promoters can share."), code="conflict", status=409)
    return Response(render(p, args["product_id"]), mimetype="image/png")


# --- Platform ---------------------------------------------------------------------


class DistributionPromoterArgs(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(PROMOTER_STATUSES))


class DistributionPromoterSchema(Schema):
    user_id = fields.Integer()
    code = fields.String()
    status = fields.String(metadata={"description": "pending, active, rejected, frozen or removed"})
    source = fields.String(metadata={"description": "everyone, apply, spend, staff or platform"})
    application = fields.Dict(keys=fields.String(), values=fields.String())
    reason = fields.String()
    created_at = DateTime()
    reviewed_at = DateTime(allow_none=True)


class DistributionReasonArgs(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=200))


@blp.get("/admin/distribution/promoters")
@platform_api("marketing")
@blp.arguments(DistributionPromoterArgs, location="query")
@blp.response(200, DistributionPromoterSchema(many=True))
def admin_promoters(args):
    """Promoters, newest first (platform staff with ``marketing``)."""
    q = select(Promoter).order_by(Promoter.created_at.desc(), Promoter.user_id.desc()).limit(200)
    if args["status"]:
        q = q.where(Promoter.status == args["status"])
    return list(db.session.scalars(q))


@blp.post("/admin/distribution/promoters/<int:user_id>/<string:action>")
@platform_api("marketing")
@blp.arguments(DistributionReasonArgs)
@blp.response(200, DistributionPromoterSchema)
def admin_promoter_action(args, user_id, action):
    """Approve, reject (with a reason), freeze, unfreeze or remove a promoter."""
    if action not in ("approve", "reject", "freeze", "unfreeze", "remove") or service.promoter(user_id) is None:
        not_found("promoter")
    actor = current_user.id
    if action in ("approve", "reject"):
        service.review(user_id, action == "approve", actor, args["reason"])
    elif action == "freeze":
        service.freeze(user_id, actor, args["reason"])
    elif action == "unfreeze":
        service.unfreeze(user_id, actor)
    else:
        service.remove(user_id, actor, args["reason"])
    commit()
    return service.promoter(user_id)


class DistributionAdminCommissionArgs(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(COMMISSION_STATUSES))
    level = fields.Integer(load_default=None, validate=validate.OneOf([1, 2]))
    promoter_id = QueryId(load_default=None)
    order_id = QueryId(load_default=None)
    before = QueryId(load_default=None)


class DistributionAdminCommissionSchema(DistributionCommissionSchema):
    promoter_id = fields.Integer()
    buyer_id = fields.Integer()
    seller_id = fields.Integer(allow_none=True)
    funded_by = fields.String(metadata={"description": "platform, or merchant (charged in multistore's ledger)"})


@blp.get("/admin/distribution/commissions")
@platform_api("marketing")
@blp.arguments(DistributionAdminCommissionArgs, location="query")
@blp.response(200, DistributionAdminCommissionSchema(many=True))
def admin_commissions(args):
    """Commission records with filters, newest first (50 a page)."""
    q = select(Commission).order_by(Commission.id.desc()).limit(50)
    for key in ("status", "level", "promoter_id", "order_id"):
        if args[key] is not None:
            q = q.where(getattr(Commission, key) == args[key])
    if args["before"]:
        q = q.where(Commission.id < args["before"])
    return service.with_states(db.session.scalars(q))


class DistributionAdminWithdrawalArgs(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(wd.STATUSES))
    before = QueryId(load_default=None)


class DistributionAdminWithdrawalSchema(DistributionWithdrawalSchema):
    user_id = fields.Integer()
    account = fields.Dict(keys=fields.String(), values=fields.String())


@blp.get("/admin/distribution/withdrawals")
@platform_api("money")
@blp.arguments(DistributionAdminWithdrawalArgs, location="query")
@blp.response(200, DistributionAdminWithdrawalSchema(many=True))
def admin_withdrawals(args):
    """Promoter withdrawals, newest first (platform staff with ``money``)."""
    return wd.list_withdrawals(status=args["status"], before_id=args["before"], limit=50)


@blp.post("/admin/distribution/withdrawals/<int:withdrawal_id>/<string:action>")
@platform_api("money")
@blp.arguments(DistributionReasonArgs)
@blp.response(200, DistributionAdminWithdrawalSchema)
def admin_withdrawal_action(args, withdrawal_id, action):
    """Approve, reject (with a reason; the money is available again) or confirm the offline payout."""
    w = db.session.get(Withdrawal, withdrawal_id)
    if w is None or action not in ("approve", "reject", "pay"):
        not_found("withdrawal")
    if action == "approve":
        wd.approve(w)
    elif action == "reject":
        wd.reject(w, args["reason"])
    else:
        wd.confirm_paid(w)
    commit()
    return w
