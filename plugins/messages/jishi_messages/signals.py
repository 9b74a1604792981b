"""The messages plugin's signal, for plugins that push notifications
(WeChat subscribe messages, SMS, e-mail)::

    from jishi import signals
    from jishi_messages.signals import message_posted

    @hookimpl
    def app_ready(app):
        signals.connect(message_posted, push, plugin="wechat_notify")

    def push(message, thread, **kwargs):
        ...

Sent after the transaction that stored the message has committed (through
:func:`jishi.signals.queue`), once per message, as the kernel's signals are:
a receiver that raises is logged to ``signal_failures`` and does not undo
the message. Documented in ``docs/plugins/messages.md``.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: keyword argument -> what it is (the documentation, checked by the tests)
ARGUMENTS = {
    "thread": "the ``Thread`` it was posted in (``user_id`` the buyer, ``seller_id`` the shop: None for the platform)",
    "recipient": "who should hear of it: ``buyer`` (the shop or the platform wrote) or ``seller`` (the buyer wrote)",
}

message_posted = _signals.signal(
    "messages-message-posted",
    doc="A message was posted in a buyer-shop conversation. sender: the ``Message``; kwargs: "
    + ", ".join(f"{k} ({v})" for k, v in ARGUMENTS.items())
    + ".",
)
