"""SQLite writers queue on a file lock (``JISHI_DB_SQLITE_WRITE_LOCK``,
:func:`jishi.db.sqlite_write_lock`): every ``BEGIN IMMEDIATE`` first takes an
exclusive ``flock`` on ``<database>.write-lock`` and gives it back when its
transaction ends (commit, rollback, close, an exception in a view, the
process's death), so a waiting writer is woken at once instead of sleeping
in SQLite's busy handler. Nothing of it on PostgreSQL."""

from __future__ import annotations

import fcntl
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from jishi.db import WriteLockConnection, _write_lock, db, is_sqlite, sqlite_write_lock
from sqlalchemy import create_engine, text


def _sqlite_path(app) -> str:
    with app.app_context():
        if not is_sqlite():
            pytest.skip("SQLite's write lock")
        return db.engine.url.database


def _lock_is_free(path: str) -> bool:
    """Whether another open file takes ``<path>.write-lock`` at once (and
    gives it back)."""
    with open(path + ".write-lock", "ab") as probe:
        try:
            fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(probe.fileno(), fcntl.LOCK_UN)
        return True


def _write(user_id: int) -> None:
    db.session.execute(db.text("UPDATE users SET name = 'w' WHERE id = :i"), {"i": user_id})


def test_a_write_transaction_holds_the_lock_until_it_commits(app, factory):
    path = _sqlite_path(app)
    user_id = factory.user().id
    db.session.commit()
    with app.test_request_context("/", method="POST"):
        assert _lock_is_free(path)
        _write(user_id)
        assert not _lock_is_free(path)  # BEGIN IMMEDIATE took it
        db.session.commit()
        assert _lock_is_free(path)
        _write(user_id)  # the next transaction takes it again
        assert not _lock_is_free(path)
        db.session.commit()
        assert _lock_is_free(path)


def test_a_rollback_and_a_closed_session_give_the_lock_back(app, factory):
    path = _sqlite_path(app)
    user_id = factory.user().id
    db.session.commit()
    with app.test_request_context("/", method="POST"):
        _write(user_id)
        assert not _lock_is_free(path)
        db.session.rollback()
        assert _lock_is_free(path)
        _write(user_id)
        assert not _lock_is_free(path)
        db.session.remove()  # the connection goes back to the pool: rolled back
        assert _lock_is_free(path)


def test_a_read_request_does_not_take_the_lock(app, factory):
    path = _sqlite_path(app)
    factory.user()
    db.session.commit()
    with app.test_request_context("/", method="GET"):
        db.session.execute(db.text("SELECT count(*) FROM users")).scalar()
        assert _lock_is_free(path)
        db.session.rollback()


@pytest.mark.jishi_fresh_app
def test_an_exception_in_a_view_gives_the_lock_back(app, factory):
    path = _sqlite_path(app)
    user_id = factory.user().id
    db.session.commit()
    seen = []

    def boom():
        _write(user_id)
        seen.append(_lock_is_free(path))
        raise RuntimeError("boom")

    app.add_url_rule("/test-write-lock-boom", "test_write_lock_boom", boom, methods=["POST"])
    client = app.test_client()
    with pytest.raises(RuntimeError):  # (testing: the exception propagates, after the teardown)
        client.post("/test-write-lock-boom")
    assert seen == [False]
    assert _lock_is_free(path)
    db.session.expire_all()
    assert db.session.scalar(db.text("SELECT name FROM users WHERE id = :i"), {"i": user_id}) != "w"


def test_a_second_connection_of_the_holding_thread_does_not_wait_for_it(app, factory):
    """The thread holding the lock through one connection does not queue
    behind itself with another (SQLite's own lock and busy timeout then
    decide, as without this lock)."""
    path = _sqlite_path(app)
    lock = _write_lock(os.path.abspath(path) + ".write-lock")
    assert lock.acquire()
    try:
        assert not lock.acquire()
    finally:
        lock.release()
    assert _lock_is_free(path)


_WRITER = textwrap.dedent(
    """
    import sys, time
    from sqlalchemy import create_engine, text
    from jishi.db import sqlite_write_lock

    engine = create_engine(sys.argv[1])
    assert sqlite_write_lock(engine)
    if sys.argv[2] == "hold":
        conn = engine.connect()
        conn.begin()  # BEGIN IMMEDIATE: the lock, then SQLite's
        conn.execute(text("UPDATE counter SET n = n + 1000"))
        print("held", flush=True)
        time.sleep(3600)
    for _ in range(int(sys.argv[2])):
        with engine.begin() as conn:  # read, then write what was read
            n = conn.execute(text("SELECT n FROM counter")).scalar_one()
            conn.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
    print("done", flush=True)
    """
)


def _counter(tmp_path) -> str:
    path = str(tmp_path / "lock.db")
    plain = sqlite3.connect(path)
    plain.execute("PRAGMA journal_mode=WAL")
    plain.execute("CREATE TABLE counter (n INTEGER NOT NULL)")
    plain.execute("INSERT INTO counter VALUES (0)")
    plain.commit()
    plain.close()
    return path


def _count(path: str) -> int:
    plain = sqlite3.connect(path)
    try:
        return plain.execute("SELECT n FROM counter").fetchone()[0]
    finally:
        plain.close()


def _writer(path: str, arg: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, f"sqlite:///{path}", arg], stdout=subprocess.PIPE, text=True
    )


def test_two_processes_writing_at_once_both_complete(tmp_path):
    path = _counter(tmp_path)
    writers = [_writer(path, "200") for _ in range(2)]
    outs = [w.communicate(timeout=300)[0] for w in writers]
    assert [w.returncode for w in writers] == [0, 0]
    assert outs == ["done\n", "done\n"]
    assert _count(path) == 400  # every read-then-write serialised
    assert _lock_is_free(path)


def test_a_killed_holder_does_not_block_the_others(tmp_path):
    path = _counter(tmp_path)
    holder = _writer(path, "hold")
    try:
        assert holder.stdout.readline() == "held\n"
        assert not _lock_is_free(path)
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        holder.stdout.close()
    assert _lock_is_free(path)  # the kernel let go of it with the process
    engine = create_engine(f"sqlite:///{path}")
    assert sqlite_write_lock(engine)
    with engine.begin() as conn:  # its transaction was never committed: rolled back
        conn.execute(text("UPDATE counter SET n = n + 1"))
        assert not _lock_is_free(path)
    assert _lock_is_free(path)
    engine.dispose()
    assert _count(path) == 1


def test_only_file_sqlite_databases_take_it(app, tmp_path):
    with app.app_context():
        driver = db.session.connection().connection.driver_connection
        assert isinstance(driver, WriteLockConnection) == is_sqlite()
        db.session.rollback()
    memory = create_engine("sqlite://")
    assert not sqlite_write_lock(memory)
    assert not sqlite_write_lock(create_engine(f"sqlite:///file:{tmp_path}/x.db?uri=true"))
    memory.dispose()


@pytest.fixture
def app_config(request):
    return getattr(request, "param", {})


@pytest.mark.parametrize("app_config", [{"JISHI_DB_SQLITE_WRITE_LOCK": False}], indirect=True)
def test_the_setting_turns_it_off(app):
    with app.app_context():
        driver = db.session.connection().connection.driver_connection
        assert not isinstance(driver, WriteLockConnection)
        db.session.rollback()


def test_a_forked_child_neither_shares_nor_frees_its_parents_lock(tmp_path):
    """A lock taken before a fork (an app made before gunicorn forks its
    workers, say) stays the parent's: the child's acquire opens its own
    file (which the parent's lock excludes) and its release leaves the
    parent's lock alone."""
    path = _counter(tmp_path)
    lock = _write_lock(path + ".write-lock")
    assert lock.acquire()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, never return into pytest
        status = b"?"
        try:
            lock.release()  # the parent's: left alone
            lock._forked()
            lock.file = open(lock.path, "ab", buffering=0)  # the child's own
            try:
                fcntl.flock(lock.file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                status = b"shared"
            except BlockingIOError:
                status = b"excluded"
        finally:
            os.write(write, status)
            os._exit(0)
    os.close(write)
    try:
        assert os.read(read, 16) == b"excluded"
        os.waitpid(pid, 0)
        assert not _lock_is_free(path)  # the child's release did not free it
    finally:
        os.close(read)
        lock.release()
    assert _lock_is_free(path)


def test_a_writer_waits_for_the_lock_at_most_until_its_deadline(tmp_path):
    """The wait is bounded (the busy timeout, as for SQLite's own lock): a
    lock another open file keeps is not taken by the deadline, and the
    writer then goes on to SQLite's lock (``_WriteLock.acquire`` answers
    False); a lock given back while a writer waits is taken."""
    import threading
    from time import monotonic

    from jishi.db import _flock_until

    path = tmp_path / "db.write-lock"
    with open(path, "ab") as holder, open(path, "ab") as writer:
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
        assert _flock_until(writer.fileno(), monotonic() + 0.05) is False
        threading.Timer(0.05, fcntl.flock, (holder.fileno(), fcntl.LOCK_UN)).start()
        assert _flock_until(writer.fileno(), monotonic() + 30) is True
        with open(path, "ab") as third:  # the writer holds it now
            assert _flock_until(third.fileno(), monotonic()) is False


def test_a_lock_held_past_the_busy_timeout_leaves_the_writer_to_sqlite(tmp_path, monkeypatch):
    """``_WriteLock.acquire`` under a lock held elsewhere past the busy
    timeout: False (not taken), its process mutex given back."""
    import jishi.db as jdb

    monkeypatch.setattr(jdb, "SQLITE_BUSY_TIMEOUT_MS", 50)
    lock = _write_lock(str(tmp_path / "x.write-lock"))
    with open(lock.path, "ab") as holder:
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
        assert lock.acquire() is False
        assert lock.owner is None and not lock.mutex.locked()
    assert lock.acquire() is True
    lock.release()
