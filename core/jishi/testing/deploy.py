"""Helpers for tests that run Jishi as a deployment does: ``jishi``
processes (workers, upgrades, servers) on a database of their own, migrated
by the real ``jishi db upgrade``, with faults injected (issue 15).

    with scratch_database(tmp_path) as url:
        env = jishi_env(url)
        run_jishi(["db", "upgrade"], env, cwd=tmp_path)
        worker = start_jishi(["worker"], env, cwd=tmp_path)
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

__all__ = ["jishi_env", "jishi_executable", "run_jishi", "scratch_database", "start_jishi", "wait_until"]


def _admin_url() -> str | None:
    url = os.environ.get("JISHI_TEST_DATABASE_URL") or ""
    return url if url.startswith("postgres") else None


@contextlib.contextmanager
def scratch_database(tmp_path: Path, postgres: bool | None = None) -> Iterator[str]:
    """An empty database of its own: a new PostgreSQL database next to
    ``JISHI_TEST_DATABASE_URL``'s when that is PostgreSQL (dropped after,
    connections and all), else a SQLite file in ``tmp_path``."""
    admin = _admin_url()
    if postgres is None:
        postgres = admin is not None
    if not postgres:
        yield f"sqlite:///{tmp_path}/scratch-{uuid.uuid4().hex[:8]}.db"
        return
    if admin is None:
        raise RuntimeError("JISHI_TEST_DATABASE_URL is not a PostgreSQL URL")
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    base = make_url(admin)
    name = f"{base.database}_s{uuid.uuid4().hex[:8]}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


def jishi_executable() -> str:
    """The ``jishi`` console script of the running interpreter's environment."""
    return str(Path(sys.executable).with_name("jishi"))


def jishi_env(url: str, plugin_paths: Sequence[str | Path] = (), **extra: str) -> dict[str, str]:
    """The environment of a ``jishi`` subprocess on ``url`` (``JISHI_*``
    variables of the test process are dropped; ``plugin_paths`` go on
    ``PYTHONPATH`` so fixture plugins are found by entry point)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JISHI_") or k == "JISHI_SANDBOX_SECRET"}
    env.setdefault("JISHI_SANDBOX_SECRET", "jishi-tests-sandbox-secret")
    env.update(JISHI_DATABASE_URL=url, JISHI_SECRET_KEY="deploy-test-secret")
    env["PYTHONPATH"] = os.pathsep.join([str(p) for p in plugin_paths] + [env.get("PYTHONPATH", "")]).strip(os.pathsep)
    env.update(extra)
    return env


def run_jishi(args: Sequence[str], env: dict[str, str], cwd: Path, timeout: float = 120):
    """Run ``jishi ARGS`` in ``cwd`` (its instance folder is ``cwd/instance``)
    to the end; the CompletedProcess (text output)."""
    return subprocess.run(
        [jishi_executable(), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_jishi(args: Sequence[str], env: dict[str, str], cwd: Path, log: Path | None = None):
    """Start ``jishi ARGS`` in the background (output to ``log``); stop it
    with ``proc.kill()`` / ``proc.terminate()`` and ``proc.wait()``."""
    out = open(log, "ab") if log else subprocess.DEVNULL
    try:
        return subprocess.Popen([jishi_executable(), *args], env=env, cwd=cwd, stdout=out, stderr=out)
    finally:
        if log:
            out.close()  # type: ignore[union-attr]


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it answers truthy (returned) or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
