"""``jishi worker``: runs every ``periodic_jobs()`` job (SPEC K13).

``--once`` runs each job one time in the app context and prints its summary.

Without it the worker is a Huey consumer (``SqliteHuey`` in the instance
folder, or ``RedisHuey`` when ``JISHI_REDIS_URL`` is set). Huey's own
periodic tasks are crontab based (minute resolution), which cannot express a
job's ``every_seconds``; so each job is one Huey task that re-schedules
itself ``every_seconds`` after it ran (Huey's scheduler has one-second
resolution). A start writes a new *generation* token in Huey's storage and
the chains of an earlier start see a stale token and stop, so restarting the
worker never doubles a job.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

log = logging.getLogger("jishi.worker")
GENERATION_KEY = "jishi:jobs:generation"


def collect_jobs(app) -> dict:
    jobs = {}
    for result in app.extensions["jishi"].hook.periodic_jobs():
        for job in result or []:
            if job.name in jobs:
                raise click.ClickException(f"periodic job {job.name!r} is declared twice")
            jobs[job.name] = job
    return jobs


def run_once(app, jobs: dict) -> list[tuple[str, object, Exception | None]]:
    """Run every job once; returns (name, summary, error)."""
    from jishi.db import db

    out = []
    for name, job in jobs.items():
        with app.app_context():
            try:
                out.append((name, job.func(), None))
            except Exception as exc:
                db.session.rollback()
                log.exception("job %s failed", name)
                out.append((name, None, exc))
    return out


def make_huey(app):
    from huey import RedisHuey, SqliteHuey

    url = app.config.get("JISHI_REDIS_URL")
    if url:
        return RedisHuey("jishi", url=url, results=False)
    return SqliteHuey("jishi", filename=str(Path(app.instance_path) / "huey.db"), results=False)


def job_task(huey, app, jobs: dict):
    """Register the self-rescheduling task that runs one job on ``huey``."""

    @huey.task(name="jishi.run_job")
    def run_job(name: str, gen: str):
        if huey.get(GENERATION_KEY, peek=True) != gen or name not in jobs:
            return "stale"
        job = jobs[name]
        try:
            [(_, summary, error)] = run_once(app, {name: job})
            if error is not None:
                return f"failed: {error}"
            log.info("job %s: %s", name, summary)
            return summary
        finally:
            run_job.schedule((name, gen), delay=max(1, int(job.every_seconds)))

    return run_job


def start_chains(huey, task, jobs: dict) -> str:
    """Start one chain per job under a new generation (older chains stop)."""
    generation = uuid.uuid4().hex
    huey.put(GENERATION_KEY, generation)
    for name in jobs:
        task(name, generation)
    return generation


def schedule_jobs(huey, app, jobs: dict):
    task = job_task(huey, app, jobs)
    start_chains(huey, task, jobs)
    return task


def _require_schema() -> None:
    """Refuse to start on a database without the kernel's tables, with the fix."""
    from sqlalchemy import inspect

    from jishi.db import db

    if not inspect(db.engine).has_table("orders"):
        raise click.ClickException(
            f"the database {db.engine.url.render_as_string(hide_password=True)} has no schema yet: run `jishi db upgrade`"
        )


@click.command("worker")
@click.option("--once", is_flag=True, help="Run every job once, print each summary and exit.")
@click.option("--workers", default=1, show_default=True, help="Huey worker threads.")
@with_appcontext
def worker(once: bool, workers: int):
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
    huey = make_huey(app)
    schedule_jobs(huey, app, jobs)
    for name, job in jobs.items():
        click.echo(f"scheduled {name} every {job.every_seconds}s")
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=False, scheduler_interval=1)
    consumer.run()
