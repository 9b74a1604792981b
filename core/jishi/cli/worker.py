"""``jishi worker``: runs every ``periodic_jobs()`` job (SPEC K13, issue 15).

The schedule lives in the database (``job_schedule``, see :mod:`jishi.jobs`):
every running worker polls it and runs the jobs that are due, each claimed by
one worker at a time with a lease its heartbeat renews. Start as many workers
as you like, on any hosts; kill one (even with ``-9``) and another runs its
jobs once the lease expires. Redis plays no part: losing it loses no job.

``--once`` runs each job one time now (cron-friendly), through the same
claims: a job another worker is running is reported busy, not run twice.
"""

from __future__ import annotations

import logging
import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

log = logging.getLogger("jishi.worker")


def collect_jobs(app) -> dict:
    from jishi.jobs import DuplicateJob
    from jishi.jobs import collect_jobs as collect

    try:
        return collect(app)
    except DuplicateJob as exc:
        raise click.ClickException(str(exc)) from None


def run_once(app, jobs: dict) -> list[tuple[str, object, Exception | None]]:
    """Run every job once now, each under a claim; returns (name, summary,
    error), summary ``"busy"`` for a job another worker is running."""
    from jishi.jobs import Scheduler

    out: list[tuple[str, object, Exception | None]] = []
    with app.app_context():
        scheduler = Scheduler(app, jobs)
        scheduler.sync()
        for name in jobs:
            outcome = scheduler.run(name, now=True)
            if not outcome.ran:
                out.append((name, "busy (another worker is running it)", None))
            else:
                out.append((name, outcome.summary, outcome.error))  # type: ignore[arg-type]
    return out


def _require_schema() -> None:
    """Refuse to start on a database without the kernel's tables, with the fix."""
    from sqlalchemy import inspect

    from jishi.db import db

    if not inspect(db.engine).has_table("orders"):
        raise click.ClickException(
            f"the database {db.engine.url.render_as_string(hide_password=True)} has no schema yet: run `jishi db upgrade`"
        )


def serve(app, jobs: dict, threads: int = 1, poll_seconds: float = 1.0, stop: threading.Event | None = None) -> None:
    """Poll the schedule in ``threads`` threads until ``stop`` is set (or
    SIGTERM / Ctrl-C); a running job finishes first."""
    from jishi.jobs import Scheduler, worker_id

    stop = stop or threading.Event()
    holder = worker_id()
    with app.app_context():
        Scheduler(app, jobs, holder=holder).sync()

    def loop(i: int) -> None:
        with app.app_context():
            Scheduler(app, jobs, holder=f"{holder}/{i}").serve(stop, poll_seconds=poll_seconds)

    pool = [threading.Thread(target=loop, args=(i,), name=f"jishi-worker-{i}") for i in range(max(1, threads))]
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    for t in pool:
        t.start()
    try:
        while any(t.is_alive() for t in pool):
            for t in pool:
                t.join(timeout=0.5)
    except KeyboardInterrupt:
        stop.set()
        for t in pool:
            t.join()


@click.command("worker")
@click.option("--once", is_flag=True, help="Run every job once now, print each summary and exit.")
@click.option("--workers", default=1, show_default=True, help="Threads polling the schedule.")
@click.option("--poll", "poll_seconds", default=1.0, show_default=True, help="Seconds between looks at the schedule.")
@with_appcontext
def worker(once: bool, workers: int, poll_seconds: float):
    """Run the timed jobs (close unpaid orders, auto-confirm, plugins' jobs)."""
    app = current_app._get_current_object()
    _require_schema()
    jobs = collect_jobs(app)
    if once:
        failed = 0
        for name, summary, error in run_once(app, jobs):
            if error is not None:
                failed += 1
                click.echo(f"{name}: FAILED {type(error).__name__}: {error}")
            else:
                click.echo(f"{name}: {summary if summary is not None else 'ok'}")
        if failed:
            raise click.ClickException(f"{failed} job(s) failed")
        return
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for name, job in jobs.items():
        click.echo(f"scheduled {name} every {job.every_seconds}s")
    serve(app, jobs, threads=workers, poll_seconds=poll_seconds)
