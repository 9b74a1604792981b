"""Footprints pages (blueprint ``footprints``; no JavaScript needed).

- 我的足迹 ``/footprints``: the signed-in buyer's footprints, newest first
  and under each day's heading (今天, 昨天, then the date, in the shop's
  time zone), 30 a page, each with its price now, or "no longer
  available", and a button to remove it; a button to clear them all.
  Linked from the account page (slot ``account_links``).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_login import current_user, login_required
from jishi.db import commit, utcnow
from jishi.i18n import gettext as _
from jishi.i18n import to_shop_time
from markupsafe import Markup

from jishi_footprints import service

bp = Blueprint("footprints", __name__)


def _day_label(day, today) -> str:
    if day == today:
        return _("Today")
    if day == today - timedelta(days=1):
        return _("Yesterday")
    return format_date(day, "MMMd" if day.year == today.year else "yMMMd")


@bp.get("/footprints")
@login_required
def listing():
    before = (request.args.get("before") or "").strip()[:30] or None
    try:
        items, next_before = service.seen(current_user, before=before)
    except service.FootprintError as exc:  # a stale or edited "more" link: the first page
        flash(exc.message, "error")
        items, next_before = service.seen(current_user)
    today = to_shop_time(utcnow()).date()
    days: list[tuple[str, list]] = []
    for item in items:
        label = _day_label(to_shop_time(item.viewed_at).date(), today)
        if not days or days[-1][0] != label:
            days.append((label, []))
        days[-1][1].append(item)
    return render_template(
        "footprints/listing.html", days=days, next_before=next_before, total=service.count(current_user)
    )


@bp.post("/footprints/products/<int:product_id>/remove")
@login_required
def remove(product_id: int):
    service.remove(current_user, product_id)
    commit()
    flash(_("Removed from your footprints."), "success")
    return redirect(url_for("footprints.listing"))


@bp.post("/footprints/clear")
@login_required
def clear():
    service.clear(current_user)
    commit()
    flash(_("Footprints cleared."), "success")
    return redirect(url_for("footprints.listing"))


def render_slot(slot: str, context: dict):
    if slot == "account_links":
        return Markup('<a href="%s">%s</a>') % (url_for("footprints.listing"), _("My footprints"))
    return None
