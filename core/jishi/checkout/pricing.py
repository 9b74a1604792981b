"""Price-rule precedence, in one place (documented beside ``line_price_rules``).

Among the base price (priority 0) and every collected rule: highest
``priority`` wins; among equal priorities, the lowest ``unit_price``; among
equal prices, the earlier rule. Built-in priorities: member 10, group 50,
flash 100 — a flash price beats a member price even when it is higher,
because the buyer chose the flash sale.
"""

from __future__ import annotations

from collections.abc import Sequence

from jishi.hookspecs import PriceRule


def resolve_price(base_price: int, rules: Sequence[PriceRule]) -> PriceRule:
    best = PriceRule(source="base", unit_price=base_price, priority=0)
    for rule in rules:
        if rule is None:
            continue
        if rule.unit_price < 0:
            raise ValueError(f"price rule {rule.source!r} gave a negative price")
        if (rule.priority, -rule.unit_price) > (best.priority, -best.unit_price):
            best = rule
    return best
