"""K13 / issue 15 items 3 and 4: timed jobs scheduled from durable state in
the database (``job_schedule``), claimed by one worker at a time under a
lease its heartbeat renews, each run recorded; the console lists them.

The fault tests (kill -9 a worker mid-job, Redis restarted empty) run real
``jishi worker`` processes on a scratch database migrated by ``jishi db
upgrade``; on PostgreSQL with ``JISHI_TEST_DATABASE_URL``.
"""

from __future__ import annotations

import signal
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from jishi.db import db, utcnow
from jishi.hookspecs import PeriodicJob, hookimpl
from jishi.jobs import Scheduler, job_statuses
from jishi.models import JobSchedule
from jishi.testing import is_postgres
from jishi.testing.deploy import jishi_env, run_jishi, scratch_database, start_jishi, wait_until

JOBPROBE = Path(__file__).parent / "fixture_plugins" / "jobprobe"


class Calls:
    """A plugin with two jobs: one that counts, one that fails."""

    def __init__(self):
        self.count = 0

    def tick(self):
        self.count += 1
        return f"tick {self.count}"

    def boom(self):
        raise RuntimeError("boom: the gateway said no")

    @hookimpl
    def periodic_jobs(self):
        return [PeriodicJob("t_tick", self.tick, every_seconds=30), PeriodicJob("t_boom", self.boom, every_seconds=60)]


@pytest.fixture
def calls():
    return Calls()


@pytest.fixture
def extra_plugins(calls):
    return [calls]


def _jobs(calls):
    return {"t_tick": PeriodicJob("t_tick", calls.tick, 30), "t_boom": PeriodicJob("t_boom", calls.boom, 60)}


def _row(name) -> JobSchedule:
    db.session.expire_all()
    row = db.session.get(JobSchedule, name)
    assert row is not None
    return row


def test_sync_makes_every_job_due_once(app, calls):
    """Issue 15.4: each declared job gets one row, due at once; a second
    worker's sync changes nothing."""
    a = Scheduler(app, _jobs(calls), holder="a")
    a.sync()
    Scheduler(app, _jobs(calls), holder="b").sync()
    rows = db.session.execute(db.select(JobSchedule).order_by(JobSchedule.name)).scalars().all()
    assert [(r.name, r.every_seconds, r.claimed_by) for r in rows] == [("t_boom", 60, None), ("t_tick", 30, None)]
    assert set(a.due()) == {"t_tick", "t_boom"}


def test_a_run_is_recorded_and_due_again_every_seconds_later(app, calls):
    """Issue 15.4: last start, last success, duration, summary; the next
    run is due every_seconds after the run ended; not before."""
    s = Scheduler(app, _jobs(calls), holder="a")
    s.sync()
    before = utcnow()
    [tick] = [o for o in s.tick() if o.name == "t_tick"]
    assert tick.summary == "tick 1" and tick.error is None
    row = _row("t_tick")
    assert row.claimed_by is None and row.lease_until is None
    assert before <= row.last_start <= row.last_success
    assert row.last_duration_ms is not None and row.last_duration_ms >= 0
    assert row.last_summary == "tick 1" and row.runs == 1 and row.failures == 0
    assert timedelta(seconds=29) <= row.next_due - row.last_start <= timedelta(seconds=31)
    assert s.tick() == [] and calls.count == 1  # not due yet


def test_a_failing_run_records_its_error_and_runs_again(app, calls):
    """Issue 15.4: an error is recorded (and shown as failing) and the job
    stays scheduled; a later success clears the failing state."""
    s = Scheduler(app, _jobs(calls), holder="a")
    s.sync()
    outcomes = {o.name: o for o in s.tick()}
    assert isinstance(outcomes["t_boom"].error, RuntimeError)
    row = _row("t_boom")
    assert "boom: the gateway said no" in row.last_error
    assert row.failures == 1 and row.last_success is None and row.claimed_by is None
    assert row.next_due > utcnow() + timedelta(seconds=50)
    status = {st.name: st for st in job_statuses(app)}
    assert status["t_boom"].failing and not status["t_tick"].failing
    # the job is replaced by one that works: due again, it succeeds
    s.jobs["t_boom"] = PeriodicJob("t_boom", lambda: "fixed", 60)
    db.session.execute(db.update(JobSchedule).values(next_due=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert {o.name: o.summary for o in s.tick()}["t_boom"] == "fixed"
    assert not {st.name: st for st in job_statuses(app)}["t_boom"].failing


def test_a_claim_is_exclusive_until_its_lease_expires(app, calls):
    """Issue 15.4: while a worker holds a job (lease not expired) no other
    worker claims it; after the lease expires (its worker died) the next one
    does, the takeover is counted, and the dead worker's late finish
    changes nothing."""
    a = Scheduler(app, _jobs(calls), holder="a", lease_seconds=60)
    b = Scheduler(app, _jobs(calls), holder="b", lease_seconds=60)
    a.sync()
    assert a.claim("t_tick")
    assert not b.claim("t_tick")
    assert "t_tick" not in b.due()
    assert not b.claim("t_tick", now=True)  # --once respects a held claim too
    db.session.execute(
        db.update(JobSchedule)
        .where(JobSchedule.name == "t_tick")
        .values(lease_until=utcnow() - timedelta(seconds=1))  # a silent holder
    )
    db.session.commit()
    assert "t_tick" in b.due()
    assert b.claim("t_tick")
    row = _row("t_tick")
    assert row.claimed_by == "b" and row.lost_leases == 1 and row.runs == 2
    assert not a.finish("t_tick", 0.0, "late", None)  # no longer a's
    assert _row("t_tick").claimed_by == "b"


def test_the_heartbeat_keeps_a_long_run_claimed(app):
    """Issue 15.4: a run longer than the lease keeps its claim (the
    heartbeat renews it), so no other worker starts it meanwhile."""
    release = threading.Event()
    started = threading.Event()

    def slow():
        started.set()
        release.wait(10)
        return "slow done"

    jobs = {"t_slow": PeriodicJob("t_slow", slow, 60)}
    a = Scheduler(app, jobs, holder="a", lease_seconds=1)
    a.sync()
    result = {}

    def run_a():
        with app.app_context():
            result["a"] = a.run("t_slow")

    t = threading.Thread(target=run_a)
    t.start()
    try:
        assert started.wait(10)
        b = Scheduler(app, jobs, holder="b", lease_seconds=1)
        for _ in range(5):  # 2.5 lease lengths
            assert not b.claim("t_slow")
            threading.Event().wait(0.5)
        db.session.commit()
    finally:
        release.set()
        t.join(20)
    assert result["a"].ran and result["a"].summary == "slow done"
    assert _row("t_slow").lost_leases == 0


@pytest.mark.skipif(not is_postgres(), reason="concurrent claims need PostgreSQL")
def test_many_workers_claim_a_due_job_once(app, calls):
    """Issue 15.4: eight workers asking for one due job at the same moment:
    exactly one runs it (PostgreSQL, concurrent connections)."""
    jobs = {"t_tick": PeriodicJob("t_tick", calls.tick, 30)}
    Scheduler(app, jobs, holder="setup").sync()
    barrier = threading.Barrier(8)
    got = []

    def worker(i):
        with app.app_context():
            s = Scheduler(app, jobs, holder=f"w{i}")
            barrier.wait(10)
            got.extend(o.name for o in s.tick())
            db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert got == ["t_tick"] and calls.count == 1
    assert _row("t_tick").runs == 1


def test_worker_once_runs_each_job_now_and_reports_busy(app, calls, runner):
    """K13: ``jishi worker --once`` runs every job now (due or not), records
    the runs, and reports a job another worker is running as busy."""
    from jishi.cli import make_cli

    Scheduler(app, _jobs(calls), holder="other").sync()
    assert Scheduler(app, _jobs(calls), holder="other").claim("t_boom")
    result = runner.invoke(make_cli(), ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "t_tick: tick 1" in result.output
    assert "t_boom: busy" in result.output
    assert _row("t_tick").last_success is not None


def test_console_lists_the_timed_jobs(app, calls, factory, login, client):
    """Issue 15.4: the platform console lists every timed job with its last
    start, success, duration, error and next due; a job long overdue (no
    worker alive) is flagged; only platform admins open it."""
    s = Scheduler(app, _jobs(calls), holder="a")
    s.sync()
    s.tick()
    db.session.execute(
        db.update(JobSchedule).where(JobSchedule.name == "t_tick").values(next_due=utcnow() - timedelta(hours=2))
    )
    db.session.commit()
    admin = factory.admin()
    db.session.commit()
    login(admin)
    page = client.get("/console/jobs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for text in (
        "定时任务",
        "t_tick",
        "t_boom",
        "close_unpaid_orders",
        "boom: the gateway said no",
        "tick 1",
        "已逾期",
    ):
        assert text in html
    assert 'data-overdue="t_tick"' in html
    assert 'data-failing="t_boom"' in html


# -- faults: real worker processes ---------------------------------------------


def _probe_lines(log: Path) -> list[tuple[str, int, float]]:
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        kind, pid, at = line.split()
        out.append((kind, int(pid), float(at)))
    return out


def _schedule_row(url: str, name: str) -> dict:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT * FROM job_schedule WHERE name = :n"), {"n": name}).mappings().one()
            return dict(row)
    finally:
        engine.dispose()


def _stop(*procs) -> None:
    for proc in procs:
        if proc is not None and proc.poll() is None:
            proc.kill()
        if proc is not None:
            proc.wait(10)


def _probe_env(url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return jishi_env(
        url,
        plugin_paths=[JOBPROBE],
        JISHI_PLUGINS="jobprobe",
        JISHI_JOB_LEASE_SECONDS="3",
        JOBPROBE_LOG=str(tmp_path / "probe.log"),
        **extra,
    )


@pytest.mark.slow
def test_a_worker_killed_mid_job_hands_it_to_another_after_the_lease(tmp_path):
    """Issue 15.4 (fault: kill -9 a job worker mid-pass): while worker A
    runs the job (longer than its 3 s lease: the heartbeat renews it), a
    second live worker B never starts it; A is killed with SIGKILL; once the
    lease expires B runs the job, and its effect happens exactly once."""
    log = tmp_path / "probe.log"
    a = b = None
    with scratch_database(tmp_path) as url:
        env = _probe_env(url, tmp_path)
        upgraded = run_jishi(["db", "upgrade"], env, cwd=tmp_path)
        assert upgraded.returncode == 0, upgraded.stderr
        try:
            a = start_jishi(
                ["worker", "--poll", "0.2"], {**env, "JOBPROBE_HANG_SECONDS": "120"}, tmp_path, tmp_path / "a.log"
            )
            wait_until(lambda: [x for x in _probe_lines(log) if x[:2] == ("start", a.pid)], 60, what="A starts the job")
            b = start_jishi(["worker", "--poll", "0.2"], env, tmp_path, tmp_path / "b.log")
            wait_until(lambda: "scheduled probe" in (tmp_path / "b.log").read_text(), 60, what="B is up")
            threading.Event().wait(7)  # over two lease lengths with both alive
            assert [x[:2] for x in _probe_lines(log)] == [("start", a.pid)], "B started a job A holds"
            assert b.poll() is None
            a.send_signal(signal.SIGKILL)
            a.wait(10)
            killed = time.time()
            wait_until(lambda: [x for x in _probe_lines(log) if x[:2] == ("done", b.pid)], 30, what="B runs the job")
            threading.Event().wait(1.5)  # no second run sneaks in
            lines = [x[:2] for x in _probe_lines(log)]
            assert lines == [("start", a.pid), ("start", b.pid), ("done", b.pid)]
            row = _schedule_row(url, "probe")
            assert row["claimed_by"] is None and row["last_success"] is not None
            assert row["lost_leases"] == 1 and row["runs"] == 2 and row["last_summary"] == "probed"
            # taken over once the lease (3 s, renewed every second) ran out
            [b_start] = [at for kind, pid, at in _probe_lines(log) if (kind, pid) == ("start", b.pid)]
            assert killed < b_start < killed + 3 + 8
        finally:
            _stop(a, b)


def _redis(port: int):
    import shutil
    import subprocess

    exe = shutil.which("redis-server")
    if not exe:
        pytest.skip("redis-server is not installed")
    return subprocess.Popen(
        [exe, "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.slow
def test_timed_jobs_run_on_when_redis_dies_and_restarts_empty(tmp_path):
    """Issue 15.3 (fault: Redis restarted empty): with JISHI_REDIS_URL set
    (our own throwaway redis-server), a worker keeps running its timed job
    while Redis is down and after it restarts empty; nothing of the schedule
    is in Redis."""
    import socket

    import redis

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "probe.log"
    server = _redis(port)
    worker = None
    client = redis.Redis(port=port, socket_timeout=1)
    wait_until(lambda: _ping(client), 10, what="redis up")

    def done() -> int:
        return sum(1 for x in _probe_lines(log) if x[0] == "done")

    with scratch_database(tmp_path) as url:
        env = _probe_env(url, tmp_path, JOBPROBE_EVERY="1", JISHI_REDIS_URL=f"redis://127.0.0.1:{port}/0")
        assert run_jishi(["db", "upgrade"], env, cwd=tmp_path).returncode == 0
        try:
            worker = start_jishi(["worker", "--poll", "0.2"], env, tmp_path, tmp_path / "w.log")
            wait_until(lambda: done() >= 2, 60, what="two runs")
            server.kill()
            server.wait(10)
            n = done()
            wait_until(lambda: done() >= n + 2, 20, what="runs while Redis is down")
            server = _redis(port)
            wait_until(lambda: _ping(client), 10, what="redis back")
            assert client.dbsize() == 0  # restarted empty
            n = done()
            wait_until(lambda: done() >= n + 2, 20, what="runs after Redis restarted empty")
            assert worker.poll() is None
            assert not [k for k in client.keys("*") if b"job" in k or b"huey" in k]
        finally:
            _stop(worker, server)
            client.close()


def _ping(client) -> bool:
    import redis

    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
