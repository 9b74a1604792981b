"""The fault kit's worker kill (``jishi.testing.deploy``): a gunicorn
worker counts as able to take requests once it says it has loaded the app,
not once it is some seconds old, so ``kill_web_worker(i, min_age)`` never
leaves an instance without a worker that serves (the CI run of `9650292`
saw six requests hang 20 s in the kill -9 fault case: on a loaded machine a
replacement still importing the app was older than the 3 s the kit waited,
and its sibling was killed)."""

from __future__ import annotations

import sys
import time

import pytest
from jishi.testing.deploy import (
    Topology,
    free_port,
    kill_group,
    process_age,
    start_gunicorn,
    wait_until,
    worker_ready_age,
)

SLOW_APP = """
import os
import time

time.sleep(float(os.environ.get("SLOW_LOAD", "0")))


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_worker_still_loading_the_app_is_not_ready_however_old(tmp_path):
    """Two workers that take 3 s to import the app: 1.5 s old they are not
    ready and nothing is killed; once loaded (and ``min_age`` since) one is
    killed, and its replacement, still importing, protects its sibling."""
    (tmp_path / "slowapp.py").write_text(SLOW_APP)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path), "SLOW_LOAD": "3"}
    topo = Topology(tmp_path, env)
    proc = start_gunicorn(
        env, tmp_path, free_port(), workers=2, log=tmp_path / "web.log", app="slowapp:app", ready_dir=topo.ready_dir(0)
    )
    topo.webs.append(proc)
    try:
        wait_until(lambda: len(topo.web_worker_pids(0)) == 2, 30, what="two workers")
        first = topo.web_worker_pids(0)
        wait_until(lambda: min(process_age(p) for p in first) >= 1.5, 30, what="workers 1.5 s old")
        assert all(worker_ready_age(topo.ready_dir(0), p) is None for p in first)  # importing for 3 s
        assert topo.kill_web_worker(0, min_age=1.0) is None  # (their age alone, the kit's old rule, allowed it)
        wait_until(
            lambda: all((worker_ready_age(topo.ready_dir(0), p) or 0) >= 1.0 for p in first),
            60,
            what="both workers loaded 1 s ago",
        )
        killed = topo.kill_web_worker(0, min_age=1.0)
        assert killed in first
        seen: dict[str, int] = {}

        def replaced() -> bool:
            # the new worker from the very listing that shows it (a second
            # listing once found none: the CI run of 6dd4e3b, on a machine
            # busy with the PostgreSQL suite)
            pids = topo.web_worker_pids(0)
            fresh = set(pids) - set(first)
            if len(pids) == 2 and killed not in pids and len(fresh) == 1:
                seen["new"] = fresh.pop()
                return True
            return False

        wait_until(replaced, 30, what="a new worker")
        new = seen["new"]
        assert worker_ready_age(topo.ready_dir(0), new) is None  # importing for 3 s
        assert topo.kill_web_worker(0, min_age=1.0) is None
        wait_until(lambda: worker_ready_age(topo.ready_dir(0), new) is not None, 60, what="the new worker loaded")
        deadline = time.monotonic() + 30
        while topo.kill_web_worker(0, min_age=1.0) is None:
            assert time.monotonic() < deadline, "no worker killed once both were loaded"
            time.sleep(0.1)
    finally:
        kill_group(proc)
