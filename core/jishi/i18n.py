"""gettext for kernel and plugins: ``from jishi.i18n import gettext as _``.

Falls back to the untranslated text outside an app context (imports, CLI
help), so modules can mark strings at import time with ``lazy_gettext``.
"""

from __future__ import annotations

from datetime import datetime

from flask import has_app_context
from flask_babel import gettext as _gettext
from flask_babel import lazy_gettext, ngettext  # noqa: F401 - re-exported


def gettext(string: str, **variables) -> str:
    if not has_app_context():
        return string % variables if variables else string
    return _gettext(string, **variables)


def N_(string: str) -> str:
    """Mark ``string`` for extraction without translating it now: for text
    stored in the database (order history notes) and translated when shown,
    so each reader sees it in their own language."""
    return string


_ = gettext


# --- The shop's time zone ----------------------------------------------------
# Times are stored as naive UTC. People type and read them in the shop's time
# zone (BABEL_DEFAULT_TIMEZONE, Asia/Shanghai by default): sale windows,
# delivery slots, "today's" withdrawals. These helpers are the one place that
# converts, for the kernel and every plugin.


def shop_timezone():
    """The shop's time zone (``BABEL_DEFAULT_TIMEZONE``) as a ``ZoneInfo``."""
    from zoneinfo import ZoneInfo

    from flask import current_app

    name = current_app.config.get("BABEL_DEFAULT_TIMEZONE") if has_app_context() else None
    return ZoneInfo(name or "Asia/Shanghai")


def to_shop_time(moment):
    """A stored (naive UTC) time as the shop's aware local time; None stays None."""
    from datetime import UTC

    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(shop_timezone())


#: The moments a shop stores (naive UTC), first and past the last: years 1000
#: to 9998, so that every stored time can still be shown in any time zone and
#: moved by days (near year 1 or 9999 an offset leaves the calendar).
MIN_MOMENT = datetime(1000, 1, 1)
MAX_MOMENT = datetime(9999, 1, 1)


def naive_utc(moment):
    """``moment`` as stored (naive UTC): an aware one is converted, a naive
    one is taken as UTC already. Raises ``ValueError`` for a time outside
    :data:`MIN_MOMENT` .. :data:`MAX_MOMENT` (``0001-01-01T00:00:00+01:01``
    is no moment the calendar has); callers answer it naming their field."""
    from datetime import UTC

    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise ValueError("date and time out of range") from None
    if not MIN_MOMENT <= moment < MAX_MOMENT:
        raise ValueError("date and time out of range")
    return moment


def from_shop_time(moment):
    """A time as stored (naive UTC): a naive ``moment`` is read as the shop's
    local wall-clock time, an aware one keeps its offset. Raises
    ``ValueError`` out of range (:func:`naive_utc`)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=shop_timezone())
    return naive_utc(moment)


def parse_shop_time(text):
    """ISO text typed in a form ("2026-05-01 14:30", offset optional, read as
    shop time without one) -> naive UTC; "" -> None. Raises ``ValueError``
    for anything else."""
    from datetime import datetime

    text = (text or "").strip()
    if not text:
        return None
    return from_shop_time(datetime.fromisoformat(text))
