"""Shopping options (全局购物选项, issue 18): the rules, how they are read
and where they are enforced. No Flask request in here (``flask.g`` only as
a per-request cache).

Which value applies to a product (precedence, see docs/plugins/shopping_options.md):

1. the product's override (a column of :class:`ProductShoppingOptions` that
   is not None; the platform edits any product's, a merchant its own);
2. else the platform's default (settings panel ``shopping_options``);
3. then the platform's caps (``cap_per_order``, ``cap_per_buyer``) bound the
   two maxima whatever 1 and 2 say: a merchant may tighten, never loosen them.

0 means "no limit" for every number. A minimum above the maximum is refused
when saved; should the defaults and caps still produce one, the maximum wins
(the minimum is lowered to it).

The per-buyer counter (:class:`ShoppingOptionsUsage`) holds the units a
buyer has placed (pending, paid, shipped, received, completed orders) minus
the units of orders cancelled or closed and the units refunded. It moves
only inside the placing transaction (``order_placing``) by ONE conditional
upsert per limited product::

    INSERT .. ON CONFLICT (product_id, user_id)
        DO UPDATE SET bought = bought + n WHERE bought + n <= limit

so two parallel checkouts of the same buyer can never pass the limit: the
second waits for the first's row lock and then re-checks the condition.
Only products with a per-buyer limit in effect at placing are counted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from flask import g, has_request_context
from jishi import settings
from jishi.accounts.models import MemberLevel
from jishi.catalog.models import Product
from jishi.catalog.service import product_loaded
from jishi.db import conflict_insert, db
from jishi.hookspecs import PageLoader, Problem
from jishi.i18n import gettext as _
from jishi.settings import Setting
from sqlalchemy import func, select, update

from jishi_shopping_options.models import ProductShoppingOptions, ShoppingOptionsTake, ShoppingOptionsUsage

PREFIX = "shopping_options."
MIN_PER_ORDER = PREFIX + "min_per_order"
MAX_PER_ORDER = PREFIX + "max_per_order"
MAX_PER_BUYER = PREFIX + "max_per_buyer"
BUY_NOW_ONLY = PREFIX + "buy_now_only"
CAP_PER_ORDER = PREFIX + "cap_per_order"
CAP_PER_BUYER = PREFIX + "cap_per_buyer"
DEFAULTS = {
    MIN_PER_ORDER: 0,
    MAX_PER_ORDER: 0,
    MAX_PER_BUYER: 0,
    BUY_NOW_ONLY: False,
    CAP_PER_ORDER: 0,
    CAP_PER_BUYER: 0,
}
#: the largest number an option takes (the cart's own maximum)
MAX_NUMBER = 9999
#: the largest id (the database's integer)
MAX_ID = 2**31 - 1
FIELDS = ("min_per_order", "max_per_order", "max_per_buyer", "buy_now_only", "member_levels")


@dataclass(frozen=True)
class Options:
    """What applies to one product (0: no limit; ``member_levels`` empty: everybody)."""

    min_per_order: int = 0
    max_per_order: int = 0
    max_per_buyer: int = 0
    buy_now_only: bool = False
    member_levels: tuple[int, ...] = ()

    @property
    def any(self) -> bool:
        return bool(
            self.min_per_order > 1
            or self.max_per_order
            or self.max_per_buyer
            or self.buy_now_only
            or self.member_levels
        )


def _number(value) -> int:
    try:
        n = int(value or 0)
    except (TypeError, ValueError):
        return 0
    return min(max(n, 0), MAX_NUMBER)


def platform_defaults() -> dict:
    """The platform's defaults and caps: built once per version of the
    settings (``settings.derived``: no work per request; treat the mapping
    as read-only); outside a request, a job: one statement."""
    if has_request_context():
        return settings.derived("shopping_options.defaults", _platform_defaults)
    stored = dict(db.session.execute(select(Setting.key, Setting.value).where(Setting.key.in_(list(DEFAULTS)))).all())
    return {key: stored.get(key, default) for key, default in DEFAULTS.items()}


def _platform_defaults() -> dict:
    return {key: settings.get(key, default) for key, default in DEFAULTS.items()}


def _capped(value: int, cap: int) -> int:
    if not cap:
        return value
    return min(value, cap) if value else cap


def effective(row: ProductShoppingOptions | None, defaults: dict | None = None) -> Options:
    """The options that apply: the override, else the default, then the caps.
    A product without an override (most of them: every product page asks)
    gets the platform's, made once per version of the settings in a request
    (``Options`` is frozen: shared safely)."""
    if row is None and defaults is None and has_request_context():
        return settings.derived("shopping_options.no_override", _no_override)
    d = platform_defaults() if defaults is None else defaults

    def pick(name: str, key: str):
        value = getattr(row, name, None) if row is not None else None
        return d[key] if value is None else value

    max_order = _capped(_number(pick("max_per_order", MAX_PER_ORDER)), _number(d[CAP_PER_ORDER]))
    max_buyer = _capped(_number(pick("max_per_buyer", MAX_PER_BUYER)), _number(d[CAP_PER_BUYER]))
    min_order = _number(pick("min_per_order", MIN_PER_ORDER))
    if max_order and min_order > max_order:
        min_order = max_order
    return Options(min_order, max_order, max_buyer, bool(pick("buy_now_only", BUY_NOW_ONLY)), _row_levels(row))


def _no_override() -> Options:
    return effective(None, platform_defaults())


def _row_levels(row: ProductShoppingOptions | None) -> tuple[int, ...]:
    """The member levels the override limits the product to (no platform default)."""
    return tuple(int(i) for i in (row.member_levels or ()) if isinstance(i, int)) if row is not None else ()


def _cache() -> dict:
    if has_request_context():
        return g.setdefault("shopping_options_rows", {})
    return {}


def remember(product_id: int, row: ProductShoppingOptions | None) -> None:
    """Keep a row read with the product page (``product_page_loaders``) for
    the request's other readers (``purchase_blockers``)."""
    _cache()[product_id] = row


def row_for(product_id: int) -> ProductShoppingOptions | None:
    cache = _cache()
    if product_id not in cache:
        loaded = product_loaded(product_id)
        if loaded is not None and "shopping_options.row" in loaded:  # read with the product (product_page_loaders)
            cache[product_id] = loaded.first("shopping_options.row")
        else:
            cache[product_id] = db.session.get(ProductShoppingOptions, product_id)
    return cache[product_id]


def options_for(product_id: int) -> Options:
    return effective(row_for(product_id))


def load(product_ids, user_id: int | None) -> dict[int, tuple[Options, int]]:
    """``{product_id: (options, units the buyer holds)}`` for every product,
    in ONE statement whatever their number (products left-joined to their
    overrides and to the buyer's counters)."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    bought = (
        select(ShoppingOptionsUsage.product_id, ShoppingOptionsUsage.bought)
        .where(ShoppingOptionsUsage.user_id == (user_id or 0))
        .subquery()
    )
    stmt = (
        select(Product.id, ProductShoppingOptions, bought.c.bought)
        .outerjoin(ProductShoppingOptions, ProductShoppingOptions.product_id == Product.id)
        .outerjoin(bought, bought.c.product_id == Product.id)
        .where(Product.id.in_(ids))
    )
    defaults = platform_defaults()
    return {pid: (effective(row, defaults), held or 0) for pid, row, held in db.session.execute(stmt).all()}


def level_names(ids) -> str:
    if not ids:
        return ""
    names = db.session.execute(select(MemberLevel.name).where(MemberLevel.id.in_(list(ids))).order_by(MemberLevel.rank))
    return "、".join(n for (n,) in names)


def _level_problem(opts: Options, user, **kw) -> Problem | None:
    if not opts.member_levels:
        return None
    if user is not None and getattr(user, "member_level_id", None) in opts.member_levels:
        return None
    return Problem(
        "member_level_only",
        _("Only %(levels)s members may buy this product.", levels=level_names(opts.member_levels)),
        **kw,
    )


# -- hooks ---------------------------------------------------------------------------------------


def purchase_blockers(product, user) -> list[Problem] | None:
    """A product for member levels only, for a visitor or a buyer without one of them."""
    row = row_for(product.id)
    if not _row_levels(row):  # the levels are the override's only: the usual product needs no defaults read
        return None
    problem = _level_problem(effective(row), user, field="sku_id")
    return [problem] if problem else None


def cart_problems(product, quantity: int, user) -> list[Problem] | None:
    """The cart refuses a buy-now-only product and more than the maximum
    per order or than the buyer may still take (the minimum is checked at
    checkout: a line grows one unit at a time)."""
    # the row purchase_blockers read this request (no statement); the
    # buyer's counter only for a product with a per-buyer limit
    opts = options_for(product.id)
    if opts.buy_now_only:
        return [
            Problem(
                "buy_now_only",
                _("%(name)s is sold by Buy now only: it cannot go in the cart.", name=product.name),
                field="sku_id",
            )
        ]
    if opts.max_per_order and quantity > opts.max_per_order:
        return [_max_order(product.name, opts.max_per_order)]
    if opts.max_per_buyer:
        held = bought_units(product.id, user.id)
        if quantity > opts.max_per_buyer - held:
            return [_max_buyer(product.name, opts.max_per_buyer, held)]
    return None


def bought_units(product_id: int, user_id: int) -> int:
    """Units of the product the buyer holds under its per-buyer limit."""
    return int(
        db.session.execute(
            select(ShoppingOptionsUsage.bought).where(
                ShoppingOptionsUsage.product_id == product_id, ShoppingOptionsUsage.user_id == user_id
            )
        ).scalar()
        or 0
    )


def _max_order(name: str, n: int, **kw) -> Problem:
    return Problem(
        "max_per_order",
        _("At most %(n)d of %(name)s per order.", n=n, name=name),
        field="quantity" if not kw else "items.quantity",
        **kw,
    )


def _max_buyer(name: str, n: int, held: int, **kw) -> Problem:
    return Problem(
        "max_per_buyer",
        _("%(name)s is limited to %(n)d per buyer; you may still buy %(left)d.", name=name, n=n, left=max(n - held, 0)),
        field="quantity" if not kw else "items.quantity",
        **kw,
    )


RULES_LOADER = "shopping_options.rules"
BOUGHT_LOADER = "shopping_options.bought"
_CHECKOUT_QUERIES: list = []


def checkout_loaders(lines, user) -> list:
    """The rules of the checkout's products and the buyer's counters of
    them (:func:`load`'s rows), read with the checkout's other rows in the
    kernel's one statement; queries built once."""
    from sqlalchemy import Integer, bindparam

    if not _CHECKOUT_QUERIES:
        ids = bindparam("product_ids", expanding=True)
        _CHECKOUT_QUERIES.append(select(ProductShoppingOptions).where(ProductShoppingOptions.product_id.in_(ids)))
        _CHECKOUT_QUERIES.append(
            select(
                ShoppingOptionsUsage.product_id.label("product_id"), ShoppingOptionsUsage.bought.label("bought")
            ).where(
                ShoppingOptionsUsage.user_id == bindparam("user_id", type_=Integer),
                ShoppingOptionsUsage.product_id.in_(ids),
            )
        )
    ids = sorted({line.product_id for line in lines})
    rules, bought = _CHECKOUT_QUERIES
    return [
        PageLoader(RULES_LOADER, rules, {"product_ids": ids}),
        PageLoader(
            BOUGHT_LOADER, bought, {"product_ids": ids, "user_id": (user.id if user is not None else None) or 0}
        ),
    ]


def _checkout_load(checkout) -> dict[int, tuple[Options, int]]:
    """:func:`load` for the checkout's products, once per checkout: validating
    and placing the same checkout read the rules in one statement, not two
    (the per-buyer limit is enforced by :func:`_take`'s conditional upsert,
    so counters read at validation are safe to reuse); none when the
    checkout's loaders read them (:func:`checkout_loaders`)."""
    cached = checkout.__dict__.get("_shopping_options_loaded")
    if cached is None:
        user = checkout.user
        loaded = getattr(checkout, "loaded", None)
        if loaded is not None and RULES_LOADER in loaded and BOUGHT_LOADER in loaded:
            defaults = platform_defaults()
            rows = {row.product_id: row for row in loaded[RULES_LOADER]}
            held = {r["product_id"]: r["bought"] for r in loaded[BOUGHT_LOADER]}
            # a product without its own row takes the platform's options:
            # the same frozen Options for each, made once per checkout
            plain = effective(None, defaults)
            cached = {
                pid: (effective(rows[pid], defaults) if pid in rows else plain, held.get(pid) or 0)
                for pid in {line.product_id for line in checkout.lines}
            }
        else:
            cached = load({line.product_id for line in checkout.lines}, user.id if user is not None else None)
        checkout.__dict__["_shopping_options_loaded"] = cached
    return cached


def _per_product(checkout) -> dict[int, tuple[int, str, str]]:
    """``{product_id: (units, first line key, name)}`` over the checkout's lines."""
    out: dict[int, tuple[int, str, str]] = {}
    for line in checkout.lines:
        units, key, name = out.get(line.product_id, (0, line.key, line.name))
        out[line.product_id] = (units + line.quantity, key, name)
    return out


def validate(checkout) -> list[Problem] | None:
    """``validate_checkout``: every rule for every product of the checkout,
    read in ONE statement (:func:`load`)."""
    wanted = _per_product(checkout)
    user = checkout.user
    loaded = _checkout_load(checkout)
    problems: list[Problem] = []
    for pid, (units, key, name) in wanted.items():
        opts, held = loaded.get(pid, (Options(), 0))
        if not opts.any:
            continue
        problem = _level_problem(opts, user, field="items", line_key=key)
        if problem:
            problems.append(problem)
        if opts.buy_now_only and checkout.from_cart:
            problems.append(
                Problem(
                    "buy_now_only",
                    _("%(name)s is sold by Buy now only: it cannot go in the cart.", name=name),
                    field="items",
                    line_key=key,
                )
            )
        if opts.min_per_order and units < opts.min_per_order:
            problems.append(
                Problem(
                    "min_per_order",
                    _("At least %(n)d of %(name)s per order.", n=opts.min_per_order, name=name),
                    field="items.quantity",
                    line_key=key,
                )
            )
        if opts.max_per_order and units > opts.max_per_order:
            problems.append(_max_order(name, opts.max_per_order, line_key=key))
        if opts.max_per_buyer and held + units > opts.max_per_buyer:
            problems.append(_max_buyer(name, opts.max_per_buyer, held, line_key=key))
    return problems or None


def _take(product_id: int, user_id: int, n: int, limit: int) -> bool:
    """Count ``n`` more units for the buyer, never beyond ``limit``, in ONE
    conditional upsert. False: the limit is reached, nothing written."""
    if n > limit:
        return False
    table = ShoppingOptionsUsage.__table__
    stmt = conflict_insert(table).values(product_id=product_id, user_id=user_id, bought=n)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.product_id, table.c.user_id],
        set_={"bought": table.c.bought + stmt.excluded.bought},
        where=table.c.bought + stmt.excluded.bought <= limit,
    ).returning(table.c.bought)
    return db.session.execute(stmt).first() is not None


def place(checkout, orders) -> None:
    """``order_placing``: count the units of every product under a
    per-buyer limit (conditional upsert) and record what each order took;
    a limit passed meanwhile raises ``CheckoutError`` and nothing is placed."""
    from jishi.checkout.errors import CheckoutError

    user = checkout.user
    if user is None:
        return
    loaded = _checkout_load(checkout)
    limited = {pid for pid, (opts, _held) in loaded.items() if opts.max_per_buyer}
    if not limited:
        return
    takes = []
    for order, group in zip(orders, checkout.groups):
        units: dict[int, int] = defaultdict(int)
        names: dict[int, str] = {}
        for line in group.lines:
            if line.product_id in limited:
                units[line.product_id] += line.quantity
                names[line.product_id] = line.name
        for pid, n in units.items():
            opts, held = loaded[pid]
            if not _take(pid, user.id, n, opts.max_per_buyer):
                raise CheckoutError([_max_buyer(names[pid], opts.max_per_buyer, held, line_key=None)])
            takes.append({"order_id": order.id, "product_id": pid, "user_id": user.id, "quantity": n, "released": 0})
    if takes:
        db.session.execute(ShoppingOptionsTake.__table__.insert(), takes)


def _release(order_id: int, targets: dict[int, int] | None) -> None:
    """Give back to the buyer's counters up to ``targets`` units per product
    of the order (None: all it took), cumulatively: each take moves by a
    conditional UPDATE from what it had given back, so a repeated or
    concurrent call gives nothing twice."""
    takes = db.session.execute(
        select(ShoppingOptionsTake)
        .where(ShoppingOptionsTake.order_id == order_id)
        .execution_options(populate_existing=True)
    ).scalars()
    for take in takes:
        target = take.quantity if targets is None else min(targets.get(take.product_id, 0), take.quantity)
        more = target - take.released
        if more <= 0:
            continue
        won = db.session.execute(
            update(ShoppingOptionsTake)
            .where(ShoppingOptionsTake.id == take.id, ShoppingOptionsTake.released == take.released)
            .values(released=target)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won == 1:
            db.session.execute(
                update(ShoppingOptionsUsage)
                .where(
                    ShoppingOptionsUsage.product_id == take.product_id,
                    ShoppingOptionsUsage.user_id == take.user_id,
                    ShoppingOptionsUsage.bought >= more,
                )
                .values(bought=ShoppingOptionsUsage.bought - more)
                .execution_options(synchronize_session=False)
            )


def on_order_transition(order, name: str) -> None:
    """An order cancelled (unpaid) or closed gives back all its units."""
    if name in ("cancel", "close"):
        _release(order.id, None)


def on_refund(refund) -> None:
    """A refund gives back the units refunded so far (``refunded_quantity``
    of the order's lines, per product)."""
    from jishi.orders.models import OrderLine

    rows = db.session.execute(
        select(OrderLine.product_id, func.coalesce(func.sum(OrderLine.refunded_quantity), 0))
        .where(OrderLine.order_id == refund.order_id, OrderLine.product_id.is_not(None))
        .group_by(OrderLine.product_id)
    ).all()
    _release(refund.order_id, {pid: int(n) for pid, n in rows})


def held(product_id: int, user_id: int) -> int:
    return int(
        db.session.scalar(
            select(ShoppingOptionsUsage.bought).where(
                ShoppingOptionsUsage.product_id == product_id, ShoppingOptionsUsage.user_id == user_id
            )
        )
        or 0
    )


# -- saving overrides --------------------------------------------------------------------------


def _whole(data: dict, name: str) -> int | None:
    from jishi.errors import DomainError

    value = data.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError(name, _("Enter a whole number."))
    if not 0 <= value <= MAX_NUMBER:
        raise DomainError(name, _("Enter a number from 0 to %(n)d.", n=MAX_NUMBER))
    return value


def _levels(data: dict) -> list[int] | None:
    from jishi.errors import DomainError

    value = data.get("member_levels")
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or not all(isinstance(i, int) and not isinstance(i, bool) for i in value):
        raise DomainError("member_levels", _("A list of member level ids."))
    ids = sorted(set(value))
    if ids:
        in_range = [i for i in ids if 1 <= i <= MAX_ID]  # (a larger number is no id: unknown, not a database error)
        known = set(db.session.scalars(select(MemberLevel.id).where(MemberLevel.id.in_(in_range))))
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise DomainError("member_levels", _("Unknown member level %(id)s.", id=unknown[0]))
    return ids


def save(product, data: dict) -> ProductShoppingOptions:
    """Set ``product``'s overrides (the caller checked the acting seller
    owns it; caller commits). ``data``: the five fields, each None (or
    absent) for the platform's default. Bad input raises ``DomainError``
    naming the field and writes nothing: numbers 0..9999, a maximum above
    the platform's cap, a minimum above the maximum (as they apply), levels
    that exist."""
    from jishi.errors import DomainError

    values: dict[str, Any] = {
        "min_per_order": _whole(data, "min_per_order"),
        "max_per_order": _whole(data, "max_per_order"),
        "max_per_buyer": _whole(data, "max_per_buyer"),
        "buy_now_only": data.get("buy_now_only"),
        "member_levels": _levels(data),
    }
    if values["buy_now_only"] is not None and not isinstance(values["buy_now_only"], bool):
        raise DomainError("buy_now_only", _("Must be true or false."))
    d = platform_defaults()
    for name, cap_key in (("max_per_order", CAP_PER_ORDER), ("max_per_buyer", CAP_PER_BUYER)):
        cap = _number(d[cap_key])
        wanted: int | None = values[name]
        if cap and wanted is not None and (wanted == 0 or wanted > cap):
            raise DomainError(name, _("The platform allows at most %(n)d here.", n=cap))
    probe = ProductShoppingOptions(**values)
    min_order = _number(values["min_per_order"] if values["min_per_order"] is not None else d[MIN_PER_ORDER])
    opts = effective(probe, d)
    if opts.max_per_order and min_order > opts.max_per_order:
        raise DomainError("min_per_order", _("The minimum per order is above the maximum per order."))
    if opts.max_per_buyer and min_order > opts.max_per_buyer:
        raise DomainError("min_per_order", _("The minimum per order is above the maximum per buyer."))
    row = db.session.get(ProductShoppingOptions, product.id)
    if row is None:
        row = ProductShoppingOptions(product_id=product.id)
        db.session.add(row)
    row.seller_id = product.seller_id
    for name, value in values.items():
        setattr(row, name, value)
    db.session.flush()
    _cache().pop(product.id, None)
    return row


def overrides(product_ids) -> dict[int, ProductShoppingOptions]:
    ids = list(product_ids)
    if not ids:
        return {}
    rows = db.session.scalars(select(ProductShoppingOptions).where(ProductShoppingOptions.product_id.in_(ids)))
    return {r.product_id: r for r in rows}


def all_levels() -> list[MemberLevel]:
    return list(db.session.scalars(select(MemberLevel).order_by(MemberLevel.rank, MemberLevel.id)))


def describe(opts: Options) -> dict:
    """The options as the product API and page show them."""
    return {
        "min_per_order": opts.min_per_order,
        "max_per_order": opts.max_per_order,
        "max_per_buyer": opts.max_per_buyer,
        "buy_now_only": opts.buy_now_only,
        "member_levels": list(opts.member_levels),
        "member_level_names": level_names(opts.member_levels) if opts.member_levels else "",
    }


def defaults_problems(n: dict[str, int]) -> dict[str, str]:
    """What is inconsistent in platform defaults ``n`` (names without the
    ``shopping_options.`` prefix, whole numbers, 0: none), first problem
    first: a minimum above the maximum per order or per buyer
    (``min_per_order``), a maximum above its cap. A maximum per order above
    the maximum per buyer is allowed: it is not contradictory, the per-buyer
    limit simply binds first (每单最多 5 件 with 限购 2 件)."""
    out: dict[str, str] = {}
    if n["max_per_order"] and n["min_per_order"] > n["max_per_order"]:
        out["min_per_order"] = _("The minimum per order is above the maximum per order.")
    elif n["max_per_buyer"] and n["min_per_order"] > n["max_per_buyer"]:
        out["min_per_order"] = _("The minimum per order is above the maximum per buyer.")
    for name, cap in (("max_per_order", "cap_per_order"), ("max_per_buyer", "cap_per_buyer")):
        if n[cap] and n[name] > n[cap] and name not in out:
            out[name] = _("The platform allows at most %(n)d here.", n=n[cap])
    return out


def validate_panel(values: dict[str, Any]) -> dict[str, str]:
    """The settings panel's cross-field check (``SettingsPanel.validate``):
    :func:`defaults_problems` keyed by setting key, so the console's
    settings page refuses what the defaults API refuses."""
    n = {key[len(PREFIX) :]: _number(value) for key, value in values.items() if key != BUY_NOW_ONLY}
    return {PREFIX + name: message for name, message in defaults_problems(n).items()}


def save_defaults(data: dict) -> dict:
    """Set the platform's defaults and caps (caller commits): ``data`` holds
    any of ``min_per_order``, ``max_per_order``, ``max_per_buyer``,
    ``buy_now_only``, ``cap_per_order``, ``cap_per_buyer`` (absent: kept).
    Refused naming the field, nothing written: a number outside 0..9999, a
    default minimum above a default maximum, a default maximum above its
    cap. Answers the defaults now."""
    from jishi.errors import DomainError

    current = {key[len(PREFIX) :]: value for key, value in platform_defaults().items()}
    new = dict(current)
    for name in ("min_per_order", "max_per_order", "max_per_buyer", "cap_per_order", "cap_per_buyer"):
        if data.get(name) is not None:
            new[name] = _whole(data, name)
    if data.get("buy_now_only") is not None:
        if not isinstance(data["buy_now_only"], bool):
            raise DomainError("buy_now_only", _("Must be true or false."))
        new["buy_now_only"] = data["buy_now_only"]
    n = {k: _number(v) for k, v in new.items() if k != "buy_now_only"}
    for name, message in defaults_problems(n).items():
        raise DomainError(name, message)
    settings.set_many({PREFIX + k: v for k, v in new.items() if current.get(k) != v})
    db.session.flush()
    if has_request_context():
        g.pop("jishi_settings", None)
    return new
