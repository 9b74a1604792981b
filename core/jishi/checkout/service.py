"""The checkout pipeline (DESIGN "the heart"): build, preview, place.

1. lines: the chosen SKUs with their product data (one query)
2. ``price_rules`` (once) and ``line_price_rules`` (per line) ->
   :func:`jishi.checkout.pricing.resolve_price`
   then every plugin's ``checkout_loaders`` with the buyer's address in ONE
   statement (``Checkout.loaded``: the rows the later hooks take)
3. ``split_cart`` -> groups (one order each)
4. ``delivery_options`` per group; the buyer's choice or the first available
5. ``order_discounts`` -> each capped and allocated over its lines by
   ``allocate_discount`` (largest remainder), recorded per line
6. ``validate_checkout`` -> problems
7. :func:`place_order`: one transaction writing payment order(s), orders,
   lines, allocations and history in batches, the SKUs' stock in ONE atomic
   conditional UPDATE and the plugins' ``order_placing_writes``, all sent
   together; ``reserve_stock_many`` / ``reserve_stock`` for plugins' pools;
   ``order_placing``; commit; ``order_placed``.

Every entry point (web, API, console) calls :func:`build_checkout` and
:func:`place_order`, so they all split, price and allocate the same way.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import Integer, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

# (imported here, not in the functions of the hot paths: an import statement
# run per call cost a placement 72 imports, 4 % of its instructions; issue 20)
from jishi import settings, signals
from jishi.accounts.models import Address
from jishi.cart.models import CartLine
from jishi.catalog.models import Product, Sku
from jishi.catalog.service import _conditions_key, _visible_conditions, visible_products
from jishi.checkout.errors import CheckoutError, TotalChanged
from jishi.checkout.pricing import resolve_price
from jishi.db import commit, conflict_insert, db, rollback, utcnow, write_from_here
from jishi.defaults.stock import check_sku_stock, give_back_sku_stock, reserve_sku_stock, sku_stock_update
from jishi.flaskctx import jishi_hook
from jishi.hookspecs import DeliveryOption, Discount, PageLoader, PlacingOrder, Problem
from jishi.loaders import _identity, held_rows, held_rows_many, persistent, run
from jishi.orders.models import (
    Order,
    OrderAllocation,
    OrderEvent,
    OrderLine,
    PaymentOrder,
)
from jishi.payments.service import pay_free


@dataclass
class AllocationShare:
    discount_index: int
    amount: int


@dataclass
class CheckoutLine:
    """One priced line of a checkout. ``sku`` is the ORM row (read only)."""

    key: str
    sku_id: int
    product_id: int
    seller_id: int | None
    category_id: int | None
    name: str
    spec_text: str
    image: str
    quantity: int
    base_price: int
    stock: int
    on_shelf: bool
    is_virtual: bool
    weight_grams: int
    sku: Any = None
    unit_price: int = 0
    price_source: str = "base"
    price_label: str = ""
    quantity_limit: int | None = None
    price_data: dict = field(default_factory=dict)
    stock_source: str = "sku"
    shares: list[AllocationShare] = field(default_factory=list)
    group_key: str = ""

    @property
    def goods_amount(self) -> int:
        return self.unit_price * self.quantity

    @property
    def discount(self) -> int:
        return sum(s.amount for s in self.shares)

    @property
    def payable(self) -> int:
        return self.goods_amount - self.discount


@dataclass
class CheckoutGroup:
    key: str
    title: str
    seller_id: int | None
    lines: list[CheckoutLine]
    tags: tuple[str, ...] = ()
    delivery_options: list[DeliveryOption] = field(default_factory=list)
    delivery: DeliveryOption | None = None
    buyer_message: str = ""

    @property
    def goods_amount(self) -> int:
        return sum(line.goods_amount for line in self.lines)

    @property
    def discount_amount(self) -> int:
        return sum(line.discount for line in self.lines)

    @property
    def delivery_fee(self) -> int:
        return self.delivery.fee if self.delivery and self.delivery.available else 0

    @property
    def pay_amount(self) -> int:
        return self.goods_amount - self.discount_amount + self.delivery_fee

    @property
    def is_virtual(self) -> bool:
        return all(line.is_virtual for line in self.lines)


@dataclass
class AppliedDiscount:
    discount: Discount
    amount: int  # after capping


@dataclass
class Checkout:
    user: Any
    lines: list[CheckoutLine]
    groups: list[CheckoutGroup]
    address: Address | None
    options: dict
    from_cart: bool = False
    discounts: list[AppliedDiscount] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: True while :func:`place_order` builds it (its options are not shown)
    placing: bool = False
    #: the rows of every plugin's ``checkout_loaders``, read in one
    #: statement (a :class:`jishi.loaders.Loaded`), or None
    loaded: Any = None

    def line(self, key: str) -> CheckoutLine:
        return self._by_key[key]

    def chose_other(self, group: CheckoutGroup, code: str) -> bool:
        """True while placing when the buyer chose a delivery method other
        than ``code`` for ``group``: a ``delivery_options`` hookimpl may then
        offer nothing and read nothing (the options of a placement are not
        shown; the choice is not its). False in a preview, or when the
        buyer chose nothing (the first available option is taken)."""
        chosen = (self.options.get("delivery") or {}).get(group.key) if self.placing else None
        return bool(chosen) and chosen != code

    @property
    def _by_key(self) -> dict[str, CheckoutLine]:
        return {line.key: line for line in self.lines}

    @property
    def goods_amount(self) -> int:
        return sum(g.goods_amount for g in self.groups)

    @property
    def discount_amount(self) -> int:
        return sum(g.discount_amount for g in self.groups)

    @property
    def delivery_fee(self) -> int:
        return sum(g.delivery_fee for g in self.groups)

    @property
    def pay_amount(self) -> int:
        return sum(g.pay_amount for g in self.groups)


def line_key(sku_id: int) -> str:
    return f"sku:{sku_id}"


def load_lines(items: Sequence[tuple[int, int]], *, visible_only: bool = False) -> list[CheckoutLine]:
    """(sku_id, quantity) pairs -> unpriced lines, in one query.

    ``visible_only``: a SKU the buyer could not see on its product page (an
    inactive SKU, a product off the shelf or hidden by a plugin's
    ``product_filters``) is answered as unknown, exactly like a SKU that does
    not exist, so that a checkout of explicit items tells nobody the name,
    price or stock of what is not for sale. The buyer's own cart lines
    (``visible_only=False``) are shown with a problem instead: the buyer
    added them when they were for sale."""
    merged: dict[int, int] = {}
    for sku_id, qty in items:
        merged[sku_id] = merged.get(sku_id, 0) + qty
    if not merged:
        return []
    preloaded = _preloaded.get() if visible_only else None
    if preloaded is not None and all(sku_id in preloaded for sku_id in merged):
        rows = [preloaded[sku_id] for sku_id in merged if preloaded[sku_id] is not None]
    else:
        rows = _read_skus(list(merged), visible_only, lazy=True)
    found = {(sku.sku_id if type(sku) is _HeldSku else sku.id): sku for sku in rows}
    missing = [sid for sid in merged if sid not in found]
    if missing:
        from jishi.i18n import gettext as _

        raise CheckoutError(
            [Problem("not_found", _("Product variant %(id)s does not exist.", id=missing[0]), field="items")]
        )
    lines = []
    for sku_id, qty in merged.items():
        sku = found[sku_id]
        if type(sku) is _HeldSku:
            lines.append(sku.line(qty))
            continue
        product: Product = sku.product
        lines.append(
            CheckoutLine(
                key=line_key(sku.id),
                sku_id=sku.id,
                product_id=product.id,
                seller_id=product.seller_id,
                category_id=product.category_id,
                name=product.name,
                spec_text=sku.spec_text,
                image=product.image,
                quantity=qty,
                base_price=sku.price,
                stock=sku.stock,
                on_shelf=product.on_shelf and sku.is_active,
                is_virtual=product.is_virtual,
                weight_grams=sku.weight_grams,
                sku=sku,
                unit_price=sku.price,
            )
        )
    return lines


#: the lines' read, per (visible only, the ``product_filters`` conditions'
#: key): ``(sku attrs, product attrs, Core statement)``, built once
_SKU_READS: dict[tuple, Any] = {}


def _read_skus(ids: list[int], visible_only: bool, *, lazy: bool = False) -> list:
    """The SKUs ``ids`` with their products (``Sku.product`` loaded), as
    the ORM's ``contains_eager`` read gives them, in ONE statement.

    Read as a held Core statement (run from its SQL compiled once per
    dialect, :func:`jishi.loaders.held_rows`) whose rows become clean persistent
    instances (:func:`jishi.loaders.persistent`): the ORM's statement was
    built, keyed and its rows processed anew on every checkout (a quarter
    of a placement's CPU). When the session holds one of them already (or a
    load event listens) the ORM reads them as before, so an instance in the
    session is never replaced behind its holder's back; so does a
    ``product_filters`` condition whose SQL cannot be keyed.

    ``lazy``: the rows are answered as :class:`_HeldSku` (no instance made)
    when none of them is in the session and no load event listens; an
    instance is made from its row only when asked for (``CheckoutLine.sku``)."""
    conditions = _visible_conditions("detail") if visible_only else ()
    ckey = _conditions_key(conditions)
    session = db.session()
    if ckey is not None:
        shape = (visible_only, ckey)
        held = _SKU_READS.get(shape)
        if held is None:
            from sqlalchemy import bindparam

            sku_attrs = _attrs(Sku)
            product_attrs = _attrs(Product)
            query = (
                select(*[c for _k, c in sku_attrs], *[c for _k, c in product_attrs])
                .select_from(Sku.__table__.join(Product.__table__, Product.id == Sku.product_id))
                .where(Sku.id.in_(bindparam("ids", expanding=True)))
            )
            if visible_only:
                query = query.where(Sku.is_active.is_(True), Product.on_shelf.is_(True), *conditions)
            if len(_SKU_READS) >= 64:
                _SKU_READS.clear()
            held = _SKU_READS[shape] = ([k for k, _c in sku_attrs], [k for k, _c in product_attrs], query, {})
        sku_keys, product_keys, query, forms = held
        if session.autoflush:
            session.flush()  # as session.execute would (nothing pending: no work)
        n = len(sku_keys)
        at = n + product_keys.index("id")
        # its SQL compiled once per dialect (and padded size of the IN list)
        found = held_rows(session.connection(), query, {"ids": ids}, forms)
        if lazy:
            identity_map = session.identity_map
            sku_class = _identity(Sku.__mapper__)[0]
            product_class = _identity(Product.__mapper__)[0]
            if not (
                Sku.__mapper__.class_manager.dispatch.load
                or Product.__mapper__.class_manager.dispatch.load
                or session.dispatch.loaded_as_persistent
                or any(
                    (sku_class, (row[0],), None) in identity_map or (product_class, (row[at],), None) in identity_map
                    for row in found
                )
            ):
                read = _HeldRead(session, session.get_transaction(), sku_keys, product_keys)
                return [_HeldSku(read, row) for row in found]
        products: dict[int, Any] = {}
        out: list | None = []
        for row in found:
            sku = persistent(session, Sku, dict(zip(sku_keys, row[:n])), existing="none")
            product = products.get(row[at])
            if product is None:
                product = persistent(session, Product, dict(zip(product_keys, row[n:])), existing="none")
                if product is not None:
                    products[row[at]] = product
            if sku is None or product is None:
                out = None
                break
            set_committed_value(sku, "product", product)
            out.append(sku)
        if out is not None:
            return out
    stmt = select(Sku).join(Sku.product).options(contains_eager(Sku.product)).where(Sku.id.in_(ids))
    if visible_only:
        stmt = visible_products(stmt.where(Sku.is_active.is_(True)))
    return list(session.execute(stmt).scalars().all())


class _HeldRead:
    """One lazy read of :func:`_read_skus`: the session and transaction it
    was read in, the attribute keys of its rows' SKU and product columns,
    and the rows' positions of what a :class:`CheckoutLine` copies."""

    __slots__ = ("at", "product_keys", "session", "sku_keys", "transaction")

    def __init__(self, session, transaction, sku_keys: list, product_keys: list):
        self.session = session
        self.transaction = transaction
        self.sku_keys = sku_keys
        self.product_keys = product_keys
        n = len(sku_keys)
        self.at = _HELD_AT.get((tuple(sku_keys), tuple(product_keys)))
        if self.at is None:
            self.at = _HELD_AT[(tuple(sku_keys), tuple(product_keys))] = (
                {k: sku_keys.index(k) for k in _SKU_COPIED},
                {k: n + product_keys.index(k) for k in _PRODUCT_COPIED},
            )


_SKU_COPIED = ("id", "spec_values", "price", "stock", "is_active", "weight_grams")
_PRODUCT_COPIED = ("id", "seller_id", "category_id", "name", "image", "on_shelf", "is_virtual")
#: (SKU keys, product keys) -> the row positions of the copied attributes
_HELD_AT: dict[tuple, tuple] = {}


class _HeldSku:
    """A SKU and its product as one held row of :func:`_read_skus`: what a
    checkout line copies is taken from the row; the ORM instances (the SKU
    with ``Sku.product`` loaded) are made only when a hook reads
    ``CheckoutLine.sku`` (issue 20: ten instances of a five-line checkout
    made, expired at the placement's commit or expunged by the preview,
    and read by nobody, a buyer without a member level)."""

    __slots__ = ("read", "row", "sku_id")

    def __init__(self, read: _HeldRead, row):
        self.read = read
        self.row = row
        self.sku_id = row[read.at[0]["id"]]

    def line(self, quantity: int) -> CheckoutLine:
        row = self.row
        s, p = self.read.at
        specs = row[s["spec_values"]]
        price = row[s["price"]]
        line = CheckoutLine(
            key=line_key(self.sku_id),
            sku_id=self.sku_id,
            product_id=row[p["id"]],
            seller_id=row[p["seller_id"]],
            category_id=row[p["category_id"]],
            name=row[p["name"]],
            spec_text=" ".join(f"{k}:{v}" for k, v in (specs or {}).items()),  # Sku.spec_text
            image=row[p["image"]],
            quantity=quantity,
            base_price=price,
            stock=row[s["stock"]],
            on_shelf=row[p["on_shelf"]] and row[s["is_active"]],
            is_virtual=row[p["is_virtual"]],
            weight_grams=row[s["weight_grams"]],
            sku=self,
            unit_price=price,
        )
        return line

    def instance(self):
        """The SKU as :func:`_read_skus` would have answered it (the
        session's own instance when it holds one now); read again when
        the transaction it was read in is over (as its expired instance
        would have been refreshed)."""
        read = self.read
        session = db.session()
        if session is not read.session or session.get_transaction() is not read.transaction:
            return session.get(Sku, self.sku_id)
        sku = session.identity_map.get(identity_key(Sku, self.sku_id))
        if sku is not None:
            return sku
        n = len(read.sku_keys)
        row = self.row
        sku = persistent(session, Sku, dict(zip(read.sku_keys, row[:n])), existing="none")
        if sku is None:  # a load event listens now: the ORM loads it
            return session.get(Sku, self.sku_id)
        product_id = row[read.at[1]["id"]]
        product = session.identity_map.get(identity_key(Product, product_id))
        if product is None:
            product = persistent(session, Product, dict(zip(read.product_keys, row[n:])), existing="none")
            if product is None:
                product = session.get(Product, product_id)
        set_committed_value(sku, "product", product)
        return sku


class _LineSku:
    """``CheckoutLine.sku``: the ORM SKU, made from its held row
    (:class:`_HeldSku`) at the first read."""

    def __get__(self, line, owner=None):
        if line is None:
            return None  # the field's default
        value = line.__dict__.get("_sku")
        if type(value) is _HeldSku:
            value = line.__dict__["_sku"] = value.instance()
        return value

    def __set__(self, line, value) -> None:
        line.__dict__["_sku"] = value


CheckoutLine.sku = _LineSku()  # type: ignore[assignment]


def _attrs(model) -> list[tuple[str, Any]]:
    """``(attribute key, column)`` of every column of ``model``'s table."""
    mapper = model.__mapper__
    return [(mapper.get_property_by_column(c).key, c) for c in model.__table__.c]


def cart_items(user) -> list[tuple[int, int]]:
    rows = db.session.execute(
        select(CartLine.sku_id, CartLine.quantity)
        .where(CartLine.user_id == user.id, CartLine.selected.is_(True))
        .order_by(CartLine.id)
    ).all()
    return [(r.sku_id, r.quantity) for r in rows]


def price_lines(lines: list[CheckoutLine], user, options: dict | None = None) -> None:
    """Price every line: ``price_rules`` once for all the lines (a plugin
    loads its rules in one query), ``line_price_rules`` per line (rules
    computed from the line alone), resolved by
    :func:`jishi.checkout.pricing.resolve_price`."""
    hook = jishi_hook()
    options = options or {}
    batch: dict[str, list] = {}
    if lines:
        known = {line.key for line in lines}
        for result in hook.price_rules(lines=lines, user=user, options=options):
            for key, rules in (result or {}).items():
                if key not in known:
                    raise RuntimeError(f"price_rules returned rules for unknown line {key!r}")
                batch.setdefault(key, []).extend(rules or [])
    per_line = hook.line_price_rules.get_hookimpls()  # none: no hook call per line (issue 20)
    for line in lines:
        if per_line:
            rules = [
                r for result in hook.line_price_rules(line=line, user=user, options=options) for r in (result or [])
            ]
            rules += batch.get(line.key, [])
        else:
            rules = batch.get(line.key, [])
        rule = resolve_price(line.base_price, rules)
        line.unit_price = rule.unit_price
        line.price_source = rule.source
        line.price_label = rule.label
        line.quantity_limit = rule.quantity_limit
        line.price_data = dict(rule.data)
        if rule.stock is not None:
            line.stock = rule.stock
        line.stock_source = rule.stock_source or "sku"


def group_lines(lines: list[CheckoutLine], user) -> list[CheckoutGroup]:
    groups_spec = jishi_hook().split_cart(lines=lines, user=user) or []
    by_key = {line.key: line for line in lines}
    groups, seen = [], set()
    for spec in groups_spec:
        glines = []
        for key in spec.line_keys:
            if key in seen or key not in by_key:
                raise RuntimeError(f"split_cart returned line {key!r} twice or unknown")
            seen.add(key)
            by_key[key].group_key = spec.key
            glines.append(by_key[key])
        groups.append(CheckoutGroup(spec.key, spec.title, spec.seller_id, glines, spec.tags))
    if seen != set(by_key):
        raise RuntimeError("split_cart left lines out of every group")
    return groups


def _apply_discounts(checkout: Checkout) -> None:
    hook = jishi_hook()
    discounts = [d for result in hook.order_discounts(checkout=checkout) for d in (result or [])]
    by_key = {line.key: line for line in checkout.lines}
    for index, discount in enumerate(discounts):
        keys = discount.line_keys or tuple(by_key)
        lines = [by_key[k] for k in keys if k in by_key]
        if discount.funded_by == "seller" and any(line.seller_id != discount.seller_id for line in lines):
            raise RuntimeError(f"seller-funded discount {discount.source!r} names another seller's lines")
        available = sum(line.payable for line in lines)
        amount = max(0, min(discount.amount, available))
        checkout.discounts.append(AppliedDiscount(discount, amount))
        if amount == 0:
            continue
        capped = replace(discount, amount=amount)
        shares = hook.allocate_discount(discount=capped, lines=lines)
        if sum(shares) != amount or any(s < 0 or s > line.payable for s, line in zip(shares, lines)):
            raise RuntimeError(f"allocation of {discount.source!r} broke the invariant: {shares}")
        for share, line in zip(shares, lines):
            if share:
                line.shares.append(AllocationShare(index, share))


#: the kernel's own checkout loader: the buyer's address
_ADDRESS = "jishi.address"
_ADDRESS_QUERY: list = []


def _run_checkout_loaders(lines, user, options: dict, placing: bool, address_id) -> Any:
    """Every plugin's ``checkout_loaders`` with the address (unless the
    session holds it already) in ONE statement (:func:`jishi.loaders.run`);
    None when no plugin asks for anything (the address is then read alone,
    as :func:`db.session.get` does)."""
    if not lines:
        return None
    theirs = [
        ld
        for found in jishi_hook().checkout_loaders(lines=lines, user=user, options=options, placing=placing)
        for ld in found or ()
    ]
    if not theirs:
        return None

    own = []
    if isinstance(address_id, int) and db.session().identity_map.get(identity_key(Address, address_id)) is None:
        if not _ADDRESS_QUERY:
            _ADDRESS_QUERY.append(select(Address).where(Address.id == bindparam("address_id", type_=Integer)))
        own.append(PageLoader(_ADDRESS, _ADDRESS_QUERY[0], {"address_id": address_id}))
    return run(own + theirs)


def build_checkout(
    user,
    items: Sequence[tuple[int, int]] | None = None,
    address_id: int | None = None,
    options: dict | None = None,
    *,
    placing: bool = False,
) -> Checkout:
    """Compute a checkout for ``items`` (or the buyer's selected cart lines).

    ``options``: ``delivery`` {group key: method code}, ``messages`` {group
    key: text}, and anything marketing plugins read (``coupons``...).
    ``placing``: built to be placed, not shown (see :meth:`Checkout.chose_other`).
    """
    # the buyer itself, not Flask-Login's ``current_user`` proxy: every
    # attribute read through the proxy asked Flask-Login for the user again
    # (~17 lookups a preview of 5 lines, ~3 % of it: issue 20)
    unproxied = getattr(user, "_get_current_object", None)
    if unproxied is not None:
        user = unproxied()
    options = dict(options or {})
    from_cart = items is None
    if from_cart:
        items = cart_items(user)
    for _sku, qty in items:
        if qty <= 0:
            from jishi.i18n import gettext as _

            raise CheckoutError([Problem("quantity", _("Quantity must be at least 1."), field="items.quantity")])
    lines = load_lines(items, visible_only=not from_cart)
    price_lines(lines, user, options)
    loaded = _run_checkout_loaders(lines, user, options, placing, address_id)
    address = None
    if address_id is not None:
        if loaded is not None and _ADDRESS in loaded:
            rows = loaded.pop(_ADDRESS)
            address = rows[0] if rows else None
        else:
            address = db.session.get(Address, address_id)
        if address is None or address.user_id != user.id:
            from jishi.i18n import gettext as _

            raise CheckoutError([Problem("address", _("Unknown address."), field="address_id")])
    groups = group_lines(lines, user)
    checkout = Checkout(user, lines, groups, address, options, from_cart=from_cart, placing=placing, loaded=loaded)
    hook = jishi_hook()
    chosen = options.get("delivery") or {}
    messages = options.get("messages") or {}
    for group in groups:
        group.delivery_options = [
            o for r in hook.delivery_options(group=group, address=address, checkout=checkout) for o in (r or [])
        ]
        want = chosen.get(group.key)
        if want:
            group.delivery = next((o for o in group.delivery_options if o.code == want), None)
            if group.delivery is None:
                from jishi.i18n import gettext as _

                checkout.problems.append(
                    Problem(
                        "delivery",
                        _("Delivery method %(code)s is not offered here.", code=want),
                        field="delivery",
                        group_key=group.key,
                    )
                )
        else:
            # The first available way; without an address, the first that needs none.
            available = [o for o in group.delivery_options if o.available]
            group.delivery = next((o for o in available if address is not None or not o.needs_address), None) or next(
                iter(available), None
            )
        message = str(messages.get(group.key, "") or "")
        if len(message) > 200:
            from jishi.i18n import gettext as _

            checkout.problems.append(
                Problem(
                    "message", _("The message is longer than 200 characters."), field="messages", group_key=group.key
                )
            )
        group.buyer_message = message[:200]
    _apply_discounts(checkout)
    checkout.problems += [p for r in hook.validate_checkout(checkout=checkout) for p in (r or [])]
    return checkout


def _number(prefix: str = "") -> str:
    """``prefix``, the local second (``yymmddHHMMSS``) and 8 random digits."""
    global _stamp
    now = time.time()
    second = int(now)
    stamped = _stamp
    if stamped[0] != second:  # formatted once per second (strftime was most of a number's cost)
        stamped = _stamp = (second, datetime.fromtimestamp(second).strftime("%y%m%d%H%M%S"))
    return prefix + stamped[1] + f"{secrets.randbelow(10**8):08d}"


#: (epoch second, its ``yymmddHHMMSS`` in local time) of the last number drawn
_stamp: tuple[int, str] = (-1, "")


#: How often a placement is written before its failure is answered, when
#: the write was refused by a unique number and no placement of its key
#: exists: order and payment numbers are the second plus 8 random digits,
#: so two placements drawing the same number in the same second is rare but
#: real at a sale's rate (about once in 200 seconds at 1,000 orders/s); the
#: refused write left nothing (rolled back) and is made again with new
#: numbers, as a placement whose number another took must not fail.
NUMBER_ATTEMPTS = 3


def find_placed(user, idempotency_key: str) -> PaymentOrder | None:
    """The (first) payment order an earlier request with this key placed.

    In per-store payment mode the first payment order carries ``<key>`` and
    the others ``<key>#1``, ``<key>#2``... (earlier placements stored the
    first as ``<key>#0``): whatever the shape of a retry, its first payment
    order collides with the first placement's.
    """
    return db.session.execute(
        select(PaymentOrder)
        .where(
            PaymentOrder.user_id == user.id, PaymentOrder.idempotency_key.in_([idempotency_key, idempotency_key + "#0"])
        )
        .order_by(PaymentOrder.id)
        .limit(1)
    ).scalar_one_or_none()


class Placed(list):
    """The payment orders :func:`place_order` answers (a list), with
    ``replayed``: True when they are an earlier placement's with the same
    idempotency key and this call wrote nothing. Decided by the unique key
    itself, so of concurrent identical requests exactly one is the
    placement."""

    def __init__(self, payments, replayed: bool = False):
        super().__init__(payments)
        self.replayed = replayed


class _AlreadyPlaced(Exception):
    """The payment order's (user, idempotency key) exists: a retry."""


def place_order(
    user,
    items: Sequence[tuple[int, int]] | None = None,
    address_id: int | None = None,
    options: dict | None = None,
    idempotency_key: str | None = None,
    expected_total: int | None = None,
) -> Placed:
    """Place a checkout atomically; returns its payment order(s), a
    :class:`Placed` list (``.replayed``: answered an earlier placement).

    With an ``idempotency_key``, a retried request returns what the first one
    placed and writes nothing (also when two arrive at once). The unique
    (user, key) of the payment order decides: the payment order is the
    first row written, by ``INSERT .. ON CONFLICT DO NOTHING``, so a first
    placement costs no look-up; a retry finds its key taken (or its checkout
    no longer valid: the cart it emptied, the stock it took) and answers the
    first placement, rolling back whatever it had begun.

    ``expected_total``: the total (fen) the buyer saw; when it is not the
    checkout's ``pay_amount`` now (a price, delivery fee or discount
    changed), nothing is placed and :class:`TotalChanged` names the new
    total. The comparison costs no statement.
    Raises :class:`CheckoutError` with the problems otherwise.
    """
    for attempt in range(NUMBER_ATTEMPTS):
        try:
            checkout = build_checkout(user, items, address_id, options, placing=True)
            if checkout.problems:
                raise CheckoutError(checkout.problems)
            if expected_total is not None and expected_total != checkout.pay_amount:
                raise TotalChanged(checkout.pay_amount)
            # SQLite, a request that began deferred (the API's place): the
            # quote was read without the one write lock; the writes hold it
            # (they are conditional: stock, coupons, points; jishi.db)
            write_from_here()
            payments = _write(checkout, idempotency_key)
            _commit_keeping(payments)
        except (CheckoutError, IntegrityError, _AlreadyPlaced) as exc:
            rollback()
            existing = find_placed(user, idempotency_key) if idempotency_key else None
            if existing is not None:
                return Placed(placed_together(existing), replayed=True)
            if isinstance(exc, CheckoutError) or attempt == NUMBER_ATTEMPTS - 1:
                raise
            continue  # a number another placement drew (see NUMBER_ATTEMPTS): nothing written, drawn again
        return Placed(payments)
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class PlaceRequest:
    """One checkout to place with :func:`place_orders`: the arguments of
    :func:`place_order`, and ``context``: None, or a callable answering the
    context manager to place it in (a request in the buyer's language)."""

    user: Any
    items: Sequence[tuple[int, int]] | None = None
    address_id: int | None = None
    options: dict | None = None
    idempotency_key: str | None = None
    expected_total: int | None = None
    context: Callable[[], AbstractContextManager] | None = None


def place_orders(requests: Sequence[PlaceRequest], *, before_commit=None) -> list[Placed | CheckoutError]:
    """Place several checkouts in ONE transaction (a queue's consumer
    placing a batch of purchases), each exactly as :func:`place_order`
    places it (the same pipeline, prices, allocations, stock hooks,
    idempotency by its key). Answers, in the order of ``requests``, a
    :class:`Placed` (``replayed``: its key had placed it already, also by a
    concurrent transaction) or the :class:`CheckoutError` that refused it.

    Every checkout is built first (its SKUs read for the whole batch in one
    statement); a refused one (problems, a changed total) writes nothing.
    The others are written together, ONE statement per table for the batch
    (see ``_write_many``; pools take their lines through
    ``reserve_stock_many``), inside a savepoint. When that refuses (a key
    already placed, a limit, stock short), the savepoint is rolled back and
    each checkout is written alone in a savepoint of its own, so a refused
    one is rolled back alone and the others commit.

    ``before_commit(results)`` runs inside the transaction, after the last
    placement and before the one commit (the caller's own bookkeeping of
    the same purchases, e.g. a queue's tickets, commits with them). The
    ``order_placed`` signals of every placed checkout are sent after that
    commit; a refused one's are dropped with its savepoint. Anything else
    raised (the database away) rolls the whole batch back and propagates.
    A request's ``context`` (a callable answering a context manager, e.g. a
    request context in its buyer's language) is entered around its own
    build, and again around its own write when written alone.
    """
    session = db.session()
    info = session.info
    results: list[Placed | CheckoutError | None] = [None] * len(requests)

    def marks():
        return len(info.get("jishi_signals", [])), len(info.get("jishi_after_commit", []))

    def drop(since):
        del info.get("jishi_signals", [])[since[0] :]
        del info.get("jishi_after_commit", [])[since[1] :]

    def refused(req: PlaceRequest, exc: Exception) -> Placed | CheckoutError:
        existing = find_placed(req.user, req.idempotency_key) if req.idempotency_key else None
        if existing is not None:
            return Placed(placed_together(existing), replayed=True)
        if isinstance(exc, CheckoutError):
            return exc
        raise exc

    try:
        built: list[tuple[int, PlaceRequest, Checkout]] = []
        token = _preloaded.set(_preload_skus(requests))
        try:
            for i, req in enumerate(requests):
                try:
                    with req.context() if req.context is not None else nullcontext():
                        checkout = build_checkout(req.user, req.items, req.address_id, req.options, placing=True)
                        if checkout.problems:
                            raise CheckoutError(checkout.problems)
                        if req.expected_total is not None and req.expected_total != checkout.pay_amount:
                            raise TotalChanged(checkout.pay_amount)
                except CheckoutError as exc:
                    results[i] = refused(req, exc)
                    continue
                built.append((i, req, checkout))
        finally:
            _preloaded.reset(token)
        together = False
        if len(built) > 1:
            since = marks()
            savepoint = session.begin_nested()
            try:
                written = _write_many([(checkout, req.idempotency_key) for _i, req, checkout in built])
                savepoint.commit()
                together = True
            except (CheckoutError, IntegrityError, _AlreadyPlaced):
                savepoint.rollback()
                drop(since)
            if together:
                for (i, _req, _checkout), payments in zip(built, written):
                    results[i] = Placed(payments)
        if not together:
            for i, req, checkout in built:
                for attempt in range(NUMBER_ATTEMPTS):
                    since = marks()
                    savepoint = session.begin_nested()
                    try:
                        with req.context() if req.context is not None else nullcontext():
                            payments = _write(checkout, req.idempotency_key)
                        savepoint.commit()
                    except (CheckoutError, IntegrityError, _AlreadyPlaced) as exc:
                        savepoint.rollback()
                        drop(since)
                        if (
                            not isinstance(exc, CheckoutError)
                            and attempt < NUMBER_ATTEMPTS - 1
                            and (not req.idempotency_key or find_placed(req.user, req.idempotency_key) is None)
                        ):
                            continue  # a number another placement drew: written again with new numbers
                        results[i] = refused(req, exc)
                        break
                    results[i] = Placed(payments)
                    break
        answers = [r for r in results if r is not None]
        if before_commit is not None:
            before_commit(answers)
        _commit_keeping([p for r in answers if isinstance(r, Placed) for p in r])
    except BaseException:
        rollback()
        raise
    return answers


#: SKUs :func:`place_orders` read for its whole batch (``load_lines`` of a
#: buyer-chosen item list takes them from here instead of a statement each)
_preloaded: ContextVar[dict[int, Any] | None] = ContextVar("jishi_checkout_preloaded", default=None)


def _preload_skus(requests: Sequence[PlaceRequest]) -> dict[int, Any] | None:
    """The visible SKUs (with their products) of every request that names
    its items, in ONE statement (the one ``load_lines`` makes per checkout;
    ``product_filters`` do not depend on the buyer): ``sku_id -> Sku``, None
    for an id not visible. None when fewer than two requests name items."""
    ids = {sku_id for req in requests if req.items is not None for sku_id, _qty in req.items}
    if sum(1 for req in requests if req.items is not None) < 2 or not ids:
        return None

    stmt = select(Sku).join(Sku.product).options(contains_eager(Sku.product)).where(Sku.id.in_(list(ids)))
    rows = db.session.execute(visible_products(stmt.where(Sku.is_active.is_(True)))).scalars().all()
    found: dict[int, Any] = dict.fromkeys(ids)
    found.update({sku.id: sku for sku in rows})
    return found


def _commit_keeping(payments: list[PaymentOrder]) -> None:
    """Commit, expiring everything but what was just written (the payments
    and their orders, loaded whole by RETURNING): the caller's answer reads
    them without selecting them again, while the rest (SKUs whose stock an
    UPDATE changed...) is read afresh as after any commit."""
    session = db.session()
    keep = {id(p) for p in payments} | {id(o) for p in payments for o in p.orders}
    old = session.expire_on_commit
    session.expire_on_commit = False
    try:
        commit()
    finally:
        session.expire_on_commit = old
    # ``session.expire(obj)`` per object walked each mapper's relationships
    # for a "refresh-expire" cascade (half of this function's CPU). An
    # object whose mapper cascades nothing is expired as ``expire_all``
    # expires it; one that does still goes through ``session.expire``.
    identity_map = session.identity_map
    modified = identity_map._modified
    for state in list(identity_map.all_states()):
        obj = state.obj()
        if obj is None or id(obj) in keep:
            continue
        if _cascades_expire(state.mapper):
            session.expire(obj)
        else:
            state._expire(state.dict, modified)


#: mapper -> whether a relationship of it cascades "refresh-expire"
_EXPIRE_CASCADES: dict[Any, bool] = {}


def _cascades_expire(mapper) -> bool:
    found = _EXPIRE_CASCADES.get(mapper)
    if found is None:
        found = _EXPIRE_CASCADES[mapper] = any(r.cascade.refresh_expire for r in mapper.relationships)
    return found


def placed_together(payment: PaymentOrder) -> list[PaymentOrder]:
    """Every payment order written by the same placement (per-order mode:
    ``<key>``, ``<key>#1``...; a replay only, so one query is fine)."""
    if not payment.idempotency_key:
        return [payment]
    base = payment.idempotency_key.split("#", 1)[0]
    return list(
        db.session.execute(
            select(PaymentOrder)
            .where(
                PaymentOrder.user_id == payment.user_id,
                (PaymentOrder.idempotency_key == base)
                | PaymentOrder.idempotency_key.startswith(base + "#", autoescape=True),
            )
            .order_by(PaymentOrder.id)
        ).scalars()
    )


def payment_mode() -> str:
    """``"combined"`` (one payment for every order of a checkout) or
    ``"per_order"`` (one payment per store): the platform's ``payment.mode``
    setting, else the ``JISHI_PAYMENT_MODE`` config."""
    mode = settings.get("payment.mode")
    if mode in ("combined", "per_order"):
        return mode
    return current_app.config["JISHI_PAYMENT_MODE"]


#: statements of the placement's writes, built once per database dialect
#: (Core on the tables: the ORM's bulk INSERT machinery and the cache key of
#: a statement built anew were a third of a placement's CPU); keyed by
#: (dialect name, what): the same for every app of the process
_WRITES: dict[tuple, Any] = {}


def _held(what: str, build: Callable[[str], Any]) -> Any:
    dialect = db.session.get_bind().dialect.name
    stmt = _WRITES.get((dialect, what))
    if stmt is None:
        stmt = _WRITES[(dialect, what)] = build(dialect)
    return stmt


def _columns(model) -> tuple:
    """``(columns, attribute keys)`` of ``model``'s table, in table order."""
    mapper = model.__mapper__
    cols = tuple(model.__table__.c)
    return cols, tuple(mapper.get_property_by_column(c).key for c in cols)


def _instances(model, rows: list[dict], written: list) -> list:
    """The clean persistent ``model`` instances of the rows ``written``
    (RETURNING every column of ``model``'s table, :func:`_columns`) in the
    order of ``rows`` (matched by their unique ``number``: SQLite cannot
    both batch and promise the order of RETURNING); a row that was not
    written (``ON CONFLICT DO NOTHING`` skipped it) is missing.

    They are made as the ORM's loading makes them
    (:func:`jishi.loaders.persistent`); a row id a rolled-back savepoint had
    used (SQLite reuses them; place_orders rolls a batch back) refreshes the
    instance the session holds, as ``populate_existing`` did."""
    _cols, keys = _held(f"columns:{model.__tablename__}", lambda _d: _columns(model))  # (the same on every dialect)
    session = db.session()
    by_number = {}
    for row in written:
        obj = persistent(session, model, dict(zip(keys, row)))
        by_number[obj.number] = obj
    return [by_number[row["number"]] for row in rows if row["number"] in by_number]


#: rows of one multi-row INSERT held as SQL (more go through SQLAlchemy's
#: ``insertmanyvalues``, as correct and slower; with references, in
#: statements of this many rows)
_ROWS_HELD = 64


def _by_number(table, name: str):
    """The id of ``table``'s row whose unique ``number`` is the parameter
    ``name``: a scalar subquery, one look-up in the number's index."""
    number = table.c.number
    return select(table.c.id).where(number == bindparam(name, type_=number.type)).scalar_subquery()


def _order_of(prefix: str):
    """A row's ``order_id``: the order numbered ``{prefix}order_id``."""
    return _by_number(Order.__table__, prefix + "order_id")


def _line_of_order(prefix: str):
    """An allocation's ``order_line_id``: the line of SKU ``{prefix}order_line_id``
    in the order numbered ``{prefix}order_id`` (one line per SKU in an order)."""
    lines = OrderLine.__table__
    return (
        select(lines.c.id)
        .where(
            lines.c.order_id == _order_of(prefix),
            lines.c.sku_id == bindparam(prefix + "order_line_id", type_=lines.c.sku_id.type),
        )
        .scalar_subquery()
    )


#: ``{table: {column: its SQL for a row's parameter prefix}}``: the columns
#: a placement writes as a reference to a row it wrote just before (the
#: row's value is that row's ``number``; an allocation's line: its SKU id),
#: resolved by the INSERT itself, so that the placement's INSERTs need no
#: id from one another and go to the database together
#: (:func:`jishi.loaders.held_rows_many`: one round trip on PostgreSQL)
_REFS: dict[str, dict[str, Callable[[str], Any]]] = {
    "orders": {"payment_id": lambda prefix: _by_number(PaymentOrder.__table__, prefix + "payment_id")},
    "order_lines": {"order_id": _order_of},
    "order_events": {"order_id": _order_of},
    "order_allocations": {"order_id": _order_of, "order_line_id": _line_of_order},
}


def _insert_rows(
    table, rows: list[dict], returning: tuple, *, on_conflict_do_nothing: bool = False, refs: tuple = ()
) -> list:
    """INSERT ``rows`` (dicts with the same keys: column keys of ``table``)
    into ``table`` in ONE statement and answer the ``returning`` columns of
    the written rows (in no promised order), values as SQLAlchemy's result
    processing gives them. ``refs``: keys whose values name a row written
    before (:data:`_REFS`), not the column's value. See
    :func:`_insert_plan`."""
    plan = _insert_plan(table, rows, returning, on_conflict_do_nothing=on_conflict_do_nothing, refs=refs)
    return [row for rows_ in held_rows_many(db.session().connection(), plan) for row in rows_]


def _insert_plan(
    table, rows: list[dict], returning: tuple, *, on_conflict_do_nothing: bool = False, refs: tuple = ()
) -> list[tuple[Any, dict, dict | None]]:
    """The statements that INSERT ``rows`` into ``table``, as
    :func:`jishi.loaders.held_rows_many` takes them: ``(statement,
    parameters, held forms)``.

    One statement, ``INSERT .. VALUES (..), (..) RETURNING ..`` for this
    many rows and these keys, built once per dialect and run from its SQL
    compiled once: no compile-cache key, execution context or result object
    per placement, which were most of each write's Python. The row values
    are bound as the columns' types bind them (SQLite's datetimes, JSON); a
    column a row leaves out gets its Python scalar default as a bound
    value, as SQLAlchemy's INSERT gives it. A left-out column whose default
    is a callable, or more than ``_ROWS_HELD`` rows, goes through
    SQLAlchemy's own multi-row execute (forms None); with ``refs``, in
    statements of ``_ROWS_HELD`` rows, or (a callable default) one
    statement per row."""
    n = len(rows)
    keys = tuple(rows[0])
    dialect = db.session().get_bind().dialect.name
    if refs and n > _ROWS_HELD:
        return [
            item
            for at in range(0, n, _ROWS_HELD)
            for item in _insert_plan(
                table, rows[at : at + _ROWS_HELD], returning, on_conflict_do_nothing=on_conflict_do_nothing, refs=refs
            )
        ]
    # (column names, not Column objects: a key compared on a hash collision must not build SQL)
    shape = (dialect, table.name, keys, n, on_conflict_do_nothing, tuple(c.key for c in returning), refs)
    held = _WRITES.get(shape)
    if held is None:
        held = _WRITES[shape] = _rows_statement(table, keys, n, returning, on_conflict_do_nothing, refs)
    stmt, forms, constants, names = held
    if forms is None:  # SQLAlchemy's INSERT (its defaults, its insertmanyvalues)
        if refs:  # one row a statement (see _rows_statement)
            return [(stmt, dict(zip(names[0], map(row.__getitem__, keys))), None) for row in rows]
        return [(stmt, rows if n > 1 else rows[0], None)]  # type: ignore[list-item]
    params = dict(constants)
    for row, row_names in zip(rows, names):
        params.update(zip(row_names, map(row.__getitem__, keys)))
    return [(stmt, params, forms)]


def _rows_statement(table, keys: tuple, n: int, returning: tuple, on_conflict_do_nothing: bool, refs: tuple) -> tuple:
    """``(statement, held forms, the left-out columns' defaults as its
    parameters, each row's parameter names for keys)`` of
    :func:`_insert_plan` for ``n`` rows with ``keys`` (row ``i``'s value of
    ``k`` is the parameter ``p{i}_{k}``); forms None: run by SQLAlchemy (a
    left-out callable default, or too many rows). A key in ``refs`` is
    written as its :data:`_REFS` SQL of the row's parameter."""
    base = conflict_insert(table).on_conflict_do_nothing() if on_conflict_do_nothing else insert(table)
    made = _REFS.get(table.name, {})

    def value(i: int, k: str):
        return made[k](f"p{i}_") if k in refs else bindparam(f"p{i}_{k}", type_=table.c[k].type)

    names = tuple(tuple(f"p{i}_{k}" for k in keys) for i in range(n))
    filled = _scalar_defaults(table, keys)
    if filled is None and refs:  # a row a statement: SQLAlchemy's defaults, the references as SQL
        return base.values({k: value(0, k) for k in keys}).returning(*returning), None, {}, names[:1]
    if filled is None or n > _ROWS_HELD:
        return base.returning(*returning), None, {}, names
    values = [{k: value(i, k) for k in keys + tuple(filled)} for i in range(n)]
    constants = {f"p{i}_{k}": default for i in range(n) for k, default in filled.items()}
    return base.values(values if n > 1 else values[0]).returning(*returning), {}, constants, names


def _scalar_defaults(table, keys: tuple) -> dict | None:
    """``{column key: its Python scalar default}`` of every column of
    ``table`` not in ``keys`` that has a Python-side default (what
    SQLAlchemy's INSERT would bind for it); None when one of them is a
    callable or SQL expression (left to SQLAlchemy's execute)."""
    out = {}
    for column in table.c:
        if column.key in keys or column.default is None:
            continue
        if not column.default.is_scalar:
            return None
        out[column.key] = column.default.arg
    return out


def _sums(group: CheckoutGroup, memo: dict) -> tuple[int, int, int, int]:
    """``group``'s (goods, discount, delivery fee, pay amount), as its
    properties define them, summed once per placement (the properties sum
    their lines again at every read: the payment's amount, the order's four
    columns)."""
    found = memo.get(id(group))
    if found is None:
        goods = discount = 0
        for line in group.lines:
            goods += line.unit_price * line.quantity
            discount += sum(share.amount for share in line.shares)
        fee = group.delivery_fee
        found = memo[id(group)] = (goods, discount, fee, goods - discount + fee)
    return found


def _write(checkout: Checkout, idempotency_key: str | None) -> list[PaymentOrder]:
    return _write_many([(checkout, idempotency_key)])[0]


def _write_many(items: Sequence[tuple[Checkout, str | None]]) -> list[list[PaymentOrder]]:
    """Write checkouts (one, or a batch of :func:`place_orders`) with ONE
    statement per table for all of them: payment orders (``ON CONFLICT DO
    NOTHING`` on the key: a key taken raises :class:`_AlreadyPlaced`),
    orders, lines, allocations, history, followed by the SKUs' stock in one
    conditional UPDATE (the lines their price rule gives the SKU) and the
    plugins' ``order_placing_writes`` (all sent together: one round trip on
    PostgreSQL); then the pools' stock (``reserve_stock_many`` for every
    line at once, ``reserve_stock`` for the rest), the stock UPDATE's and
    the plugins' statements' checks, ``order_placing`` per checkout, and the
    ``order_placed`` signals queued. Answers each checkout's payment orders."""
    hook = jishi_hook()
    now = utcnow()
    session = db.session()
    session.flush()  # what the hooks changed, before the Core INSERTs (the ORM's autoflush did it)
    sums: dict[int, tuple[int, int, int, int]] = {}  # each group's amounts, summed once (see _sums)
    payment_rows: list[dict] = []
    spans: list[tuple[int, bool]] = []  # per checkout: first payment row, per-order mode
    keyed = False
    for checkout, idempotency_key in items:
        user = checkout.user
        keyed = keyed or idempotency_key is not None
        per_order = len(checkout.groups) > 1 and payment_mode() == "per_order"  # one order: no setting to read
        spans.append((len(payment_rows), per_order))
        if per_order:
            payment_rows += [
                {
                    "number": _number("P"),
                    "user_id": user.id,
                    "idempotency_key": (f"{idempotency_key}#{i}" if i else idempotency_key)
                    if idempotency_key
                    else None,
                    "amount": _sums(group, sums)[3],
                    "created_at": now,
                }
                for i, group in enumerate(checkout.groups)
            ]
        else:
            payment_rows.append(
                {
                    "number": _number("P"),
                    "user_id": user.id,
                    "idempotency_key": idempotency_key,
                    "amount": sum(_sums(group, sums)[3] for group in checkout.groups),  # checkout.pay_amount
                    "created_at": now,
                }
            )

    # Every row is written with what references it needs known beforehand:
    # an order names its payment, a line, an allocation and an event their
    # order, by the unique number this placement drew (see _REFS), so the
    # INSERTs need no id from one another and go to the database together
    # (held_rows_many: ONE round trip on PostgreSQL instead of one per table).
    order_rows = []
    written_orders: list[list[tuple[dict, CheckoutGroup]]] = []  # per checkout: its order rows with their groups
    for (checkout, _key), (first, per_order) in zip(items, spans):
        address = checkout.address.snapshot() if checkout.address else None
        written_orders.append([])
        for i, group in enumerate(checkout.groups):
            payment_row = payment_rows[first + i] if per_order else payment_rows[first]
            delivery = group.delivery
            amounts = _sums(group, sums)
            order_rows.append(
                {
                    "number": _number(),
                    "payment_id": payment_row["number"],  # (a reference: _REFS)
                    "user_id": checkout.user.id,
                    "seller_id": group.seller_id,
                    "group_key": group.key,
                    "status": "pending_payment",
                    "goods_amount": amounts[0],
                    "discount_amount": amounts[1],
                    "delivery_fee": amounts[2],
                    "pay_amount": amounts[3],
                    "buyer_message": group.buyer_message,
                    "delivery_method": delivery.code if delivery else "",
                    "delivery_label": delivery.label if delivery else "",
                    "delivery_data": dict(delivery.data) if delivery else {},
                    "address": address if (delivery is None or delivery.needs_address) else None,
                    "is_virtual": group.is_virtual,
                    "created_at": now,
                }
            )
            written_orders[-1].append((order_rows[-1], group))

    rows = []
    allocations = []
    assumed: list[CheckoutLine] = []  # the lines their price rule gives their SKU's stock (see below)
    for (checkout, _key), orders_of in zip(items, written_orders):
        for order_row, group in orders_of:
            number = order_row["number"]
            for line in group.lines:
                goods, discount = line.unit_price * line.quantity, sum(share.amount for share in line.shares)
                rows.append(
                    {
                        "order_id": number,  # (a reference: _REFS)
                        "product_id": line.product_id,
                        "sku_id": line.sku_id,
                        "name": line.name,
                        "spec_text": line.spec_text,
                        "image": line.image,
                        "category_id": line.category_id,
                        "base_price": line.base_price,
                        "unit_price": line.unit_price,
                        "price_source": line.price_source,
                        "stock_source": line.stock_source,
                        "quantity": line.quantity,
                        "goods_amount": goods,
                        "discount_amount": discount,
                        "pay_amount": goods - discount,  # line.payable
                    }
                )
                if line.stock_source == "sku":
                    assumed.append(line)
                for share in line.shares:
                    applied = checkout.discounts[share.discount_index].discount
                    allocations.append(
                        {
                            "order_id": number,  # (references: _REFS; the line by its SKU, one per order)
                            "order_line_id": line.sku_id,
                            "source": applied.source,
                            "label": applied.label[:100],
                            "funded_by": applied.funded_by,
                            "amount": share.amount,
                        }
                    )
    events = [
        {
            "order_id": order_row["number"],  # (a reference: _REFS)
            "from_status": "",
            "to_status": "pending_payment",
            "actor_id": checkout.user.id,
            "actor_role": "buyer",
            "note": "",
            "created_at": now,
        }
        for (checkout, _key), orders_of in zip(items, written_orders)
        for order_row, _group in orders_of
    ]
    # ONE INSERT .. RETURNING per table, whatever the number of checkouts,
    # orders and lines (multi-row VALUES; the unit of work would insert row
    # by row on SQLite to learn each id). Core rows: a line's id is matched
    # back by (order, SKU), unique within a placement, since RETURNING's
    # order is not promised; ``Order.lines`` loads them when a plugin asks.
    # (Allocations and history RETURNING their ids only so that the held
    # SQL answers rows on every driver.)
    line_table = OrderLine.__table__
    payment_cols = _held("columns:payment_orders", lambda _d: _columns(PaymentOrder))[0]
    order_cols = _held("columns:orders", lambda _d: _columns(Order))[0]
    plans = [
        _insert_plan(PaymentOrder.__table__, payment_rows, payment_cols, on_conflict_do_nothing=keyed),
        _insert_plan(Order.__table__, order_rows, order_cols, refs=("payment_id",)),
        _insert_plan(
            line_table, rows, (line_table.c.id, line_table.c.order_id, line_table.c.sku_id), refs=("order_id",)
        ),
        _insert_plan(OrderEvent.__table__, events, (OrderEvent.__table__.c.id,), refs=("order_id",)),
    ]
    if allocations:
        allocation_table = OrderAllocation.__table__
        plans.append(
            _insert_plan(allocation_table, allocations, (allocation_table.c.id,), refs=("order_id", "order_line_id"))
        )
    # The lines whose price rule takes their SKU's stock (every line but a
    # pool's, such as a flash sale's) come out of it in the same round trip:
    # the conditional UPDATE goes after the INSERTs; its answer is checked
    # once the pools have taken theirs (below).
    stock_update = sku_stock_update(assumed)
    # And the plugins' statements about these orders (a merchant's
    # commission rates), which find them by their numbers.
    writes = [
        write
        for found in hook.order_placing_writes(
            orders=[
                PlacingOrder(order_row["number"], order_row["seller_id"], checkout, group)
                for (checkout, _key), orders_of in zip(items, written_orders)
                for order_row, group in orders_of
            ]
        )
        for write in found or ()
    ]
    after = ([stock_update] if stock_update is not None else []) + [
        (write.statement, dict(write.params), write.forms) for write in writes
    ]
    results = held_rows_many(session.connection(), [item for plan in plans for item in plan] + after)
    by_table = []
    for plan in plans:
        by_table.append([row for got in results[: len(plan)] for row in got])
        results = results[len(plan) :]
    after_rows = results  # what is left: the stock UPDATE's rows, then the plugins' statements'
    stock_rows = after_rows.pop(0) if stock_update is not None else []
    all_payments = _instances(PaymentOrder, payment_rows, by_table[0])
    if len(all_payments) < len(payment_rows):
        # a key is taken: a retry (place_order answers the first placement);
        # (the orders a skipped payment's number found are rolled back with it)
        raise _AlreadyPlaced()
    all_orders = _instances(Order, order_rows, by_table[1])
    placed: list[tuple[Checkout, list[PaymentOrder], list[Order]]] = []
    at = 0
    for (checkout, _key), (first, per_order) in zip(items, spans):
        n = len(checkout.groups)
        placed.append((checkout, all_payments[first : first + (n if per_order else 1)], all_orders[at : at + n]))
        at += n
    by_line = {(order_id, sku_id): line_id for line_id, order_id, sku_id in by_table[2]}
    order_lines: list[tuple[int, CheckoutLine, Order]] = [
        (by_line[(order.id, line.sku_id)], line, order)
        for checkout, _payments, orders in placed
        for order, group in zip(orders, checkout.groups)
        for line in group.lines
    ]

    # Plugins' pools (a flash sale) take their lines: all at once where a
    # pool implements ``reserve_stock_many``, else one by one; every other
    # line comes out of its SKU's stock in ONE conditional UPDATE.
    taken: dict[int, Any] = {}
    pairs = [(line, order) for _ol, line, order in order_lines]
    for result in hook.reserve_stock_many(lines=pairs):
        for index, reservation in (result or {}).items():
            if index in taken:
                raise RuntimeError(f"reserve_stock_many: line {index} taken by two pools")
            taken[index] = reservation
    # A line was written with the pool its price rule named; only a pool
    # other than the one named costs an UPDATE.
    sku_pool: list[CheckoutLine] = []
    restocked: dict[str, list[int]] = {}
    per_line = hook.reserve_stock.get_hookimpls()  # none: no hook call per line (issue 20)
    for index, (ol_id, line, order) in enumerate(order_lines):
        reservation = taken.get(index) or (hook.reserve_stock(line=line, order=order) if per_line else None)
        if reservation is None:
            sku_pool.append(line)
        source = reservation.source if reservation is not None else "sku"
        if rows[index]["stock_source"] != source:  # written with the price rule's pool: another took it
            restocked.setdefault(source, []).append(ol_id)
    for source, ids in restocked.items():
        session.connection().execute(update(line_table).where(line_table.c.id.in_(ids)).values(stock_source=source))
    if len(sku_pool) == len(assumed) and all(a is b for a, b in zip(sku_pool, assumed)):
        check_sku_stock(assumed, stock_rows)  # (raises OutOfStock: the caller rolls everything back)
    else:  # a pool took a line its price rule gave the SKU, or none took one its rule gave a pool
        give_back_sku_stock(assumed, stock_rows)
        reserve_sku_stock(sku_pool)
    for write, got in zip(writes, after_rows):
        if write.check is not None:
            write.check(got)

    for checkout, payments, orders in placed:
        hook.order_placing(checkout=checkout, payments=payments, orders=orders)
    carts = [c for c, _p, _o in placed if c.from_cart]
    for checkout in carts:
        db.session.execute(
            delete(CartLine).where(
                CartLine.user_id == checkout.user.id,
                CartLine.sku_id.in_([line.sku_id for line in checkout.lines]),
            )
        )
    db.session.flush()

    out = []
    for _checkout, payments, orders in placed:
        for payment in payments:
            mine = sorted((o for o in orders if o.payment_id == payment.id), key=lambda o: o.id)
            set_committed_value(payment, "orders", mine)  # known: no lazy load
            for order in mine:  # and each order's payment (its answer shows the payment's number)
                set_committed_value(order, "payment", payment)
            signals.queue(signals.order_placed, payment, orders=mine)
        out.append(list(payments))
    for payments in out:
        for payment in payments:
            pay_free(payment)  # asks 0 (a coupon or points paid it all): paid at once, in this transaction
    return out
