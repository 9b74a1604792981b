"""Coupons and activities: defining, claiming, listing (no Flask request here).

Claiming (CP "total quantity and per-user limit never exceeded"), in one
transaction:

1. ``UPDATE coupon_templates SET claimed_count = claimed_count + 1 WHERE id = ?
   AND status = 'active' AND claimed_count + 1 <= total_quantity`` — row count
   0: sold out. On PostgreSQL this also locks the template's row, so claims
   of one template run one after the other from here on.
2. count the buyer's coupons of the template (a fresh statement: it sees
   every claim committed before ours) — at the limit: refused, rolled back.
3. INSERT the coupon with ``seq = count + 1``; the unique
   (template, user, seq) refuses a duplicate even if step 2 raced.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from jishi.db import commit, db, rollback, utcnow
from jishi.errors import DomainError
from jishi.i18n import gettext as _
from jishi.i18n import naive_utc
from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from jishi_coupons.models import (
    ACTIVE,
    ACTIVITY_WINDOWS,
    KIND_FIXED,
    KIND_PERCENT,
    KINDS,
    SCOPE_ALL,
    SCOPE_CATEGORIES,
    SCOPE_MERCHANT,
    SCOPE_PRODUCTS,
    SCOPES,
    STOPPED,
    UNUSED,
    USED,
    CouponActivity,
    CouponTemplate,
    UserCoupon,
)
from jishi_coupons.rules import BP

MAX_FEN = 10**10
MAX_QUANTITY = 10**7
MAX_DAYS = 3650


class CouponError(DomainError):
    """Bad coupon input (422) or a conflicting state (409), naming the field."""


# --- Defining ---------------------------------------------------------------


def field_label(key: str) -> str:
    """What a coupon's field is called in a message ("发放总量" for
    ``total_quantity``); the error's field keeps the key."""
    return {
        "starts_at": _("Starts"),
        "ends_at": _("Ends"),
        "threshold": _("Threshold"),
        "amount": _("Discount amount"),
        "percent_off": _("Discount rate"),
        "max_discount": _("Maximum discount"),
        "valid_days": _("Valid days"),
        "total_quantity": _("Total quantity"),
        "per_user_limit": _("Per buyer"),
    }.get(key, key)


def _int(data: dict, key: str, *, required: bool = False, minimum: int = 0, maximum: int = MAX_FEN, default=None):
    value = data.get(key, default)
    if value is None or value == "":
        if required:
            raise CouponError(key, _("%(field)s is required.", field=field_label(key)))
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise CouponError(key, _("%(field)s must be a whole number.", field=field_label(key)))
    if not minimum <= value <= maximum:
        raise CouponError(
            key, _("%(field)s must be between %(min)d and %(max)d.", field=field_label(key), min=minimum, max=maximum)
        )
    return value


def _dt(data: dict, key: str) -> datetime:
    value = data.get(key)
    if not isinstance(value, datetime):
        raise CouponError(key, _("%(field)s is required.", field=field_label(key)))
    try:
        return naive_utc(value)
    except ValueError:
        raise CouponError(key, _("%(field)s is not a date and time.", field=field_label(key))) from None


def _name(data: dict) -> str:
    name = (data.get("name") or "").strip() if isinstance(data.get("name"), str) else ""
    if not name:
        raise CouponError("name", _("Enter a name."))
    if len(name) > 60:
        raise CouponError("name", _("The name is longer than 60 characters."))
    return name


def _scope(data: dict, seller_id: int | None) -> tuple[str, list[int]]:
    scope = data.get("scope") or SCOPE_ALL
    if scope not in SCOPES:
        raise CouponError("scope", _("Unknown scope."))
    ids = data.get("scope_ids") or []
    if not isinstance(ids, list) or any(
        isinstance(i, bool) or not isinstance(i, int) or not 1 <= i < 2**31 for i in ids
    ):
        raise CouponError("scope_ids", _("scope_ids must be a list of ids."))
    ids = sorted(set(ids))
    if len(ids) > 200:
        raise CouponError("scope_ids", _("At most 200 ids."))
    if scope == SCOPE_ALL:
        return scope, []
    if not ids:
        raise CouponError("scope_ids", _("Choose what the scope covers."))
    if scope == SCOPE_MERCHANT:
        if seller_id is not None:
            raise CouponError("scope", _("A merchant's coupons cover its own goods only."))
        if len(ids) != 1:
            raise CouponError("scope_ids", _("Choose one merchant."))
    if scope == SCOPE_CATEGORIES:
        from jishi.catalog.models import Category

        found = set(db.session.scalars(select(Category.id).where(Category.id.in_(ids))))
        if found != set(ids):
            raise CouponError("scope_ids", _("Unknown category."))
    if scope == SCOPE_PRODUCTS:
        from jishi.catalog.models import Product

        rows = db.session.execute(select(Product.id, Product.seller_id).where(Product.id.in_(ids))).all()
        if {r.id for r in rows} != set(ids) or (seller_id is not None and any(r.seller_id != seller_id for r in rows)):
            raise CouponError("scope_ids", _("Unknown product."))  # another merchant's product is unknown here
    return scope, ids


def _window(data: dict) -> tuple[datetime, datetime]:
    starts, ends = _dt(data, "starts_at"), _dt(data, "ends_at")
    if ends <= starts:
        raise CouponError("ends_at", _("The end must be after the start."))
    return starts, ends


def create_template(seller_id: int | None, data: dict, user=None) -> CouponTemplate:
    """A new coupon of ``seller_id`` (None: the platform) from ``data``
    (name, kind, threshold, amount | percent_off [+ max_discount], scope,
    scope_ids, starts_at, ends_at, valid_days, total_quantity,
    per_user_limit). Raises :class:`CouponError` naming the field."""
    name = _name(data)
    kind = data.get("kind") or KIND_FIXED
    if kind not in KINDS:
        raise CouponError("kind", _("Unknown coupon kind."))
    threshold = _int(data, "threshold", default=0)
    amount, percent_off, max_discount = 0, 0, None
    if kind == KIND_FIXED:
        amount = _int(data, "amount", required=True, minimum=1)
        if threshold and amount > threshold:
            raise CouponError("amount", _("The amount off cannot exceed the threshold."))
    else:
        percent_off = _int(data, "percent_off", required=True, minimum=1, maximum=BP - 1)
        max_discount = _int(data, "max_discount", minimum=1)
    scope, ids = _scope(data, seller_id)
    starts, ends = _window(data)
    valid_days = _int(data, "valid_days", minimum=1, maximum=MAX_DAYS)
    total = _int(data, "total_quantity", required=True, minimum=1, maximum=MAX_QUANTITY)
    per_user = _int(data, "per_user_limit", minimum=1, maximum=100, default=1)
    t = CouponTemplate(
        seller_id=seller_id,
        name=name,
        kind=kind,
        threshold=threshold,
        amount=amount,
        percent_off=percent_off,
        max_discount=max_discount,
        scope=scope,
        scope_ids=ids,
        starts_at=starts,
        ends_at=ends,
        valid_days=valid_days,
        total_quantity=total,
        claimed_count=0,
        per_user_limit=per_user,
        status=ACTIVE,
        created_by=getattr(user, "id", None),
    )
    db.session.add(t)
    commit()
    return t


def parse_tiers(value) -> list[list[int]]:
    if not isinstance(value, list) or not 1 <= len(value) <= 10:
        raise CouponError("tiers", _("Give 1 to 10 tiers."))
    tiers = []
    for tier in value:
        if isinstance(tier, dict):
            tier = [tier.get("threshold"), tier.get("amount")]
        if (
            not isinstance(tier, (list, tuple))
            or len(tier) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) for v in tier)
        ):
            raise CouponError("tiers", _("Each tier is a threshold and an amount in fen."))
        threshold, amount = tier
        if not (1 <= threshold <= MAX_FEN and 1 <= amount <= threshold):
            raise CouponError("tiers", _("Each tier takes off at least 1 fen and at most its threshold."))
        tiers.append([threshold, amount])
    tiers.sort()
    for (t1, a1), (t2, a2) in itertools.pairwise(tiers):
        if t1 == t2 or a2 <= a1:
            raise CouponError("tiers", _("Higher tiers must have higher thresholds and take off more."))
    return tiers


def create_activity(seller_id: int | None, data: dict, user=None) -> CouponActivity:
    """A new 满减 activity of ``seller_id`` (None: the platform)."""
    name = _name(data)
    tiers = parse_tiers(data.get("tiers"))
    scope, ids = _scope(data, seller_id)
    starts, ends = _window(data)
    a = CouponActivity(
        seller_id=seller_id,
        name=name,
        tiers=tiers,
        scope=scope,
        scope_ids=ids,
        starts_at=starts,
        ends_at=ends,
        status=ACTIVE,
        created_by=getattr(user, "id", None),
    )
    db.session.add(a)
    db.session.flush()
    publish_windows()
    commit()
    return a


def publish_windows(at: datetime | None = None) -> list[list[str]]:
    """Write :data:`~jishi_coupons.models.ACTIVITY_WINDOWS` (when active
    activities run) in the current transaction: on every new activity (a
    stopped one only shrinks them) and by the ``coupons_windows`` job; see
    :func:`jishi.promotions.publish_windows`."""
    from jishi import promotions

    at = at or utcnow()
    spans = select(CouponActivity.starts_at, CouponActivity.ends_at).where(
        CouponActivity.status == ACTIVE, CouponActivity.ends_at > at
    )
    return promotions.publish_windows(ACTIVITY_WINDOWS, spans, at)


def publish_windows_job() -> str:
    """The ``coupons_windows`` job: ended activities leave the windows, and
    a database that has none yet gets them."""
    windows = publish_windows()
    commit()
    return f"{len(windows)} windows"


def own_template(seller_id: int | None, template_id: int) -> CouponTemplate | None:
    """The template if it belongs to ``seller_id`` (None: the platform's)."""
    t = db.session.get(CouponTemplate, template_id) if 1 <= template_id < 2**31 else None
    if t is None or t.seller_id != seller_id:
        return None
    return t


def own_activity(seller_id: int | None, activity_id: int) -> CouponActivity | None:
    a = db.session.get(CouponActivity, activity_id) if 1 <= activity_id < 2**31 else None
    if a is None or a.seller_id != seller_id:
        return None
    return a


def stop(obj) -> None:
    """Stop a template (no more claims; claimed coupons stay usable) or an activity."""
    model = type(obj)
    db.session.execute(
        update(model).where(model.id == obj.id).values(status=STOPPED).execution_options(synchronize_session=False)
    )
    commit()
    db.session.refresh(obj)


def seller_templates(seller_id: int | None) -> list[CouponTemplate]:
    return list(
        db.session.scalars(
            select(CouponTemplate)
            .where(_seller_is(CouponTemplate.seller_id, seller_id))
            .order_by(CouponTemplate.id.desc())
            .limit(500)
        )
    )


def seller_activities(seller_id: int | None) -> list[CouponActivity]:
    return list(
        db.session.scalars(
            select(CouponActivity)
            .where(_seller_is(CouponActivity.seller_id, seller_id))
            .order_by(CouponActivity.id.desc())
            .limit(500)
        )
    )


def _seller_is(column, seller_id):
    return column.is_(None) if seller_id is None else column == seller_id


# --- Claiming ---------------------------------------------------------------


def _claimable_query(now: datetime, seller_id=..., product=None):
    q = select(CouponTemplate).where(
        CouponTemplate.status == ACTIVE,
        CouponTemplate.starts_at <= now,
        CouponTemplate.ends_at > now,
        CouponTemplate.claimed_count < CouponTemplate.total_quantity,
    )
    if seller_id is not ...:
        q = q.where(_seller_is(CouponTemplate.seller_id, seller_id))
    if product is not None:
        q = q.where(or_(CouponTemplate.seller_id.is_(None), CouponTemplate.seller_id == product.seller_id))
    return q.order_by(CouponTemplate.id).limit(500)


def _covering(rows, product, category_path: str | None = None) -> list:
    from jishi_coupons.rules import LineFacts, covers

    path = _category_path(product.category_id) if category_path is None else category_path
    facts = LineFacts("p", product.seller_id, product.id, path)
    return [t for t in rows if covers(t.seller_id, t.scope, t.scope_ids, facts)]


def claimable(now: datetime | None = None, *, seller_id=..., product=None, limit: int = 100) -> list[CouponTemplate]:
    """Templates a buyer may claim now (the claim centre; a product's or a
    shop's). ``seller_id``: only that seller's (None: the platform's).
    ``product``: those covering the product."""
    now = now or utcnow()
    rows = list(db.session.scalars(_claimable_query(now, seller_id, product)))
    if product is not None:
        rows = _covering(rows, product)
    return rows[:limit]


def page_loaders(product, user, now: datetime | None = None) -> list:
    """The product page's reads (``product_page_loaders``): the templates
    that may cover the product and, for a signed-in buyer, how many of each
    they hold, run with the page's other loaders."""
    from jishi.hookspecs import PageLoader

    candidates, mine = _page_queries()
    params = {"now": now or utcnow(), "seller_id": product.seller_id}
    loaders = [PageLoader("coupons.templates", candidates, params)]
    if user is not None:
        loaders.append(PageLoader("coupons.mine", mine, {**params, "user_id": user.id}))
    return loaders


_PAGE_QUERIES: list[tuple] = []


def _page_queries() -> tuple:
    """:func:`page_loaders`' queries, declared once with named parameters
    (``now``, ``seller_id``, ``user_id``): a page builds no query
    (``PageLoader.params``). As :func:`_claimable_query` for a product: the
    platform's templates or its seller's (``seller_id = NULL`` matches none,
    as ``IS NULL`` matched the platform's already)."""
    if not _PAGE_QUERIES:
        now = bindparam("now")
        candidates = (
            select(CouponTemplate)
            .where(
                CouponTemplate.status == ACTIVE,
                CouponTemplate.starts_at <= now,
                CouponTemplate.ends_at > now,
                CouponTemplate.claimed_count < CouponTemplate.total_quantity,
                or_(CouponTemplate.seller_id.is_(None), CouponTemplate.seller_id == bindparam("seller_id")),
            )
            .order_by(CouponTemplate.id)
            .limit(500)
        )
        ids = candidates.with_only_columns(CouponTemplate.id)  # (no subquery's column proxies)
        mine = (
            select(UserCoupon.template_id.label("template_id"), func.count().label("n"))
            .where(UserCoupon.user_id == bindparam("user_id"), UserCoupon.template_id.in_(ids))
            .group_by(UserCoupon.template_id)
        )
        _PAGE_QUERIES.append((candidates, mine))
    return _PAGE_QUERIES[0]


def page_claimable(product, loaded, limit: int = 5) -> tuple[list, dict[int, int]]:
    """What :func:`page_loaders` read: the product's claimable templates
    (at most ``limit``) and the buyer's counts of them."""
    category = product.category
    path = (category.path or f"/{category.id}/") if category is not None else ""
    rows = _covering(loaded["coupons.templates"], product, path)[:limit]
    mine = {r["template_id"]: r["n"] for r in loaded.get("coupons.mine", ())}
    return rows, mine


def _category_path(category_id: int | None) -> str:
    if category_id is None:
        return ""
    from jishi.catalog.models import Category

    return db.session.scalar(select(Category.path).where(Category.id == category_id)) or f"/{category_id}/"


def claimed_counts(user, template_ids) -> dict[int, int]:
    if user is None or not getattr(user, "is_authenticated", False) or not template_ids:
        return {}
    rows = db.session.execute(
        select(UserCoupon.template_id, func.count())
        .where(UserCoupon.user_id == user.id, UserCoupon.template_id.in_(list(template_ids)))
        .group_by(UserCoupon.template_id)
    ).all()
    return dict(rows)


def claim(user, template_id: int, now: datetime | None = None) -> UserCoupon:
    """Claim one coupon of ``template_id`` for ``user`` (see module doc)."""
    now = now or utcnow()
    t = db.session.get(CouponTemplate, template_id) if 1 <= template_id < 2**31 else None
    if t is None:
        raise CouponError("template_id", _("Unknown coupon."), code="not_found", status=404)
    if t.status != ACTIVE or not (t.starts_at <= now < t.ends_at):
        raise CouponError("template_id", _("This coupon cannot be claimed now."), code="conflict")
    tid, limit, valid_days, starts, ends = t.id, t.per_user_limit, t.valid_days, t.starts_at, t.ends_at
    won = db.session.execute(
        update(CouponTemplate)
        .where(
            CouponTemplate.id == tid,
            CouponTemplate.status == ACTIVE,
            CouponTemplate.claimed_count + 1 <= CouponTemplate.total_quantity,
        )
        .values(claimed_count=CouponTemplate.claimed_count + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        rollback()
        raise CouponError("template_id", _("All of these coupons have been claimed."), code="sold_out", status=409)
    have = db.session.scalar(
        select(func.count()).select_from(UserCoupon).where(UserCoupon.template_id == tid, UserCoupon.user_id == user.id)
    )
    if have >= limit:
        rollback()
        raise CouponError(
            "template_id",
            _("You have already claimed this coupon (at most %(n)d each).", n=limit),
            code="limit",
            status=409,
        )
    if valid_days:
        valid_from, valid_until = now, now + timedelta(days=valid_days)
    else:
        valid_from, valid_until = starts, ends
    coupon = UserCoupon(
        template_id=tid,
        user_id=user.id,
        seq=have + 1,
        status=UNUSED,
        claimed_at=now,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    db.session.add(coupon)
    try:
        db.session.flush()
    except IntegrityError:
        rollback()
        raise CouponError(
            "template_id",
            _("You have already claimed this coupon (at most %(n)d each).", n=limit),
            code="limit",
            status=409,
        ) from None
    commit()
    return coupon


def issue(template_id: int, user_id: int, *, source: str, key: str, now: datetime | None = None) -> UserCoupon:
    """Issue one coupon of ``template_id`` to the buyer ``user_id`` on behalf
    of another plugin (a points exchange, a reward), in the CALLER's
    transaction: nothing is committed or rolled back here.

    Public API of the coupons plugin. It respects the template exactly as
    :func:`claim` does: active and in its claiming window, the total
    quantity (the same conditional ``claimed_count + 1 <= total_quantity``)
    and the per-buyer limit (the unique ``(template, user, seq)``).
    ``source`` (at most 20 characters) says what issued it; ``key`` (at most
    80) makes it idempotent: a second call with the same key answers the
    coupon the first one issued and takes nothing more (a key used for
    another buyer or template is a 409).

    Raises :class:`CouponError` (404 unknown template, 409 not claimable,
    sold out, limit reached); the caller then rolls its transaction back.
    """
    if not key or len(key) > 80 or not source or len(source) > 20:
        raise ValueError("issue needs a key of 1-80 and a source of 1-20 characters")
    earlier = db.session.execute(select(UserCoupon).where(UserCoupon.issue_key == key)).scalar_one_or_none()
    if earlier is not None:
        if earlier.user_id != user_id or earlier.template_id != template_id:
            raise CouponError("key", _("This key issued another coupon."), code="conflict", status=409)
        return earlier
    now = now or utcnow()
    t = (
        db.session.get(CouponTemplate, template_id)
        if isinstance(template_id, int) and 1 <= template_id < 2**31
        else None
    )
    if t is None:
        raise CouponError("template_id", _("Unknown coupon."), code="not_found", status=404)
    if t.status != ACTIVE or not (t.starts_at <= now < t.ends_at):
        raise CouponError("template_id", _("This coupon cannot be claimed now."), code="conflict", status=409)
    won = db.session.execute(
        update(CouponTemplate)
        .where(
            CouponTemplate.id == t.id,
            CouponTemplate.status == ACTIVE,
            CouponTemplate.claimed_count + 1 <= CouponTemplate.total_quantity,
        )
        .values(claimed_count=CouponTemplate.claimed_count + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        raise CouponError("template_id", _("All of these coupons have been claimed."), code="sold_out", status=409)
    have = db.session.scalar(
        select(func.count())
        .select_from(UserCoupon)
        .where(UserCoupon.template_id == t.id, UserCoupon.user_id == user_id)
    )
    limited = CouponError(
        "template_id",
        _("You have already claimed this coupon (at most %(n)d each).", n=t.per_user_limit),
        code="limit",
        status=409,
    )
    if have >= t.per_user_limit:
        raise limited
    if t.valid_days:
        valid_from, valid_until = now, now + timedelta(days=t.valid_days)
    else:
        valid_from, valid_until = t.starts_at, t.ends_at
    coupon = UserCoupon(
        template_id=t.id,
        user_id=user_id,
        seq=have + 1,
        status=UNUSED,
        claimed_at=now,
        valid_from=valid_from,
        valid_until=valid_until,
        source=source,
        issue_key=key,
    )
    try:
        with db.session.begin_nested():
            db.session.add(coupon)
    except IntegrityError:
        raise limited from None  # a parallel claim took the seq, or the key: the caller rolls back
    return coupon


# --- The buyer's coupons ----------------------------------------------------


def display_status(c: UserCoupon, now: datetime | None = None) -> str:
    """unused / used / expired / not_started, as the buyer sees it."""
    now = now or utcnow()
    if c.status == USED:
        return USED
    if c.status != UNUSED or c.valid_until <= now:
        return "expired"
    if c.valid_from > now:
        return "not_started"
    return UNUSED


def my_coupons(user, status: str | None = None, now: datetime | None = None) -> list[UserCoupon]:
    now = now or utcnow()
    q = select(UserCoupon).where(UserCoupon.user_id == user.id)
    if status == UNUSED:
        q = q.where(UserCoupon.status == UNUSED, UserCoupon.valid_until > now)
    elif status == USED:
        q = q.where(UserCoupon.status == USED)
    elif status == "expired":
        q = q.where(UserCoupon.status != USED, UserCoupon.valid_until <= now)
    return list(db.session.scalars(q.order_by(UserCoupon.valid_until, UserCoupon.id).limit(500)))


def my_coupon(user, coupon_id: int) -> UserCoupon | None:
    c = db.session.get(UserCoupon, coupon_id) if 1 <= coupon_id < 2**31 else None
    return c if c is not None and c.user_id == user.id else None


def describe(t) -> str:
    """满100减10 / 9折 最高减20元 / 无门槛减5元, in the current language."""
    if isinstance(t, CouponActivity):
        return "; ".join(_("¥%(a)s off over ¥%(t)s", t=_yuan(th), a=_yuan(am)) for th, am in t.tiers)
    if t.kind == KIND_PERCENT:
        pay = BP - t.percent_off  # basis points of the price paid: 9000 is 90 %, 9折
        text = _rate_text(pay)
        if t.max_discount:
            text += _(", at most ¥%(cap)s off", cap=_yuan(t.max_discount))
    else:
        text = _("¥%(a)s off", a=_yuan(t.amount))
    if t.threshold:
        text = _("Over ¥%(t)s: ", t=_yuan(t.threshold)) + text
    else:
        text = _("No threshold: ") + text
    return text


def _yuan(fen: int) -> str:
    """10000 -> "100", 990 -> "9.90" (whole yuan without decimals)."""
    from jishi.money import fen_to_yuan_str

    return str(fen // 100) if fen % 100 == 0 else fen_to_yuan_str(fen)


def _rate_text(pay_bp: int) -> str:
    """The rate as buyers read it: "9折" in Chinese, "10% off" otherwise
    (a number format rather than a sentence, so not a catalog entry)."""
    from flask_babel import get_locale

    locale = get_locale()
    if locale is not None and locale.language == "zh":
        return f"{_zhe(pay_bp)}折"
    return f"{_pct(BP - pay_bp)}% off"


def _zhe(bp: int) -> str:
    """9000 basis points paid -> "9" (折), 8500 -> "8.5", 8880 -> "8.88"."""
    whole, rest = divmod(bp, 1000)
    return f"{whole}" if not rest else f"{whole}.{rest:03d}".rstrip("0")


def _pct(bp: int) -> str:
    whole, rest = divmod(bp, 100)
    return f"{whole}" if not rest else f"{whole}.{rest:02d}".rstrip("0")


def scope_text(t) -> str:
    return {
        SCOPE_ALL: _("All goods") if t.seller_id is None else _("All goods of this shop"),
        SCOPE_CATEGORIES: _("Some categories"),
        SCOPE_PRODUCTS: _("Some products"),
        SCOPE_MERCHANT: _("One shop's goods"),
    }.get(t.scope, t.scope)
