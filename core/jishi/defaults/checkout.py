"""Default checkout behaviour: one group, member price, proportional
allocation, the kernel's own checkout validation."""

from __future__ import annotations

from jishi.hookspecs import CartGroup, PriceRule, Problem, SettingField, SettingsPanel, hookimpl
from jishi.money import allocate

MEMBER_PRICE_PRIORITY = 10


@hookimpl(trylast=True)
def split_cart(lines, user):
    if not lines:
        return []
    return [CartGroup(key="shop", title="", line_keys=tuple(line.key for line in lines), seller_id=None)]


@hookimpl(tryfirst=True)  # the first of the batch rules, right after the lines' own (as it was, the last of those)
def price_rules(lines, user):
    """The member price of every line, for a buyer with a member level:
    the batch form (one hook call per pricing, not one per line; a buyer
    without a level costs nothing per line, issue 20)."""
    if user is None or getattr(user, "member_level_id", None) is None:
        return None
    out = {}
    for line in lines:
        member_price = getattr(line.sku, "member_price", None)
        if member_price is not None:
            out[line.key] = [
                PriceRule(
                    source="member", unit_price=member_price, priority=MEMBER_PRICE_PRIORITY, label="member price"
                )
            ]
    return out or None


@hookimpl(trylast=True)
def allocate_discount(discount, lines):
    return allocate(discount.amount, [line.payable for line in lines])


@hookimpl(trylast=True)
def validate_checkout(checkout):
    from jishi.i18n import lazy_gettext as _l

    problems = []
    if not checkout.lines:
        problems.append(Problem("empty", str(_l("Nothing to check out.")), field="items"))
    for line in checkout.lines:
        if not line.on_shelf:
            problems.append(
                Problem(
                    "off_shelf",
                    str(_l("%(name)s is no longer on sale.", name=line.name)),
                    field="items",
                    line_key=line.key,
                )
            )
        elif line.stock < line.quantity:
            problems.append(
                Problem(
                    "out_of_stock",
                    str(_l("Only %(n)d of %(name)s left.", n=max(line.stock, 0), name=line.name)),
                    field="items",
                    line_key=line.key,
                )
            )
        if line.quantity_limit is not None and line.quantity > line.quantity_limit:
            problems.append(
                Problem(
                    "limit",
                    str(_l("At most %(n)d of %(name)s at this price.", n=line.quantity_limit, name=line.name)),
                    field="items",
                    line_key=line.key,
                )
            )
    for group in checkout.groups:
        if group.delivery is None:
            problems.append(
                Problem("delivery", str(_l("Choose a delivery method.")), field="delivery", group_key=group.key)
            )
        elif not group.delivery.available:
            problems.append(
                Problem(
                    "delivery",
                    group.delivery.reason or str(_l("This delivery method is not available.")),
                    field="delivery",
                    group_key=group.key,
                )
            )
        elif group.delivery.needs_address and checkout.address is None:
            problems.append(
                Problem("address", str(_l("Choose a delivery address.")), field="address_id", group_key=group.key)
            )
    return problems


@hookimpl
def settings_panels():
    """How a checkout of several stores is paid (``payment.mode``; unset:
    the ``JISHI_PAYMENT_MODE`` config)."""
    from jishi.i18n import lazy_gettext as _l

    return [
        SettingsPanel(
            "payment",
            str(_l("Payment")),
            (
                SettingField(
                    "payment.mode",
                    str(_l("Orders of several stores are paid")),
                    "choice",
                    None,
                    help=str(_l("Once for all the orders of a checkout, or one payment per store.")),
                    choices=(
                        ("combined", str(_l("together, in one payment"))),
                        ("per_order", str(_l("per store, one payment each"))),
                    ),  # 合并支付 / 按店铺分别支付
                ),
            ),
            sort=12,
        )
    ]
