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
import functools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

__all__ = [
    "RoundRobinClient",
    "Topology",
    "check_plugin_history",
    "free_port",
    "jishi_env",
    "jishi_executable",
    "kill_group",
    "process_age",
    "redundant_indexes",
    "run_jishi",
    "scratch_database",
    "start_gunicorn",
    "start_jishi",
    "wait_until",
    "worker_ready_age",
]


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


def start_jishi(
    args: Sequence[str], env: dict[str, str], cwd: Path, log: Path | None = None, *, group: bool = False
) -> subprocess.Popen:
    """Start ``jishi ARGS`` in the background (output to ``log``); stop it
    with ``proc.kill()`` / ``proc.terminate()`` and ``proc.wait()``, or, with
    ``group`` (a process group of its own), :func:`kill_group`."""
    return _start([jishi_executable(), *args], env, cwd, log, group=group)


def _start(argv: Sequence[str], env: dict[str, str], cwd: Path, log: Path | None, *, group: bool) -> subprocess.Popen:
    out = open(log, "ab") if log else subprocess.DEVNULL
    try:
        return subprocess.Popen(list(argv), env=env, cwd=cwd, stdout=out, stderr=out, start_new_session=group)
    finally:
        if log:
            out.close()  # type: ignore[union-attr]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(
    env: dict[str, str],
    cwd: Path,
    port: int,
    *,
    workers: int = 2,
    log: Path | None = None,
    app: str = "jishi.wsgi:app",
    ready_dir: Path | None = None,
) -> subprocess.Popen:
    """``gunicorn APP`` (sync workers) on 127.0.0.1:``port`` in a process
    group of its own (:func:`kill_group` ends the master and its workers).
    ``ready_dir``: each worker, once it has loaded the app, makes an empty
    file named by its pid there (gunicorn's ``post_worker_init`` hook), so
    a test can tell a worker that takes requests from one still importing
    (:func:`worker_ready_age`)."""
    import gunicorn.config  # type: ignore[import-untyped]

    extra = []
    if any(setting.name == "control_socket_disable" for setting in gunicorn.config.KNOWN_SETTINGS):
        extra = ["--no-control-socket"]  # gunicorn >= 25: one shared ~/.gunicorn/gunicorn.ctl for every master
    if ready_dir is not None:
        ready_dir.mkdir(parents=True, exist_ok=True)
        hook = ready_dir / "gunicorn_ready_hook.py"
        hook.write_text(
            "import os\n\n\n"
            "def post_worker_init(worker):\n"
            "    # the app is loaded: this worker takes requests from now on\n"
            f"    open(os.path.join({str(ready_dir)!r}, str(os.getpid())), 'w').close()\n"
        )
        extra += ["--config", str(hook)]
    argv = [
        str(Path(sys.executable).with_name("gunicorn")),
        *extra,
        app,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--timeout",
        "30",
        "--graceful-timeout",
        "3",
        "--access-logfile",
        "-",
    ]
    return _start(argv, env, cwd, log, group=True)


def kill_group(proc: subprocess.Popen | None, timeout: float = 10) -> None:
    """SIGKILL ``proc``'s whole process group (``group=True`` processes,
    gunicorn) and reap it; a process already gone is fine. A stopped
    (SIGSTOPped) group is killed as well."""
    if proc is None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout)


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read().decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 2 and fields[1] == str(pid) and fields[0] != "Z":
            out.append(int(entry))
    return sorted(out)


def process_age(pid: int) -> float:
    """Seconds since process ``pid`` started (from /proc; 0.0 when gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().decode(errors="replace").rsplit(")", 1)[-1].split()
        with open("/proc/uptime", encoding="ascii") as handle:
            uptime = float(handle.read().split()[0])
    except (OSError, ValueError):
        return 0.0
    return max(0.0, uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK"))


def worker_ready_age(ready_dir: Path, pid: int) -> float | None:
    """Seconds since gunicorn worker ``pid`` loaded its app (its file in
    :func:`start_gunicorn`'s ``ready_dir``), None while it has not."""
    try:
        return max(0.0, time.time() - (ready_dir / str(pid)).stat().st_mtime)
    except OSError:
        return None


def _http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return 200 <= resp.status < 300
    except (OSError, ValueError):
        return False


class Topology:
    """Jishi as a deployment, from processes: ``web`` app instances
    (gunicorn, ``web_workers`` sync workers each, one secret, random
    127.0.0.1 ports), ``job_workers`` ``jishi worker`` and ``consumers``
    ``jishi flashsale work`` (when a Redis URL is given), on a database
    migrated by ``jishi db upgrade`` first, as the deploy kit's one-shot
    migration service does (docs/deployment.md). Every process has a
    process group of its own; :meth:`stop` kills them all.

        with Topology(tmp_path, env) as topo:
            client = RoundRobinClient(topo.urls)
            topo.kill_web_worker(0)

    ``env`` comes from :func:`jishi_env`; ``worker_env`` is added for the
    job workers and consumers only (fixture plugins, short leases).
    """

    def __init__(
        self,
        base: Path,
        env: dict[str, str],
        *,
        web: int = 2,
        web_workers: int = 2,
        job_workers: int = 2,
        consumers: int = 1,
        worker_env: dict[str, str] | None = None,
        worker_args: Sequence[str] = ("--poll", "0.2"),
    ):
        self.base = Path(base)
        self.env = dict(env)
        self.worker_env = {**self.env, **(worker_env or {})}
        self.web, self.web_workers, self.job_workers, self.consumers = web, web_workers, job_workers, consumers
        self.worker_args = list(worker_args)
        self.ports: list[int] = []
        self.webs: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        self.flash: list[subprocess.Popen] = []
        self.logs = self.base / "logs"

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.ports]

    def start(self, timeout: float = 120) -> Topology:
        self.logs.mkdir(parents=True, exist_ok=True)
        upgraded = run_jishi(["db", "upgrade"], self.env, cwd=self.base, timeout=timeout)
        if upgraded.returncode != 0:
            raise RuntimeError(f"jishi db upgrade failed:\n{upgraded.stdout}\n{upgraded.stderr}")
        for i in range(self.web):
            port = free_port()
            self.ports.append(port)
            self.webs.append(
                start_gunicorn(
                    self.env,
                    self.base,
                    port,
                    workers=self.web_workers,
                    log=self.logs / f"web{i}.log",
                    ready_dir=self.ready_dir(i),
                )
            )
        for _ in range(self.job_workers):
            self.start_job_worker()
        if self.env.get("JISHI_REDIS_URL"):
            for _ in range(self.consumers):
                self.start_consumer()
        for url in self.urls:
            wait_until(functools.partial(self.ready, url), timeout, interval=0.3, what=f"{url} to serve")
        for i, web in enumerate(self.webs):
            wait_until(
                functools.partial(self._has_workers, web.pid), timeout, what=f"web{i}'s {self.web_workers} workers"
            )
        return self

    def _has_workers(self, master: int) -> bool:
        return len(children(master)) >= self.web_workers

    @staticmethod
    def ready(url: str) -> bool:
        """The instance answers its readiness endpoint (``/readyz``; before
        it existed, ``/api/v1/ping``)."""
        return _http_ok(url + "/readyz") or _http_ok(url + "/api/v1/ping")

    def start_job_worker(self) -> subprocess.Popen:
        n = len(self.workers)
        proc = start_jishi(
            ["worker", *self.worker_args], self.worker_env, self.base, self.logs / f"worker{n}.log", group=True
        )
        self.workers.append(proc)
        return proc

    def start_consumer(self) -> subprocess.Popen:
        n = len(self.flash)
        proc = start_jishi(
            ["flashsale", "work", "--quiet"], self.worker_env, self.base, self.logs / f"flash{n}.log", group=True
        )
        self.flash.append(proc)
        return proc

    def web_worker_pids(self, instance: int) -> list[int]:
        return children(self.webs[instance].pid)

    def ready_dir(self, instance: int) -> Path:
        """Where web ``instance``'s workers say they have loaded the app
        (:func:`start_gunicorn`'s ``ready_dir``)."""
        return self.base / f"web{instance}-ready"

    def kill_web_worker(self, instance: int, min_age: float = 0.0) -> int | None:
        """SIGKILL one gunicorn worker of ``instance`` (its master forks a
        new one); the pid killed, or None when it has none right now or,
        with ``min_age``, while any of its workers has not loaded the app or
        loaded it less than that many seconds ago (a replacement still
        importing: killing again would leave the instance without a worker
        that takes requests, a different fault). Loaded is what the worker
        says (:meth:`ready_dir`), not how old it is: on a busy machine the
        import alone can take longer than any fixed age."""
        pids = self.web_worker_pids(instance)
        if not pids:
            return None
        if min_age:
            ages = [worker_ready_age(self.ready_dir(instance), p) for p in pids]
            if any(age is None or age < min_age for age in ages):
                return None
        pid = pids[0]
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        return pid

    def alive(self) -> dict[str, int]:
        """How many of each kind of process run now."""
        return {
            "web": sum(1 for p in self.webs if p.poll() is None),
            "web_workers": sum(len(self.web_worker_pids(i)) for i in range(len(self.webs))),
            "job_workers": sum(1 for p in self.workers if p.poll() is None),
            "consumers": sum(1 for p in self.flash if p.poll() is None),
        }

    def log_text(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        for proc in [*self.flash, *self.workers, *self.webs]:
            kill_group(proc)

    def __enter__(self) -> Topology:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


class RoundRobinClient:
    """A tiny HTTP client over several app instances, in turn (what a load
    balancer does), with a timeout on every request: a hang is an outcome
    (``status`` -2), never a stuck test. A refused or cut connection (a
    killed worker) is retried on the next instance, up to ``retries``
    times, with the same headers (so the same ``Idempotency-Key``); what
    every call ended with is counted in :attr:`outcomes`."""

    def __init__(self, urls: Sequence[str], timeout: float = 10.0, retries: int = 4):
        self.urls = list(urls)
        self.timeout = timeout
        self.retries = retries
        self._next = 0
        self._lock = threading.Lock()
        self.outcomes: dict[str, int] = {}
        self.retried = 0

    def _base(self) -> str:
        with self._lock:
            url = self.urls[self._next % len(self.urls)]
            self._next += 1
            return url

    def _count(self, key: str) -> None:
        with self._lock:
            self.outcomes[key] = self.outcomes.get(key, 0) + 1

    def request(
        self,
        method: str,
        path: str,
        json_body: object = None,
        headers: dict[str, str] | None = None,
        *,
        form: dict[str, str] | None = None,
        session=None,
    ) -> tuple[int, object]:
        """``(status, body)``: the JSON body (or text) of the answer;
        status -1 after ``retries`` failed connections, -2 on a timeout
        (a hang). ``session``: a ``requests.Session`` (cookies)."""
        import requests

        http = session or requests
        for attempt in range(self.retries + 1):
            url = self._base() + path
            try:
                resp = http.request(
                    method, url, json=json_body, data=form, headers=headers, timeout=self.timeout, allow_redirects=False
                )
            except requests.Timeout:
                self._count("timeout (hang)")
                return -2, None
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                # (a connection lost before the answer, or in its body: a
                # worker killed after it sent the headers)
                with self._lock:
                    self.retried += 1
                time.sleep(0.05 * (attempt + 1))
                continue
            try:
                body: object = resp.json()
            except ValueError:
                body = resp.text
            key = str(resp.status_code)
            if resp.status_code >= 400:
                code = body.get("code") if isinstance(body, dict) else None
                if code:
                    key += f" {code}"
                elif not path.startswith("/api/") and "html" in resp.headers.get("Content-Type", ""):
                    key += " (page)"  # a web page answers errors as a page
                elif "json" not in resp.headers.get("Content-Type", ""):
                    key += " (not JSON)"
            self._count(key)
            return resp.status_code, body
        self._count("connection failed")
        return -1, None

    def clear_errors(self) -> list[str]:
        """What this client saw that is not a clear answer: hangs, API
        errors not in JSON (a web page's error page is clear), connections
        that failed every retry."""
        bad = []
        for key, n in sorted(self.outcomes.items()):
            if key.startswith(("timeout", "connection failed")) or key.endswith("(not JSON)"):
                bad.append(f"{n}x {key}")
        return bad


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


def check_plugin_history(url: str, tmp_path: Path, plugin: str, head: str, tables: Sequence[str]) -> None:
    """A plugin's own migration history, upgraded from zero on the empty
    database ``url`` (:func:`scratch_database`), ends at ``head`` and builds
    exactly its models' tables: its version table
    ``alembic_version_<plugin>`` and ``tables`` exist and belong to it, and
    nothing differs from the models (``migrations.diffs``), and none of
    ``tables`` keeps an index a unique key serves (:func:`redundant_indexes`)."""
    from sqlalchemy import inspect

    from jishi import migrations
    from jishi.app import create_app
    from jishi.db import db

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "JISHI_PLUGINS": plugin},
        instance_path=str(tmp_path / "instance"),
    )
    report = migrations.upgrade(app)
    assert [(n, a) for n, _b, a in report if n == plugin] == [(plugin, head)], report
    with app.app_context():
        try:
            found = set(inspect(db.engine).get_table_names())
            assert {f"alembic_version_{plugin}", *tables} <= found, sorted(found)
            assert migrations.diffs(app) == {}
            assert redundant_indexes(db.metadata, tables) == []
            owners = migrations.table_owners()
            assert all(owners[t] == plugin for t in tables), {t: owners.get(t) for t in tables}
        finally:
            db.engine.dispose()


def _index_columns(index) -> tuple[str, ...] | None:
    """An index's plain columns in order; None when it has an expression or
    a partial (``WHERE``) clause: nothing else stands in for it."""
    if any(key.endswith("_where") and value is not None for key, value in index.dialect_kwargs.items()):
        return None
    from sqlalchemy import Column

    if not all(isinstance(expression, Column) for expression in index.expressions):
        return None
    return tuple(expression.name for expression in index.expressions)


def redundant_indexes(metadata, tables: Sequence[str] | None = None) -> list[str]:
    """Every non-unique index of ``metadata`` (of ``tables``, or all) whose
    columns lead another index, a unique constraint or the primary key of
    its table, one line each: PostgreSQL and SQLite serve a lookup by those
    columns from the longer one (a foreign key's too), so the shorter one
    only costs every INSERT, and every UPDATE of its columns, one more index
    write. A partial index or one on an expression is never reported."""
    from sqlalchemy import PrimaryKeyConstraint, UniqueConstraint

    found = []
    for table in metadata.sorted_tables:
        if tables is not None and table.name not in tables:
            continue
        keys = [
            (f"constraint {c.name or '(unnamed)'}", tuple(column.name for column in c.columns))
            for c in table.constraints
            if isinstance(c, (PrimaryKeyConstraint, UniqueConstraint)) and c.columns
        ]
        keys += [(f"index {ix.name}", cols) for ix in table.indexes if (cols := _index_columns(ix))]
        for index in sorted(table.indexes, key=lambda ix: ix.name or ""):
            cols = _index_columns(index)
            if index.unique or not cols:
                continue
            for name, other in keys:
                if name != f"index {index.name}" and other[: len(cols)] == cols:
                    found.append(f"{table.name}: {index.name} {cols} leads {name} {other}")
                    break
    return found
