"""The rules: the discount math (pure functions) and the sellers' rule
records. No Flask request in here, so the demo and tests call it directly.

Math: with "buy N pay P", every complete set of N units of one product in a
checkout has N - P units free; the free units are the cheapest ones (a
product's SKUs may differ in price). Quantity 7 with "buy 3 pay 2" has
7 // 3 = 2 complete sets, so 2 units are free.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from jishi.catalog.models import Product
from jishi.db import db
from jishi.errors import DomainError
from jishi.hookspecs import Discount
from jishi.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from jishi_buy_n_get_m.models import MAX_QTY, BuyNGetMRule

SOURCE = "buy_n_get_m"
#: Lines at these prices take part; a line at a promotional price chosen by
#: another plugin (flash sale, group buying) is left out: no double deal.
REGULAR_PRICE_SOURCES = ("base", "member")


# --- math -------------------------------------------------------------------


def free_units(quantity: int, buy_qty: int, pay_qty: int) -> int:
    """Free units for ``quantity`` units under "buy ``buy_qty`` pay ``pay_qty``"."""
    if quantity <= 0:
        return 0
    return (quantity // buy_qty) * (buy_qty - pay_qty)


def free_amount(units: Iterable[tuple[int, int]], free: int) -> int:
    """Fen of the ``free`` cheapest units among ``(unit_price, quantity)``."""
    amount = 0
    for price, qty in sorted(units):
        take = min(qty, free)
        amount += price * take
        free -= take
        if free <= 0:
            break
    return amount


def label(buy_qty: int, pay_qty: int) -> str:
    return _("Buy %(buy)d pay %(pay)d", buy=buy_qty, pay=pay_qty)


def checkout_discounts(lines: Sequence) -> list[Discount]:
    """One seller-funded :class:`Discount` per product with an active rule.

    ``lines`` are the checkout's priced lines (``product_id``, ``seller_id``,
    ``unit_price``, ``quantity``, ``price_source``, ``key``). One query.
    """
    by_product: dict[int, list] = {}
    for line in lines:
        if line.price_source in REGULAR_PRICE_SOURCES:
            by_product.setdefault(line.product_id, []).append(line)
    if not by_product:
        return []
    rules = (
        db.session.execute(
            select(BuyNGetMRule)
            .where(BuyNGetMRule.product_id.in_(list(by_product)), BuyNGetMRule.active.is_(True))
            .order_by(BuyNGetMRule.product_id)
        )
        .scalars()
        .all()
    )
    out = []
    for rule in rules:
        # a rule applies only to its own seller's lines (the product's owner)
        plines = [line for line in by_product[rule.product_id] if line.seller_id == rule.seller_id]
        free = free_units(sum(line.quantity for line in plines), rule.buy_qty, rule.pay_qty)
        amount = free_amount(((line.unit_price, line.quantity) for line in plines), free)
        if amount <= 0:
            continue
        out.append(
            Discount(
                source=SOURCE,
                label=label(rule.buy_qty, rule.pay_qty),
                amount=amount,
                line_keys=tuple(line.key for line in plines),
                funded_by="seller",
                seller_id=rule.seller_id,
                data={"rule_id": rule.id, "product_id": rule.product_id, "free_units": free},
            )
        )
    return out


# --- records ----------------------------------------------------------------


def _owned_by(seller_id: int | None):
    return Product.seller_id.is_(None) if seller_id is None else Product.seller_id == seller_id


def own_product(seller_id: int | None, product_id: int) -> Product | None:
    """The product if ``seller_id`` owns it, else None (callers answer 404)."""
    if not 1 <= product_id <= 2**31 - 1:
        return None
    return db.session.execute(
        select(Product).where(Product.id == product_id, _owned_by(seller_id))
    ).scalar_one_or_none()


def own_products(seller_id: int | None, limit: int = 300) -> list[Product]:
    return list(
        db.session.execute(
            select(Product).where(_owned_by(seller_id)).order_by(Product.id.desc()).limit(limit)
        ).scalars()
    )


def rules_of(seller_id: int | None) -> list[tuple[BuyNGetMRule, Product]]:
    seller_cond = BuyNGetMRule.seller_id.is_(None) if seller_id is None else BuyNGetMRule.seller_id == seller_id
    rows = db.session.execute(
        select(BuyNGetMRule, Product)
        .join(Product, Product.id == BuyNGetMRule.product_id)
        .where(seller_cond)
        .order_by(BuyNGetMRule.id)
    ).all()
    return [(r, p) for r, p in rows]


def rule_for_product(product_id: int) -> BuyNGetMRule | None:
    return db.session.execute(select(BuyNGetMRule).where(BuyNGetMRule.product_id == product_id)).scalar_one_or_none()


def parse_qty(value, field: str, low: int, high: int) -> int:
    """A form value as an integer in [low, high], else a DomainError naming ``field``."""
    text = str(value if value is not None else "").strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise DomainError(field, _("Enter a whole number from %(low)d to %(high)d.", low=low, high=high))
    return int(text)


def save_rule(product: Product, buy_qty: int, pay_qty: int, active: bool = True) -> BuyNGetMRule:
    """Create or change the product's rule (the caller checked ownership and
    commits). Raises :class:`DomainError` naming the field at fault."""
    if not 2 <= buy_qty <= MAX_QTY:
        raise DomainError("buy_qty", _("Enter a whole number from %(low)d to %(high)d.", low=2, high=MAX_QTY))
    if not 1 <= pay_qty < buy_qty:
        raise DomainError("pay_qty", _("Pay for at least 1 and fewer than %(n)d units.", n=buy_qty))
    rule = rule_for_product(product.id)
    if rule is None:
        rule = BuyNGetMRule(product_id=product.id)
        db.session.add(rule)
    rule.seller_id = product.seller_id
    rule.buy_qty, rule.pay_qty, rule.active = buy_qty, pay_qty, active
    try:
        db.session.flush()
    except IntegrityError:  # the same product saved twice at once
        db.session.rollback()
        raise DomainError(
            "product_id", _("This product's rule was just changed; try again."), code="conflict"
        ) from None
    return rule


def delete_rule(rule: BuyNGetMRule) -> None:
    db.session.delete(rule)
