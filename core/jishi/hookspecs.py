"""The Jishi extension contract.

Every hook a plugin may implement is declared here, typed and documented.
The docs' hook reference (``docs/plugin-hooks.md``) is generated from these
docstrings by ``jishi docs hooks``, and ``tests/test_hook_contract.py`` keeps
the two together: every hook is documented with its exact argument names and
has a ``test_hook_<name>`` somewhere in the test suite.

Hooks *compute or contribute* something the kernel then uses; results are
plain frozen dataclasses, never ORM side effects (the exceptions, called
inside a transaction on purpose, say so). Things that *happened* are announced
with blinker signals in :mod:`jishi.signals`.

The kernel's own behaviour for each hook lives in :mod:`jishi.defaults`,
registered before any plugin, so that a shop works with no plugin installed.

Add arguments to a hook, never rename them: pluggy passes only the arguments
an implementation names, so old plugins keep working.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy

if TYPE_CHECKING:  # pragma: no cover - the kernel's types, for annotations only
    from datetime import date, datetime

    import click
    from flask import Blueprint, Flask
    from flask_smorest import Blueprint as ApiBlueprint
    from markupsafe import Markup
    from sqlalchemy import ColumnElement

    from jishi.accounts.models import Address, User
    from jishi.aftersales.models import Refund
    from jishi.catalog.models import Product
    from jishi.checkout.service import Checkout, CheckoutGroup, CheckoutLine
    from jishi.orders.models import Order, OrderLine, PaymentOrder

PROJECT = "jishi"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

_F = TypeVar("_F", bound=Callable[..., Any])


def slots(*names: str) -> Callable[[_F], _F]:
    """Declare the slots a ``template_slot`` implementation answers::

        @hookimpl
        @slots("product_detail_after_price", "account_links")
        def template_slot(slot, context): ...

    The kernel then calls it for those slots only (a page's slot is not
    offered to every plugin). An implementation without the declaration
    is called for every slot, as before."""

    def mark(func: _F) -> _F:
        func.jishi_slots = frozenset(names)  # type: ignore[attr-defined]
        return func

    return mark


# ---------------------------------------------------------------------------
# Result types
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CartGroup:
    """One group of cart lines that becomes one order.

    ``key`` is stable across requests (e.g. ``"seller:12"``); ``seller_id`` is
    the owner of the group's products (``None``: the platform / the shop).
    ``line_keys`` lists the :class:`~jishi.checkout.service.CheckoutLine` keys
    in the group, in display order.
    """

    key: str
    title: str
    line_keys: tuple[str, ...]
    seller_id: int | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class PriceRule:
    """A candidate unit price for one line.

    The kernel picks, among all rules collected for a line, the one with the
    highest ``priority``; among equal priorities, the lowest ``unit_price``.
    The base SKU price has priority 0 and always takes part. Built-in
    priorities: member price 10, group price 50, flash price 100.
    ``quantity_limit`` caps how many units may take this price (the rest of
    the line then fails validation rather than silently changing price).

    A price that comes with its own stock (a flash sale's units) says so:
    ``stock`` is how many units are left at this price and ``stock_source``
    names the pool they come from. When the rule wins, the line's ``stock``
    (the kernel's "only N left" checks, the cart, the product page) is
    ``stock`` and the order line is written with ``stock_source``, which the
    pool's ``reserve_stock`` then takes and ``release_stock`` recognises.
    A rule that loses changes nothing.
    """

    source: str
    unit_price: int
    priority: int = 0
    label: str = ""
    quantity_limit: int | None = None
    data: dict = field(default_factory=dict)
    stock: int | None = None
    stock_source: str | None = None


@dataclass(frozen=True)
class DeliveryOption:
    """A way to deliver one group, with its fee in fen.

    ``available`` False keeps the option visible with ``reason`` (e.g. "outside
    the 5 km service radius") but not choosable. ``data`` is stored on the
    order (e.g. the chosen pickup point or time slot).
    """

    code: str
    label: str
    fee: int
    available: bool = True
    reason: str = ""
    data: dict = field(default_factory=dict)
    needs_address: bool = True


#: How an order leaves its seller (:class:`Fulfilment` ``mode``).
FULFILMENT_MODES = ("parcel", "plain", "dispatch", "handover")


@dataclass(frozen=True)
class Fulfilment:
    """How an order of one delivery method leaves its seller (``order_fulfilment``).

    ``mode`` is one of :data:`FULFILMENT_MODES`:

    - ``parcel``: shipped with a carrier and a tracking number (both required);
    - ``plain``: shipped with nothing to track (virtual goods);
    - ``dispatch``: handed to a rider by the method's own action, never
      shipped by hand: ``action`` is its endpoint (POST, called with
      ``order_id``; it honours a ``next`` form field), ``fields`` the form
      fields it takes as (name, label) pairs;
    - ``handover``: never shipped (the buyer collects it); ``note`` says how.

    ``label`` names the delivery method in order lists.
    """

    mode: str
    label: str
    action: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Discount:
    """An order-level discount contributed by a marketing plugin.

    ``amount`` fen is spread by the kernel over ``line_keys`` (the eligible
    lines; empty = every line) in proportion to their payable amounts by
    largest remainder, and recorded per line. ``funded_by`` is ``"platform"``
    or ``"seller"``: a seller-funded discount must only name lines of that
    seller's group (the kernel checks). The kernel caps a discount at the
    payable amount of its lines.
    """

    source: str
    label: str
    amount: int
    line_keys: tuple[str, ...] = ()
    funded_by: str = "platform"
    seller_id: int | None = None
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """Why a checkout cannot proceed. ``field`` names the input at fault."""

    code: str
    message: str
    field: str | None = None
    line_key: str | None = None
    group_key: str | None = None


@dataclass(frozen=True)
class SellerProfile:
    """What buyers see about a seller (a product's or an order's owner).

    ``url`` links to the seller's shop page; ``status`` is the seller's
    business state (``"open"`` sells normally) with ``status_label`` the
    text shown next to the name (e.g. "已打烊"); ``can_sell`` False means
    its products cannot be bought now. ``category`` is the seller's business
    category as the seller plugin records it (multistore: the merchant's
    category, free text such as "茶叶"; "" when it has none), for plugins that
    offer things per category (the designer's page templates).
    """

    id: int
    name: str
    url: str = ""
    logo: str = ""
    status: str = "open"
    status_label: str = ""
    can_sell: bool = True
    category: str = ""


@dataclass(frozen=True)
class SellerScope:
    """Which seller the signed-in user acts for, and what they may do.

    Every seller-scoped page and API of a plugin (pickup points, delivery
    templates, shipping...) takes the seller from here, never from the
    request. ``seller_id`` None is the shop itself (the platform's own shop).
    ``permissions`` uses the words ``orders``, ``comments``, ``products``,
    ``money``, ``settings``, ``data``. ``read_only`` scopes (the platform
    looking at a merchant's console) may only read. ``layout`` is the
    template seller pages extend, ``console`` the menu they show.
    """

    seller_id: int | None
    name: str
    role: str
    permissions: frozenset = frozenset()
    read_only: bool = False
    console: str = "platform"
    layout: str = "console/base.html"

    def can(self, permission: str) -> bool:
        return permission in self.permissions


@dataclass(frozen=True)
class StockReservation:
    """What a stock hook did for one line (``source`` names the pool)."""

    source: str
    quantity: int


@dataclass(frozen=True)
class PlacingOrder:
    """An order a placement is about to write (:func:`order_placing_writes`):
    the unique ``number`` it was given (its row, and so its id, not written
    yet), its store (None: the platform's own), and the checkout and group
    it is made of."""

    number: str
    seller_id: int | None
    checkout: Checkout
    group: CheckoutGroup


@dataclass(frozen=True)
class PlacingWrite:
    """A plugin's statement run with a placement's INSERTs
    (:func:`order_placing_writes`).

    ``statement``: a Core ``INSERT``/``UPDATE``/``DELETE`` with ``RETURNING``
    (so that it answers rows on every driver), built once and kept by the
    plugin; ``params``: its parameters (an expanding ``IN`` takes a list);
    ``forms``: a dict the plugin keeps with the statement, where the kernel
    holds its compiled SQL per dialect (as ``jishi.db.held_rows`` takes it;
    None: SQLAlchemy runs it, and the placement's statements go one by
    one). ``check``: called with its rows after the placement's statements
    have run; may raise :class:`jishi.checkout.errors.CheckoutError` to roll
    the whole placement back."""

    statement: Any
    params: Mapping[str, Any]
    forms: dict | None = None
    check: Callable[[list], None] | None = None


# -- payment gateways (the payment contract) --------------------------------

#: The ways a buyer's client can pay, a gateway lists those it supports in
#: :attr:`PaymentGateway.channels`: ``pc`` (a desktop browser page), ``h5``
#: (a phone browser), ``jsapi`` (inside WeChat's own browser, 公众号),
#: ``mini_program`` (a WeChat or Alipay mini-program: the client gets the
#: parameters for ``wx.requestPayment`` / ``my.tradePay``), ``native`` (a
#: QR code the buyer scans), ``app`` (a native app SDK), ``offline`` (no money
#: moves online now: cash on delivery).
PAYMENT_CHANNELS = ("pc", "h5", "jsapi", "mini_program", "native", "app", "offline")


@dataclass(frozen=True)
class PaymentStart:
    """How a payment continues, as :meth:`PaymentGateway.start` answers.

    Exactly one of: ``redirect_url`` (send the browser there: a gateway's
    cashier page), ``qr_code`` (the content to show as a QR code, Native /
    precreate), ``client_params`` (what a mini-program or app passes to
    ``wx.requestPayment`` / ``my.tradePay``, already signed), or ``offline``
    True (nothing to pay online now: cash on delivery). ``gateway_trade_no``:
    the gateway's trade number when the start created one (Alipay's
    ``trade_no`` for ``alipay.trade.create``), recorded with the start.
    """

    redirect_url: str | None = None
    offline: bool = False
    qr_code: str | None = None
    client_params: Mapping[str, Any] | None = None
    gateway_trade_no: str | None = None


@dataclass(frozen=True)
class Payer:
    """Who is paying, from the signed-in principal and the request: the
    ``user``, the client's address (``client_ip``; WeChat H5 requires it) and,
    for WeChat JSAPI / mini-program payments, the buyer's ``openid`` under
    the app that pays (the client's, as ``wx.login`` gave it, or the bound
    identity)."""

    user: User | None
    client_ip: str = ""
    openid: str | None = None


@dataclass(frozen=True)
class GatewayNotification:
    """A verified notification, as :meth:`PaymentGateway.verify_notification`
    returns it (the gateway checked the signature, its own app and merchant
    ids and the timestamp window; the kernel checks the rest).

    - ``kind``: ``"payment"`` or ``"refund"``.
    - ``reference``: the notification's own unique id (a repeat of it is
      harmless: one state change whatever arrives).
    - ``payment_number``: our payment number (``out_trade_no``).
    - ``gateway_trade_no``: the gateway's trade number.
    - ``amount``: fen; the trade's total for a payment, the refund's amount
      for a refund.
    - ``status``: for a payment ``"paid"`` or ``"closed"`` (or ``"pending"``:
      nothing to do); for a refund ``"succeeded"``, ``"failed"``,
      ``"abnormal"`` (WeChat's 退款异常: money stuck, needs follow-up) or
      ``"pending"``.
    - ``refund_number``: our refund number (``out_refund_no`` /
      ``out_request_no``) for a refund; ``gateway_refund_no`` the gateway's.
    - ``paid_at``: when the gateway says it was paid (aware or naive UTC).
    - ``raw``: the decoded payload, kept for audit.
    """

    kind: str
    reference: str
    payment_number: str
    gateway_trade_no: str
    amount: int
    status: str
    refund_number: str | None = None
    gateway_refund_no: str | None = None
    paid_at: Any = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GatewayResult:
    """What a gateway call (query, close, refund, profit sharing) answered.

    - ``status``: ``"succeeded"`` (paid / refunded / shared: money moved),
      ``"pending"`` (accepted, not final: wait for a notification or query
      again), ``"failed"`` (refused; ``message`` says why, nothing moved),
      ``"abnormal"`` (a refund stuck at the gateway: WeChat's 退款异常),
      ``"not_paid"`` (a trade that exists and is not paid, or does not exist
      at the gateway yet), ``"closed"`` (a trade closed: takes no money).
    - ``amount``: fen the answer is about (what was paid, refunded, shared).
    - ``reference``: the gateway's number (trade no, refund id, sharing no).
    - ``paid_at``: for a query that found the trade paid.
    - ``retryable``: a failure that may succeed when retried with the same
      number (the gateway was unreachable or busy); False for a refusal.
    """

    status: str
    amount: int = 0
    reference: str = ""
    message: str = ""
    paid_at: Any = None
    retryable: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundRequest:
    """One refund to send through a gateway (:meth:`PaymentGateway.refund`).

    ``number`` is ours (``out_refund_no`` / ``out_request_no``) and the same
    on every retry, so the gateway refunds once whatever is retried;
    ``amount`` fen of the trade ``gateway_trade_no`` (our ``payment_number``,
    whose total is ``payment_amount``); ``reason`` a short text for the
    buyer's statement."""

    number: str
    payment_number: str
    gateway_trade_no: str
    payment_amount: int
    amount: int
    reason: str = ""


@dataclass(frozen=True)
class ProfitShareRequest:
    """One profit sharing (分账) order: send ``amount`` fen of the paid trade
    ``gateway_trade_no`` to ``receiver`` (a mapping the gateway understands:
    ``{"type": "MERCHANT_ID", "account": "...", "name": "..."}`` for WeChat,
    ``{"type": "loginName"|"userId", "account": "..."}`` for Alipay).
    ``number`` is ours (``out_order_no``), stable across retries. For a
    return (分账回退), ``share_number`` / ``gateway_share_no`` name the
    sharing being returned."""

    number: str
    payment_number: str
    gateway_trade_no: str
    amount: int
    receiver: Mapping[str, str]
    description: str = ""
    share_number: str | None = None
    gateway_share_no: str | None = None


@dataclass(frozen=True)
class BillEntry:
    """One line of a gateway's daily bill (对账单), as
    :meth:`PaymentGateway.bill` answers: ``kind`` ``"charge"`` (money in:
    ``reference`` the gateway's trade number) or ``"refund"`` (money back:
    ``reference`` our refund number, ``out_refund_no``), ``amount`` in fen,
    ``trade_number`` our ``out_trade_no``."""

    kind: str
    reference: str
    amount: int
    trade_number: str = ""


class PaymentGateway:
    """A way to pay: a payment gateway (WeChat Pay, Alipay, the sandbox) or
    an offline method (cash on delivery). Return instances of subclasses
    from :func:`payment_gateways`.

    The kernel owns everything that must not depend on a plugin
    (:mod:`jishi.payments.service`): the notify route
    (``POST /payments/notify/<code>`` and ``/payments/notify/<code>/refund``,
    routed by path, no query string), matching a notification to the
    payment, the amount and the gateway trade checks, duplicates and replays
    (one state change per payment), refunding a late payment to a closed
    order through the same gateway, refund rows committed before the
    gateway is called, reconciliation of pending payments and refunds. A
    gateway only talks to its service: it signs, sends, verifies and
    translates.

    Class attributes:

    - ``code``: unique, short (``"wechatpay"``), the path part of the notify URLs.
    - ``label``: shown to buyers (lazy translation).
    - ``channels``: the :data:`PAYMENT_CHANNELS` it supports.
    - ``online``: money moves online (False: cash on delivery).
    - ``sort``: order among methods (lower first).
    - ``test_mode``: pointed at a fake or sandbox service (labelled so).
    - ``profit_sharing``: implements :meth:`profit_share` and friends.

    Methods the kernel calls (outside any open transaction unless said; a
    network error raises nothing out: answer ``GatewayResult("failed",
    retryable=True, message=...)``):
    """

    code: str = ""
    label: Any = ""
    channels: tuple[str, ...] = ("pc", "h5")
    online: bool = True
    sort: int = 100
    test_mode: bool = False
    profit_sharing: bool = False

    def available(self, channel: str | None = None) -> bool:
        """Offered now (configured and enabled; for ``channel`` when given)."""
        return channel is None or channel in self.channels

    def start(self, payment: PaymentOrder, channel: str, payer: Payer) -> PaymentStart:
        """Create the trade at the gateway for ``payment.amount`` fen and
        answer what the client needs. Called each time the buyer chooses this
        way to pay (the same ``payment.number`` again: reuse or re-create the
        trade as the gateway allows; the kernel has already closed trades
        started for another amount). Raise
        :class:`jishi.payments.service.PaymentError` for a refusal the buyer
        should read (unsupported channel, missing openid)."""
        raise NotImplementedError

    def verify_notification(self, request: Any, kind: str) -> GatewayNotification | None:
        """Verify an incoming notification (``request``: the Flask request;
        ``kind``: ``"payment"`` or ``"refund"``, from the path) and decode it.
        Raise :class:`jishi.payments.service.NotificationRefused` when the
        signature, the app or merchant ids, or the timestamp do not check
        out; return None for a notification that needs nothing done."""
        raise NotImplementedError

    def reply(self, ok: bool, message: str = "") -> Any:
        """The answer the gateway expects (a Flask response value): success
        stops its retries; failure makes it retry. Default: ``success`` /
        ``fail`` as plain text with 200 / 400."""
        if ok:
            return "success", 200, {"Content-Type": "text/plain"}
        return f"fail: {message}", 400, {"Content-Type": "text/plain"}

    def query(self, payment: PaymentOrder) -> GatewayResult:
        """Ask the gateway about ``payment``'s trade (by ``payment.number``):
        ``succeeded`` with the amount, trade number and time when paid."""
        return GatewayResult("failed", message="query not supported")

    def close(self, payment: PaymentOrder) -> GatewayResult:
        """Close the trade so it takes no more money: ``closed``; or
        ``succeeded`` when it was paid meanwhile (the kernel then records the
        payment from it, and refunds it when the order is closed)."""
        return GatewayResult("closed")

    def refund(self, refund: RefundRequest) -> GatewayResult:
        """Send a refund. ``succeeded`` when the money moved (Alipay answers at
        once when ``fund_change`` is ``Y``), ``pending`` when the gateway
        confirms later (a refund notification or :meth:`query_refund`)."""
        return GatewayResult("failed", message="refunds not supported")

    def query_refund(self, refund: RefundRequest) -> GatewayResult:
        """Ask how a refund sent before went (by ``refund.number``)."""
        return GatewayResult("pending")

    def add_receiver(self, receiver: Mapping[str, str]) -> GatewayResult:
        """Register a profit-sharing receiver (WeChat requires it before a
        sharing names it; Alipay binds a royalty relation)."""
        return GatewayResult("failed", message="profit sharing not supported")

    def profit_share(self, share: ProfitShareRequest) -> GatewayResult:
        """Share part of a paid trade with ``share.receiver`` (分账)."""
        return GatewayResult("failed", message="profit sharing not supported")

    def profit_return(self, share: ProfitShareRequest) -> GatewayResult:
        """Return (分账回退) ``share.amount`` of the sharing
        ``share.share_number`` from its receiver; ``failed`` when the gateway
        refuses (past its window, receiver's balance short): the kernel then
        records a debt in the merchant's ledger instead."""
        return GatewayResult("failed", message="profit sharing not supported")

    def bill(self, day: Any) -> Sequence[BillEntry] | None:
        """The gateway's bill of ``day`` (a ``datetime.date`` in the shop's
        time zone): every charge and refund it settled that day, for the
        kernel's daily comparison with its own records (differences are
        listed in the console). None: the gateway has no bill download."""
        return None

    def finish_sharing(self, payment: PaymentOrder, number: str) -> GatewayResult:
        """Unfreeze what remains of the trade for the platform (WeChat's
        ``/v3/profitsharing/orders/unfreeze``); the default does nothing."""
        return GatewayResult("succeeded")


@dataclass(frozen=True)
class LoginProvider:
    """An extra way to sign in (e.g. WeChat), shown on the login page."""

    code: str
    label: str
    url: str


@dataclass(frozen=True)
class StorefrontLink:
    """An entrance to a plugin's storefront page (秒杀, 店铺街, 领券中心),
    shown by the kernel's templates only while the plugin is enabled.

    - ``endpoint``: the page's endpoint (``url_for`` without arguments).
    - ``places``: where it shows: ``"home"`` (the home page's entrances),
      ``"header"`` (the header's links), ``"tabbar"`` (the phone's tab bar;
      keep it for the few pages a buyer visits often).
    - ``icon``: a short text symbol (an emoji or one character).
    """

    label: str
    endpoint: str
    icon: str = ""
    sort: int = 100
    places: tuple[str, ...] = ("home", "header")


@dataclass(frozen=True)
class MenuItem:
    """An entry in a console menu.

    The kernel shows an item only where it means what it says:

    - ``console``: the console it belongs to (``"platform"``, or one a plugin
      adds, e.g. ``"merchant"``); it never shows in another console. An entry
      for a seller page (:func:`jishi.sellers.seller_page`) works in whichever
      console the seller's scope uses: declare ``console=console`` (the
      console being rendered) and a ``permission``.
    - ``permission``: who sees it. ``None``: everyone who may open the
      console. ``"platform_admin"``: platform admins only. Any other word
      (``orders``, ``comments``, ``products``, ``money``, ``settings``,
      ``data``) is asked of the signed-in user's :class:`SellerScope`
      (``current_scope("console")``), which must be for this console; a
      tuple of words: any one of them.
    - ``icon``: a short text symbol (an emoji or one character) shown before
      the label; not an image or a CSS class.
    - ``group``: the menu section it sits in, one of :data:`MENU_GROUPS`
      (``"products"`` 商品, ``"orders"`` 订单, ``"marketing"`` 营销,
      ``"finance"`` 财务, ``"merchants"`` 商户, ``"settings"`` 设置); the
      kernel shows the sections in that order. ``""`` (the default): above
      every section (the console's home). Another word makes a section of
      its own, shown after the known ones and titled with the word itself.
    - ``developer``: a page for developers (e.g. failed event handlers),
      listed only when the ``JISHI_DEVELOPER_PAGES`` setting is on.
    """

    label: str
    endpoint: str
    console: str = "platform"
    icon: str = ""
    sort: int = 100
    permission: str | tuple[str, ...] | None = None
    group: str = ""
    developer: bool = False


@dataclass(frozen=True)
class TodoItem:
    """A to-do count on a console's home page (待发货 3, 待审核商户 1...),
    linking to the page where the work is done.

    ``console`` and ``permission`` mean what they mean on a :class:`MenuItem`
    (the kernel shows the item only in its console, to users the permission
    lets in). ``count`` is the number of things waiting (0: shown as done);
    ``endpoint`` with ``args`` (query or path values) is the page to do them.
    """

    label: str
    count: int
    endpoint: str
    args: Mapping[str, Any] = field(default_factory=dict)
    console: str = "platform"
    permission: str | tuple[str, ...] | None = None
    sort: int = 100


@dataclass(frozen=True)
class ReportSection:
    """A block of figures a plugin adds to the reports (issue 19): a
    campaign's effect (coupons: claimed, used, use rate, GMV driven,
    discount cost), shown as a table on the report pages, exported as CSV
    and XLSX and served in the JSON API.

    ``key`` names it in URLs and exports (``"coupons"``); ``columns`` are
    ``(key, label)`` pairs in display order; ``rows`` are mappings of those
    keys to plain values (integers, text); the column keys in ``money`` hold
    fen (shown and exported as yuan), those in ``permille`` rates in
    permille (shown as percentages).
    """

    key: str
    title: str
    columns: Sequence[tuple[str, str]]
    rows: Sequence[Mapping[str, Any]]
    money: frozenset[str] = frozenset()
    permille: frozenset[str] = frozenset()
    sort: int = 100


#: The console menu's sections, in the order the kernel shows them
#: (:attr:`MenuItem.group`).
MENU_GROUPS: tuple[str, ...] = ("products", "orders", "marketing", "finance", "merchants", "settings")


@dataclass(frozen=True)
class Permission:
    """A named right that staff roles are made of (products, orders,
    after-sales, finance...), declared by the kernel and plugins through the
    ``permissions`` hook.

    ``code`` is the word routes and menu items ask for (``"orders"``);
    ``label`` what the role form shows; ``consoles`` where it can be given:
    ``"platform"`` (platform staff roles) and/or ``"seller"`` (roles a
    seller's admin makes for its own staff). Codes are shared: a plugin
    declaring a code the kernel declares adds nothing.
    """

    code: str
    label: str
    consoles: tuple[str, ...] = ("platform", "seller")
    sort: int = 100


@dataclass(frozen=True)
class SettingField:
    """One setting in a settings panel; ``kind`` is text, int, bool, money
    (typed in yuan, stored in fen), percent (typed as a percentage with up to
    two decimals, stored as integer basis points, 100 = 1%), textarea,
    choice (with ``choices``), image (an image's address, picked from the
    platform's media library or typed: the library's must be the
    platform's own, any other must be ``http(s)://`` or start with ``/``;
    stored as the address, empty for none) or secret (an API key or app
    secret: the console never shows it back, only its last four characters
    when it is long enough, and an empty field keeps the stored value)."""

    key: str
    label: str
    kind: str = "text"
    default: Any = None
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SettingsPanel:
    """A group of settings shown in the platform console's settings page.

    ``validate`` (optional) checks the panel's fields together once each
    parsed on its own: it gets ``{setting key: value}`` of every field of the
    panel (the submitted values; a secret left empty: its stored value) and
    answers ``{setting key: message}`` for the fields it refuses (empty: all
    good). Any message refuses the whole save (422, nothing written), shown
    next to the field it names."""

    key: str
    title: str
    fields: tuple[SettingField, ...]
    sort: int = 100
    validate: Callable[[dict[str, Any]], dict[str, str]] | None = None


@dataclass(frozen=True)
class PeriodicJob:
    """A timed job run by ``jishi worker`` every ``every_seconds``.

    ``func()`` runs inside an application context, must be idempotent and
    returns a short summary (or None). Its schedule is durable (the
    ``job_schedule`` table): the next run is due ``every_seconds`` after a
    run ended, whichever worker ran it; a run is never started twice at once
    (one worker claims it); a worker that dies mid-run hands the job to
    another once its claim expires (``JISHI_JOB_LEASE_SECONDS``), so the job
    may run again after a partial run: commit its work in steps that are
    each safe to repeat. ``name`` is the job's key in the schedule: keep it
    stable (a renamed job starts a new schedule).
    """

    name: str
    func: Callable[[], str | None]
    every_seconds: int = 60


@dataclass(frozen=True)
class PageLoader:
    """Rows a page needs, read together with every other loader of the page
    in ONE statement (see ``product_page_loaders``).

    ``key`` names the rows in the page's ``loaded`` mapping; prefix it with
    your plugin's name (``"flashsale.activity"``). ``query`` is a SELECT:
    of one model (``select(Activity).where(...)``: the rows come back as
    clean instances of it, as if loaded by the session; relationships are
    not loaded, set them from another loader's rows) or of labelled columns
    (the rows come back as dicts by label). Order and LIMIT it as you would
    run it; it may use other loaders' queries as subqueries (their WHERE and
    LIMIT included), never the rows of another loader.

    ``params`` (optional) declares the loader once: ``query`` is then the
    same statement object on every call (built once, at import or on first
    use) with a named ``bindparam("name")`` for every value that changes,
    and ``params`` maps those names to this call's values. The kernel then
    builds and keys nothing for the loader (a page's loaders statement is
    reused as it is, with the new values); names need only be distinct
    within the loader. Without ``params`` (a query built per call, values
    in it) the loader works as before, at the cost of building and keying
    its query on every page::

        BADGE = select(Badge).where(Badge.product_id == bindparam("product_id")).limit(1)
        PageLoader("badges.badge", BADGE, {"product_id": product.id})
    """

    key: str
    query: Any
    params: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class BlockField:
    """One setting of a page block type (see :class:`BlockType`), from which
    a page designer builds the block's form and validates what is saved.

    ``kind`` is one of ``text`` (one line, at most ``max_length``),
    ``textarea``, ``richtext`` (HTML, sanitized by the designer), ``int``
    (between ``min`` and ``max``), ``bool``, ``choice`` (one of ``choices``,
    pairs of value and label), ``color`` (``#rrggbb``), ``image`` (an
    address or ``media:<id>`` of the page owner's media library), ``link``
    (``{"kind": product|category|shop|page|activity|url, "value": ...}``,
    checked to exist), ``ids`` (a list of at most ``max_items`` positive
    ids: products, merchants...), or ``items`` (a list of at most
    ``max_items`` rows, each with the sub-``fields``: banner slides, icons).
    ``required`` refuses an empty value; ``default`` is what a new block
    starts with.
    """

    key: str
    label: str
    kind: str = "text"
    required: bool = False
    default: Any = None
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    min: int | None = None
    max: int | None = None
    max_length: int = 200
    max_items: int = 20
    fields: tuple[BlockField, ...] = ()


@dataclass(frozen=True)
class PageBlock:
    """One block of a designed page: its ``id`` (unique in the page), its
    type's ``code`` and its validated ``settings``."""

    id: str
    type: str
    settings: Mapping[str, Any]


@dataclass(frozen=True)
class BlockContext:
    """Who a page is rendered for, passed to :attr:`BlockType.resolve`.

    ``seller_id``: the page's owner (None: the platform; a merchant's shop
    page shows only that merchant's things); ``user``: the signed-in buyer
    or None; ``location``: the visitor's ``(latitude, longitude)`` when the
    client sent one (distance sorting), else None; ``editor``: rendering the
    draft for the console (show why items are missing instead of skipping
    them quietly); ``now``: the moment rendered (UTC, naive).
    """

    seller_id: int | None = None
    user: User | None = None
    location: tuple[float, float] | None = None
    editor: bool = False
    now: Any = None


@dataclass(frozen=True)
class ProductView:
    """A signed-in buyer opened a product: its page, or the product detail
    API (see the ``products_viewed`` hook). ``viewed_at`` is naive UTC, to
    the second."""

    user_id: int
    product_id: int
    viewed_at: datetime


@dataclass(frozen=True)
class BlockType:
    """A kind of block a page designer can put on a page (banner, product
    list, flash-sale strip...), declared by the ``page_block_types`` hook.

    - ``code``: unique, prefixed by the plugin for plugin types
      (``"flashsale.strip"``); ``label``/``icon``/``sort``: the editor's palette.
    - ``fields``: the settings schema (:class:`BlockField`); settings are
      validated against it before they are saved (a 4xx naming the field).
    - ``resolve(blocks, context)``: loads the data of EVERY block of this
      type on a page in one go (a few statements whatever the number of
      blocks or items: batch by ids) and returns one JSON-able dict per
      block, in order. Items that cannot be shown (deleted, unlisted, sold
      out, ended) are left out of ``items`` and listed in ``skipped`` as
      ``{"id": ..., "reason": "deleted"|"unlisted"|"sold_out"|"ended"}``.
      None: the block needs no data (its settings are all).
    - ``template``: the web template rendering one block (context:
      ``block``, ``settings``, ``data``); themes may override it by name.
    - ``sellers``: whether a merchant may use it on its shop page (False:
      platform pages only).
    """

    code: str
    label: str
    fields: tuple[BlockField, ...] = ()
    resolve: Callable[[Sequence[PageBlock], BlockContext], Sequence[dict]] | None = None
    template: str = ""
    icon: str = ""
    sort: int = 100
    sellers: bool = True


# ---------------------------------------------------------------------------
# App extension
# ---------------------------------------------------------------------------


@hookspec
def config_defaults() -> dict:
    """Default configuration values a plugin needs.

    Called once in ``create_app`` before the instance config and environment
    are read, so deployments may override every value.

    :returns: a dict of config keys to defaults.
    All results are merged; a key set by two plugins is an error at start-up.
    Default implementation: none (the kernel's defaults are in ``jishi.config``).

    Example::

        @hookimpl
        def config_defaults():
            return {"JISHI_GIFTS_MAX_PER_ORDER": 3}
    """


@hookspec
def blueprints() -> Sequence[Blueprint]:
    """Flask blueprints (web pages, consoles) the plugin adds.

    Called once in ``create_app``. :returns: a list of blueprints.
    All collected and registered in plugin order.
    Default implementation: the kernel's storefront, console and gateway.

    Example::

        @hookimpl
        def blueprints():
            from jishi_gifts.views import bp  # a flask.Blueprint

            return [bp]
    """


@hookspec
def api_blueprints() -> Sequence[ApiBlueprint]:
    """flask-smorest blueprints added to the JSON API under ``/api/v1``.

    Their schemas appear in ``/api/v1/openapi.json``.
    :returns: a list of ``flask_smorest.Blueprint``. All collected.
    Default implementation: the kernel's API.

    Example::

        @hookimpl
        def api_blueprints():
            from jishi_gifts.api import blp  # a flask_smorest.Blueprint

            return [blp]
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands to the ``jishi`` command line.

    Called when the CLI starts, with the root ``jishi`` group.
    :param cli: the root click group; call ``cli.command()`` or ``add_command``.
    All implementations are called. Default implementation: none.

    Example::

        @hookimpl
        def register_commands(cli):
            @cli.command("gifts-report", help="How many gifts were given.")
            def gifts_report():
                click.echo(service.report())
    """


@hookspec
def template_dirs() -> Sequence[str]:
    """Folders of templates the plugin ships (looked up after the active
    theme and its parents, before the kernel's templates).

    :returns: a list of absolute folder paths. All collected.
    Default implementation: none.

    Example::

        @hookimpl
        def template_dirs():
            return [str(Path(__file__).parent / "templates")]
    """


@hookspec
def template_slot(slot: str, context: dict) -> Markup | str | None:
    """Markup for a named slot in a page (a storefront page block).

    Templates call ``{{ slot("product_detail_after_price", product=p) }}``.
    Console slots include ``console_order_detail`` (``order``) and
    ``console_product_row_actions`` (``product``: the last cell of each row
    of the console's product list, for links to a plugin's per-product page;
    called once per row, so answer without a query).
    :param slot: the slot's name (documented in ``docs/themes.md``).
    :param context: the template's variables passed to the slot.
    :returns: a string of HTML (``Markup``) or None.
    All collected and joined in plugin order.
    Declare the slots an implementation answers with
    ``@slots("product_detail_after_price", ...)`` (``jishi.hookspecs.slots``,
    under ``@hookimpl``): it is then called for those slots only; without
    it, for every slot.
    Default implementation: none.

    Example::

        @hookimpl
        @slots("product_detail_after_price")
        def template_slot(slot, context):
            if slot != "product_detail_after_price":
                return None
            return Markup(render_template("gifts/badge.html", product=context["product"]))
    """


@hookspec
def storefront_links() -> Sequence[StorefrontLink]:
    """Entrances to a plugin's storefront pages: the home page, header and
    tab bar link to them (see :class:`StorefrontLink`), so the pages are
    reachable while the plugin is enabled and gone when it is not.

    :returns: a list of :class:`StorefrontLink`. All collected, sorted by
        ``sort`` then label.
    Default implementation: none.

    Example::

        @hookimpl
        def storefront_links():
            return [StorefrontLink(_("Flash sale"), "flashsale.listing", icon="⚡", sort=10)]
    """


@hookspec
def console_menu_items(console: str, principal: User) -> Sequence[MenuItem]:
    """Entries for a console's navigation menu.

    Declare who sees an entry with its ``console`` and ``permission``
    (see :class:`MenuItem`) instead of checking the user here: the kernel
    drops items of another console and items whose permission the signed-in
    user lacks, so the menu never links to a page that answers 403.

    :param console: which console is being rendered (``"platform"``, ...).
    :param principal: the signed-in user.
    :returns: a list of :class:`MenuItem`. All collected, filtered, grouped
        by ``group`` (in the order of :data:`MENU_GROUPS`, unknown groups
        last) and sorted by ``sort`` within a group.
    Default implementation: the platform console's own sections.

    Example::

        @hookimpl
        def console_menu_items(console, principal):
            if console != "platform":
                return None
            return [MenuItem(_("Gifts"), "gifts.index", sort=70, permission="products", group="marketing")]
    """


@hookspec
def console_todos(console: str, principal: User) -> Sequence[TodoItem]:
    """To-do counts for a console's home page: the work waiting (orders to
    ship, applications to review, withdrawals to pay) with a link to it.

    Count with one query per call (every count in one statement where you
    can), for the seller the signed-in user acts for
    (``current_scope("console")``) on a seller console. Declare ``console``
    and ``permission`` instead of checking the user: the kernel drops items
    of another console and items the user may not open.

    :param console: the console whose home is rendered (``"platform"``, ...).
    :param principal: the signed-in user.
    :returns: a list of :class:`TodoItem`. All collected, filtered, sorted by
        ``sort``.
    Default implementation: the platform console's orders to ship and
    after-sales requests.

    Example::

        @hookimpl
        def console_todos(console, principal):
            if console != "platform":
                return None
            waiting = db.session.execute(select(func.count(Gift.id)).where(Gift.sent.is_(False))).scalar_one()
            return [TodoItem(_("Gifts to send"), waiting, "gifts.index", {"sent": "0"}, permission="products")]
    """


@hookspec
def report_sections(start: date, end: date, seller_id: int | None) -> Sequence[ReportSection]:
    """Figures a plugin adds to the reports for the shop days ``start`` to
    ``end`` (inclusive): a marketing plugin's campaign effect.

    Read with a few grouped statements (never one per row); count only
    ``seller_id``'s own campaigns and orders when it is set (a merchant's
    reports), everything when it is None (the platform's).

    :param start: the first shop day of the range.
    :param end: the last shop day of the range.
    :param seller_id: the seller whose reports these are; None: the platform.
    :returns: a list of :class:`ReportSection`. All collected, sorted by
        ``sort``; each is a table on the report pages, an export and a key
        of the reports API's ``sections``.
    Default implementation: none.

    Example::

        @hookimpl
        def report_sections(start, end, seller_id):
            sent = service.gifts_sent(start, end, seller_id)
            return [ReportSection("gifts", _("Gifts"), [("sent", _("Sent"))], [{"sent": sent}])]
    """


@hookspec
def permissions() -> Sequence[Permission]:
    """The permissions staff roles can be made of (see :class:`Permission`).

    A platform admin (and a seller's admin, in its own console) creates
    roles from these and assigns them to staff; every console page and API
    endpoint asks for one (:func:`jishi.access.requires`,
    :func:`jishi.access.platform_api`, :func:`jishi.sellers.seller_page`).

    :returns: a list of :class:`Permission`. All collected; the first
        declaration of a code wins.
    Default implementation: the kernel's ``products``, ``orders``,
    ``aftersales``, ``comments``, ``marketing``, ``money``, ``settings``
    and ``data``.

    Example::

        @hookimpl
        def permissions():
            return [Permission("gifts", _("Gifts"), consoles=("platform",))]
    """


@hookspec
def settings_panels() -> Sequence[SettingsPanel]:
    """Panels of settings editable in the platform console (stored in the
    ``settings`` table, read with ``jishi.settings.get``).

    :returns: a list of :class:`SettingsPanel`. All collected, by ``sort``.
    Default implementation: the kernel's shop, checkout, review and theme panels.

    Example::

        @hookimpl
        def settings_panels():
            field = SettingField("gifts.max_per_order", _("Gifts per order"), kind="int", default=3)
            return [SettingsPanel("gifts", _("Gifts"), (field,))]
    """


@hookspec
def periodic_jobs() -> Sequence[PeriodicJob]:
    """Timed jobs run by ``jishi worker`` (close unpaid orders, expire groups).

    Every running worker takes its turn from the schedule in the database;
    each run (start, success, duration, error) is recorded and shown in the
    platform console's timed jobs page. Nothing of it lives in Redis.

    :returns: a list of :class:`PeriodicJob`. All collected.
    Default implementation: close unpaid orders; auto-confirm receipt.

    Example::

        @hookimpl
        def periodic_jobs():
            return [PeriodicJob("gifts_expire", service.expire_gifts, every_seconds=300)]
    """


@hookspec
def demo_data(data: dict) -> str | None:
    """Add the plugin's demo data to ``jishi demo``'s shop.

    Called once, after the kernel's demo data is committed, inside an app
    context. Use the plugin's own services (so the demo exercises the real
    code paths) and commit.
    :param data: what the kernel made: ``admin``, ``buyer``, ``address``,
        ``categories`` (name -> Category), ``tags`` (name -> Tag),
        ``products`` (list), and ``logins`` (role -> (phone, password)), a
        dict the plugin may add its demo accounts to (they are printed).
    :returns: a short summary ("5 merchants, 12 products") or None.
    All implementations are called, in plugin order. Default implementation: none.

    Example::

        @hookimpl
        def demo_data(data):
            for product in data["products"][:2]:
                service.add_gift(product, "Tote bag")
            commit()
            return "2 gifts"
    """


@hookspec
def demo_orders(data: dict) -> str | None:
    """Place the plugin's demo orders, after every plugin's ``demo_data``.

    Setting up (merchants, delivery templates, pickup points...) happens in
    ``demo_data``; orders come here, once every plugin has set up, so that a
    demo order can use any plugin's delivery methods or discounts. Use the
    real checkout and payment services and commit.
    :param data: the same dict ``demo_data`` received, with what plugins added
        to it (multistore adds ``merchants``, name -> Merchant).
    :returns: a short summary or None. Default implementation: the kernel's
    own two orders (one paid, one waiting for payment).

    Example::

        @hookimpl
        def demo_orders(data):
            order = service.place_demo_order(data["buyer"], data["address"])
            return f"1 order with a gift ({order.number})"
    """


@hookspec
def app_ready(app: Flask) -> None:
    """Called once at the end of ``create_app`` with the configured app.

    Use it to connect signal receivers (with
    ``jishi.signals.connect(signal, receiver, plugin=...)``, so they run only
    in apps where the plugin is enabled) or add template globals.
    :param app: the Flask app. All implementations are called.
    Default implementation: none.

    Example::

        @hookimpl
        def app_ready(app):
            app.jinja_env.globals["gift_badge"] = service.badge
    """


@hookspec
def page_block_types() -> Sequence[BlockType]:
    """The block types a page designer may place on storefront pages: the
    designer's own (banner, product list...) and every plugin's (a flash-sale
    strip, a coupon block, a merchant list).

    Any plugin may add types; a page designer (``jishi-designer``) lists them
    in its palette, validates each block's settings against
    :attr:`BlockType.fields`, calls :attr:`BlockType.resolve` once per type
    with all the page's blocks of that type, and renders
    :attr:`BlockType.template` per block (the JSON API returns the resolved
    data). A type whose plugin is disabled disappears: its blocks are kept
    in the saved page and skipped when it renders.
    :returns: a list of :class:`BlockType` (or None). All collected; a code
    declared twice keeps the first (plugin order).
    Default implementation: none.

    Example::

        @hookimpl
        def page_block_types():
            def resolve(blocks, context):
                ids = {i for b in blocks for i in b.settings.get("badges", [])}
                rows = {b.id: b for b in db.session.scalars(select(Badge).where(Badge.id.in_(ids)))}
                return [{"items": [rows[i].label for i in b.settings.get("badges", []) if i in rows]} for b in blocks]

            fields = (BlockField("title", "Title", required=True), BlockField("badges", "Badges", kind="ids"))
            return [BlockType("badges.wall", "Badge wall", fields, resolve=resolve, template="badges/wall.html")]
    """


@hookspec(firstresult=True)
def storefront_page(slug: str, user: User | None) -> Markup | None:
    """The body of a designed storefront page, replacing the kernel's own.

    The kernel asks with ``slug="home"`` for the home page (``/``) and
    renders the answer inside the theme's ``base.html`` (``shop/designed.html``);
    None keeps the kernel's own home page. Plugins with pages of their own
    (a merchant's shop page: ``"shop-<seller id>"``) may ask too, through
    ``current_app.extensions["jishi"].hook.storefront_page``.
    :param slug: the page asked for.
    :param user: the signed-in buyer, or None.
    :returns: the page body's HTML (``Markup``) or None. Stops at the first
    non-None result. Default implementation: none (the kernel's home page).

    Example::

        @hookimpl
        def storefront_page(slug, user):
            if slug != "home" or not settings.get("banners.home"):
                return None
            return Markup(render_template("banners/home.html", user=user))
    """


# ---------------------------------------------------------------------------
# Catalog
# ---------------------------------------------------------------------------


@hookspec
def product_filters(context: str) -> Sequence[ColumnElement[bool]] | None:
    """Extra SQL conditions on the products buyers may see.

    Called for every storefront and API product listing and search
    (``context="listing"``) and product detail (``context="detail"``); not
    for the consoles. Conditions must be SQLAlchemy boolean expressions on
    ``Product`` columns (a subquery is fine): they are ANDed into the one
    listing statement, so they add no query.
    :param context: ``"listing"`` or ``"detail"``.
    :returns: a list of SQL expressions (or None). All collected.
    Default implementation: none (on-shelf products are visible).

    Example::

        @hookimpl
        def product_filters(context):
            return [Product.id.not_in(select(HiddenProduct.product_id))]
    """


@hookspec
def purchase_blockers(product: Product, user: User | None) -> Sequence[Problem] | None:
    """Reasons a visible product cannot be bought right now (the seller is
    resting, a sale has not started...).

    Called on the product page (the buy buttons are replaced by the first
    message), in the product detail API (``purchasable`` / ``blockers``) and
    when a line is added to the cart (answered 409 with the problem's code).
    Checkout re-checks in ``validate_checkout``.
    :param product: the ``Product``. :param user: the buyer (or None).
    :returns: a list of :class:`Problem` (or None). All collected.
    Default implementation: none.

    Example::

        @hookimpl
        def purchase_blockers(product, user):
            if service.preorders_closed(product.id):
                return [Problem("preorder_closed", _("Pre-orders are closed."))]
            return None
    """


@hookspec
def cart_line_problems(product: Product, sku_id: int, quantity: int, user: User) -> Sequence[Problem] | None:
    """Reasons ``quantity`` units of a SKU may not sit in the buyer's cart
    (the product is sold by "buy now" only, more than a per-order maximum).

    Called when a line is added to the cart (``quantity``: the line's total
    after the add) and when a cart line's quantity is changed, after
    ``purchase_blockers``; the first problem is answered 409 with its
    ``code``, ``message`` and ``field`` (``sku_id`` when it names none) and
    nothing is written. Checkout re-checks in ``validate_checkout``.
    :param product: the SKU's ``Product``. :param sku_id: the SKU's id.
    :param quantity: the units the line would hold. :param user: the buyer.
    :returns: a list of :class:`Problem` (or None). All collected.
    Default implementation: none.

    Example::

        @hookimpl
        def cart_line_problems(product, sku_id, quantity, user):
            if quantity > 5 and service.is_limited(product.id):
                return [Problem("limit", _("At most 5 per order."), field="quantity")]
            return None
    """


@hookspec
def product_page_loaders(product: Product, user: User | None, slots: bool) -> Sequence[PageLoader] | None:
    """The rows the plugin's product page slots need, as queries the kernel
    runs together with every plugin's (and its own images, parameters, specs
    and tags) in ONE statement, so that the product page costs the same
    statements whatever plugins are enabled.

    The rows reach ``template_slot`` as ``context["loaded"]``, a mapping
    ``key -> list of rows`` (``loaded.first(key)``: the first row or None)
    holding every loader's key, also where no row matched. A slot rendered
    without ``loaded`` (another page, a theme) reads for itself.
    :param product: the ``Product`` (its category and SKUs loaded).
    :param user: the signed-in buyer, or None.
    :param slots: True for the storefront's product page, whose slots
        render with these rows; False for the product detail API, which
        renders none (its rows serve the hooks that read
        ``jishi.catalog.service.product_loaded``, such as
        ``purchase_blockers``): a loader whose rows only a slot shows
        returns nothing then. An implementation may leave the argument out.
    :returns: a list of :class:`PageLoader` (or None). All collected.
    Default implementation: none.

    Declare each loader's query once with named parameters and give this
    page's values in ``PageLoader.params``: the page then builds and keys
    no query for it (a query built per call, its values in it, works too,
    at that cost).

    Example::

        BADGE = select(Badge).where(Badge.product_id == bindparam("product_id")).limit(1)

        @hookimpl
        def product_page_loaders(product, user):
            return [PageLoader("badges.badge", BADGE, {"product_id": product.id})]

        @hookimpl
        def template_slot(slot, context):
            if slot != "product_detail_after_price" or "loaded" not in context:
                return None
            badge = context["loaded"].first("badges.badge")
            return Markup(render_template("badges/badge.html", badge=badge)) if badge else None
    """


@hookspec
def purchase_loaders(user: User) -> Sequence[PageLoader] | None:
    """The rows the plugin's ``purchase_blockers`` and ``cart_line_problems``
    read for the product a buyer adds to the cart, as queries the kernel runs
    INSIDE the cart's own read of the SKU and its product (a JSON column per
    loader): adding to the cart then costs no statement of the plugin's.

    Declare each query once with named parameters: ``product_id`` and
    ``seller_id`` are the kernel's (bound to the product being added, known
    only inside the statement: leave them out of ``params``); give any other
    parameter's value in ``PageLoader.params`` (``{}`` when none). During the
    same request the rows are in ``jishi.catalog.service.product_loaded(
    product_id)`` under their keys, as the product page's loaders are (model
    instances are in the session: ``db.session.get`` finds them with no
    statement).
    :param user: the buyer adding to the cart.
    :returns: a list of :class:`PageLoader` (or None). All collected.
    Default implementation: none.

    Example::

        LIMIT = select(Limit).where(Limit.product_id == bindparam("product_id"))

        @hookimpl
        def purchase_loaders(user):
            return [PageLoader("limits.limit", LIMIT, {})]

        @hookimpl
        def cart_line_problems(product, sku_id, quantity, user):
            loaded = product_loaded(product.id)
            if loaded is not None and "limits.limit" in loaded:
                limit = loaded.first("limits.limit")
            else:
                limit = db.session.execute(LIMIT, {"product_id": product.id}).scalar()
            if limit is not None and quantity > limit.most:
                return [Problem("limit", _("At most %(n)d.", n=limit.most), field="quantity")]
            return None
    """


@hookspec(firstresult=True)
def seller_profiles(seller_ids: Sequence[int]) -> dict[int, SellerProfile] | None:
    """Names, links and states of sellers, for product pages, the cart and
    order details (``seller_id`` None, the shop itself, is never asked).

    :param seller_ids: distinct seller ids; answer them all in one query.
    :returns: a dict ``seller_id -> SellerProfile``. Stops at the first
    non-None result. Default implementation: none (a single-store shop has
    no other sellers).

    Example::

        @hookimpl
        def seller_profiles(seller_ids):
            shops = db.session.execute(select(Shop).where(Shop.id.in_(seller_ids))).scalars()
            return {s.id: SellerProfile(s.id, s.name, url=f"/shops/{s.id}") for s in shops}
    """


@hookspec(firstresult=True)
def seller_scope(user: User, via: str) -> SellerScope | None:
    """The seller ``user`` acts for on seller pages (``via="console"``) or
    the seller API (``via="api"``), with their permissions.

    :param user: the signed-in user (never anonymous).
    :param via: ``"console"`` or ``"api"``; a plugin may offer a read-only
        console view it does not offer through the API.
    :returns: a :class:`SellerScope`, or None when this plugin has no say.
    Stops at the first non-None result. Default implementation: platform
    staff act for the shop itself (``seller_id`` None; the platform admin
    with every permission, platform staff with ``orders``, ``comments`` and
    ``products``); anyone else has no scope. Read it through
    :func:`jishi.sellers.current_scope`.

    Example::

        @hookimpl
        def seller_scope(user, via):
            staff = service.staff_of(user.id)
            if staff is None:
                return None
            return SellerScope(staff.shop_id, staff.shop_name, staff.role,
                               permissions=frozenset({"orders", "products"}), console="merchant")
    """


# ---------------------------------------------------------------------------
# Accounts
# ---------------------------------------------------------------------------


@hookspec
def login_providers() -> Sequence[LoginProvider]:
    """Extra sign-in methods shown on the login page (WeChat, SMS...).

    :returns: a list of :class:`LoginProvider`. All collected.
    Default implementation: none (phone + password is built in).

    Example::

        @hookimpl
        def login_providers():
            return [LoginProvider("wechat", _("WeChat"), url="/login/wechat")]
    """


# ---------------------------------------------------------------------------
# Checkout
# ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def split_cart(lines: Sequence[CheckoutLine], user: User | None) -> Sequence[CartGroup] | None:
    """Split the selected cart lines into groups; each group becomes one order.

    Called when the cart page or a checkout is built.
    :param lines: the checkout lines (with ``seller_id`` set).
    :param user: the buyer.
    :returns: the groups, covering every line exactly once.
    Stops at the first non-None result. Default implementation (trylast): one
    group holding every line (a single-store shop).

    Example::

        @hookimpl
        def split_cart(lines, user):
            keys = {}
            for line in lines:
                keys.setdefault(line.seller_id, []).append(line.key)
            return [CartGroup(f"seller:{sid}", service.shop_name(sid), tuple(k), seller_id=sid)
                    for sid, k in keys.items()]
    """


@hookspec
def line_price_rules(line: CheckoutLine, user: User | None, options: dict) -> Sequence[PriceRule] | None:
    """Candidate unit prices for one line (member, flash, group price...).

    :param line: the checkout line (its ``base_price`` is the SKU price).
    :param user: the buyer (or None for a visitor).
    :param options: the checkout's options (``checkout.options``: the
        buyer's choices, e.g. ``{"groupbuy": {"activity_id": 3}}``); empty
        when pricing the cart or a product page. A price the buyer must ask
        for (a group price) applies only when its option is there.
    :returns: a list of :class:`PriceRule` (or None).
    All collected; the kernel picks by priority then lowest price
    (``jishi.checkout.pricing.resolve_price``).
    Called once per line: use it only for rules computed from the line
    itself (no query). A plugin that loads its rules from the database
    implements :func:`price_rules` instead, which prices every line of a
    checkout in one call.
    Default implementation: none (the kernel's member price is a
    :func:`price_rules`); with no implementation the kernel calls nothing
    per line.

    Example::

        @hookimpl
        def line_price_rules(line, user, options):
            if line.quantity < 10:  # computed from the line alone: no query
                return None
            return [PriceRule("bulk", line.base_price * 95 // 100, priority=20, label=_("10+ price"))]
    """


@hookspec
def price_rules(
    lines: Sequence[CheckoutLine], user: User | None, options: dict
) -> Mapping[str, Sequence[PriceRule]] | None:
    """Candidate unit prices for all the lines of a cart, checkout or
    product page at once: the batch form of :func:`line_price_rules`.

    Called once per pricing (before ``line_price_rules``), so a plugin loads
    its rules for every line in one query, whatever the number of lines.
    :param lines: the lines to price (``sku_id``, ``product_id``,
        ``quantity``, ``base_price``...); never empty.
    :param user: the buyer (or None for a visitor).
    :param options: the checkout's options, as for :func:`line_price_rules`
        (empty for the cart and product pages).
    :returns: a dict ``line key -> list of PriceRule`` for the lines the
        plugin prices (others left out), or None. A key that is not one of
        ``lines`` is an error.
    All collected; each line's rules join its ``line_price_rules`` rules
    (those first, then these, each in plugin order) and the kernel picks as
    for :func:`line_price_rules`.
    Default implementation: the member price for buyers with a member level
    (``tryfirst``: the first of these rules).

    Example::

        @hookimpl
        def price_rules(lines, user, options):
            offers = service.offer_prices({line.product_id for line in lines})  # ONE query
            return {line.key: [PriceRule("offers", offers[line.product_id], priority=20)]
                    for line in lines if line.product_id in offers}
    """


@hookspec
def checkout_loaders(
    lines: Sequence[CheckoutLine], user: User | None, options: dict, placing: bool
) -> Sequence[PageLoader] | None:
    """The rows the plugin's checkout hooks need, as queries the kernel runs
    together with every plugin's (and its own read of the address) in ONE
    statement, once per checkout: the batch form of the reads a plugin's
    ``delivery_options``, ``order_discounts``, ``validate_checkout`` or
    ``order_placing`` would otherwise each make.

    Called once per checkout (preview and placement), after pricing and
    before ``split_cart``. The rows reach every later checkout hook as
    ``checkout.loaded``, a mapping ``key -> list of rows`` (``loaded.first
    (key)``: the first row or None) holding every loader's key, also where
    no row matched; a key missing from it (``checkout.loaded`` None: a
    checkout built elsewhere) means the loader was not asked for: read for
    yourself. Declare each query once with named parameters
    (``PageLoader.params``), as for ``product_page_loaders``.

    :param lines: the priced lines (``product_id``, ``seller_id``...);
        never empty.
    :param user: the buyer.
    :param options: the checkout's options (``delivery``, ``coupons``...).
    :param placing: True when the checkout is built to be placed (its
        options are not shown; rows only ``order_placing`` needs are asked
        for then only).
    :returns: a list of :class:`PageLoader` (or None). All collected; keys
        prefixed with the plugin's name.
    Default implementation: none.

    Example::

        CHOICE = select(GiftWrap).where(GiftWrap.user_id == bindparam("user_id"))

        @hookimpl
        def checkout_loaders(lines, user, options, placing):
            return [PageLoader("giftwrap.choice", CHOICE, {"user_id": user.id})]

        @hookimpl
        def order_placing(checkout, payments, orders):
            loaded = checkout.loaded
            choice = loaded.first("giftwrap.choice") if loaded and "giftwrap.choice" in loaded else read_it()
    """


@hookspec
def delivery_options(
    group: CheckoutGroup, address: Address | None, checkout: Checkout
) -> Sequence[DeliveryOption] | None:
    """Ways to deliver one group, each with its fee.

    :param group: the group (its lines, seller and goods amount).
    :param address: the chosen address (or None).
    :param checkout: the whole checkout (for the buyer and options).
    :returns: a list of :class:`DeliveryOption`. All collected; the buyer
    picks one per group (the first available one is preselected; without an
    address, the first available one that needs none). While placing, when
    the buyer chose another method for the group
    (``checkout.chose_other(group, code)``), an implementation may answer
    nothing without reading anything: a placement's options are not shown.
    Default implementation: flat-rate shop delivery with a free-shipping
    threshold (settings ``delivery.flat_fee``, ``delivery.free_over``), and
    "no delivery needed" for groups of virtual goods only, listed before any
    plugin's options (so preselected; a plugin whose option needs a further
    choice, a pickup point or a time slot, marks its hookimpl ``trylast``
    so that it follows other plugins' too). Integrators turn
    it off with ``JISHI_DEFAULT_DELIVERY = False``; by default (``"auto"``) it
    steps aside while an enabled installed plugin implements this hook,
    unless that plugin's module says ``replaces_default_delivery = False``
    (it adds a way to receive goods, such as pickup, but does not ship).

    Example::

        @hookimpl
        def delivery_options(group, address, checkout):
            fee = 0 if group.goods_amount >= 9900 else 800
            return [DeliveryOption("courier", _("Courier"), fee)]
    """


@hookspec
def order_discounts(checkout: Checkout) -> Sequence[Discount] | None:
    """Order-level discounts: coupons, full-reduction activities, points.

    Called after line prices and delivery fees are known.
    :param checkout: the checkout; ``checkout.options`` holds the buyer's
        choices (e.g. ``{"coupons": [...]}``), ``checkout.lines`` the priced lines.
    :returns: a list of :class:`Discount`. All collected, applied in the
        order returned; each is capped at what its lines still have payable.
    Default implementation: none.

    Example::

        @hookimpl
        def order_discounts(checkout):
            if checkout.goods_amount < 10000:
                return None
            return [Discount("full_reduction", _("10 off every 100"), 1000)]
    """


@hookspec
def checkout_extras(checkout: Checkout) -> dict | None:
    """What a plugin adds to the API's checkout preview, e.g. the coupons a
    buyer can choose from and which are chosen.

    :returns: a dict of JSON-ready values under keys of the plugin's own
        (normally its name: ``{"coupons": {...}}``), shown in the preview as
        ``plugins.<key>``. Two plugins answering the same key is an error.
    All implementations are called. Default implementation: none.

    Example::

        @hookimpl
        def checkout_extras(checkout):
            return {"gifts": {"count": service.gift_count(checkout.lines)}}
    """


@hookspec(firstresult=True)
def allocate_discount(discount: Discount, lines: Sequence[CheckoutLine]) -> Sequence[int] | None:
    """Split one discount over its eligible lines.

    :param discount: the discount (its ``amount`` already capped).
    :param lines: the eligible lines, each with ``payable`` fen left.
    :returns: one share per line, summing to ``discount.amount``, each
        between 0 and the line's payable.
    Stops at the first non-None result. Default implementation (trylast):
    proportional to payable, largest remainder, earlier line wins ties
    (``jishi.money.allocate``) — SPEC MS9.

    Example::

        @hookimpl
        def allocate_discount(discount, lines):
            if discount.source != "first_line_deal":
                return None  # the kernel's proportional split
            shares, left = [], discount.amount
            for line in lines:
                shares.append(min(left, line.payable))
                left -= shares[-1]
            return shares
    """


@hookspec
def validate_checkout(checkout: Checkout) -> Sequence[Problem] | None:
    """Reasons the checkout cannot be placed (shop closed, limit exceeded...).

    Called for the preview and again inside the placing transaction.
    :param checkout: the fully computed checkout.
    :returns: a list of :class:`Problem`. All collected; any problem stops
    the placement with a 4xx naming the field.
    Default implementation: address required when delivery needs one,
    delivery chosen and available, quantities positive, products on shelf,
    stock sufficient at preview time.

    Example::

        @hookimpl
        def validate_checkout(checkout):
            if service.closed_today():
                return [Problem("closed", _("The shop is closed today."))]
            return None
    """


@hookspec(firstresult=True)
def reserve_stock(line: CheckoutLine, order: Order) -> StockReservation | None:
    """Take stock for one line from a plugin's own pool, inside the placing
    transaction (a flash sale takes its lines).

    Called for every line; return None to leave the line to the kernel.
    A pool must use an atomic conditional update (``UPDATE ... WHERE stock
    >= n``) and check the row count; raise
    :class:`jishi.checkout.errors.OutOfStock` when there is not enough.
    :param line: the line (sku, quantity, price source).
    :param order: the order being written.
    :returns: a :class:`StockReservation` recording the pool used, or None.
    Stops at the first non-None result.
    Default implementation: none. Every line no plugin takes comes out of
    its SKU's stock, all such lines of the checkout together in ONE atomic
    conditional statement (``jishi.defaults.stock.reserve_sku_stock``: all
    or nothing, naming the first short line), so placing costs the same
    number of statements for any number of lines. That statement, for the
    lines whose winning :class:`PriceRule` names no pool, is sent with the
    placement's INSERTs (one round trip), so it has run when this hook is
    called; a line a pool takes anyway gets its SKU's units back, and a
    line whose rule named a pool that does not take it comes out of the
    SKU after the hooks, as before. Either way the SKU's stock is refused
    only after every pool has taken its lines.

    Example::

        @hookimpl
        def reserve_stock(line, order):
            if line.stock_source != "gifts":
                return None
            service.take(line.price_data["pool_id"], line.quantity)  # conditional UPDATE; raises OutOfStock
            return StockReservation("gifts", line.quantity)
    """


@hookspec
def reserve_stock_many(lines: Sequence[tuple[CheckoutLine, Order]]) -> dict[int, StockReservation] | None:
    """Take stock for many lines at once from a plugin's own pool, inside the
    placing transaction: the lines of one checkout, or of every checkout a
    batch places together (``checkout.entry.place_orders``), so a pool can
    take a batch of lines in a few statements (one conditional UPDATE per
    pool row for the batch) instead of a few per line.

    Called before :func:`reserve_stock`; a line taken here is not offered to
    ``reserve_stock``. All or nothing: take every line of the pool that is
    yours, or raise :class:`jishi.checkout.errors.CheckoutError` (e.g.
    ``OutOfStock``) when they do not all fit — the kernel then rolls the
    batch back and places its checkouts one by one, each finding its own
    answer. Lines of one buyer may come several times (sum them).
    :param lines: ``(line, order)`` pairs, in the order the lines are written.
    :returns: ``{index in lines: StockReservation}`` for the lines taken (or
        None). All collected; a line taken by two plugins is an error.
    Default implementation: none (every line goes to ``reserve_stock``, then
    the SKU's stock).

    Example::

        @hookimpl
        def reserve_stock_many(lines):
            mine = {i: line for i, (line, order) in enumerate(lines) if line.stock_source == "gifts"}
            if not mine:
                return None
            service.take_all(mine.values())  # one conditional UPDATE per pool; raises OutOfStock
            return {i: StockReservation("gifts", line.quantity) for i, line in mine.items()}
    """


@hookspec(firstresult=True)
def release_stock(order_line: OrderLine, quantity: int, reason: str) -> bool | None:
    """Give back stock for an order line (order closed, goods returned).

    Called inside the transaction that closes the order or refunds it.
    :param order_line: the ``OrderLine`` (its ``stock_source`` tells the pool).
    :param quantity: how many units to give back.
    :param reason: ``"closed"`` or ``"returned"``.
    :returns: True when handled. Stops at the first non-None result.
    Default implementation (trylast): add back to the SKU's stock.

    Example::

        @hookimpl
        def release_stock(order_line, quantity, reason):
            if order_line.stock_source != "gifts":
                return None
            service.give_back(order_line.id, quantity)
            return True
    """


@hookspec
def order_placing(checkout: Checkout, payments: Sequence[PaymentOrder], orders: Sequence[Order]) -> None:
    """Called inside the placing transaction after orders, lines and
    allocations are written, before commit.

    Record what the plugin consumed (mark a coupon used, count a per-user
    limit). Raise :class:`jishi.checkout.errors.CheckoutError` to roll the
    whole placement back. A write that can find its orders by their numbers
    costs no round trip of its own from :func:`order_placing_writes`.
    :param checkout: the checkout that is being placed.
    :param payments: the new ``PaymentOrder`` rows (one, or one per order
        when the shop takes payment per store).
    :param orders: the new ``Order`` rows.
    All implementations are called. Default implementation: none.

    Example::

        @hookimpl
        def order_placing(checkout, payments, orders):
            code = checkout.options.get("voucher")
            if code:
                service.mark_used(code, orders[0].id)  # raises CheckoutError when already used
    """


@hookspec
def order_placing_writes(orders: Sequence[PlacingOrder]) -> Sequence[PlacingWrite] | None:
    """Statements that record what a plugin keeps about the orders being
    placed, sent to the database WITH the placement's own INSERTs (one
    round trip on PostgreSQL) instead of one round trip each from
    :func:`order_placing`.

    Called once per placement, or once for every checkout of a batch
    (``jishi.checkout.service.place_orders``), inside the placing
    transaction, after the checkouts are priced and before anything is
    written. The statements run after the kernel's INSERTs (payment orders,
    orders, lines, history, allocations) and its SKU stock UPDATE, in the
    same transaction, in the order the plugins give them; the orders' ids
    are not known yet, so a statement finds its orders by their numbers
    (``WHERE orders.number IN (...)``) and their lines through them.
    :param orders: every order about to be written (:class:`PlacingOrder`:
        its number, store, checkout and group).
    :returns: a list of :class:`PlacingWrite` (or None). All collected. A
    statement's error (a constraint) rolls the placement back as the
    kernel's own would; its ``check`` sees its rows after the pools have
    taken their stock and before :func:`order_placing`.
    Default implementation: none.

    Example::

        @hookimpl
        def order_placing_writes(orders):
            mine = [o.number for o in orders if o.seller_id is not None]
            if not mine:
                return None
            return [PlacingWrite(ledger.FREEZE, {"numbers": mine}, ledger.FREEZE_FORMS)]
    """


# ---------------------------------------------------------------------------
# Payments and settlement
# ---------------------------------------------------------------------------


@hookspec
def payment_gateways() -> Sequence[PaymentGateway]:
    """Ways to pay: payment gateways and offline methods.

    :returns: a list of :class:`PaymentGateway` instances (one per ``code``).
    All collected, by ``sort``. The kernel offers a gateway for a payment
    only when ``available(channel)`` is true for the buyer's client.
    Default implementation: the ``sandbox`` gateway (the kernel's local fake, through
    this same contract) and cash on delivery (``cod``, while the
    ``payment.cod_enabled`` setting is on). The guide
    ``docs/writing-a-payment-plugin.md`` walks through a whole gateway.

    Example::

        class WechatPay(PaymentGateway):
            code = "wechatpay"
            label = _l("WeChat Pay")
            channels = ("jsapi", "mini_program", "native", "h5")

            def start(self, payment, channel, payer): ...
            def verify_notification(self, request, kind): ...

        @hookimpl
        def payment_gateways():
            return [WechatPay()]
    """


@hookspec(firstresult=True)
def payer_openid(user: User, channel: str) -> str | None:
    """The buyer's id under the app that pays on ``channel`` (a WeChat
    openid for ``mini_program`` / ``jsapi``), from a sign-in plugin that
    bound it; gateways read it as :attr:`Payer.openid`.

    :param user: the signed-in buyer. :param channel: one of
    :data:`PAYMENT_CHANNELS`.
    :returns: the openid, or None when none is bound. Stops at the first
    non-None result. Default implementation: none (an API client may send
    ``openid`` itself).

    Example::

        @hookimpl
        def payer_openid(user, channel):
            if channel == "mini_program":
                return identities.openid_of(user, app_kind="mp")
    """


@hookspec
def settle_order(order: Order) -> None:
    """Post settlement for an order that has just been completed.

    Called inside the transaction that completes the order, so entries
    commit (or roll back) with the state change; must be idempotent for a
    given order. :param order: the completed ``Order``.
    All implementations are called. Default implementation: none (a
    single-store shop keeps all the money).

    Example::

        @hookimpl
        def settle_order(order):
            if order.seller_id is not None:
                ledger.post_income(order)  # one entry per order: idempotent
    """


@hookspec
def settle_refund(refund: Refund) -> None:
    """Post settlement reversals for a refund that has just been decided.

    Called inside the refund's transaction, where its money is committed to
    go back (the refund is ``refunding``; it becomes ``refunded`` when the
    gateway confirms, and ``refund_completed`` is sent then). :param refund: the ``Refund``
    with its lines and recorded reversals.
    All implementations are called. Default implementation: none.

    Example::

        @hookimpl
        def settle_refund(refund):
            ledger.post_reversal(refund)
    """


# ---------------------------------------------------------------------------
# Orders
# ---------------------------------------------------------------------------


@hookspec
def order_notices(order: Order, principal: User) -> Sequence[str] | None:
    """Notices shown on an order in the buyer's order center and order API
    (e.g. "the shop is closed; contact it if you paid").

    :param order: the ``Order``. :param principal: the signed-in user.
    :returns: a list of plain-text messages (or None). All collected.
    Default implementation: none.

    Example::

        @hookimpl
        def order_notices(order, principal):
            if order.status == "paid" and service.is_preorder(order.id):
                return [_("A pre-order: it ships within 7 days.")]
            return None
    """


@hookspec(firstresult=True)
def order_status_label(order: Order, status: str) -> str | None:
    """The words for ``status`` (the order's status now or in its history)
    where the kernel's would mislead for this order: a paid order waiting at
    a pickup counter reads "Awaiting pickup" (待自提), not "Awaiting
    shipment" (待发货). Shown on order lists and pages, web and console.

    :param order: the ``Order``. :param status: one of
        ``jishi.orders.state.STATUSES``.
    :returns: the translated label, or None to keep the kernel's. Stops at
    the first non-None result; answer from the order's own columns (it is
    asked once per order of a list, no query). Default implementation: none.

    Example::

        @hookimpl
        def order_status_label(order, status):
            if order.delivery_method == "pickup" and status == "paid":
                return _("Awaiting pickup")
            return None
    """


@hookspec
def order_transitioned(order: Order, name: str, from_status: str, actor_kind: str) -> None:
    """Called inside the transaction of every order state change, after the
    status is written and the history recorded, before commit.

    Post what must commit atomically with the change (a ledger entry when an
    order is paid). Raise to roll the change back.
    :param order: the ``Order`` (already in its new status).
    :param name: the transition's name (``pay``, ``ship``, ``complete``...,
        see ``jishi.orders.state.TRANSITIONS``).
    :param from_status: the status before. :param actor_kind: ``system``,
        ``buyer``, ``platform`` or ``seller``.
    All implementations are called. Default implementation: none.

    Example::

        @hookimpl
        def order_transitioned(order, name, from_status, actor_kind):
            if name == "pay":
                ledger.post_payment(order)
    """


@hookspec(firstresult=True)
def order_fulfilment(order: Order) -> Fulfilment | None:
    """How ``order`` leaves its seller, as its delivery method says: asked by
    the consoles' shipping (an order's page, batch shipping and their APIs),
    which show carrier and tracking fields only for ``parcel`` orders, offer
    a ``dispatch`` order's own action, and refuse (409) to ship a
    ``dispatch`` or ``handover`` order by hand.

    :param order: the ``Order`` (``order.delivery_method`` is the code of the
        :class:`DeliveryOption` chosen at checkout).
    :returns: a :class:`Fulfilment` for an order of your delivery method,
        None for others. Stops at the first non-None result.
    Default implementation (trylast): ``plain`` for virtual goods or an
    order without an address, else ``parcel``.

    Example::

        @hookimpl
        def order_fulfilment(order):
            if order.delivery_method != "local":
                return None
            return Fulfilment("dispatch", _("Local delivery"), action="local.dispatch",
                              fields=(("courier_name", _("Courier")), ("courier_phone", _("Phone"))))
    """


@hookspec
def order_actions(order: Order, principal: User) -> Sequence[MenuItem] | None:
    """Extra actions shown on an order (buyer's or console's order page).

    :param order: the ``Order``. :param principal: the signed-in user.
    :returns: a list of :class:`MenuItem`. All collected.
    Default implementation: none.

    Example::

        @hookimpl
        def order_actions(order, principal):
            if order.user_id != principal.id:
                return None
            return [MenuItem(_("Ask for an invoice"), "invoices.request")]
    """


@hookspec
def products_viewed(views: Sequence[ProductView]) -> None:
    """Signed-in buyers' product views, after the fact and in batches: for a
    browsing history (足迹), "viewed together" or a recommender.

    The kernel's visit tracking (:mod:`jishi.reports.tracking`) notes each
    product page and product detail answered to a signed-in buyer (a user
    the request loaded; tracking on, not a bot) and, when it writes its
    counters (every ``JISHI_TRACKING_FLUSH_SECONDS`` or
    ``JISHI_TRACKING_BATCH`` events, in a thread of the web process or the
    worker's ``flush_visits`` job), calls this hook with that batch's views,
    oldest first. No request waits for it and it adds no statement to one.
    It runs in an application context outside any request, after the
    counters are committed: use ``db.session`` and commit your own work.
    Like the counters, views are lossy: a process that dies or a Redis lost
    before the batch is written loses them, and an exception here is logged
    and loses only your part of the batch (the session is rolled back).

    :param views: :class:`ProductView` rows, the same buyer and product
        more than once when the buyer came back.
    :returns: nothing.
    Default implementation: none.

    Example::

        @hookimpl
        def products_viewed(views):
            for view in views:
                db.session.merge(Seen(user_id=view.user_id, product_id=view.product_id, at=view.viewed_at))
            db.session.commit()
    """
