"""gunicorn settings for Jishi's web app (docs/deployment.md).

    gunicorn --config deploy/gunicorn.conf.py jishi.wsgi:app

Sync workers: each request holds one worker, so a slow outside call (a
payment gateway) ties one up; size WEB_CONCURRENCY to the cores and the
database's connection budget (every worker keeps its own pool:
JISHI_DB_POOL_SIZE + JISHI_DB_MAX_OVERFLOW connections at most).
"""

import os
import shutil

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
# A request running longer than this is killed (its worker restarted); keep
# it above the slowest gateway call, below the proxy's read timeout.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20  # SIGTERM: finish the requests in flight first
keepalive = 5
max_requests = 2000  # recycle workers now and then (a slow leak never grows for ever)
max_requests_jitter = 200
# Jishi writes one line per request itself (request id, user, route;
# JISHI_LOG_JSON=1 for JSON): gunicorn's access log stays off.
accesslog = None
errorlog = "-"

# Prometheus across workers (docs/operations.md#metrics): one empty folder
# shared by every worker, wiped at each start, and a dead worker's live
# gauges dropped.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _metrics_dir:
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)
    try:
        from jishi.metrics import gunicorn_child_exit as child_exit  # noqa: F401
    except ImportError:  # a kernel without metrics
        pass
