"""Onboarding API (MS2, MS3).

- ``/api/v1/shops/application``: the signed-in member's application (GET:
  status plus the form's rules; POST: apply).
- ``/api/v1/admin/multistore/onboarding``, ``.../application-fields``,
  ``.../applications``: the platform's rules and review.
"""

from __future__ import annotations

from flask_login import current_user
from jishi.access import platform_api
from jishi.api.common import DateTime, StrictBool, StrictInt, login_required, not_found
from jishi.catalog.service import MAX_ID
from jishi.db import commit
from jishi.i18n import gettext as _
from marshmallow import Schema, fields, validate

from jishi_multistore import onboarding as service
from jishi_multistore.blueprints import api as blp
from jishi_multistore.models import REVIEW_APPROVED, REVIEW_STATUSES


class OnboardingAppFieldSchema(Schema):
    id = fields.Integer()
    key = fields.String()
    label = fields.String()
    kind = fields.String()
    required = fields.Boolean()
    editable = fields.Boolean()
    sort = fields.Integer()


class OnboardingAppFieldArgs(Schema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=40))
    label = fields.String(required=True, validate=validate.Length(min=1, max=60))
    kind = fields.String(load_default="text", validate=validate.OneOf(service.FIELD_KINDS))
    required = StrictBool(
        load_default=False,
    )
    editable = StrictBool(
        load_default=True,
    )
    sort = StrictInt(load_default=0, validate=validate.Range(min=-10000, max=10000))


class OnboardingAppFieldPatch(Schema):
    key = fields.String(validate=validate.Length(min=1, max=40))
    label = fields.String(validate=validate.Length(min=1, max=60))
    kind = fields.String(validate=validate.OneOf(service.FIELD_KINDS))
    required = StrictBool()
    editable = StrictBool()
    sort = StrictInt(validate=validate.Range(min=-10000, max=10000))


class OnboardingAppFieldList(Schema):
    items = fields.List(fields.Nested(OnboardingAppFieldSchema))


class OnboardingRulesSchema(Schema):
    agreement = fields.String()
    review = fields.Boolean(metadata={"description": "applications need the platform's approval"})
    fields = fields.List(fields.Nested(OnboardingAppFieldSchema))  # last: shadows the module


class OnboardingRulesArgs(Schema):
    agreement = fields.String(validate=validate.Length(max=20000))
    review = StrictBool()


class OnboardingApplicationSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    category = fields.String()
    status = fields.String(attribute="review_status", metadata={"description": "pending, approved or rejected"})
    reject_reason = fields.String()
    owner_id = fields.Integer()
    owner_phone = fields.Function(lambda m: m.owner.phone if m.owner else "")
    created_at = DateTime()
    reviewed_at = DateTime(allow_none=True)
    approved_at = DateTime(allow_none=True)
    console_url = fields.Function(lambda m: "/merchant/" if m.review_status == REVIEW_APPROVED else None)
    fields = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "answers to the application fields, by key"},
    )  # last: shadows the module


class OnboardingMyApplicationSchema(Schema):
    application = fields.Nested(OnboardingApplicationSchema, allow_none=True)
    can_apply = fields.Boolean()
    rules = fields.Nested(OnboardingRulesSchema)


class OnboardingApplyArgs(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    category = fields.String(load_default="", validate=validate.Length(max=40))
    agree = StrictBool(
        required=True,
        metadata={"description": "must be true: the agreement is accepted", "enum": [True]},
    )
    fields = fields.Dict(
        keys=fields.String(validate=validate.Length(max=40)),
        values=fields.String(validate=validate.Length(max=500)),
        load_default=dict,
    )  # last: shadows the module


class OnboardingApplicationListArgs(Schema):
    status = fields.String(validate=validate.OneOf(REVIEW_STATUSES))
    q = fields.String(validate=validate.Length(max=60))
    after_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class OnboardingApplicationPage(Schema):
    items = fields.List(fields.Nested(OnboardingApplicationSchema))
    next_after_id = fields.Integer(allow_none=True)


class OnboardingRejectArgs(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


def _rules() -> dict:
    return {"agreement": service.agreement(), "review": service.review_enabled(), "fields": service.fields()}


# --- Member --------------------------------------------------------------------


@blp.get("/shops/application")
@login_required
@blp.response(200, OnboardingMyApplicationSchema)
def my_application():
    """The signed-in member's application (null if none) and the form's rules."""
    m = service.application_of(current_user)
    return {"application": m, "can_apply": m is None or m.review_status == "rejected", "rules": _rules()}


@blp.post("/shops/application")
@login_required
@blp.arguments(OnboardingApplyArgs)
@blp.response(201, OnboardingApplicationSchema)
def apply(data):
    """Apply to open a shop (申请开店); a rejected applicant may apply again.
    Required fields missing: 422 naming ``fields.<key>``; ``agree`` false: 422."""
    m = service.apply(current_user, data)
    commit()
    return m


# --- Platform ------------------------------------------------------------------


@blp.get("/admin/multistore/onboarding")
@platform_api("merchants")
@blp.response(200, OnboardingRulesSchema)
def get_rules():
    """Agreement, review switch and application fields."""
    return _rules()


@blp.put("/admin/multistore/onboarding")
@platform_api("merchants")
@blp.arguments(OnboardingRulesArgs)
@blp.response(200, OnboardingRulesSchema)
def put_rules(data):
    service.set_rules(agreement_text=data.get("agreement"), review=data.get("review"))
    commit()
    return _rules()


@blp.get("/admin/multistore/application-fields")
@platform_api("merchants")
@blp.response(200, OnboardingAppFieldList)
def list_fields():
    return {"items": service.fields()}


@blp.post("/admin/multistore/application-fields")
@platform_api("merchants")
@blp.arguments(OnboardingAppFieldArgs)
@blp.response(201, OnboardingAppFieldSchema)
def create_field(data):
    field = service.save_field(data)
    commit()
    return field


def _field(field_id: int):
    field = service.get_field(field_id)
    if field is None:
        not_found(_("application field"))
    return field


@blp.patch("/admin/multistore/application-fields/<int:field_id>")
@platform_api("merchants")
@blp.arguments(OnboardingAppFieldPatch)
@blp.response(200, OnboardingAppFieldSchema)
def update_field(data, field_id):
    field = service.save_field(data, _field(field_id))
    commit()
    return field


@blp.delete("/admin/multistore/application-fields/<int:field_id>")
@platform_api("merchants")
@blp.response(204)
def delete_field(field_id):
    service.delete_field(_field(field_id))
    commit()
    return ""


@blp.get("/admin/multistore/applications")
@platform_api("merchants")
@blp.arguments(OnboardingApplicationListArgs, location="query")
@blp.response(200, OnboardingApplicationPage)
def list_applications(args):
    """Applications, newest first (filter by ``status``, search by name)."""
    items, next_id = service.list_applications(args.get("status"), args.get("q"), args.get("after_id"), args["limit"])
    return {"items": items, "next_after_id": next_id}


def _application(merchant_id: int):
    m = service.get_application(merchant_id)
    if m is None:
        not_found(_("application"))
    return m


@blp.get("/admin/multistore/applications/<int:merchant_id>")
@platform_api("merchants")
@blp.response(200, OnboardingApplicationSchema)
def get_application(merchant_id):
    return _application(merchant_id)


@blp.post("/admin/multistore/applications/<int:merchant_id>/approve")
@platform_api("merchants")
@blp.response(200, OnboardingApplicationSchema)
def approve(merchant_id):
    """Approve: the applicant becomes the shop's admin (409 unless pending)."""
    m = service.approve(_application(merchant_id), current_user)
    commit()
    return m


@blp.post("/admin/multistore/applications/<int:merchant_id>/reject")
@platform_api("merchants")
@blp.arguments(OnboardingRejectArgs)
@blp.response(200, OnboardingApplicationSchema)
def reject(data, merchant_id):
    """Reject with a reason the applicant sees (409 unless pending)."""
    m = service.reject(_application(merchant_id), data["reason"], current_user)
    commit()
    return m
