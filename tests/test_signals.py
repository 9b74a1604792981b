"""Signal receivers of a plugin run only in apps where the plugin is enabled
(``jishi.signals.connect(signal, receiver, plugin=...)``), once per send
however many apps connected them."""

from __future__ import annotations

import pytest
from flask import current_app
from jishi import signals
from jishi.hookspecs import hookimpl
from jishi.testing import make_app, reset_database

CALLS: list = []


def on_paid(sender, **kwargs):
    CALLS.append((current_app._get_current_object(), sender, kwargs))


class Probe:
    """A plugin connecting ``on_paid`` in ``app_ready``, as plugins do."""

    __name__ = "signal_probe"

    @hookimpl
    def app_ready(self, app):
        signals.connect(signals.order_paid, on_paid, plugin="signal_probe")


@pytest.fixture(autouse=True)
def _clean():
    CALLS.clear()
    yield
    signals.disconnect(signals.order_paid, on_paid, plugin="signal_probe")
    CALLS.clear()


@pytest.fixture
def build(tmp_path):
    """``make_app`` in a folder of its own; every app's data and connections
    go away after the test."""
    apps = []

    def build(*extra_plugins):
        apps.append(make_app(tmp_path / str(len(apps)), extra_plugins=extra_plugins))
        return apps[-1]

    yield build
    for app in apps:
        reset_database(app)


def test_receiver_runs_only_in_apps_where_its_plugin_is_enabled(build):
    """Two apps in one process, the plugin enabled in ``with_probe`` only: a
    signal sent in ``without`` does not reach the receiver; in ``with_probe``
    it does."""
    with_probe = build(Probe())
    without = build()
    assert not without.extensions["jishi"].pm.has_plugin("signal_probe")

    with without.app_context():
        signals.send(signals.order_paid, "order-b", payment="p")
    assert CALLS == []

    with with_probe.app_context():
        signals.send(signals.order_paid, "order-a", payment="p")
    assert CALLS == [(with_probe, "order-a", {"payment": "p"})]


def test_receiver_connected_by_two_apps_runs_once_per_send(build):
    first = build(Probe())
    second = build(Probe())
    assert (
        len([r for r in signals.order_paid.receivers.values() if getattr(r, "jishi_plugin", None) == "signal_probe"])
        == 1
    )

    with second.app_context():
        signals.send(signals.order_paid, "order-2")
    with first.app_context():
        signals.send(signals.order_paid, "order-1")
    assert [(app, sender) for app, sender, _ in CALLS] == [(second, "order-2"), (first, "order-1")]


def test_receiver_without_an_app_is_not_called(build):
    build(Probe())
    signals.send(signals.order_paid, "no-app")
    assert CALLS == []


def test_a_failing_plugin_receiver_is_recorded_under_its_own_name(build):
    """The connected wrapper keeps the receiver's module and name, so
    ``signal_failures`` names the plugin's function."""
    from jishi.db import db
    from jishi.models import SignalFailure
    from sqlalchemy import select

    def boom(sender, **kwargs):
        raise RuntimeError("receiver down")

    app = build(Probe())
    signals.connect(signals.order_paid, boom, plugin="signal_probe")
    try:
        with app.app_context():
            signals.send(signals.order_paid, "order-x")
            [failure] = db.session.execute(select(SignalFailure)).scalars()
            assert failure.receiver.endswith(
                "test_a_failing_plugin_receiver_is_recorded_under_its_own_name.<locals>.boom"
            )
            assert failure.error == "RuntimeError: receiver down"
    finally:
        signals.disconnect(signals.order_paid, boom, plugin="signal_probe")
    assert len(CALLS) == 1  # the other receiver still ran
