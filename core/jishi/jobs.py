"""Timed jobs (``periodic_jobs``) scheduled from durable state in the database.

Each job has one row in ``job_schedule`` (:class:`jishi.models.JobSchedule`):
when it is next due, who holds it, and how its last run went. Every
``jishi worker`` polls the table; a job is run by the worker whose
conditional ``UPDATE`` claims it (due, and nobody holds an unexpired lease),
so a job never runs twice at once however many workers there are. While it
runs, a heartbeat thread keeps extending the lease; a worker killed mid-run
(``kill -9``, a lost host) stops extending it, the lease expires after
``JISHI_JOB_LEASE_SECONDS`` and the next worker to poll runs the job again
(jobs are idempotent by contract). The next run is due ``every_seconds``
after a run finished, successful or not; a run missed while no worker was
alive is due at once when one starts.

Nothing here lives in Redis: restarting, flushing or losing Redis changes
nothing about timed jobs.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, or_, select, update

from jishi.db import conflict_insert, db, utcnow
from jishi.hookspecs import PeriodicJob
from jishi.models import JobSchedule

log = logging.getLogger("jishi.worker")
#: A job due this long with no worker on it shows as overdue in the console.
OVERDUE_SECONDS = 120

__all__ = ["JobStatus", "Scheduler", "collect_jobs", "job_statuses", "worker_id"]


class DuplicateJob(ValueError):
    """Two ``periodic_jobs`` implementations declare the same job name."""


def collect_jobs(app) -> dict[str, PeriodicJob]:
    """Every enabled plugin's (and the kernel's) jobs by name."""
    jobs: dict[str, PeriodicJob] = {}
    for result in app.extensions["jishi"].hook.periodic_jobs():
        for job in result or []:
            if job.name in jobs:
                raise DuplicateJob(f"periodic job {job.name!r} is declared twice")
            jobs[job.name] = job
    return jobs


def worker_id() -> str:
    """Who holds a claim: host, process and a random tag (a restarted
    process with a reused pid is another holder)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _due_and_free(now: datetime):
    """Due, and nobody holds an unexpired lease."""
    return and_(JobSchedule.next_due <= now, or_(JobSchedule.lease_until.is_(None), JobSchedule.lease_until < now))


def _every(job: PeriodicJob) -> int:
    return max(1, int(job.every_seconds))


@dataclass
class Outcome:
    name: str
    ran: bool
    summary: object = None
    error: BaseException | None = None


class Scheduler:
    """One worker's view of the schedule (use inside an app context).

    :param lease_seconds: how long a claim holds without a heartbeat; the
        heartbeat renews it every third of that.
    """

    def __init__(self, app, jobs: dict[str, PeriodicJob], holder: str | None = None, lease_seconds: int | None = None):
        self.app = app
        self.jobs = jobs
        self.holder = holder or worker_id()
        self.lease_seconds = max(1, int(lease_seconds or app.config.get("JISHI_JOB_LEASE_SECONDS") or 60))

    # -- the table ------------------------------------------------------------

    def sync(self) -> None:
        """A row for every declared job (due now when new); a changed
        interval takes effect at once when it shortens the wait."""
        now = utcnow()
        for name, job in self.jobs.items():
            every = _every(job)
            stmt = conflict_insert(JobSchedule).values(name=name, every_seconds=every, next_due=now)
            db.session.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
            db.session.execute(
                update(JobSchedule)
                .where(JobSchedule.name == name, JobSchedule.every_seconds != every)
                .values(every_seconds=every)
            )
            db.session.execute(
                update(JobSchedule)
                .where(JobSchedule.name == name, JobSchedule.next_due > now + timedelta(seconds=every))
                .values(next_due=now + timedelta(seconds=every))
            )
        db.session.commit()

    def due(self, now: datetime | None = None) -> list[str]:
        """Names of declared jobs that are due and free, most overdue first."""
        now = now or utcnow()
        rows = db.session.execute(
            select(JobSchedule.name).where(_due_and_free(now)).order_by(JobSchedule.next_due)
        ).scalars()
        names = [n for n in rows if n in self.jobs]
        db.session.commit()
        return names

    def claim(self, name: str, now: bool = False) -> bool:
        """Take the job for this worker: one conditional UPDATE, so of any
        number of workers asking at once exactly one gets it. ``now``: also
        when it is not due yet (``jishi worker --once``)."""
        at = utcnow()
        free = or_(JobSchedule.lease_until.is_(None), JobSchedule.lease_until < at)
        lost = JobSchedule.claimed_by.is_not(None)
        result = db.session.execute(
            update(JobSchedule)
            .where(JobSchedule.name == name, free if now else _due_and_free(at))
            .values(
                claimed_by=self.holder,
                lease_until=at + timedelta(seconds=self.lease_seconds),
                last_start=at,
                runs=JobSchedule.runs + 1,
                # a claim taken over from a holder whose lease expired: it died mid-run
                lost_leases=JobSchedule.lost_leases + case((lost, 1), else_=0),
            )
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        return result.rowcount == 1  # type: ignore[attr-defined]

    def renew(self, engine, name: str) -> bool:
        """Extend this worker's lease (the heartbeat; its own connection)."""
        with engine.begin() as conn:
            result = conn.execute(
                update(JobSchedule)
                .where(JobSchedule.name == name, JobSchedule.claimed_by == self.holder)
                .values(lease_until=utcnow() + timedelta(seconds=self.lease_seconds))
            )
        return result.rowcount == 1

    def finish(self, name: str, started: float, summary: object, error: BaseException | None) -> bool:
        """Record the run and release the claim; False when the claim was
        no longer this worker's (its lease expired and another took over)."""
        now = utcnow()
        values: dict = {
            "claimed_by": None,
            "lease_until": None,
            "last_finish": now,
            "last_duration_ms": int((time.monotonic() - started) * 1000),
            "next_due": now + timedelta(seconds=_every(self.jobs[name])),
        }
        if error is None:
            values.update(last_success=now, last_summary=None if summary is None else str(summary)[:200])
        else:
            text = "".join(traceback.format_exception_only(type(error), error)).strip()
            values.update(last_error=text[:4000], last_failure=now, failures=JobSchedule.failures + 1)
        result = db.session.execute(
            update(JobSchedule)
            .where(JobSchedule.name == name, JobSchedule.claimed_by == self.holder)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        return result.rowcount == 1  # type: ignore[attr-defined]

    # -- running ----------------------------------------------------------------

    def run(self, name: str, now: bool = False) -> Outcome:
        """Claim ``name`` and run it once (with a heartbeat) if the claim
        holds; ``now``: also when it is not due yet."""
        if not self.claim(name, now=now):
            return Outcome(name, ran=False)
        job = self.jobs[name]
        engine = db.engine
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(engine, name, stop), daemon=True, name=f"lease-{name}")
        beat.start()
        started = time.monotonic()
        summary: object = None
        error: BaseException | None = None
        try:
            summary = job.func()
        except Exception as exc:
            db.session.rollback()
            error = exc
            log.exception("job %s failed", name)
        finally:
            stop.set()
            beat.join()
        from jishi.metrics import count_job_run

        count_job_run(name, "ok" if error is None else "error", time.monotonic() - started)
        if not self.finish(name, started, summary, error):
            log.warning("job %s: the claim expired during the run (another worker may have run it too)", name)
        elif error is None:
            log.info("job %s: %s", name, summary)
        return Outcome(name, ran=True, summary=summary, error=error)

    def _heartbeat(self, engine, name: str, stop: threading.Event) -> None:
        interval = max(0.2, self.lease_seconds / 3)
        while not stop.wait(interval):
            try:
                if not self.renew(engine, name):
                    log.warning("job %s: lost its claim", name)
                    return
            except Exception:  # a database blip: the next beat tries again
                log.exception("job %s: heartbeat failed", name)

    def tick(self) -> list[Outcome]:
        """Run every job that is due now (each once); returns what ran."""
        out = []
        for name in self.due():
            outcome = self.run(name)
            if outcome.ran:
                out.append(outcome)
        return out

    def serve(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        """Poll and run due jobs until ``stop`` is set; a database error is
        logged and the loop carries on (the next poll reconnects)."""
        while not stop.is_set():
            try:
                self.tick()
            except Exception:
                db.session.rollback()
                log.exception("worker poll failed; retrying")
            finally:
                db.session.remove()
            stop.wait(poll_seconds)


@dataclass
class JobStatus:
    """One job as the console shows it."""

    name: str
    every_seconds: int | None
    declared: bool
    row: JobSchedule | None

    @property
    def overdue(self) -> bool:
        """Due for over two minutes and nobody on it: no worker is running
        (or every worker is busy with long jobs)."""
        row = self.row
        if row is None or row.lease_until is not None:
            return False
        return row.next_due < utcnow() - timedelta(seconds=OVERDUE_SECONDS)

    @property
    def running(self) -> bool:
        row = self.row
        return row is not None and row.lease_until is not None and row.lease_until >= utcnow()

    @property
    def failing(self) -> bool:
        row = self.row
        if row is None or row.last_failure is None:
            return False
        return row.last_success is None or row.last_failure > row.last_success


def job_statuses(app) -> list[JobStatus]:
    """Declared jobs with their schedule rows (never run: no row), then rows
    of jobs no enabled plugin declares any more."""
    jobs = collect_jobs(app)
    rows = {r.name: r for r in db.session.execute(select(JobSchedule)).scalars()}
    out = [JobStatus(name, _every(job), True, rows.pop(name, None)) for name, job in sorted(jobs.items())]
    out += [JobStatus(name, row.every_seconds, False, row) for name, row in sorted(rows.items())]
    return out
