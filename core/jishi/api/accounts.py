"""Accounts API (SPEC K5, K14): register, sign in with a bearer token, sign
out (revokes that token), the profile and the address book."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user
from marshmallow import Schema, fields, validate

from jishi.accounts import service
from jishi.accounts.auth import issue_token, revoke_current_token
from jishi.api.common import Blueprint, DateTime, StrictBool, StrictInt, fail, login_required, not_found
from jishi.db import commit
from jishi.extensions import limiter
from jishi.i18n import gettext as _

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Accounts, sign-in and addresses")


# --- Schemas ---------------------------------------------------------------


class AccountRegisterSchema(Schema):
    phone = fields.String(
        required=True, validate=validate.Length(max=20), metadata={"description": "11 digits, starting with 1"}
    )
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=128))
    name = fields.String(load_default="", validate=validate.Length(max=60))


class AccountLoginSchema(Schema):
    phone = fields.String(required=True, validate=validate.Length(max=20))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=128))


class AccountMemberLevelSchema(Schema):
    id = StrictInt()
    name = fields.String()
    rank = StrictInt()


class AccountUserSchema(Schema):
    id = StrictInt()
    phone = fields.String()
    name = fields.String()
    role = fields.String()
    locale = fields.String(allow_none=True)
    member_level = fields.Nested(AccountMemberLevelSchema, allow_none=True)
    created_at = DateTime()


class AccountTokenSchema(Schema):
    token = fields.String(metadata={"description": "send as `Authorization: Bearer <token>`"})
    user = fields.Nested(AccountUserSchema)


class AccountProfileArgsSchema(Schema):
    name = fields.String(validate=validate.Length(max=60))
    locale = fields.String(allow_none=True, metadata={"description": "zh_CN, en, or null to follow the client"})


class AccountAddressArgsSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=40))
    phone = fields.String(required=True, validate=validate.Length(min=5, max=20))
    province = fields.String(required=True, validate=validate.Length(min=1, max=30))
    city = fields.String(required=True, validate=validate.Length(min=1, max=30))
    district = fields.String(load_default="", validate=validate.Length(max=30))
    detail = fields.String(required=True, validate=validate.Length(min=1, max=200))
    lat = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90), metadata={"description": "degrees"})
    lng = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180), metadata={"description": "degrees"})
    is_default = StrictBool()


class AccountAddressPatchSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=40))
    phone = fields.String(validate=validate.Length(min=5, max=20))
    province = fields.String(validate=validate.Length(min=1, max=30))
    city = fields.String(validate=validate.Length(min=1, max=30))
    district = fields.String(validate=validate.Length(max=30))
    detail = fields.String(validate=validate.Length(min=1, max=200))
    lat = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))
    is_default = StrictBool()


class AccountAddressSchema(Schema):
    id = StrictInt()
    name = fields.String()
    phone = fields.String()
    province = fields.String()
    city = fields.String()
    district = fields.String()
    detail = fields.String()
    lat = fields.Float(allow_none=True)
    lng = fields.Float(allow_none=True)
    is_default = StrictBool()


class AccountAddressListSchema(Schema):
    items = fields.List(fields.Nested(AccountAddressSchema))


class AccountLoginProviderSchema(Schema):
    code = fields.String()
    label = fields.String()
    url = fields.String()


class AccountLoginProviderListSchema(Schema):
    items = fields.List(fields.Nested(AccountLoginProviderSchema))


# --- Sign-up, sign-in ------------------------------------------------------


@blp.get("/auth/providers")
@blp.response(200, AccountLoginProviderListSchema)
def login_providers():
    """Extra sign-in methods offered by plugins (``login_providers`` hook),
    besides phone + password."""
    hook = current_app.extensions["jishi"].hook
    return {"items": [p for result in hook.login_providers() for p in (result or [])]}


def _login_limit() -> str:
    return current_app.config["JISHI_LOGIN_RATE_LIMIT"]


@blp.post("/auth/register")
@limiter.limit(_login_limit)
@blp.arguments(AccountRegisterSchema)
@blp.response(201, AccountTokenSchema)
def register(data):
    """Create a buyer account and return a bearer token for it."""
    user = service.register(data["phone"], data["password"], data.get("name", ""))
    token = issue_token(user)
    commit()
    return {"token": token, "user": user}


@blp.post("/auth/login")
@limiter.limit(_login_limit)
@blp.arguments(AccountLoginSchema)
@blp.response(200, AccountTokenSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
def login(data):
    """Exchange phone and password for a bearer token (rate-limited)."""
    user = service.authenticate(data["phone"], data["password"])
    if user is None:
        fail(401, "bad_credentials", _("Wrong phone number or password."), "password")
    token = issue_token(user)
    commit()
    return {"token": token, "user": user}


@blp.post("/auth/logout")
@login_required
@blp.response(204)
def logout():
    """Revoke the bearer token of this request."""
    revoke_current_token()
    commit()


@blp.get("/me")
@login_required
@blp.response(200, AccountUserSchema)
def me():
    """The signed-in user."""
    return current_user


@blp.patch("/me")
@login_required
@blp.arguments(AccountProfileArgsSchema)
@blp.response(200, AccountUserSchema)
def update_me(data):
    """Change name and language."""
    service.update_profile(current_user, data)
    return current_user


# --- Addresses -------------------------------------------------------------


@blp.get("/addresses")
@login_required
@blp.response(200, AccountAddressListSchema)
def addresses():
    """The address book, default first."""
    return {"items": service.list_addresses(current_user)}


@blp.post("/addresses")
@login_required
@blp.arguments(AccountAddressArgsSchema)
@blp.response(201, AccountAddressSchema)
def add_address(data):
    """Add an address (the first one becomes the default)."""
    return service.add_address(current_user, data)


@blp.get("/addresses/<int(max=2147483647):address_id>")
@login_required
@blp.response(200, AccountAddressSchema)
def get_address(address_id: int):
    address = service.get_address(current_user, address_id)
    if address is None:
        not_found(_("address"))
    return address


@blp.patch("/addresses/<int(max=2147483647):address_id>")
@login_required
@blp.arguments(AccountAddressPatchSchema)
@blp.response(200, AccountAddressSchema)
def update_address(data, address_id: int):
    """Change an address; ``is_default: true`` makes it the default."""
    address = service.update_address(current_user, address_id, data)
    if address is None:
        not_found(_("address"))
    return address


@blp.delete("/addresses/<int(max=2147483647):address_id>")
@login_required
@blp.response(204)
def delete_address(address_id: int):
    if not service.delete_address(current_user, address_id):
        not_found(_("address"))
