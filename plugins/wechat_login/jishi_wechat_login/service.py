"""WeChat sign-in rules: which account a WeChat identity signs in, new
accounts, the phone number binding (and the merge it may need), and the
one-time ``state`` of the website's OAuth2 flow. No Flask request in here
except where a function says so."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from jishi import settings
from jishi.accounts import external
from jishi.accounts.models import User
from jishi.db import commit, db, rollback, utcnow
from jishi.errors import DomainError
from jishi.i18n import gettext as _
from jishi.orders.models import Order
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from jishi_wechat_login.models import MINI_PROGRAM, WEBSITE, WeChatIdentity, WeChatLoginState

#: How long a website sign-in may take from the QR page to the callback.
STATE_LIFETIME = timedelta(minutes=10)
PURPOSES = ("login", "staff", "bind")


class NotConfigured(Exception):
    """The platform has not entered this application's appid and secret."""


class WeChatLoginError(DomainError):
    """A sign-in or binding refused; ``field`` names what the client sent."""


@dataclass(frozen=True)
class App:
    kind: str
    appid: str
    secret: str


def app(kind: str) -> App:
    """The configured mini-program (``mp``) or website (``web``) application."""
    appid = (settings.get(f"wechat_login.{kind}_appid") or "").strip()
    secret = (settings.get(f"wechat_login.{kind}_secret") or "").strip()
    if not appid or not secret:
        raise NotConfigured(kind)
    return App(kind, appid, secret)


def configured(kind: str) -> bool:
    try:
        app(kind)
    except NotConfigured:
        return False
    return True


# --- Identities -----------------------------------------------------------------


def identity_of(appid: str, openid: str) -> WeChatIdentity | None:
    return db.session.execute(
        select(WeChatIdentity).where(WeChatIdentity.appid == appid, WeChatIdentity.openid == openid)
    ).scalar_one_or_none()


def identities(user: User) -> list[WeChatIdentity]:
    return list(
        db.session.execute(
            select(WeChatIdentity).where(WeChatIdentity.user_id == user.id).order_by(WeChatIdentity.id)
        ).scalars()
    )


def _by_unionid(unionid: str | None) -> User | None:
    if not unionid:
        return None
    row = db.session.execute(
        select(WeChatIdentity.user_id).where(WeChatIdentity.unionid == unionid).order_by(WeChatIdentity.id).limit(1)
    ).first()
    return db.session.get(User, row[0]) if row else None


def _active(user: User) -> User:
    if not user.is_active:
        raise WeChatLoginError("code", _("This account is disabled."), code="account_disabled", status=403)
    return user


def find_user(application: App, openid: str, unionid: str | None) -> User | None:
    """The account this WeChat user signs in, binding the identity for this
    application when only its ``unionid`` was known; ``None`` when unbound."""
    ident = identity_of(application.appid, openid)
    if ident is not None:
        if unionid and not ident.unionid:
            ident.unionid = unionid
            commit()
        user = db.session.get(User, ident.user_id)
        if user is None:  # pragma: no cover - identities go with their account (ON DELETE CASCADE)
            return None
        return _active(user)
    user = _by_unionid(unionid)
    if user is None:
        return None
    _active(user)
    if _bind(user, application, openid, unionid) is None:
        ident = identity_of(application.appid, openid)
        if ident is None:  # the account holds another openid of this app: refuse, never guess
            raise WeChatLoginError(
                "code", _("Your account is already bound to another WeChat account."), code="account_bound", status=409
            )
        bound = db.session.get(User, ident.user_id)  # bound concurrently
        return _active(bound) if bound is not None else None
    return user


def _bind(user: User, application: App, openid: str, unionid: str | None) -> WeChatIdentity | None:
    """Bind and commit; ``None`` when a concurrent request bound the same openid first."""
    ident = WeChatIdentity(
        user_id=user.id, appid=application.appid, app_kind=application.kind, openid=openid, unionid=unionid or None
    )
    db.session.add(ident)
    try:
        commit()
    except IntegrityError:
        rollback()
        return None
    return ident


def sign_in_or_register(application: App, openid: str, unionid: str | None, name: str = "") -> tuple[User, bool]:
    """The bound account, or a new buyer account bound to this identity;
    ``(user, is_new)``."""
    for _attempt in range(3):
        user = find_user(application, openid, unionid)
        if user is not None:
            return user, False
        user = external.create_account(name or _("WeChat user"))
        db.session.add(
            WeChatIdentity(
                user_id=user.id, appid=application.appid, app_kind=application.kind, openid=openid, unionid=unionid
            )
        )
        try:
            commit()
        except IntegrityError:
            rollback()  # a concurrent sign-in of the same openid won: sign its account in
            continue
        return user, True
    raise WeChatLoginError("code", _("Please try again."), code="conflict", status=409)  # pragma: no cover


def bind(user: User, application: App, openid: str, unionid: str | None) -> WeChatIdentity:
    """Bind this WeChat identity to the signed-in ``user`` (account page)."""
    ident = identity_of(application.appid, openid)
    if ident is not None:
        if ident.user_id == user.id:
            return ident
        raise WeChatLoginError(
            "code", _("This WeChat account is already bound to another account."), code="wechat_bound", status=409
        )
    mine = db.session.execute(
        select(WeChatIdentity).where(WeChatIdentity.user_id == user.id, WeChatIdentity.appid == application.appid)
    ).scalar_one_or_none()
    if mine is not None:
        raise WeChatLoginError(
            "code", _("Your account is already bound to another WeChat account."), code="account_bound", status=409
        )
    ident = _bind(user, application, openid, unionid)
    if ident is None:
        raise WeChatLoginError(
            "code", _("This WeChat account is already bound to another account."), code="wechat_bound", status=409
        )
    return ident


def unbind(user: User, identity_id: int) -> bool:
    """Remove one of ``user``'s WeChat bindings; an account without a phone
    keeps its last one (it could not sign in any more)."""
    ident = db.session.get(WeChatIdentity, identity_id)
    if ident is None or ident.user_id != user.id:
        return False
    if not external.has_phone(user) and len(identities(user)) <= 1:
        raise WeChatLoginError(
            "id", _("Bind a phone number first: without WeChat this account could not sign in."), code="last_login"
        )
    db.session.delete(ident)
    commit()
    return True


# --- Phone number (mini-program) ------------------------------------------------


def bind_phone(user: User, phone: str) -> tuple[User, bool]:
    """Give the signed-in ``user`` the phone number WeChat verified.

    - The account already has this number: nothing changes.
    - It has another number: refused (409), the account's number stays.
    - No account has the number: it becomes this account's.
    - Another account has it (a buyer who registered with a phone before):
      the login switches to that account. This account's WeChat bindings,
      cart and addresses move to it and this account is retired (inactive,
      its tokens revoked). An account that already placed orders is not
      merged (409): its orders stay reachable where they are.

    Returns ``(account to sign in, switched)``; commits.
    """
    if not phone:
        raise WeChatLoginError("code", _("WeChat returned no phone number."), code="no_phone", status=422)
    # One binding at a time per account (PostgreSQL row lock; SQLite writes one at a time anyway).
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    user = db.session.get(User, user.id, populate_existing=True) or user
    if external.has_phone(user):
        if user.phone == phone:
            return user, False
        raise WeChatLoginError(
            "code", _("Your account already has another phone number."), code="phone_already_bound", status=409
        )
    try:
        existing = external.find_by_phone(phone)
    except external.AccountError:
        raise WeChatLoginError(
            "code", _("WeChat returned a phone number that is not a mobile number."), code="bad_phone", status=422
        ) from None
    if existing is None:
        try:
            external.set_phone(user, phone)  # checks again: another binding may have committed since
            commit()
        except (IntegrityError, external.AccountError):
            rollback()
            raise WeChatLoginError(
                "code", _("This phone number was just registered; please try again."), code="conflict", status=409
            ) from None
        return user, False
    _active(existing)
    mine = identities(user)
    apps = {i.appid for i in mine}
    taken = db.session.execute(
        select(WeChatIdentity.id).where(WeChatIdentity.user_id == existing.id, WeChatIdentity.appid.in_(apps)).limit(1)
    ).first()
    if taken is not None:
        raise WeChatLoginError(
            "code",
            _("The account with this phone number is bound to another WeChat account."),
            code="phone_account_bound",
            status=409,
        )
    orders = db.session.execute(select(func.count()).select_from(Order).where(Order.user_id == user.id)).scalar_one()
    if orders:
        raise WeChatLoginError(
            "code",
            _(
                "This WeChat account already has orders, so it cannot be merged into the account with this phone number."
            ),
            code="has_orders",
            status=409,
        )
    db.session.execute(
        update(WeChatIdentity)
        .where(WeChatIdentity.user_id == user.id)
        .values(user_id=existing.id)
        .execution_options(synchronize_session=False)
    )
    external.carry_over(user, existing)
    external.retire(user)
    commit()
    return existing, True


# --- The website's one-time state -------------------------------------------------


def _serializer():
    from flask import current_app

    return URLSafeTimedSerializer(str(current_app.secret_key), salt="jishi-wechat-login-state")


def new_state(purpose: str, next_url: str, user: User | None = None) -> str:
    """A signed ``state`` naming a one-time row; commits."""
    assert purpose in PURPOSES
    nonce = secrets.token_urlsafe(24)
    db.session.add(
        WeChatLoginState(nonce=nonce, purpose=purpose, user_id=user.id if user else None, next_url=next_url[:500])
    )
    commit()
    return _serializer().dumps(nonce)


def use_state(state: str, expected_nonce: str | None) -> WeChatLoginState | None:
    """The state row, marked used; ``None`` when the signature is wrong, it
    expired, it was used before, or it is not the one this browser started
    (``expected_nonce``, kept in its session)."""
    try:
        nonce = _serializer().loads(state or "", max_age=int(STATE_LIFETIME.total_seconds()))
    except BadSignature:
        return None
    if not isinstance(nonce, str) or not expected_nonce or not secrets.compare_digest(nonce, expected_nonce):
        return None
    now = utcnow()
    done = db.session.execute(
        update(WeChatLoginState)
        .where(
            WeChatLoginState.nonce == nonce,
            WeChatLoginState.used_at.is_(None),
            WeChatLoginState.created_at > now - STATE_LIFETIME,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    commit()
    if done.rowcount != 1:
        return None
    return db.session.get(WeChatLoginState, nonce)


def nonce_of(state: str) -> str | None:
    try:
        value = _serializer().loads(state)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def purge_states() -> str:
    """Periodic job: forget states older than a day."""
    done = db.session.execute(
        delete(WeChatLoginState).where(WeChatLoginState.created_at < utcnow() - timedelta(days=1))
    )
    commit()
    return f"{done.rowcount} states purged"


__all__ = ["MINI_PROGRAM", "WEBSITE"]
