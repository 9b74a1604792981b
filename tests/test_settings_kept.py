"""Issue 20: ``jishi.settings.kept`` (a capped store kept with the settings'
version), ``data_changed`` (a commit that starts kept values over) and
``reads_current`` (whether a read may be kept with the request's version).
The clock of the settings' copy is moved, never slept on."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from jishi import settings
from jishi.db import db


@contextmanager
def request_of(app):
    """A request as a server runs it: its own app context (``g``, session)."""
    with app.app_context(), app.test_request_context("/"):
        yield
        db.session.remove()


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(settings, "_clock", lambda: now[0])
    return now


def test_a_store_is_shared_by_requests_capped_and_new_with_the_settings(app, clock):
    with request_of(app):
        store = settings.kept("test.store", limit=2)
        assert isinstance(store, settings.Kept) and len(store) == 0
        assert store.put("a", 1) == 1
        store.put("b", 2)
    with request_of(app):  # another request, same version: the same store
        store = settings.kept("test.store", limit=2)
        assert store.get("a") == 1 and store["b"] == 2
        store.put("c", 3)  # full: started over, then kept
        assert dict(store) == {"c": 3}
    with request_of(app):
        settings.set_many({"shop.name": "甲"})
        db.session.commit()
    with request_of(app):  # a saved setting: a new empty store
        assert len(settings.kept("test.store", limit=2)) == 0
        settings.kept("test.store", limit=2).put("d", 4)
    clock[0] += 60  # the periodic re-read (another process's writes): a new store too
    with request_of(app):
        assert len(settings.kept("test.store", limit=2)) == 0
    with app.app_context():  # outside a request: nothing kept
        settings.kept("test.store").put("x", 1)
        assert len(settings.kept("test.store")) == 0


def test_data_changed_starts_kept_values_over_at_commit_not_at_rollback(app, clock):
    with request_of(app):
        settings.kept("test.store").put("a", 1)
    with request_of(app):
        settings.data_changed()
        db.session.rollback()
    with request_of(app):
        assert settings.kept("test.store").get("a") == 1  # a rollback changes nothing
        settings.data_changed()
        # until the commit this request keeps nothing new (its own uncommitted writes)
        assert not settings.reads_current()
        settings.kept("test.store").put("b", 2)
        assert "b" not in settings.kept("test.store")
        db.session.commit()
    with request_of(app):
        assert len(settings.kept("test.store")) == 0  # the commit: started over at once


def test_reads_current(app, clock):
    with app.app_context():
        assert not settings.reads_current()  # no request
    with request_of(app):
        assert settings.reads_current()  # no transaction: a read now is later than the copy
    with request_of(app):
        settings.get("shop.name")  # the copy taken with no transaction open
        db.session.execute(db.text("SELECT 1"))
        assert settings.reads_current()
    with request_of(app):
        clock[0] += 60
        db.session.execute(db.text("SELECT 1"))  # a transaction opened first...
        settings.get("shop.name")  # ...and the copy read in it: consistent
        assert settings.reads_current()
    with request_of(app):
        settings.get("shop.name")  # the process's copy, kept...
    with request_of(app):
        db.session.execute(db.text("SELECT 1"))  # ...a transaction opened before this request took it
        settings.get("shop.name")
        assert not settings.reads_current()
