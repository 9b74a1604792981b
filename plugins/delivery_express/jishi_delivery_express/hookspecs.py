"""Hooks the plugin declares for other plugins (``tracking_provider``).

A carrier integration (Kuaidi100, a carrier's own API...) implements
:func:`tracking_provider`; the first one answering wins, and the plugin's
built-in manual provider (events a seller adds by hand) answers last.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # pragma: no cover - for annotations only
    from jishi.orders.models import Order

hookspec = pluggy.HookspecMarker("jishi")


@dataclass(frozen=True)
class TrackingEvent:
    """One step of a parcel's journey, newest shown first."""

    time: datetime
    text: str
    location: str = ""


@hookspec(firstresult=True)
def tracking_provider(order: Order) -> list[TrackingEvent] | None:
    """The tracking timeline of a shipped express order.

    Called for the buyer's order page, the buyer API
    (``GET /api/v1/orders/<id>/tracking``) and the seller's order page.
    :param order: the ``Order`` (``order.carrier``, ``order.tracking_no``).
    :returns: the events (any order; they are shown newest first), or
    None to let the next provider answer. Stops at the first non-None
    result. Default implementation (trylast): the events the seller
    added by hand (``express_tracking_events``).

    Example::

        @hookimpl
        def tracking_provider(order):
            if order.carrier != "sf":
                return None  # the next provider answers
            steps = sf_client.track(order.tracking_no)
            return [TrackingEvent(time=s["time"], text=s["text"], location=s["city"]) for s in steps]
    """
