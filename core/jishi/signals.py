"""Domain events: things that happened and were committed.

One blinker namespace. Every signal is sent *after* the transaction that made
the change has committed, with the acting object as sender and keyword
arguments as documented. Receivers take ``**kwargs`` and must not be used to
change the outcome: the return values are ignored.

The signals are process-wide while plugins are enabled per app, so a plugin
connects its receivers with :func:`connect`, naming itself::

    @hookimpl
    def app_ready(app):
        signals.connect(signals.order_completed, award_points, plugin="points")

The receiver then runs only for signals sent in an app where that plugin is
enabled, and once per send however many apps connected it.

A receiver that raises does not undo the event: the kernel logs the failure
to the ``signal_failures`` table with the event's arguments, where the
platform console lists it. Work that must commit
atomically with the change is done in a hook called inside the transaction
(``order_placing``, ``settle_order``, ``settle_refund``) instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from blinker import ANY, NamedSignal, Namespace, Signal

_signals = Namespace()


@dataclass(frozen=True)
class SignalArguments:
    """What a signal is sent with: ``sender`` describes the sender, ``kwargs``
    each keyword argument (name -> what it is). Rendered into the hook
    reference (``docs/plugin-hooks.md``); the tests check that every send
    passes exactly documented keyword arguments."""

    sender: str
    kwargs: dict[str, str] = field(default_factory=dict)


#: signal name -> its :class:`SignalArguments`
ARGUMENTS: dict[str, SignalArguments] = {}


def _signal(name: str, doc: str, sender: str, **kwargs: str) -> NamedSignal:
    """Declare a signal: ``doc`` says what happened, ``sender`` what the
    sender is, ``kwargs`` each keyword argument receivers get."""
    text = f"{doc} sender: {sender}"
    if kwargs:
        text += "; kwargs: " + ", ".join(f"{k} ({v})" for k, v in kwargs.items())
    ARGUMENTS[name] = SignalArguments(sender, dict(kwargs))
    return _signals.signal(name, doc=text + ".")


user_registered = _signal("user-registered", "A buyer registered.", "the ``User``")
order_placed = _signal(
    "order-placed", "A checkout was placed.", "the ``PaymentOrder``", orders="list of the ``Order`` rows it paid for"
)
order_paid = _signal("order-paid", "An order was paid.", "the ``Order``", payment="the ``PaymentOrder`` that paid it")
order_shipped = _signal("order-shipped", "An order was shipped.", "the ``Order``")
order_received = _signal("order-received", "The buyer received an order.", "the ``Order``")
order_completed = _signal("order-completed", "An order was completed.", "the ``Order``")
order_closed = _signal(
    "order-closed",
    "An order was closed (cancelled, timed out, refunded).",
    "the ``Order``",
    reason="why: ``cancelled``, ``timeout``, ``refunded``, or a plugin's word (``merchant_deleted``)",
)
order_changed = _signal(
    "order-changed",
    "The seller or the platform changed an order's price (before payment) or delivery address (before shipping).",
    "the ``Order`` (with its new values)",
    change="``price`` or ``address``",
    old="the amount (fen) or the address (dict) before the change",
)
refund_requested = _signal("refund-requested", "A buyer asked for a refund.", "the ``Refund``")
refund_completed = _signal("refund-completed", "A refund was paid back.", "the ``Refund``")
payment_succeeded = _signal("payment-succeeded", "A payment order was paid.", "the ``PaymentOrder``")
review_posted = _signal("review-posted", "A buyer reviewed a product.", "the ``Review``")
review_moderated = _signal(
    "review-moderated",
    "A review was hidden (deleted by the seller or the platform) or approved (shown after moderation).",
    "the ``Review``",
    action="``deleted`` or ``approved``",
)
product_saved = _signal(
    "product-saved", "A product was created or changed.", "the ``Product``", created="True when the product is new"
)

ALL = {
    s.name: s
    for s in (
        user_registered,
        order_placed,
        order_paid,
        order_shipped,
        order_received,
        order_completed,
        order_closed,
        order_changed,
        refund_requested,
        refund_completed,
        payment_succeeded,
        review_posted,
        review_moderated,
        product_saved,
    )
}


# (signal, receiver, plugin) -> the connected wrapper
_plugin_receivers: dict[tuple[Signal, Callable, str], Callable] = {}


def connect(signal: Signal, receiver: Callable, *, plugin: str, sender=ANY) -> Callable:
    """Connect ``receiver`` to ``signal`` on behalf of ``plugin`` (its name,
    the entry point's name): it is called only for signals sent in an app
    where ``plugin`` is enabled (``current_app``'s plugin manager has it),
    never in another app of the same process, nor without an app.

    Connecting the same receiver for the same plugin again (``app_ready``
    runs for every app built) changes nothing: it runs once per send.
    ``sender`` limits it to one sender, as blinker's ``connect``. The
    receiver is held strongly (a plugin's function lives as long as the
    process). :returns: the wrapper connected to the signal.
    """
    key = (signal, receiver, plugin)
    if key not in _plugin_receivers:
        _plugin_receivers[key] = _for_plugin(receiver, plugin)
    wrapper = _plugin_receivers[key]
    signal.connect(wrapper, sender=sender, weak=False)
    return wrapper


def _for_plugin(receiver: Callable, plugin: str) -> Callable:
    """``receiver``, called only where ``plugin`` is enabled; it keeps the
    receiver's module and name (``signal_failures`` names the receiver)."""

    @functools.wraps(receiver)
    def wrapper(sender, **kwargs):
        if not plugin_enabled(plugin):
            return None
        return receiver(sender, **kwargs)

    wrapper.jishi_plugin = plugin  # type: ignore[attr-defined]
    return wrapper


def disconnect(signal: Signal, receiver: Callable, *, plugin: str) -> None:
    """Undo :func:`connect` of ``receiver`` for ``plugin`` (every sender)."""
    wrapper = _plugin_receivers.pop((signal, receiver, plugin), None)
    if wrapper is not None:
        signal.disconnect(wrapper)


def plugin_enabled(plugin: str) -> bool:
    """Whether ``plugin`` is enabled in the current app (False without one)."""
    from flask import current_app, has_app_context

    if not has_app_context():
        return False
    ext = current_app.extensions.get("jishi")
    return ext is not None and ext.pm.has_plugin(plugin)


def queue(signal, sender, **kwargs) -> None:
    """Queue ``signal`` to be sent after the current transaction commits
    (by :func:`jishi.db.commit`); a rollback drops it."""
    from jishi.db import db

    db.session.info.setdefault("jishi_signals", []).append((signal, sender, kwargs))


def send_queued() -> None:
    from jishi.db import db

    pending = db.session.info.pop("jishi_signals", [])
    for signal, sender, kwargs in pending:
        send(signal, sender, **kwargs)


def send(signal, sender, **kwargs) -> None:
    """Send ``signal``; a receiver's exception is logged, recorded, not raised."""
    import logging

    for receiver in signal.receivers_for(sender):
        try:
            receiver(sender, **kwargs)
        except Exception as exc:
            logging.getLogger("jishi.signals").exception("receiver %r of %s failed", receiver, signal.name)
            _record_failure(signal.name, sender, receiver, exc, kwargs)


def _record_failure(name, sender, receiver, exc, kwargs) -> None:
    from jishi.db import db
    from jishi.models import SignalFailure

    try:
        db.session.rollback()
        db.session.add(
            SignalFailure(
                signal=name,
                sender_repr=_ref(sender),
                receiver=f"{getattr(receiver, '__module__', '?')}.{getattr(receiver, '__qualname__', repr(receiver))}",
                error=f"{type(exc).__name__}: {exc}"[:1000],
                kwargs_repr=repr({k: _ref(v) for k, v in kwargs.items()})[:2000],
            )
        )
        db.session.commit()
    except Exception:
        db.session.rollback()


def _ref(obj) -> str:
    ident = getattr(obj, "id", None)
    return f"{type(obj).__name__}:{ident}" if ident is not None else repr(obj)[:200]
