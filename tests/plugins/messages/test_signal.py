"""The ``message_posted`` signal (issue 18 "notifications by signal so a
later plugin can push them"): sent once per message after its transaction
committed, with the documented arguments; a refused message sends nothing;
a failing receiver does not undo the message."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from jishi import signals
from jishi.db import db
from jishi.hookspecs import hookimpl

from .helpers import answer, ask

ROOT = Path(__file__).resolve().parents[3]
CALLS: list = []
FAIL: list = []


def on_posted(message, **kwargs):
    if FAIL:
        raise RuntimeError("push service down")
    # after the commit: the session holds no open transaction (its writes are in)
    stored = int(not db.session().in_transaction())
    CALLS.append((message.id, message.side, kwargs["thread"].id, kwargs["recipient"], set(kwargs), stored))


class Notifier:
    """A later plugin pushing notifications (WeChat subscribe messages)."""

    __name__ = "notify_probe"

    @hookimpl
    def app_ready(self, app):
        from jishi_messages.signals import message_posted

        signals.connect(message_posted, on_posted, plugin="notify_probe")


@pytest.fixture
def extra_plugins():
    return [Notifier()]


@pytest.fixture(autouse=True)
def _clean():
    from jishi_messages.signals import message_posted

    CALLS.clear()
    FAIL.clear()
    # as the plugin's app_ready does (a cached app ran it once, before an
    # earlier test disconnected the receiver)
    signals.connect(message_posted, on_posted, plugin="notify_probe")
    yield
    signals.disconnect(message_posted, on_posted, plugin="notify_probe")
    CALLS.clear()
    FAIL.clear()


def test_sent_after_commit_with_its_arguments(api, factory):
    """Issue 18 messages: the buyer's message tells the seller side, the
    answer the buyer; each after commit (no transaction open while it is sent)."""
    from jishi_messages.signals import ARGUMENTS

    buyer = factory.user()
    t, m = ask(buyer, factory.product())
    a = answer(t, factory.admin())
    assert CALLS == [
        (m.id, "buyer", t.id, "seller", set(ARGUMENTS), 1),
        (a.id, "seller", t.id, "buyer", set(ARGUMENTS), 1),
    ]


def test_refused_message_sends_nothing(api, factory):
    """Issue 18 messages: a 422 leaves no signal behind."""
    buyer = factory.user()
    p = factory.product()
    assert api.post("/me/messages", user=buyer, json={"product_id": p.id, "body": "x" * 2000}).status_code == 422
    assert CALLS == []
    assert api.post("/me/messages", user=buyer, json={"product_id": p.id, "body": "ok"}).status_code == 201
    assert len(CALLS) == 1  # the receiver is listening


def test_failing_receiver_keeps_the_message(api, factory):
    """Issue 18 messages: a receiver that raises is recorded in
    ``signal_failures``; the message stands (201)."""
    from jishi.models import SignalFailure

    FAIL.append(True)
    buyer = factory.user()
    p = factory.product()
    r = api.post("/me/messages", user=buyer, json={"product_id": p.id, "body": "hi"})
    assert r.status_code == 201
    failure = db.session.query(SignalFailure).one()
    assert failure.signal == "messages-message-posted" and "push service down" in failure.error
    assert api.get("/me/messages/threads", user=buyer).json[0]["last_message_id"] == r.json["id"]


def test_signal_is_documented():
    """Issue 18 messages: docs/plugins/messages.md documents the signal, its
    sender and every keyword argument; the plugin sends exactly those."""
    from jishi_messages.signals import ARGUMENTS, message_posted

    doc = (ROOT / "docs" / "plugins" / "messages.md").read_text(encoding="utf-8")
    section = doc[doc.index("`jishi_messages.signals.message_posted`") :]
    section = section[: section.find("\n## ")] if "\n## " in section else section
    assert "Sender:" in section and message_posted.name in section
    for key in ARGUMENTS:
        assert re.search(rf"^- `{key}`:", section, re.MULTILINE), key
    sends = []
    for path in (ROOT / "plugins" / "messages" / "jishi_messages").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", "") in ("queue", "send")
                and node.args
                and "message_posted" in ast.unparse(node.args[0])
            ):
                sends.append({k.arg for k in node.keywords})
    assert sends and all(kw == set(ARGUMENTS) for kw in sends), sends
