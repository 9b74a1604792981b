"""The buyer's points pages (blueprint ``points``).

- ``/account/points``: the points centre (积分中心): usable and frozen
  points, the history newest first (20 a page, ``?before=<entry id>`` for
  older ones), each entry's kind and source in words. The buyer is the
  signed-in user, never a request parameter.
- The checkout's points toggle (slot ``checkout_bottom``): points
  available, used and the money they take off, as the form field
  ``opt.points``; each merchant order's share of that money (slot
  ``checkout_group``).
- "My points" among the account page's links (slot ``account_links``).

The centre is a frame other parts of the plugin plug into: it includes
``points/expiring.html``, ``points/level.html``, ``points/signin_card.html``
and ``points/exchange_card.html`` when they exist (``ignore missing``); a
fragment needing data of its own registers a loader with
:func:`centre_context` (``loader(user) -> dict``, merged into the page's
context).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user, login_required
from jishi.i18n import gettext as _
from markupsafe import Markup

from jishi_points import history, ledger

bp = Blueprint("points", __name__)

#: Fragments of the centre, in page order (each included only if it exists).
FRAGMENTS = (
    "points/signin_card.html",
    "points/level.html",
    "points/expiring.html",
    "points/exchange_card.html",
)

_LOADERS: list[Callable[[object], dict]] = []


def centre_context(loader: Callable[[object], dict]) -> Callable[[object], dict]:
    """Register ``loader(user) -> dict``: more context for the centre's
    fragments (e.g. the sign-in calendar). Usable as a decorator."""
    if loader not in _LOADERS:
        _LOADERS.append(loader)
    return loader


@centre_context
def _parts(user) -> dict:
    """The context of the plugin's own fragments: today's sign-in, the
    member level and what expires soon (each one or two indexed reads)."""
    from jishi_points import expiry, levels, signin

    day = signin.today()
    return {
        "signin_today": signin.calendar(user.id, day.year, day.month) if signin.enabled() else None,
        "level": levels.level_for(user.id),
        "expiring": expiry.expiring_for(user.id),
    }


def _before() -> int | None:
    raw = request.args.get("before", "")
    return int(raw) if (raw.isdecimal() and len(raw) <= 10) and 0 < int(raw) < 2**63 else None


def history_page(user_id: int, before: int | None) -> tuple[list[history.Line], int | None]:
    """A page of ``user_id``'s history in words, and the ``before`` of the next page."""
    entries = ledger.history(user_id, before=before, limit=ledger.PAGE + 1)
    more = len(entries) > ledger.PAGE
    entries = entries[: ledger.PAGE]
    return history.describe_page(entries), (entries[-1].id if more and entries else None)


@bp.get("/account/points")
@login_required
def centre():
    """积分中心: balance, frozen points, history, and the other parts' fragments."""
    from jishi_points import service

    balance, frozen = ledger.balance(current_user.id)
    before = _before()
    lines, next_before = history_page(current_user.id, before)
    context: dict = {}
    for loader in _LOADERS:
        context.update(loader(current_user) or {})
    return render_template(
        "points/centre.html",
        balance=balance,
        frozen=frozen,
        rate=service.setting(service.RATE),
        lines=lines,
        before=before,
        next_before=next_before,
        fragments=FRAGMENTS,
        **context,
    )


# --- Slots ----------------------------------------------------------------------


def _group_money(checkout) -> dict[str, int]:
    """The points' money per checkout group (merchant order), from the kernel's allocation."""
    from jishi_points.service import SOURCE

    index = next((i for i, a in enumerate(checkout.discounts) if a.discount.source == SOURCE), None)
    if index is None:
        return {}
    money: dict[str, int] = {}
    for line in checkout.lines:
        for share in line.shares:
            if share.discount_index == index and share.amount:
                money[line.group_key] = money.get(line.group_key, 0) + share.amount
    return money


def render_slot(slot: str, context: dict):
    if slot == "account_links":
        return Markup('<a href="%s" data-points-centre>%s</a>') % (url_for("points.centre"), _("My points"))
    checkout = context.get("checkout")
    if checkout is None or getattr(checkout.user, "id", None) is None:
        return None
    from jishi_points import checkout as co

    if slot == "checkout_bottom":
        info = co.extras(checkout)
        if info["available"] <= 0 and not info["requested"]:
            return None
        return Markup(render_template("points/_checkout_toggle.html", info=info))
    if slot == "checkout_group":
        group = context.get("group")
        money = _group_money(checkout).get(group.key, 0) if group is not None else 0
        if not money:
            return None
        return Markup('<p class="discount points-share" data-points-share="%d">%s -%s</p>') % (
            money,
            _("Points"),
            _money(money),
        )
    return None


def _money(fen: int) -> str:
    from jishi.money import format_fen

    return format_fen(fen)
