"""jishi-jobprobe: one timed job that records its runs, for the worker
fault tests (issue 15). Only the worker subprocesses of those tests see it
(their PYTHONPATH holds this folder).

``probe`` appends ``start <pid>`` to the file ``JOBPROBE_LOG``, sleeps
``JOBPROBE_HANG_SECONDS`` (a run to kill mid-way), then appends
``done <pid>``: the job's one effect. It runs every ``JOBPROBE_EVERY``
seconds (default one hour: once per test).
"""

from __future__ import annotations

import os
import time

from jishi.hookspecs import PeriodicJob, hookimpl

requires = ()


def _write(line: str) -> None:
    with open(os.environ["JOBPROBE_LOG"], "a", encoding="utf-8") as handle:
        handle.write(f"{line} {os.getpid()} {time.time():.3f}\n")


def probe() -> str:
    _write("start")
    time.sleep(float(os.environ.get("JOBPROBE_HANG_SECONDS") or 0))
    _write("done")
    return "probed"


@hookimpl
def periodic_jobs():
    return [PeriodicJob("probe", probe, every_seconds=int(os.environ.get("JOBPROBE_EVERY") or 3600))]
