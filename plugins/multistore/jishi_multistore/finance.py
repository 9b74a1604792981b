"""Settlement, withdrawals and merchant data (MS11, MS12, MS16).

- :mod:`.ledger`       commission rates and the double-entry ledger (the
  accounts and every posting are documented there)
- :mod:`.withdrawals`  withdrawal rules, requests, review, payout, overview
- this module          the kernel hooks, the settings panels, the console
  menus and the merchant data page's figures

Hooks:

- ``order_placing``: freezes the commission rate of every merchant order line
  (one lookup, one INSERT ... SELECT per checkout; nothing without merchant
  orders).
- ``order_transitioned``: ``pay`` of an online-paid merchant order posts
  ``paid`` (in the payment's transaction); ``close`` of a paid order still
  holding money posts ``closed``. Orders closed before payment and the
  platform's own orders (``seller_id`` None) post nothing.
- ``settle_order``: completion posts ``completed`` (online) or
  ``cod_settled`` (cash on delivery: settled, never withdrawable); in the
  profit-sharing mode the share follows (:mod:`.sharing`).
- ``settle_refund``: reverses the refunded part (``refund`` / ``cod_refund``).

Merchant data (MS16) visits are the kernel's ``page_visits`` counters of the
merchant's shop page (kind ``"shop"``, ref = merchant id) plus the product
pages (kind ``"product"``) of its products.
"""

from __future__ import annotations

from datetime import date, timedelta

from jishi.db import utcnow
from jishi.hookspecs import MenuItem, SettingField, SettingsPanel, hookimpl
from jishi.i18n import lazy_gettext as _l
from jishi.i18n import to_shop_time

from jishi_multistore import ledger, withdrawals

# -- hooks -------------------------------------------------------------------


@hookimpl
def order_placing_writes(orders):
    return ledger.freeze_rates(orders)


@hookimpl
def order_transitioned(order, name, from_status, actor_kind):
    if order.seller_id is None:
        return
    if name == "pay":
        ledger.post_paid(order)
    elif name == "close" and from_status != "pending_payment":
        ledger.post_closed(order)


@hookimpl
def settle_order(order):
    ledger.settle_order(order)
    from jishi_multistore import sharing

    sharing.on_completed(order)


@hookimpl
def settle_refund(refund):
    ledger.settle_refund(refund)


@hookimpl
def settings_panels():
    return [
        SettingsPanel(
            "multistore_commission",
            str(_l("Multi-merchant: commission")),  # 多商户-佣金
            (
                SettingField(
                    ledger.COMMISSION_SETTING,
                    str(_l("Default commission")),
                    "percent",
                    ledger.DEFAULT_COMMISSION_BP,
                    help=str(_l("Used when neither the merchant nor the product's category has a rate of its own.")),
                ),
            ),
            sort=60,
        ),
        SettingsPanel(
            "multistore_withdraw",
            str(_l("Multi-merchant: withdrawals")),  # 多商户-提现规则
            (
                SettingField(
                    withdrawals.PAYOUT_SETTING,
                    str(_l("Payout")),
                    "choice",
                    "manual",
                    choices=(("manual", str(_l("Manual payout (offline)"))),),
                ),  # 手动打款
                SettingField(
                    withdrawals.MIN_SETTING,
                    str(_l("Minimum per withdrawal")),
                    "money",
                    withdrawals.MIN_FLOOR,
                    help=str(_l("At least 5 yuan.")),
                ),  # 单笔提现不得低于5元
                SettingField(
                    withdrawals.INTERVAL_SETTING,
                    str(_l("One withdrawal per how many days")),
                    "int",
                    1,
                    help=str(_l("At least 1.")),
                ),  # 提现周期
                SettingField(
                    withdrawals.AGREEMENT_SETTING, str(_l("Withdrawal agreement")), "textarea", ""
                ),  # 提现协议
            ),
            sort=61,
        ),
    ]


@hookimpl
def console_menu_items(console, principal):
    return [
        MenuItem(
            str(_l("Withdrawals")),
            "multistore_admin.withdrawals",
            console="platform",
            permission="money",
            sort=84,
            group="finance",
        ),  # 提现审批
        MenuItem(
            str(_l("Settlement overview")),
            "multistore_admin.settlement",
            console="platform",
            permission="money",
            sort=85,
            group="finance",
        ),  # 资金对账
        MenuItem(
            str(_l("Commission")),
            "multistore_admin.commission",
            console="platform",
            permission="commission",
            sort=86,
            group="finance",
        ),  # 佣金
        MenuItem(
            str(_l("Finance / Withdrawals")),
            "merchant.finance",
            console="merchant",
            sort=70,
            permission="money",
            group="finance",
        ),  # 提现
        MenuItem(
            str(_l("Data")), "merchant.data", console="merchant", sort=80, permission="data", group="finance"
        ),  # 数据
    ]


# -- merchant data (MS16) ------------------------------------------------------


def day_range(start: date | None, end: date | None) -> tuple[date, date]:
    today = to_shop_time(utcnow()).date()
    end = end or today
    start = start or (end - timedelta(days=29))
    if start > end:
        start, end = end, start
    return start, end


def merchant_data(merchant_id: int, start: date | None = None, end: date | None = None, grain: str = "day") -> dict:
    """The merchant data page (商铺概况, 交易分析, 商品分析; issue 19) for a
    date range, from the kernel's daily report aggregates of this seller.

    ``overview``: paid, refunded, paid orders, buyers, items (units), page
    views (``visits``: the shop page and the product pages) and unique
    visitors for the range, and the money balances as of now (paid out,
    awaiting withdrawal, non-withdrawable...); ``funnel``: by unique
    visitor (visitors, carted, ordered, paid, with the rates); ``products``:
    the product analysis; ``report``: everything the report pages show
    (trend, sections...), as the platform's reports API answers it."""
    from jishi.reports import service as reports

    start, end = day_range(start, end)
    report = reports.report_data(start, end, merchant_id, grain)
    cur = report["overview"]["current"]
    product_views = sum(p["pv"] for p in report["products"]["items"])
    bal = ledger.balances(merchant_id)
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "overview": {
            "paid_amount": cur["paid_amount"],
            "refunded_amount": cur["refund_amount"],
            "paid_out": bal[ledger.PAID_OUT],
            "awaiting_withdrawal": bal[ledger.AVAILABLE],
            "pending_payout": bal[ledger.PAYOUT_PENDING],
            "non_withdrawable": bal[ledger.PENDING],
            "cod_collected": bal[ledger.COD_COLLECTED],
            "paid_orders": cur["paid_orders"],
            "buyers": cur["buyers"],
            "items": cur["units"],
            "visits": cur["pv"],
            "visitors": cur["uv"],
            "product_visits": product_views,
            "shop_visits": max(cur["pv"] - product_views, 0),
        },
        "funnel": report["funnel"],
        "products": report["products"],
        "report": report,
    }


def finance_summary(merchant) -> dict:
    """The merchant's balances and the withdrawal rules (its finance page)."""
    bal = ledger.balances(merchant.id)
    r = withdrawals.rules()
    next_day = withdrawals.next_allowed_day(merchant.id, r["interval_days"])
    today = withdrawals.local_day(utcnow())
    return {
        "withdrawable": ledger.withdrawable(bal),
        "pending_payout": bal[ledger.PAYOUT_PENDING],
        "non_withdrawable": bal[ledger.PENDING],
        "paid_out": bal[ledger.PAID_OUT],
        "cod_collected": bal[ledger.COD_COLLECTED],
        "sharing": bal[ledger.SHARING],
        "returning": -bal[ledger.RETURNING],
        "owed": -bal[ledger.OWED],
        "rules": r,
        "next_allowed_day": next_day.isoformat() if next_day and next_day > today else None,
        "account": dict(merchant.withdraw_account or {}),
    }


@hookimpl
def report_sections(start, end, seller_id):
    """Issue 19: the platform's income per day and the merchant statements,
    from the ledger (:mod:`.reports`)."""
    from jishi_multistore import reports

    return reports.report_sections(start, end, seller_id)
