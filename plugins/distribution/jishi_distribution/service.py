"""Promoters, referral binding and commissions (see docs/plugins/distribution.md).

Everything here runs in the caller's transaction (no commit), except
:func:`release_due` (the periodic job), which commits one commission at a
time.

Binding rules (settings ``distribution.*``): ``bind_rule`` ``first`` (the
first binding stays while it lasts) or ``last`` (a new click rebinds, but
never within ``protect_days`` of the last binding: protection against
hijack); ``bind_days`` (0: permanent; otherwise a binding lapses after N
days); ``bind_on`` ``visit`` (bound when a signed-in buyer arrives with a
code) or ``order`` (the code is remembered and the binding made when the
buyer places an order). Nobody binds to themselves, and a binding is refused
when the promoter's full chain of ancestors contains the buyer (no cycle).
Every change is written to ``distribution_binding_log``.

Commissions: at payment, per order line and level, on what the line paid
after every discount (``OrderLine.pay_amount``): a per-product fixed amount
(fen per unit x quantity, at most the line's pay amount), else the product's,
the rate of the line's category or of its nearest ancestor with one, or the
default rate, rounded down per line per level. Frozen
until the order is completed and ``return_days`` have passed, then released
by the ``distribution_release`` job. A refund reverses
``floor(amount * refunded / base)`` cumulatively (the difference to what was
already reversed), before or after release.

Merchant-funded commissions: a merchant's opted-in product (setting
``merchant_products``) with multistore enabled: each commission is charged
to the merchant in multistore's ledger when it is created
(:func:`jishi_multistore.ledger.charge`, key ``dist_commission``/id), and
every reversal of it gives the same fen back (``charge_back``: one journal
per refund, per closed order, per cancelled commission).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from jishi import settings
from jishi.db import db, utcnow
from jishi.errors import DomainError
from jishi.i18n import gettext as _
from jishi.signals import plugin_enabled
from sqlalchemy import Integer, String, bindparam, cast, delete, func, literal, select, text, update

from jishi_distribution import ledger
from jishi_distribution.models import (
    ACTIVE,
    C_CANCELLED,
    C_FROZEN,
    C_RELEASED,
    C_REVERSED,
    E_CANCELLED,
    E_EARNED,
    E_RELEASED,
    E_REVERSED,
    FROZEN,
    PENDING,
    REJECTED,
    REMOVED,
    Binding,
    BindingLog,
    CategoryRate,
    Commission,
    ProductRule,
    Promoter,
    Referral,
)

# --- Settings -----------------------------------------------------------------

JOIN_MODE = "distribution.join_mode"  # everyone / apply / spend
JOIN_THRESHOLD = "distribution.join_threshold"  # fen paid and not refunded
APPLY_FIELDS = "distribution.apply_fields"  # one label per line
BIND_RULE = "distribution.bind_rule"  # first / last
BIND_DAYS = "distribution.bind_days"  # 0: permanent
BIND_ON = "distribution.bind_on"  # visit / order
PROTECT_DAYS = "distribution.protect_days"
LEVEL1_BP = "distribution.level1_bp"
LEVEL2_BP = "distribution.level2_bp"
SELF_PURCHASE = "distribution.self_purchase"
MERCHANT_PRODUCTS = "distribution.merchant_products"
RETURN_DAYS = "distribution.return_days"
STAFF_PROMOTERS = "distribution.staff_promoters"

DEFAULTS: dict[str, object] = {
    JOIN_MODE: "everyone",
    JOIN_THRESHOLD: 0,
    APPLY_FIELDS: "",
    BIND_RULE: "first",
    BIND_DAYS: 0,
    BIND_ON: "visit",
    PROTECT_DAYS: 7,
    LEVEL1_BP: 1000,
    LEVEL2_BP: 500,
    SELF_PURCHASE: False,
    MERCHANT_PRODUCTS: False,
    RETURN_DAYS: 7,
    STAFF_PROMOTERS: True,
}
CHOICES = {JOIN_MODE: ("everyone", "apply", "spend"), BIND_RULE: ("first", "last"), BIND_ON: ("visit", "order")}
MAX_BP = 10000


def setting(key: str):
    value = settings.get(key, DEFAULTS[key])
    default = DEFAULTS[key]
    if key in CHOICES:
        return value if value in CHOICES[key] else default
    if isinstance(default, bool):
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "on", "yes")
        return bool(value)
    if isinstance(default, int):
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = default
        number = max(0, number)
        return min(number, MAX_BP) if key in (LEVEL1_BP, LEVEL2_BP) else number
    return str(value or "")


def apply_fields() -> list[str]:
    return [line.strip()[:40] for line in str(setting(APPLY_FIELDS)).splitlines() if line.strip()][:10]


# --- Promoters ----------------------------------------------------------------

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _i in range(8))
        if db.session.scalar(select(Promoter.user_id).where(Promoter.code == code)) is None:
            return code


def promoter(user_id: int | None) -> Promoter | None:
    return db.session.get(Promoter, user_id) if user_id else None


def is_active(user_id: int | None) -> bool:
    p = promoter(user_id)
    return p is not None and p.status == ACTIVE


def is_staff() -> bool:
    """Whether the signed-in user is a merchant's staff member (multistore's seller scope)."""
    from jishi.sellers import current_scope

    scope = current_scope("api")  # the platform's read-only view of a merchant does not count
    return scope is not None and scope.seller_id is not None and not scope.read_only


def net_spend(user_id: int) -> int:
    """What the user paid and was not refunded, over their completed orders
    (the spend threshold counts refunds out, and an order only once it is
    completed: a paid order may still be refunded in full)."""
    from jishi.orders.models import Order

    total = db.session.scalar(
        select(func.coalesce(func.sum(Order.pay_amount - Order.refunded_amount), 0)).where(
            Order.user_id == user_id, Order.status == "completed"
        )
    )
    return int(total or 0)


def _create(user_id: int, status: str, source: str, application: dict | None = None) -> Promoter:
    p = Promoter(
        user_id=user_id,
        code=new_code(),
        status=status,
        source=source,
        application=application or {},
        created_at=utcnow(),
    )
    db.session.add(p)
    db.session.flush()
    return p


def ensure_promoter(user_id: int, *, staff: bool = False) -> Promoter | None:
    """The user's promoter row, made active when the platform's rule allows
    it now (everyone; or the spend threshold reached; or, with
    ``staff_promoters``, ``staff``: the user is a merchant's staff member,
    seed 002's 导购)."""
    p = promoter(user_id)
    if p is not None:
        return p
    if staff and setting(STAFF_PROMOTERS):
        return _create(user_id, ACTIVE, "staff")
    mode = setting(JOIN_MODE)
    if mode == "everyone":
        return _create(user_id, ACTIVE, "everyone")
    if mode == "spend" and net_spend(user_id) >= setting(JOIN_THRESHOLD):
        return _create(user_id, ACTIVE, "spend")
    return None


def apply(user_id: int, answers: dict | None) -> Promoter:
    """Ask to become a promoter (mode ``apply``): every configured field
    answered (at most 200 characters each)."""
    mode = setting(JOIN_MODE)
    p = promoter(user_id)
    if p is not None and p.status not in (REJECTED,):
        raise DomainError("status", _("You have already applied."), code="conflict", status=409)
    if mode != "apply":
        got = ensure_promoter(user_id)
        if got is None:
            raise DomainError("status", _("Promoters qualify by what they spend; you have not reached it yet."))
        return got
    answers = answers if isinstance(answers, dict) else {}
    clean = {}
    for label in apply_fields():
        value = answers.get(label, "")
        value = value.strip() if isinstance(value, str) else ""
        if not value:
            raise DomainError(f"answers.{label}", _("Fill in %(field)s.", field=label))
        if len(value) > 200:
            raise DomainError(f"answers.{label}", _("At most %(n)d characters.", n=200))
        clean[label] = value
    if p is None:
        return _create(user_id, PENDING, "apply", clean)
    p.status, p.application, p.reason, p.reviewed_at = PENDING, clean, "", None
    db.session.flush()
    return p


def _status_change(user_id: int, sources: tuple[str, ...], target: str, actor_id: int | None, reason: str = "") -> None:
    won = db.session.execute(
        update(Promoter)
        .where(Promoter.user_id == user_id, Promoter.status.in_(sources))
        .values(status=target, reviewed_at=utcnow(), reviewed_by=actor_id, reason=reason[:200])
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        p = promoter(user_id)
        if p is None:
            raise DomainError("user_id", _("No such promoter."), status=404, code="not_found")
        raise DomainError("status", _("This promoter is %(status)s.", status=p.status), code="conflict", status=409)
    p = promoter(user_id)
    if p is not None:
        db.session.refresh(p)


def review(user_id: int, approve: bool, actor_id: int | None, reason: str = "") -> None:
    reason = (reason or "").strip()
    if not approve and not reason:
        raise DomainError("reason", _("Give a reason."))
    _status_change(user_id, (PENDING,), ACTIVE if approve else REJECTED, actor_id, reason)


def freeze(user_id: int, actor_id: int | None, reason: str = "") -> None:
    """A frozen promoter earns nothing new and cannot withdraw; commissions
    already frozen wait (they are released once the promoter is active again)."""
    _status_change(user_id, (ACTIVE,), FROZEN, actor_id, reason)


def unfreeze(user_id: int, actor_id: int | None) -> None:
    _status_change(user_id, (FROZEN,), ACTIVE, actor_id)


def remove(user_id: int, actor_id: int | None, reason: str = "") -> int:
    """A removed promoter earns nothing more; their commissions still frozen
    are cancelled (taken off ``frozen``); what is available stays theirs to
    withdraw. Returns the number of commissions cancelled."""
    _status_change(user_id, (ACTIVE, FROZEN, PENDING), REMOVED, actor_id, reason)
    ledger.lock(user_id)  # the account before the commission rows (see lock_accounts)
    ids = db.session.scalars(
        select(Commission.id).where(Commission.promoter_id == user_id, Commission.status == C_FROZEN)
    ).all()
    n = 0
    for cid in ids:
        won = db.session.execute(
            update(Commission)
            .where(Commission.id == cid, Commission.status == C_FROZEN)
            .values(status=C_CANCELLED)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won:
            c = _fresh(cid)
            ledger.lock(user_id)
            ledger.post(user_id, E_CANCELLED, f"c{cid}", frozen=-(c.amount - c.reversed))
            if c.funded_by == MERCHANT:
                _charge_back(c.seller_id, c.order_id, c.amount - c.reversed, "dist_cancel", cid)
            n += 1
    return n


# --- Merchant funding (multistore) --------------------------------------------

MERCHANT = "merchant"


def merchant_funded(seller_id: int | None) -> bool:
    """A merchant's commission is charged to it when multistore is enabled."""
    return seller_id is not None and plugin_enabled("multistore")


def _charge(c: Commission) -> None:
    from jishi_multistore import ledger as ms_ledger

    assert c.seller_id is not None
    ms_ledger.charge(
        c.seller_id,
        c.order_id,
        c.amount,
        source_type="dist_commission",
        source_id=c.id,
        memo=f"distribution commission {c.id} (level {c.level})",
    )


def _charge_back(seller_id: int | None, order_id: int, amount: int, source_type: str, source_id: int) -> None:
    """Give the merchant back ``amount`` of what its commissions were charged."""
    if seller_id is None or amount <= 0 or not plugin_enabled("multistore"):
        return
    from jishi_multistore import ledger as ms_ledger

    ms_ledger.charge_back(
        seller_id,
        order_id,
        amount,
        source_type=source_type,
        source_id=source_id,
        memo=f"distribution commission reversed ({source_type} {source_id})",
    )


# --- Rates --------------------------------------------------------------------


def _bp(field: str, value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_BP:
        raise DomainError(field, _("A rate is between 0 and 100%."))
    return value


def _fen(field: str, value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**8:
        raise DomainError(field, _("Enter an amount of at least 0."))
    return value


def set_category_rate(category_id: int, level1_bp, level2_bp) -> CategoryRate | None:
    """The category's rates (basis points); both None removes them."""
    from jishi.catalog.models import Category

    if db.session.get(Category, category_id) is None:
        raise DomainError("category_id", _("No such category."), status=404, code="not_found")
    l1, l2 = _bp("level1_bp", level1_bp), _bp("level2_bp", level2_bp)
    row = db.session.get(CategoryRate, category_id)
    if l1 is None and l2 is None:
        if row is not None:
            db.session.delete(row)
        return None
    if l1 is None or l2 is None:
        raise DomainError("level1_bp" if l1 is None else "level2_bp", _("Give both levels' rates."))
    if row is None:
        row = CategoryRate(category_id=category_id, level1_bp=l1, level2_bp=l2)
        db.session.add(row)
    else:
        row.level1_bp, row.level2_bp = l1, l2
    db.session.flush()
    return row


def set_product_rule(
    product_id: int, *, enabled: bool, level1_bp=None, level2_bp=None, level1_fixed=None, level2_fixed=None
) -> ProductRule:
    """A product's distribution rule: in or out; per level a rate or a fixed
    amount per unit (fixed wins when both are given). A merchant's product
    only distributes when ``enabled`` and the platform allows merchant products."""
    from jishi.catalog.models import Product

    if db.session.get(Product, product_id) is None:
        raise DomainError("product_id", _("No such product."), status=404, code="not_found")
    values = {
        "level1_bp": _bp("level1_bp", level1_bp),
        "level2_bp": _bp("level2_bp", level2_bp),
        "level1_fixed": _fen("level1_fixed", level1_fixed),
        "level2_fixed": _fen("level2_fixed", level2_fixed),
    }
    row = db.session.get(ProductRule, product_id)
    if row is None:
        row = ProductRule(product_id=product_id)
        db.session.add(row)
    row.enabled = bool(enabled)
    for key, value in values.items():
        setattr(row, key, value)
    db.session.flush()
    return row


# --- Binding ------------------------------------------------------------------


def code_owner(code: str) -> Promoter:
    """The active promoter of a referral code, or a 422 naming ``code``."""
    code = (code or "").strip().upper() if isinstance(code, str) else ""
    p = db.session.scalar(select(Promoter).where(Promoter.code == code)) if code and len(code) <= 16 else None
    if p is None or p.status != ACTIVE:
        raise DomainError("code", _("This referral code is not valid."))
    return p


def current_binding(user_id: int) -> Binding | None:
    """The buyer's binding if it has not lapsed."""
    b = db.session.execute(
        select(Binding).where(Binding.user_id == user_id).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if b is None or (b.expires_at is not None and b.expires_at <= utcnow()):
        return None
    return b


def parent(user_id: int | None) -> int | None:
    if user_id is None:
        return None
    b = current_binding(user_id)
    return b.promoter_id if b else None


def ancestors(user_id: int) -> list[int]:
    """``user_id``'s promoter, that promoter's promoter, ... (current
    bindings; stops on a repeat, which the rules never let happen)."""
    chain: list[int] = []
    seen = {user_id}
    up = parent(user_id)
    while up is not None and up not in seen:
        chain.append(up)
        seen.add(up)
        up = parent(up)
    return chain


BIND_LOCK = 17_0001  # the advisory lock every binding change takes (PostgreSQL)


def _serialise_bindings() -> None:
    """Binding changes run one at a time (a transaction-scoped advisory lock
    on PostgreSQL; SQLite serialises writers anyway): two simultaneous
    bindings A -> B and B -> A cannot both pass the cycle check."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": BIND_LOCK})


def bind(user_id: int, promoter_id: int, source: str, actor_id: int | None = None) -> Binding | None:
    """Bind the buyer to the promoter under the platform's rules; None when
    the rules keep the existing binding. A 422 naming ``code`` for a
    self-binding or a cycle."""
    if promoter_id == user_id:
        raise DomainError("code", _("You cannot use your own referral code."))
    _serialise_bindings()
    if user_id in ancestors(promoter_id):
        raise DomainError("code", _("This promoter is in your own team."))
    now = utcnow()
    existing = db.session.execute(
        select(Binding).where(Binding.user_id == user_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    live = existing is not None and (existing.expires_at is None or existing.expires_at > now)
    if live and existing is not None:
        if existing.promoter_id == promoter_id:
            return None
        if setting(BIND_RULE) == "first":
            return None
        if existing.bound_at + timedelta(days=setting(PROTECT_DAYS)) > now:
            return None
    days = setting(BIND_DAYS)
    expires = now + timedelta(days=days) if days else None
    old = existing.promoter_id if existing is not None else None
    if existing is None:
        existing = Binding(user_id=user_id, promoter_id=promoter_id, source=source, bound_at=now, expires_at=expires)
        db.session.add(existing)
    else:
        existing.promoter_id, existing.source, existing.bound_at, existing.expires_at = (
            promoter_id,
            source,
            now,
            expires,
        )
    reason = source if old is None or live else f"{source}:lapsed"
    db.session.add(
        BindingLog(
            user_id=user_id,
            old_promoter_id=old,
            new_promoter_id=promoter_id,
            reason=reason[:40],
            actor_id=actor_id,
            created_at=now,
        )
    )
    db.session.execute(delete(Referral).where(Referral.user_id == user_id))
    db.session.flush()
    return existing


def visit(user_id: int, code: str, source: str) -> Binding | None:
    """A signed-in buyer arrived with a referral code (link or API): bound
    now (rule ``visit``), or the code remembered until their next order
    (rule ``order``). A 422 naming ``code`` for an unknown or inactive code,
    the buyer's own code, or a cycle."""
    p = code_owner(code)
    if setting(BIND_ON) == "visit":
        return bind(user_id, p.user_id, source)
    if p.user_id == user_id:
        raise DomainError("code", _("You cannot use your own referral code."))
    row = db.session.get(Referral, user_id)
    if row is None:
        db.session.add(Referral(user_id=user_id, promoter_id=p.user_id, clicked_at=utcnow()))
    else:
        row.promoter_id, row.clicked_at = p.user_id, utcnow()
    db.session.flush()
    return None


REFERRAL_LOADER = "distribution.referral"
_REFERRAL_QUERY: list = []


def referral_query():
    """The buyer's remembered referral (``user_id`` parameter), built once
    (a checkout loader: read with the placement's other rows)."""
    if not _REFERRAL_QUERY:
        _REFERRAL_QUERY.append(select(Referral).where(Referral.user_id == bindparam("user_id", type_=Integer)))
    return _REFERRAL_QUERY[0]


_UNREAD = object()


def on_order_placed(user_id: int, row=_UNREAD) -> None:
    """Rule ``order``: the remembered code binds the buyer when they order.
    ``row``: the buyer's :class:`Referral` (or None) when the checkout read
    it already (its loaders), else read here."""
    if row is _UNREAD:
        row = db.session.get(Referral, user_id)
    if row is None:
        return
    promoter_id = row.promoter_id
    db.session.delete(row)
    if is_active(promoter_id):
        try:
            bind(user_id, promoter_id, "order")
        except DomainError:
            pass  # a cycle or self-binding by now: the click is dropped
    db.session.flush()


# --- Commissions --------------------------------------------------------------


def beneficiaries(buyer_id: int) -> tuple[int | None, int | None]:
    """(level 1, level 2) promoters of a purchase. With ``self_purchase``
    an active promoter earns level 1 on their own orders. A level whose
    promoter is not active earns nothing (it is not passed up)."""
    if setting(SELF_PURCHASE) and is_active(buyer_id):
        first: int | None = buyer_id
    else:
        first = parent(buyer_id)
    second = parent(first)
    if second == buyer_id:
        second = None
    return (first if is_active(first) else None), (second if is_active(second) else None)


def category_rates(category_ids) -> dict[int, tuple[int, int]]:
    """{category id: (level 1 bp, level 2 bp)} for each of ``category_ids``
    that has a rate of its own or an ancestor with one (the nearest wins),
    in ONE query: the categories joined to every rate on their materialised
    path (``/1/4/9/`` contains ``/4/``)."""
    from jishi.catalog.models import Category

    ids = sorted({c for c in category_ids if c is not None})
    if not ids:
        return {}
    rows = db.session.execute(
        select(Category.id, Category.path, CategoryRate.category_id, CategoryRate.level1_bp, CategoryRate.level2_bp)
        .join(
            CategoryRate,
            (CategoryRate.category_id == Category.id)
            | Category.path.like(literal("%/") + cast(CategoryRate.category_id, String) + literal("/%")),
        )
        .where(Category.id.in_(ids))
    ).all()
    best: dict[int, tuple[int, tuple[int, int]]] = {}
    for cid, path, rate_cid, l1, l2 in rows:
        parts = [int(p) for p in (path or "").split("/") if p.isdecimal()]
        depth = len(parts) + 1 if rate_cid == cid else (parts.index(rate_cid) if rate_cid in parts else -1)
        if cid not in best or depth > best[cid][0]:
            best[cid] = (depth, (int(l1), int(l2)))
    return {cid: rates for cid, (_depth, rates) in best.items()}


def line_commission(
    line, seller_id: int | None, level: int, crates: dict[int, tuple[int, int]] | None = None
) -> tuple[int, str] | None:
    """(amount, rule) of an order line at ``level``, or None when the line's
    product does not distribute. ``crates``: :func:`category_rates` of the
    order's lines (looked up for this line alone without it)."""
    rule = db.session.get(ProductRule, line.product_id) if line.product_id else None
    if seller_id is None:
        if rule is not None and not rule.enabled:
            return None
    elif not (setting(MERCHANT_PRODUCTS) and rule is not None and rule.enabled):
        return None
    base = max(0, line.pay_amount)
    fixed = getattr(rule, f"level{level}_fixed") if rule is not None else None
    if fixed is not None:
        return min(fixed * line.quantity, base), f"fixed:{fixed}"
    bp = getattr(rule, f"level{level}_bp") if rule is not None else None
    if bp is None and line.category_id is not None:
        if crates is None:
            crates = category_rates([line.category_id])
        crate = crates.get(line.category_id)
        bp = crate[level - 1] if crate is not None else None
    if bp is None:
        bp = setting(LEVEL1_BP if level == 1 else LEVEL2_BP)
    return base * bp // MAX_BP, f"rate:{bp}"


def on_paid(order) -> None:
    """Create the order's commissions, frozen (once per order)."""
    if db.session.scalar(select(Commission.id).where(Commission.order_id == order.id).limit(1)) is not None:
        return
    levels = beneficiaries(order.user_id)
    if not any(levels):
        return
    now = utcnow()
    lines = list(order.lines)
    crates = category_rates(line.category_id for line in lines)
    funded_by = MERCHANT if merchant_funded(order.seller_id) else "platform"
    for line in lines:
        for level, promoter_id in enumerate(levels, start=1):
            if promoter_id is None:
                continue
            got = line_commission(line, order.seller_id, level, crates)
            if got is None or got[0] <= 0:
                continue
            amount, rule = got
            c = Commission(
                order_id=order.id,
                order_line_id=line.id,
                level=level,
                promoter_id=promoter_id,
                buyer_id=order.user_id,
                seller_id=order.seller_id,
                base=line.pay_amount,
                rule=rule,
                amount=amount,
                status=C_FROZEN,
                funded_by=funded_by,
                paid_amount=0,
                created_at=now,
            )
            db.session.add(c)
            db.session.flush()
            ledger.post(promoter_id, E_EARNED, f"c{c.id}", frozen=amount)
            if funded_by == MERCHANT:
                _charge(c)


def lock_accounts(*where) -> None:
    """Lock the accounts of the promoters of the commissions ``where``
    selects, in ascending id order. The lock order everywhere is: the
    promoters' accounts (ascending), then commission rows — a payout
    allocating ``paid_amount`` holds the account and then touches the rows,
    so a refund locking the rows first could deadlock with it."""
    ids = db.session.scalars(select(Commission.promoter_id).where(*where).distinct()).all()
    for user_id in sorted(ids):
        ledger.lock(user_id)


def _fresh(cid: int) -> Commission:
    return db.session.execute(
        select(Commission).where(Commission.id == cid).execution_options(populate_existing=True)
    ).scalar_one()


def on_refund(refund) -> None:
    """Reverse each commission of the refunded order to
    ``floor(amount * refunded / base)`` of its line (cumulative target)."""
    from jishi.orders.models import OrderLine

    lock_accounts(Commission.order_id == refund.order_id)
    rows = db.session.scalars(
        select(Commission)
        .where(Commission.order_id == refund.order_id)
        .order_by(Commission.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    if not rows:
        return
    refunded = dict(
        db.session.execute(
            select(OrderLine.id, OrderLine.refunded_amount)
            .where(OrderLine.order_id == refund.order_id)
            .execution_options(populate_existing=True)
        ).all()
    )
    back: dict[int | None, int] = {}
    settled: set[int] = set()
    for c in rows:
        done = min(int(refunded.get(c.order_line_id, 0) or 0), c.base)
        target = c.amount * done // c.base if c.base else c.amount
        take = target - c.reversed
        if take <= 0:
            continue
        ref = f"c{c.id}:r{refund.id}"
        if c.status == C_FROZEN:
            ledger.take(c.promoter_id, E_REVERSED, ref, take, frozen=True)
        elif c.status in (C_RELEASED, C_REVERSED):
            ledger.take(c.promoter_id, E_REVERSED, ref, take, frozen=False)
            settled.add(c.promoter_id)
        if c.funded_by == MERCHANT and c.status != C_CANCELLED:
            back[c.seller_id] = back.get(c.seller_id, 0) + take
        c.reversed = target
        if target >= c.amount and c.status in (C_FROZEN, C_RELEASED):
            c.status = C_REVERSED
    db.session.flush()
    for promoter_id in sorted(settled):
        ledger.shift_paid(promoter_id)  # a paid record reversed: its debt, or what available covered
    for seller_id, amount in back.items():
        _charge_back(seller_id, refund.order_id, amount, "dist_refund", refund.id)


def on_closed(order) -> None:
    """A paid order closed without completing (after a full refund, or by
    the platform): every commission still frozen is reversed in full (the
    order will never complete, so it must not stay frozen forever)."""
    lock_accounts(Commission.order_id == order.id, Commission.status == C_FROZEN)
    rows = db.session.scalars(
        select(Commission)
        .where(Commission.order_id == order.id, Commission.status == C_FROZEN)
        .order_by(Commission.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    back: dict[int | None, int] = {}
    for c in rows:
        take = c.amount - c.reversed
        if take > 0:
            ledger.take(c.promoter_id, E_REVERSED, f"c{c.id}:closed", take, frozen=True)
            if c.funded_by == MERCHANT:
                back[c.seller_id] = back.get(c.seller_id, 0) + take
        c.reversed, c.status = c.amount, C_REVERSED
    db.session.flush()
    for seller_id, amount in back.items():
        _charge_back(seller_id, order.id, amount, "dist_closed", order.id)


def with_states(rows):
    """``rows`` (commission records), each told whether its order is
    completed (one query), so :attr:`Commission.state` tells pending from
    frozen. Returns ``rows``."""
    from jishi.orders.models import Order

    rows = list(rows)
    ids = {c.order_id for c in rows if c.status == C_FROZEN}
    done = (
        set(db.session.scalars(select(Order.id).where(Order.id.in_(ids), Order.completed_at.isnot(None))))
        if ids
        else set()
    )
    for c in rows:
        c.order_completed = c.order_id in done
    return rows


def due_ids(limit: int = 500) -> list[int]:
    """Frozen commissions of orders completed ``return_days`` ago or more,
    whose promoter is active."""
    from jishi.orders.models import Order

    cutoff = utcnow() - timedelta(days=setting(RETURN_DAYS))
    return list(
        db.session.scalars(
            select(Commission.id)
            .join(Order, Order.id == Commission.order_id)
            .join(Promoter, Promoter.user_id == Commission.promoter_id)
            .where(
                Commission.status == C_FROZEN,
                Order.completed_at.isnot(None),
                Order.completed_at <= cutoff,
                Promoter.status == ACTIVE,
            )
            .order_by(Commission.id)
            .limit(limit)
        )
    )


def release(cid: int) -> bool:
    """Release one commission: a conditional UPDATE (``status = frozen``)
    decides who does it, so two workers never both release it (the
    promoter's account is locked first: see :func:`lock_accounts`)."""
    lock_accounts(Commission.id == cid)
    won = db.session.execute(
        update(Commission)
        .where(Commission.id == cid, Commission.status == C_FROZEN)
        .values(status=C_RELEASED, released_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        return False
    c = _fresh(cid)
    left = c.amount - c.reversed
    if left > 0:
        ledger.credit(c.promoter_id, E_RELEASED, f"c{c.id}", left, frozen=-left)
    return True


def release_due() -> str | None:
    """The ``distribution_release`` job: release every commission due, each
    in its own transaction."""
    from jishi.db import commit, rollback

    n = 0
    for cid in due_ids():
        try:
            if release(cid):
                n += 1
            commit()
        except Exception:
            rollback()
            raise
    return f"{n} released" if n else None
