"""Commission and the double-entry ledger (MS11).

Money lands in the platform's payment account; what the platform owes each
merchant is kept as ledger entries, never as a balance column. A balance is
``SUM(amount)`` of an account's entries.

Conventions
-----------
Every :class:`~jishi_multistore.models.LedgerJournal` is one event; its
:class:`~jishi_multistore.models.LedgerEntry` rows sum to zero. ``amount``
is fen, positive = credit. Merchant accounts are credit-balance accounts
(their sums are what the platform owes / has paid the merchant, never
negative); the platform's ``cash``, ``subsidy``, ``payouts`` and
``cod_offline`` are debit-balance accounts (their sums are <= 0).
``(kind, source_type, source_id)`` is unique: calling a hook again for the
same event posts nothing.

Merchant accounts (``merchant_id`` set):

- ``pending``         不可提现: paid online, order not completed
- ``available``       可提现 / 待提现: completed, after commission and refunds
- ``payout_pending``  待打款: withdrawal requested or approved, not yet paid
- ``paid_out``        已打款: paid to the merchant (cumulative)
- ``cod_collected``   cash on delivery the merchant collected itself
  (settled, never withdrawable: the money never reached the platform)
- ``sharing``         分账中: sent to the merchant's receiver account by
  profit sharing, the gateway has not confirmed yet (:mod:`.sharing`)
- ``returning``       分账回退中 (debit): a refund's merchant part being
  returned from the receiver account by the gateway
- ``owed``            欠款 (debit, <= 0): what the merchant owes the platform
  (a return the gateway refused); netted from its next payouts

Platform accounts (``merchant_id`` None):

- ``cash``        the platform's payment account (debit: money held)
- ``subsidy``     platform-funded discount shares the platform bears
- ``commission``  commission income
- ``payouts``     money sent to merchants (mirror of their ``paid_out``)
- ``refund_due``  money of a paid order the platform closed without a refund,
  owed back to the buyer
- ``cod_offline`` memo of cash collected by merchants (mirror of ``cod_collected``)
- ``charges``     what other plugins charged merchants (credit): money kept
  from the merchants' shares that the platform pays on, e.g. merchant-funded
  distribution commissions (:func:`charge`)

Postings (P = the order's pay amount, S = platform-funded discount shares
recorded in ``OrderAllocation`` with ``funded_by="platform"``; merchant-funded
shares simply are not part of what the merchant earns)::

  paid        (order, online pay)   cash -P, subsidy -S, M.pending +(P+S)
  completed   (order)               M.pending -X, M.available +X,
                                    M.available -C, commission +C
              X = what is left of the order in pending; C = commission
  cod_settled (order, COD complete) M.cod_collected +N, cod_offline -N
              N = P - refunded (no commission: the platform holds no money)
  refund      (refund, before completion)
                                    M.pending -(R+Sr), cash +R, subsidy +Sr
  refund      (refund, after completion)
                                    M.available -(R+Sr), cash +R, subsidy +Sr,
                                    commission -Cr, M.available +Cr
  cod_refund  (refund of a settled COD order)
                                    M.cod_collected -R, cod_offline +R
  closed      (order closed by the platform while paid, money not refunded)
                                    M.pending -rem, refund_due +(rem-Sl), subsidy +Sl
  withdraw_request (withdrawal)     M.available -W, M.payout_pending +W
  withdraw_reject  (withdrawal)     M.payout_pending -W, M.available +W
  withdraw_paid    (withdrawal)     M.payout_pending -W, M.paid_out +W,
                                    cash +W, payouts -W

Profit sharing (:mod:`.sharing`; A = what ``completed`` made withdrawable,
n = the debt netted from it, s = A - n sent to the receiver account, P =
the refund's merchant part ``R + Sr - Cr``, r = what of P can be returned
from the sharing, d = P - r)::

  share_request  (order)            M.available -A, M.owed +n, M.sharing +s
  share_paid     (profit_share)     M.sharing -s, M.paid_out +s, cash +s, payouts -s
  share_released (profit_share)     M.sharing -s, M.available +s
  refund         (refund, after a sharing)
                                    cash +R, subsidy +Sr, commission -Cr,
                                    M.returning -r, M.owed -d
  share_returned (profit_share)     M.returning +r, M.paid_out -r, cash -r, payouts +r
  share_debt     (profit_share)     M.returning +r, M.owed -r

Charges by other plugins (:func:`charge` / :func:`charge_back`; X = the
amount, o = what of it the merchant's withdrawable balance cannot cover)::

  charge       (before completion, online)  M.pending -X, charges +X
  charge       (completed, or COD)          M.available -(X-o), M.owed -o, charges +X
  charge_back  (before completion, online)  M.pending +X, charges -X
  charge_back  (completed, or COD)          M.owed +d, M.available +(X-d), charges -X
                                            d = what the merchant owes, at most X
  charge_back  (after ``closed``)           charges -X, refund_due +X

R = the refund's amount, Sr = the platform-funded shares it reverses
(``RefundReversal``). Approving a withdrawal moves no money (it stays in
``payout_pending``).

Commission
----------
The rate (basis points) is frozen on each merchant order line when the order
is placed (:class:`LineCommission`), resolved as: the merchant's own rate
(``Merchant.commission_bp``), else the rate of the line's category or its
nearest ancestor with one (``CategoryCommission``), else the rate of the
merchant's commission category (``Merchant.commission_category_id``), else
the platform default (setting ``multistore.commission_default_bp``).

At completion the commission of a line is ``round(base * rate / 10000)``
(half up) where ``base`` is what the merchant earns on the line: its paid
amount plus its platform-funded shares, minus what was refunded before. The
delivery fee goes to the merchant (it ships) and bears no commission. Base and
commission are stored on the line. A refund after completion reverses
``due(after) - due(before)`` where ``due(x) = commission * x // base`` of the
base refunded since completion (the whole commission once the line is fully
refunded), so the reversals of a line add up to exactly its commission.

A refund after completion is refused (409 ``merchant_balance``) when the
merchant's withdrawable balance cannot cover it (it was already withdrawn):
the platform settles that with the merchant first, and balances never go
negative.

Locking: postings that take money out of ``available`` (and the ones that
add to it) first bump ``Merchant.ledger_version`` with an atomic UPDATE —
the merchant row lock that serialises them on PostgreSQL (SQLite write
transactions are serial already). Payment postings only add to ``pending``
and take no lock (a payment of several merchants' orders would otherwise
lock several rows in arbitrary order).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from jishi.db import db, utcnow
from jishi.errors import DomainError
from sqlalchemy import (
    Integer,
    String,
    bindparam,
    cast,
    func,
    insert,
    literal,
    literal_column,
    null,
    select,
    union_all,
    update,
)

from jishi_multistore.models import (
    CategoryCommission,
    LedgerEntry,
    LedgerJournal,
    LineCommission,
    Merchant,
)

# Merchant accounts
PENDING = "pending"
AVAILABLE = "available"
PAYOUT_PENDING = "payout_pending"
PAID_OUT = "paid_out"
COD_COLLECTED = "cod_collected"
SHARING = "sharing"
RETURNING = "returning"
OWED = "owed"
MERCHANT_ACCOUNTS = (PENDING, AVAILABLE, PAYOUT_PENDING, PAID_OUT, COD_COLLECTED, SHARING, RETURNING, OWED)
# Platform accounts
CASH = "cash"
SUBSIDY = "subsidy"
COMMISSION = "commission"
PAYOUTS = "payouts"
REFUND_DUE = "refund_due"
COD_OFFLINE = "cod_offline"
CHARGES = "charges"
PLATFORM_ACCOUNTS = (CASH, SUBSIDY, COMMISSION, PAYOUTS, REFUND_DUE, COD_OFFLINE, CHARGES)

DEFAULT_COMMISSION_BP = 0
COMMISSION_SETTING = "multistore.commission_default_bp"
MAX_BP = 10000


class LedgerError(DomainError):
    pass


# -- posting -----------------------------------------------------------------


def posted(kind: str, source_type: str, source_id: int) -> bool:
    return (
        db.session.execute(
            select(LedgerJournal.id).where(
                LedgerJournal.kind == kind,
                LedgerJournal.source_type == source_type,
                LedgerJournal.source_id == source_id,
            )
        ).first()
        is not None
    )


def post(
    kind: str,
    source_type: str,
    source_id: int,
    merchant_id: int,
    legs: Iterable[tuple[int | None, str, int]],
    *,
    order_id: int | None = None,
    memo: str = "",
) -> LedgerJournal | None:
    """Write one balanced journal of ``legs`` (merchant_id or None, account,
    amount); None when this event was posted before (a replay)."""
    legs = [(m, a, int(x)) for m, a, x in legs if x]
    if sum(x for _m, _a, x in legs) != 0:
        raise AssertionError(f"journal {kind} {source_type}:{source_id} does not balance: {legs}")
    if posted(kind, source_type, source_id):
        return None
    now = utcnow()
    journal = LedgerJournal(
        merchant_id=merchant_id,
        kind=kind,
        source_type=source_type,
        source_id=source_id,
        order_id=order_id,
        memo=memo[:200],
        created_at=now,
    )
    db.session.add(journal)
    db.session.flush()
    if legs:
        db.session.execute(
            insert(LedgerEntry),
            [
                {"journal_id": journal.id, "merchant_id": m, "account": a, "amount": x, "created_at": now}
                for m, a, x in legs
            ],
        )
    return journal


def lock(merchant_id: int) -> None:
    """Take the merchant's ledger lock for the rest of the transaction."""
    db.session.execute(
        update(Merchant)
        .where(Merchant.id == merchant_id)
        .values(ledger_version=Merchant.ledger_version + 1)
        .execution_options(synchronize_session=False)
    )


# -- reading -----------------------------------------------------------------


def balances(merchant_id: int, *, start=None, end=None) -> dict[str, int]:
    """The merchant's accounts: {account: fen} (every merchant account present).
    With ``start``/``end`` (datetimes): the net movement in that range."""
    q = select(LedgerEntry.account, func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
        LedgerEntry.merchant_id == merchant_id
    )
    if start is not None:
        q = q.where(LedgerEntry.created_at >= start)
    if end is not None:
        q = q.where(LedgerEntry.created_at < end)
    out = dict.fromkeys(MERCHANT_ACCOUNTS, 0)
    for account, total in db.session.execute(q.group_by(LedgerEntry.account)).all():
        out[account] = int(total)
    return out


def withdrawable(bal: dict[str, int]) -> int:
    """What may be withdrawn from balances ``bal``: the withdrawable account
    less what the merchant owes the platform (its debt is netted first)."""
    return max(0, bal[AVAILABLE] + bal[OWED])


def balance(merchant_id: int, account: str) -> int:
    return int(
        db.session.execute(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.merchant_id == merchant_id, LedgerEntry.account == account
            )
        ).scalar_one()
    )


def platform_balances() -> dict[str, int]:
    out = dict.fromkeys(PLATFORM_ACCOUNTS, 0)
    rows = db.session.execute(
        select(LedgerEntry.account, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.merchant_id.is_(None))
        .group_by(LedgerEntry.account)
    ).all()
    for account, total in rows:
        out[account] = int(total or 0)
    return out


def _order_account(order_id: int, account: str) -> int:
    return int(
        db.session.execute(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0))
            .join(LedgerJournal, LedgerJournal.id == LedgerEntry.journal_id)
            .where(
                LedgerJournal.order_id == order_id, LedgerEntry.account == account, LedgerEntry.merchant_id.isnot(None)
            )
        ).scalar_one()
    )


def journals(merchant_id: int | None = None, *, limit: int = 50, before_id: int | None = None) -> list[LedgerJournal]:
    q = select(LedgerJournal).order_by(LedgerJournal.id.desc()).limit(limit)
    if merchant_id is not None:
        q = q.where(LedgerJournal.merchant_id == merchant_id)
    if before_id is not None:
        q = q.where(LedgerJournal.id < before_id)
    rows = db.session.execute(q).scalars().all()
    if rows:
        entries: dict[int, list[LedgerEntry]] = {}
        for e in db.session.execute(
            select(LedgerEntry).where(LedgerEntry.journal_id.in_([j.id for j in rows])).order_by(LedgerEntry.id)
        ).scalars():
            entries.setdefault(e.journal_id, []).append(e)
        from sqlalchemy.orm.attributes import set_committed_value

        for j in rows:
            set_committed_value(j, "entries", entries.get(j.id, []))
    return rows


# -- commission rates --------------------------------------------------------


def _rate_rows(merchant_ids: Sequence[int], category_ids: Sequence[int]):
    """Everything the rates of these merchants' lines depend on, in ONE
    statement: the merchants' own rates and commission categories, the
    category rates, the paths of the lines' (and merchants') categories and
    the stored platform default."""
    from jishi.catalog.models import Category
    from jishi.settings import Setting

    text_null = cast(null(), String)
    int_null = cast(null(), db.Integer)
    parts = [
        select(
            literal_column("'m'").label("k"),
            Merchant.id.label("id"),
            Merchant.commission_bp.label("rate"),
            Merchant.commission_category_id.label("ref"),
            text_null.label("txt"),
        ).where(Merchant.id.in_(list(merchant_ids))),
        select(literal_column("'c'"), CategoryCommission.category_id, CategoryCommission.rate_bp, int_null, text_null),
        select(literal_column("'p'"), Category.id, int_null, int_null, cast(Category.path, String)).where(
            Category.id.in_(list(category_ids))
            | Category.id.in_(select(Merchant.commission_category_id).where(Merchant.id.in_(list(merchant_ids))))
        ),
        select(literal_column("'s'"), literal_column("0"), int_null, int_null, cast(Setting.value, String)).where(
            Setting.key == COMMISSION_SETTING
        ),
    ]
    return db.session.execute(union_all(*parts)).all()


class RateTable:
    """Resolves a (merchant, category) to its rate in basis points."""

    def __init__(self, rows):
        self.merchants: dict[int, tuple[int | None, int | None]] = {}
        self.categories: dict[int, int] = {}
        self.paths: dict[int, str] = {}
        self.default = DEFAULT_COMMISSION_BP
        for k, ident, rate, ref, txt in rows:
            if k == "m":
                self.merchants[ident] = (rate, ref)
            elif k == "c":
                self.categories[ident] = int(rate)
            elif k == "p":
                self.paths[ident] = txt or ""
            elif k == "s":
                self.default = parse_bp(txt, DEFAULT_COMMISSION_BP)

    def _category_rate(self, category_id: int | None) -> int | None:
        if category_id is None:
            return None
        path = self.paths.get(category_id) or f"/{category_id}/"
        for part in reversed([p for p in path.split("/") if p]):
            if part.isdecimal() and int(part) in self.categories:
                return self.categories[int(part)]
        return self.categories.get(category_id)

    def rate(self, merchant_id: int, category_id: int | None) -> int:
        own, commission_category = self.merchants.get(merchant_id, (None, None))
        if own is not None:
            return int(own)
        for cat in (category_id, commission_category):
            found = self._category_rate(cat)
            if found is not None:
                return found
        return self.default


def parse_bp(value, default: int = DEFAULT_COMMISSION_BP) -> int:
    """A stored setting value (JSON text or int) as basis points in [0, 10000]."""
    try:
        n = int(str(value).strip().strip('"'))
    except (TypeError, ValueError):
        return default
    return n if 0 <= n <= MAX_BP else default


def rate_table(pairs: Iterable[tuple[int, int | None]]) -> RateTable:
    pairs = list(pairs)
    return RateTable(_rate_rows(sorted({m for m, _c in pairs}), sorted({c for _m, c in pairs if c is not None})))


def _category_rate_sql(category_id):
    """SQL of :meth:`RateTable._category_rate`: the rate of the deepest
    category with a rate of its own on ``category_id``'s materialised path
    (``/1/4/9/``: 9, then 4, then 1), the category's own when it has no
    path; NULL when none has one. Deeper is a longer path (an ancestor's
    path is a prefix of its descendants')."""
    from jishi.catalog.models import Category

    line_category = Category.__table__.alias("line_category")
    rated = Category.__table__.alias("rated_category")  # a commission's category (FK: always there)
    return (
        select(CategoryCommission.rate_bp)
        .join(rated, rated.c.id == CategoryCommission.category_id)
        .where(
            line_category.c.id == category_id,
            (CategoryCommission.category_id == line_category.c.id)
            | line_category.c.path.like(literal("%/") + cast(CategoryCommission.category_id, String) + literal("/%")),
        )
        .order_by(func.length(rated.c.path).desc())
        .limit(1)
        .scalar_subquery()
    )


def freeze_rates(orders) -> list:
    """The statement that writes the commission rate of every line of the
    merchant orders among ``orders`` (the :class:`jishi.hookspecs.PlacingOrder`
    of a placement, its rows not written yet), as a
    :class:`jishi.hookspecs.PlacingWrite` the kernel sends with the
    placement's INSERTs; none without merchant orders.

    ONE ``INSERT .. SELECT`` resolving the rates in SQL as
    :class:`RateTable` does (the merchant's own rate, else the line's
    category's, else the merchant's commission category's, else the
    platform default, a setting read with the request's settings), finding
    the orders by their numbers and the lines through them. (Issue 20: a
    lookup statement of its own before; then a round trip of its own, from
    ``order_placing``, once the orders' ids were known.)"""
    from jishi import settings
    from jishi.hookspecs import PlacingWrite
    from jishi.orders.models import Order, OrderLine

    numbers = [o.number for o in orders if o.seller_id is not None]
    if not numbers:
        return []
    default = parse_bp(settings.get(COMMISSION_SETTING), DEFAULT_COMMISSION_BP)
    if not _FREEZE_RATES:  # built once (its building cost more than its execution)
        rate = func.coalesce(
            Merchant.commission_bp,
            _category_rate_sql(OrderLine.category_id),
            _category_rate_sql(Merchant.commission_category_id),
            bindparam("default_bp", type_=Integer),
        )
        placed = select(Order.id).where(Order.number.in_(bindparam("numbers", expanding=True)))
        _FREEZE_RATES.append(
            insert(LineCommission)
            .from_select(
                ["order_line_id", "order_id", "merchant_id", "rate_bp"],
                select(OrderLine.id, OrderLine.order_id, Order.seller_id, rate)
                .join(Order, Order.id == OrderLine.order_id)
                .outerjoin(Merchant, Merchant.id == Order.seller_id)
                .where(
                    # the orders by their unique numbers, the lines by
                    # their orders: index probes, whatever the statistics
                    # said when a prepared statement's plan was made
                    Order.number.in_(bindparam("numbers", expanding=True)),
                    OrderLine.order_id.in_(placed.scalar_subquery()),
                ),
            )
            .returning(LineCommission.order_line_id)  # (so that the held SQL answers rows on every driver)
        )
    # run from its SQL compiled once per dialect and per padded size of
    # the numbers' IN list (the kernel holds it in _FREEZE_RATES_SQL)
    return [PlacingWrite(_FREEZE_RATES[0], {"default_bp": default, "numbers": numbers}, _FREEZE_RATES_SQL)]


_FREEZE_RATES: list = []
_FREEZE_RATES_SQL: dict = {}  # per dialect: the INSERT's held SQL (jishi.db.held_rows' forms)


def current_rate(merchant_id: int, category_id: int | None) -> int:
    return rate_table([(merchant_id, category_id)]).rate(merchant_id, category_id)


def commission_of(base: int, rate_bp: int) -> int:
    """Half-up rounding to the fen."""
    if base <= 0 or rate_bp <= 0:
        return 0
    return (base * rate_bp + MAX_BP // 2) // MAX_BP


# -- order events ------------------------------------------------------------


def _platform_shares(order_id: int) -> dict[int, tuple[int, int]]:
    """{order_line_id: (platform-funded amount, reversed so far)}."""
    from jishi.orders.models import OrderAllocation

    rows = db.session.execute(
        select(
            OrderAllocation.order_line_id, func.sum(OrderAllocation.amount), func.sum(OrderAllocation.reversed_amount)
        )
        .where(OrderAllocation.order_id == order_id, OrderAllocation.funded_by == "platform")
        .group_by(OrderAllocation.order_line_id)
    ).all()
    return {line_id: (int(a or 0), int(r or 0)) for line_id, a, r in rows}


def is_online(order) -> bool:
    return order.payment_method != "cod" and order.paid_at is not None


def post_paid(order) -> LedgerJournal | None:
    """An online payment of a merchant order: the money waits, not withdrawable."""
    if order.seller_id is None or not is_online(order):
        return None
    subsidy = sum(a for a, _r in _platform_shares(order.id).values())
    return post(
        "paid",
        "order",
        order.id,
        order.seller_id,
        [
            (None, CASH, -order.pay_amount),
            (None, SUBSIDY, -subsidy),
            (order.seller_id, PENDING, order.pay_amount + subsidy),
        ],
        order_id=order.id,
        memo=order.number,
    )


def post_closed(order) -> LedgerJournal | None:
    """A paid order closed with money still held for it (the platform closed
    it without refunding): the money is owed back to the buyer."""
    if order.seller_id is None or not posted("paid", "order", order.id):
        return None
    remaining = _order_account(order.id, PENDING)
    if remaining <= 0:
        return None
    subsidy = sum(a - r for a, r in _platform_shares(order.id).values())
    subsidy = min(max(subsidy, 0), remaining)
    return post(
        "closed",
        "order",
        order.id,
        order.seller_id,
        [(order.seller_id, PENDING, -remaining), (None, REFUND_DUE, remaining - subsidy), (None, SUBSIDY, subsidy)],
        order_id=order.id,
        memo=order.number,
    )


def settle_order(order) -> LedgerJournal | None:
    """Completion: the order's money becomes withdrawable, less commission
    (online), or its cash-on-delivery settlement is recorded."""
    if order.seller_id is None:
        return None
    mid = order.seller_id
    if order.payment_method == "cod":
        if posted("cod_settled", "order", order.id):
            return None
        collected = order.pay_amount - order.refunded_amount
        return post(
            "cod_settled",
            "order",
            order.id,
            mid,
            [(mid, COD_COLLECTED, collected), (None, COD_OFFLINE, -collected)],
            order_id=order.id,
            memo=order.number,
        )
    if not posted("paid", "order", order.id) or posted("completed", "order", order.id):
        return None
    from jishi.orders.models import OrderLine

    lock(mid)
    remaining = _order_account(order.id, PENDING)
    shares = _platform_shares(order.id)
    lines = db.session.execute(
        select(OrderLine.id, OrderLine.category_id, OrderLine.pay_amount, OrderLine.refunded_amount).where(
            OrderLine.order_id == order.id
        )
    ).all()
    frozen = {
        lc.order_line_id: lc
        for lc in db.session.execute(select(LineCommission).where(LineCommission.order_id == order.id)).scalars()
    }
    missing = [line for line in lines if line.id not in frozen]
    if missing:  # placed before the plugin froze rates: today's rate
        table = rate_table([(mid, line.category_id) for line in missing])
        for line in missing:
            lc = LineCommission(
                order_line_id=line.id, order_id=order.id, merchant_id=mid, rate_bp=table.rate(mid, line.category_id)
            )
            db.session.add(lc)
            frozen[line.id] = lc
    commission = 0
    for line in lines:
        amount, reversed_ = shares.get(line.id, (0, 0))
        base = max(0, line.pay_amount - line.refunded_amount + amount - reversed_)
        lc = frozen[line.id]
        lc.base = base
        lc.amount = commission_of(base, lc.rate_bp)
        commission += lc.amount
    commission = min(commission, remaining)
    return post(
        "completed",
        "order",
        order.id,
        mid,
        [
            (mid, PENDING, -remaining),
            (mid, AVAILABLE, remaining),
            (mid, AVAILABLE, -commission),
            (None, COMMISSION, commission),
        ],
        order_id=order.id,
        memo=order.number,
    )


def settle_refund(refund) -> LedgerJournal | None:
    """Reverse what was recorded for the refunded part of a merchant order."""
    from jishi.aftersales.models import RefundLine, RefundReversal
    from jishi.orders.models import Order, OrderAllocation, OrderLine

    order = db.session.get(Order, refund.order_id)
    if order is None or order.seller_id is None:
        return None
    mid = order.seller_id
    if posted("refund", "refund", refund.id) or posted("cod_refund", "refund", refund.id):
        return None
    amount = int(refund.amount)
    if order.payment_method == "cod":
        if not posted("cod_settled", "order", order.id):
            # Before completion: the settlement will count only what is left;
            # an empty journal marks this refund as handled (replays post nothing).
            return post("cod_refund", "refund", refund.id, mid, [], order_id=order.id, memo=refund.number)
        lock(mid)
        amount = min(amount, balance(mid, COD_COLLECTED))
        return post(
            "cod_refund",
            "refund",
            refund.id,
            mid,
            [(mid, COD_COLLECTED, -amount), (None, COD_OFFLINE, amount)],
            order_id=order.id,
            memo=refund.number,
        )
    if not posted("paid", "order", order.id):
        return None  # cash on delivery not settled yet, or nothing was paid online: nothing recorded
    refund_lines = db.session.execute(
        select(RefundLine.id, RefundLine.order_line_id, RefundLine.amount).where(RefundLine.refund_id == refund.id)
    ).all()
    reversed_by_line: dict[int, int] = {}
    if refund_lines:
        for rl_id, total in db.session.execute(
            select(RefundReversal.refund_line_id, func.sum(RefundReversal.amount))
            .join(OrderAllocation, OrderAllocation.id == RefundReversal.allocation_id)
            .where(
                RefundReversal.refund_line_id.in_([r.id for r in refund_lines]), OrderAllocation.funded_by == "platform"
            )
            .group_by(RefundReversal.refund_line_id)
        ).all():
            reversed_by_line[rl_id] = int(total or 0)
    subsidy_back = sum(reversed_by_line.values())
    if not posted("completed", "order", order.id):
        return post(
            "refund",
            "refund",
            refund.id,
            mid,
            [(mid, PENDING, -(amount + subsidy_back)), (None, CASH, amount), (None, SUBSIDY, subsidy_back)],
            order_id=order.id,
            memo=refund.number,
        )
    # After completion: out of the withdrawable balance, commission given back.
    lock(mid)
    line_ids = [r.order_line_id for r in refund_lines]
    shares = _platform_shares(order.id)
    state = (
        {
            row.id: row
            for row in db.session.execute(
                select(
                    OrderLine.id,
                    OrderLine.pay_amount,
                    OrderLine.refunded_amount,
                    LineCommission.base,
                    LineCommission.amount.label("commission"),
                )
                .join(LineCommission, LineCommission.order_line_id == OrderLine.id)
                .where(OrderLine.id.in_(line_ids))
            ).all()
        }
        if line_ids
        else {}
    )
    commission_back = 0
    for rl in refund_lines:
        row = state.get(rl.order_line_id)
        if row is None or not row.base or not row.commission:
            continue
        a, r = shares.get(rl.order_line_id, (0, 0))
        remaining_now = row.pay_amount - row.refunded_amount + a - r
        after = row.base - remaining_now
        before = after - (rl.amount + reversed_by_line.get(rl.id, 0))
        commission_back += _due(row.commission, row.base, after) - _due(row.commission, row.base, before)
    out = amount + subsidy_back
    from jishi_multistore import sharing

    shared = sharing.refund_after_sharing(order, refund, amount, subsidy_back, commission_back)
    if shared is not None:
        return shared
    available = balance(mid, AVAILABLE)
    if out - commission_back > available:
        from jishi.i18n import gettext as _

        raise LedgerError(
            "amount",
            _(
                "The merchant's withdrawable balance (%(balance)s) cannot cover this refund; settle it with the merchant first.",
                balance=available,
            ),  # 商户可提现余额不足
            code="merchant_balance",
            status=409,
        )
    return post(
        "refund",
        "refund",
        refund.id,
        mid,
        [
            (mid, AVAILABLE, -out),
            (None, CASH, amount),
            (None, SUBSIDY, subsidy_back),
            (None, COMMISSION, -commission_back),
            (mid, AVAILABLE, commission_back),
        ],
        order_id=order.id,
        memo=refund.number,
    )


# -- charges by other plugins -------------------------------------------------

CHARGE = "charge"
CHARGE_BACK = "charge_back"


def _charge_order(merchant_id: int, order_id: int):
    from jishi.orders.models import Order

    order = db.session.get(Order, order_id)
    if order is None or order.seller_id != merchant_id:
        raise ValueError(f"order {order_id} is not merchant {merchant_id}'s")
    return order


def _unsettled(order) -> bool:
    """The order's money still waits in ``pending`` (paid online, neither
    completed nor closed): a charge then lowers what completion settles."""
    return is_online(order) and not posted("completed", "order", order.id) and not posted("closed", "order", order.id)


def charge(
    merchant_id: int, order_id: int, amount: int, *, source_type: str, source_id: int, memo: str = ""
) -> LedgerJournal | None:
    """PUBLIC: charge the merchant ``amount`` fen for its order ``order_id``
    on behalf of another plugin (e.g. a merchant-funded distribution
    commission), in the caller's transaction (no commit).

    Idempotent by ``(source_type, source_id)`` (``source_type`` at most 20
    characters, naming the caller's record): a second call posts nothing and
    returns None. While the order is paid online and not yet completed, the
    charge comes off the order's ``pending`` money, so completion settles
    that much less (the platform's commission, computed on the lines, is
    unchanged). Once the order is completed (or for cash on delivery) it is
    a debit against the merchant's balance: from the withdrawable balance,
    and what that cannot cover becomes ``owed`` (netted from its next
    payouts). The money goes to the platform account ``charges``.
    """
    if amount < 0:
        raise ValueError("a charge is not negative")
    if posted(CHARGE, source_type, source_id):
        return None
    order = _charge_order(merchant_id, order_id)
    if _unsettled(order):
        legs = [(merchant_id, PENDING, -amount), (None, CHARGES, amount)]
    else:
        lock(merchant_id)
        bal = balances(merchant_id)
        covered = min(max(0, bal[AVAILABLE] + bal[OWED]), amount)
        legs = [(merchant_id, AVAILABLE, -covered), (merchant_id, OWED, -(amount - covered)), (None, CHARGES, amount)]
    return post(CHARGE, source_type, source_id, merchant_id, legs, order_id=order_id, memo=memo)


def charge_back(
    merchant_id: int, order_id: int, amount: int, *, source_type: str, source_id: int, memo: str = ""
) -> LedgerJournal | None:
    """PUBLIC: give back ``amount`` fen of what :func:`charge` took for the
    order (a refund reversed that part), in the caller's transaction.

    Idempotent by ``(source_type, source_id)`` (its own key, e.g. the
    refund). Before completion it returns to the order's ``pending`` money;
    after completion (or for cash on delivery) it first pays off what the
    merchant owes, the rest becomes withdrawable; after the platform closed
    the order without a refund it is owed back to the buyer (``refund_due``).
    The caller never gives back more than it charged.
    """
    if amount < 0:
        raise ValueError("a charge back is not negative")
    if posted(CHARGE_BACK, source_type, source_id):
        return None
    order = _charge_order(merchant_id, order_id)
    if posted("closed", "order", order.id):
        legs = [(None, CHARGES, -amount), (None, REFUND_DUE, amount)]
    elif _unsettled(order):
        legs = [(merchant_id, PENDING, amount), (None, CHARGES, -amount)]
    else:
        lock(merchant_id)
        debt = min(max(0, -balance(merchant_id, OWED)), amount)
        legs = [(merchant_id, OWED, debt), (merchant_id, AVAILABLE, amount - debt), (None, CHARGES, -amount)]
    return post(CHARGE_BACK, source_type, source_id, merchant_id, legs, order_id=order_id, memo=memo)


def _due(commission: int, base: int, refunded_base: int) -> int:
    """Commission reversed once ``refunded_base`` of ``base`` is refunded."""
    if refunded_base <= 0:
        return 0
    if refunded_base >= base:
        return commission
    return commission * refunded_base // base
