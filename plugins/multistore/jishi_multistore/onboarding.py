"""Onboarding: the platform's rules, members' applications, review (MS2, MS3).

- Rules (settings ``multistore.agreement`` and ``multistore.application_review``)
  and the application form's fields (:class:`ApplicationField`).
- A signed-in member applies (申请开店) with a shop name, a category, the
  configured fields, and must accept the agreement. With review off the
  application is approved at once.
- The platform approves (the applicant becomes the merchant's admin) or
  rejects with a reason; a rejected applicant may apply again (the same
  application row is reused and goes back to pending).

A user owns or belongs to one merchant only.
"""

from __future__ import annotations

import re

from flask import url_for
from jishi import settings
from jishi.db import db, utcnow
from jishi.errors import DomainError
from jishi.hookspecs import MenuItem, SettingField, SettingsPanel, hookimpl, slots
from jishi.i18n import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import select, update

from jishi_multistore.models import (
    REVIEW_APPROVED,
    REVIEW_PENDING,
    REVIEW_REJECTED,
    REVIEW_STATUSES,
    ROLE_ADMIN,
    ApplicationField,
    Merchant,
    MerchantMember,
)

FIELD_KINDS = ("text", "textarea", "phone", "image")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_ANSWER = 500
MAX_ID = 2**31 - 1


class OnboardingError(DomainError):
    """Bad input or a conflicting state in onboarding."""


def field_kind_labels() -> dict[str, str]:
    return {"text": _("Text"), "textarea": _("Long text"), "phone": _("Phone number"), "image": _("Image address")}


def review_status_labels() -> dict[str, str]:
    return {
        REVIEW_PENDING: _("Pending review"),
        REVIEW_APPROVED: _("Approved"),
        REVIEW_REJECTED: _("Rejected"),
    }  # 待审核 / 已通过 / 已拒绝


# --- Hooks ----------------------------------------------------------------------


@hookimpl
def settings_panels():
    return [
        SettingsPanel(
            "multistore_onboarding",
            _("Merchant onboarding"),  # 招商入驻
            (
                SettingField(
                    "multistore.application_review",
                    _("Review merchant applications"),
                    "bool",
                    True,
                    help=_("Off: an application is approved as soon as it is submitted."),
                ),  # 商家入驻审核
                SettingField(
                    "multistore.agreement",
                    _("Merchant agreement"),
                    "textarea",
                    "",
                    help=_("Applicants must accept it."),
                ),  # 入驻协议
            ),
            sort=60,
        )
    ]


@hookimpl
def console_menu_items(console, principal):
    return [
        MenuItem(
            _("Applications"),
            "multistore_admin.applications",
            console="platform",
            permission="merchants",
            sort=81,
            group="merchants",
        ),  # 子商户审核
        MenuItem(
            _("Onboarding rules"),
            "multistore_admin.onboarding_rules",
            console="platform",
            permission="merchants",
            sort=82,
            group="merchants",
        ),  # 入驻规则
    ]


STAFF_FLAG = "multistore_staff"


def _is_staff(user, *, fresh: bool) -> bool:
    """Whether ``user`` works for a merchant, remembered in the session for
    the header (every storefront page: no query per page); the account
    page (``fresh``) reads it anew. The console itself always checks."""
    from flask import session

    from jishi_multistore.principal import membership

    key = [user.id, getattr(user, "session_token", "")]
    cached = session.get(STAFF_FLAG)
    if not fresh and isinstance(cached, list) and len(cached) == 3 and cached[:2] == key:
        return bool(cached[2])
    staff = membership(user) is not None
    session[STAFF_FLAG] = [*key, staff]
    return staff


@hookimpl
@slots("account_links", "header_user_nav")
def template_slot(slot, context):
    if slot not in ("account_links", "header_user_nav"):
        return None
    user = context.get("user")
    if user is None or not getattr(user, "is_authenticated", False) or getattr(user, "is_platform", False):
        return None
    if _is_staff(user, fresh=slot == "account_links"):
        return Markup('<a href="{}">{}</a>').format(url_for("merchant.dashboard"), _("Merchant console"))
    if slot == "header_user_nav":  # the header links a merchant's staff to its console only
        return None
    return Markup('<a href="{}">{}</a>').format(url_for("multistore.apply"), escape(_("Open a shop")))  # 申请开店


# --- Rules (MS2) ----------------------------------------------------------------


def review_enabled() -> bool:
    return bool(settings.get("multistore.application_review", True))


def agreement() -> str:
    return settings.get("multistore.agreement", "") or ""


def set_rules(*, agreement_text: str | None = None, review: bool | None = None) -> None:
    values: dict = {}
    if agreement_text is not None:
        if not isinstance(agreement_text, str) or len(agreement_text) > 20000:
            raise OnboardingError("agreement", _("At most %(n)d characters.", n=20000))
        values["multistore.agreement"] = agreement_text.strip()
    if review is not None:
        if not isinstance(review, bool):
            raise OnboardingError("review", _("Choose on or off."))
        values["multistore.application_review"] = review
    settings.set_many(values)


def fields() -> list[ApplicationField]:
    return (
        db.session.execute(select(ApplicationField).order_by(ApplicationField.sort, ApplicationField.id))
        .scalars()
        .all()
    )


def get_field(field_id: int) -> ApplicationField | None:
    return db.session.get(ApplicationField, field_id) if 1 <= field_id <= MAX_ID else None


def save_field(data: dict, field: ApplicationField | None = None) -> ApplicationField:
    """Create (``field`` None) or change an application field."""
    creating = field is None
    key = data.get("key", None if creating else field.key)
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise OnboardingError("key", _("A key is 1 to 40 lowercase letters, digits or _, starting with a letter."))
    clash = db.session.execute(select(ApplicationField.id).where(ApplicationField.key == key)).scalar_one_or_none()
    if clash is not None and (creating or clash != field.id):
        raise OnboardingError("key", _("Another field already uses this key."), code="conflict")
    label = data.get("label", None if creating else field.label)
    if not isinstance(label, str) or not label.strip() or len(label.strip()) > 60:
        raise OnboardingError("label", _("A label is 1 to 60 characters."))
    kind = data.get("kind", "text" if creating else field.kind)
    if kind not in FIELD_KINDS:
        raise OnboardingError("kind", _("Choose one of the options."))
    flags = {}
    for name in ("required", "editable"):
        value = data.get(name, (name == "editable") if creating else getattr(field, name))
        if not isinstance(value, bool):
            raise OnboardingError(name, _("Choose on or off."))
        flags[name] = value
    sort = data.get("sort", 0 if creating else field.sort)
    if isinstance(sort, bool) or not isinstance(sort, int) or not -10000 <= sort <= 10000:
        raise OnboardingError("sort", _("Enter a whole number."))
    if creating:
        field = ApplicationField()
        db.session.add(field)
    field.key, field.label, field.kind, field.sort = key, label.strip(), kind, sort
    field.required, field.editable = flags["required"], flags["editable"]
    db.session.flush()
    return field


def delete_field(field: ApplicationField) -> None:
    """Remove a field from the form (answers already given stay on the merchants)."""
    db.session.delete(field)
    db.session.flush()


# --- Applications (MS3) -----------------------------------------------------------


def application_of(user) -> Merchant | None:
    """The user's current (not deleted) application or merchant."""
    return db.session.execute(
        select(Merchant)
        .where(Merchant.owner_id == user.id, Merchant.deleted_at.is_(None))
        .order_by(Merchant.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _answers(raw) -> dict:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise OnboardingError("fields", _("Invalid application fields."))
    defs = fields()
    known = {d.key for d in defs}
    for key in raw:
        if key not in known:
            raise OnboardingError(f"fields.{key}", _("Unknown field."))
    out = {}
    for d in defs:
        value = raw.get(d.key, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise OnboardingError(f"fields.{d.key}", _("Enter text."))
        value = value.strip()
        if len(value) > MAX_ANSWER:
            raise OnboardingError(f"fields.{d.key}", _("At most %(n)d characters.", n=MAX_ANSWER))
        if d.required and not value:
            raise OnboardingError(f"fields.{d.key}", _("%(label)s is required.", label=d.label))
        if value and d.kind == "phone" and not re.fullmatch(r"[0-9+\- ]{5,20}", value):
            raise OnboardingError(f"fields.{d.key}", _("Enter a phone number."))
        out[d.key] = value
    return out


def apply(user, data: dict) -> Merchant:
    """A member applies to open a shop; approved at once when review is off.

    Raises 409 while an application is pending or when the user already has
    a shop (or works in one); a rejected applicant may apply again."""
    if getattr(user, "is_platform", False):
        raise OnboardingError(None, _("Platform staff cannot open a shop."), code="conflict")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise OnboardingError("name", _("The shop needs a name."))
    name = name.strip()
    if len(name) > 60:
        raise OnboardingError("name", _("At most %(n)d characters.", n=60))
    category = data.get("category") or ""
    if not isinstance(category, str) or len(category.strip()) > 40:
        raise OnboardingError("category", _("At most %(n)d characters.", n=40))
    answers = _answers(data.get("fields"))
    if data.get("agree") is not True:
        raise OnboardingError("agree", _("Accept the merchant agreement to apply."))  # 请阅读并同意入驻协议
    if db.session.execute(select(MerchantMember.id).where(MerchantMember.user_id == user.id)).first():
        raise OnboardingError(None, _("You already work in a shop."), code="conflict")
    existing = application_of(user)
    if existing is not None and existing.review_status == REVIEW_PENDING:
        raise OnboardingError(None, _("Your application is being reviewed."), code="conflict")
    if existing is not None and existing.review_status == REVIEW_APPROVED:
        raise OnboardingError(None, _("You already have a shop."), code="conflict")
    taken = db.session.execute(
        select(Merchant.id).where(
            Merchant.name == name,
            Merchant.deleted_at.is_(None),
            Merchant.review_status != REVIEW_REJECTED,
            Merchant.owner_id != user.id,
        )
    ).first()
    if taken:
        raise OnboardingError("name", _("Another shop already has this name."), code="conflict")
    now = utcnow()
    m = existing or Merchant(owner_id=user.id)
    m.name, m.category, m.fields = name, category.strip(), answers
    m.review_status, m.reject_reason, m.reviewed_at, m.created_at = REVIEW_PENDING, "", None, now
    if existing is None:
        db.session.add(m)
    db.session.flush()
    if not review_enabled():
        approve(m, None)
    return m


def list_applications(status: str | None = None, q: str | None = None, after_id: int | None = None, limit: int = 50):
    stmt = select(Merchant).where(Merchant.deleted_at.is_(None))
    if status:
        if status not in REVIEW_STATUSES:
            raise OnboardingError("status", _("Unknown status."))
        stmt = stmt.where(Merchant.review_status == status)
    q = (q or "").strip()
    if q:
        stmt = stmt.where(Merchant.name.contains(q[:60], autoescape=True))
    if after_id:
        stmt = stmt.where(Merchant.id < after_id)
    rows = db.session.execute(stmt.order_by(Merchant.id.desc()).limit(limit + 1)).scalars().all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def get_application(merchant_id: int) -> Merchant | None:
    if not 1 <= merchant_id <= MAX_ID:
        return None
    m = db.session.get(Merchant, merchant_id)
    return m if m is not None and m.deleted_at is None else None


def approve(m: Merchant, actor) -> Merchant:
    """Approve a pending application: the applicant becomes the admin member."""
    if db.session.execute(select(MerchantMember.id).where(MerchantMember.user_id == m.owner_id)).first():
        raise OnboardingError(None, _("The applicant already works in another shop."), code="conflict")
    now = utcnow()
    won = db.session.execute(
        update(Merchant)
        .where(Merchant.id == m.id, Merchant.review_status == REVIEW_PENDING, Merchant.deleted_at.is_(None))
        .values(review_status=REVIEW_APPROVED, reviewed_at=now, approved_at=now, reject_reason="")
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        raise OnboardingError("status", _("Only a pending application can be approved."), code="conflict")
    db.session.add(MerchantMember(merchant_id=m.id, user_id=m.owner_id, role=ROLE_ADMIN))
    db.session.flush()
    db.session.refresh(m)
    return m


def reject(m: Merchant, reason, actor) -> Merchant:
    if not isinstance(reason, str) or not reason.strip():
        raise OnboardingError("reason", _("Give the applicant a reason."))
    if len(reason.strip()) > 200:
        raise OnboardingError("reason", _("At most %(n)d characters.", n=200))
    won = db.session.execute(
        update(Merchant)
        .where(Merchant.id == m.id, Merchant.review_status == REVIEW_PENDING, Merchant.deleted_at.is_(None))
        .values(review_status=REVIEW_REJECTED, reviewed_at=utcnow(), reject_reason=reason.strip())
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        raise OnboardingError("status", _("Only a pending application can be rejected."), code="conflict")
    db.session.refresh(m)
    return m
