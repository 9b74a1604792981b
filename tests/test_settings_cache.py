"""Issue 20: the stored settings are read once per process, not per request
(``jishi.settings``): a commit that changed settings refreshes this
process's copy at once, a rollback leaves nothing of its values behind, and
another process's change shows once the copy is older than
``JISHI_SETTINGS_TTL`` (the clock is moved, never slept on)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from jishi import settings, testing
from jishi.db import db
from jishi.settings import Setting
from sqlalchemy import update

KEY = "shop.name"


@contextmanager
def request_of(app):
    """A request as a server runs it: its own app context (``g``, session)."""
    with app.app_context(), app.test_request_context("/"):
        yield
        db.session.remove()


def _read(app, queries, key=KEY):
    """``(value, statements)`` of one request reading ``key``."""
    with request_of(app), queries() as q:
        value = settings.get(key)
    return value, q.count


@pytest.fixture
def clock(monkeypatch):
    """``jishi.settings``' clock, moved by hand: ``clock[0] += seconds``."""
    now = [1000.0]
    monkeypatch.setattr(settings, "_clock", lambda: now[0])
    return now


def _save(value, key=KEY):
    settings.set_many({key: value})
    db.session.commit()


def _write_as_another_process(value, key=KEY):
    """The row changed behind this process's back (no session, no mark)."""
    with db.engine.begin() as conn:
        conn.execute(update(Setting).where(Setting.key == key).values(value=value))


def test_requests_share_one_read_and_a_commit_refreshes_it_at_once(app, queries):
    _save("甲")
    assert _read(app, queries) == ("甲", 1)  # the copy was dropped by the commit: read once
    assert _read(app, queries) == ("甲", 0)  # every later request shares it
    with request_of(app):
        assert settings.get(KEY) == "甲"
        settings.set_many({KEY: "乙"})
        assert settings.get(KEY) == "乙"  # the request reads its own write (the table)
        db.session.commit()
        assert settings.get(KEY) == "乙"
    assert _read(app, queries) == ("乙", 0)  # read again after the commit, in that request
    assert _read(app, queries) == ("乙", 0)


def test_a_rollback_leaves_none_of_its_values_cached(app, queries):
    _save("甲")
    assert _read(app, queries) == ("甲", 1)
    with request_of(app):
        settings.set_many({KEY: "乙"})
        assert settings.get(KEY) == "乙"
        db.session.rollback()
        assert settings.get(KEY) == "甲"  # the request forgot the rolled-back value
    assert _read(app, queries) == ("甲", 0)  # and the process's copy never held it
    with request_of(app):  # a savepoint rolled back inside a committed transaction
        savepoint = db.session.begin_nested()
        settings.set_many({KEY: "丙"})
        assert settings.get(KEY) == "丙"
        savepoint.rollback()
        assert settings.get(KEY) == "甲"
        db.session.commit()
    assert _read(app, queries)[0] == "甲"


def test_another_process_change_shows_once_the_copy_is_older_than_the_ttl(app, clock):
    _save("甲")
    count = lambda: testing.count_queries(db.engine)  # noqa: E731 - the clock is moved by hand here
    assert _read(app, count) == ("甲", 1)
    _write_as_another_process("乙")
    clock[0] += 1.9
    assert _read(app, count) == ("甲", 0)  # 1.9 s old: still the copy (JISHI_SETTINGS_TTL 2 by default)
    clock[0] += 0.2
    assert _read(app, count) == ("乙", 1)  # 2.1 s: read again
    assert _read(app, count) == ("乙", 0)


def test_ttl_zero_reads_every_request(app, clock, monkeypatch):
    monkeypatch.setitem(app.config, "JISHI_SETTINGS_TTL", 0)
    count = lambda: testing.count_queries(db.engine)  # noqa: E731
    _save("甲")
    assert _read(app, count) == ("甲", 1)
    _write_as_another_process("乙")
    assert _read(app, count) == ("乙", 1)


def test_two_apps_on_one_database_see_each_others_change_after_the_ttl(app, tmp_path, clock):
    other = testing.make_app(
        tmp_path / "other", config={"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]}
    )
    count = lambda: testing.count_queries(db.engine)  # noqa: E731
    try:
        _save("甲")
        assert _read(app, count)[0] == "甲"
        with other.app_context():
            assert _read(other, count)[0] == "甲"
            with request_of(other):
                settings.set_many({KEY: "乙"})
                db.session.commit()
            assert _read(other, count)[0] == "乙"  # the saving process: at once
        assert _read(app, count) == ("甲", 0)  # the other: its copy until the TTL
        clock[0] += 2.5
        assert _read(app, count) == ("乙", 1)
        with other.app_context():
            assert _read(other, count) == ("乙", 1)  # its copy aged too: read again
        _save("丙")  # and the other way round
        with other.app_context():
            assert _read(other, count) == ("乙", 0)
            clock[0] += 2.5
            assert _read(other, count)[0] == "丙"
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def test_derived_is_built_once_per_version_of_the_settings(app):
    built = []

    def build():
        built.append(settings.get(KEY))
        return {"name": settings.get(KEY)}

    _save("甲")
    with request_of(app):
        first = settings.derived("test.name", build)
    with request_of(app):
        assert settings.derived("test.name", build) is first  # another request: not built again
    assert built == ["甲"]
    _save("乙")
    with request_of(app):
        assert settings.derived("test.name", build) == {"name": "乙"}
    assert built == ["甲", "乙"]
    assert settings.derived("test.name", build) == {"name": "乙"}  # outside a request: built every call
    assert built == ["甲", "乙", "乙"]
