"""Shared machinery of the flash-sale stress test and benchmark: seed a
flash sale with many buyers, fire a burst of purchase attempts at a real
gunicorn server, and check the database afterwards.

Used by ``bench/flashsale_stress.py`` (scripts/stress_flashsale.sh, run by
CI) and ``bench/flashsale.py`` (figures).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from common import wrk_requests


def bench_app(url: str, redis_url: str | None = None, *, name: str | None = None, **config):
    """The flash-sale benchmarks' app: the flashsale plugin on ``url``, the
    bench secrets, rate limits off; ``redis_url`` (``JISHI_REDIS_URL``);
    ``name``: the PostgreSQL ``application_name`` of its connections (with
    the process id: the benchmark finds its backends' CPU by it); ``config``
    on top (``JISHI_FLASHSALE_QUEUE=True``, a Redis prefix, ...)."""
    from jishi.app import create_app

    cfg = {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "bench",
        "JISHI_SANDBOX_SECRET": "bench",
        "JISHI_PLUGINS": "flashsale",
        "RATELIMIT_ENABLED": False,
    }
    if redis_url is not None:
        cfg["JISHI_REDIS_URL"] = redis_url
    if name is not None and url.startswith("postgres"):
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"application_name": f"{name}-{os.getpid()}"}}
    cfg.update(config)
    return create_app(cfg, instance_path=tempfile.mkdtemp())


def seed(url: str, *, buyers: int = 200, units: int = 100, per_user: int = 2, normal_stock: int = 1000) -> dict:
    """Schema (the kernel's and the plugin's), one product with a running
    flash sale of ``units`` units (normal stock ``normal_stock``), and
    ``buyers`` buyers each with an API token and an address."""
    from jishi.accounts.auth import issue_token
    from jishi.accounts.models import Address, User
    from jishi.db import db, utcnow
    from jishi.testing import factories
    from jishi_flashsale import service

    app = bench_app(url)
    with app.app_context():
        db.create_all()
        product = factories.product(name="秒杀压测商品", price=10000, stock=normal_stock)
        now = utcnow()
        activity = service.save_activity(
            {
                "product_id": product.id,
                "title": "stress",
                "per_user_limit": per_user,
                "starts_at": now - timedelta(minutes=5),
                "ends_at": now + timedelta(hours=2),
                "skus": [{"sku_id": product.skus[0].id, "flash_price": 100, "stock": units}],
            },
            seller_id=None,
            platform=True,
        )
        db.session.commit()
        pw = factories._hash("secret123")
        users = [User(phone=f"137{i:08d}", password_hash=pw, role="buyer", name=f"b{i}") for i in range(buyers)]
        db.session.add_all(users)
        db.session.flush()
        addresses = [
            Address(
                user_id=u.id,
                name="张三",
                phone="13800000000",
                province="浙江省",
                city="杭州市",
                district="西湖区",
                detail="文三路 1 号",
                is_default=True,
            )
            for u in users
        ]
        db.session.add_all(addresses)
        tokens = [issue_token(u) for u in users]
        db.session.commit()
        info = {
            "sku_id": product.skus[0].id,
            "product_id": product.id,
            "activity_id": activity.id,
            "flash_sku_id": activity.skus[0].id,
            "buyers": [{"user_id": u.id, "token": t, "address_id": a.id} for u, t, a in zip(users, tokens, addresses)],
            "units": units,
            "per_user": per_user,
            "normal_stock": normal_stock,
        }
    return info


def _post(host: str, port: int, path: str, payload: bytes, headers: dict) -> tuple[int, float, bytes, float, bool]:
    """``(status, seconds, error body, when it ended, through Flask)``:
    ``-1`` for a failed connection (the error's text as the body); the body
    is kept only for an answer >= 400 and decoded after the burst
    (:func:`_code`). "Through Flask": the answer echoes ``X-Request-Id``,
    which the kernel adds to every answer Flask makes and the flash sale's
    ``SoldOutGate`` (which answers before Flask) does not."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        conn.request("POST", path, body=payload, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        status = resp.status
    except OSError as exc:
        ended = time.perf_counter()
        return -1, ended - started, str(exc).encode(), ended, False
    finally:
        conn.close()
    ended = time.perf_counter()
    return status, ended - started, data if status >= 400 else b"", ended, resp.getheader("X-Request-Id") is not None


def _code(status: int, data: bytes) -> str:
    """The error code of an answer kept by :func:`_post` ("" for a 2xx)."""
    if status < 0:
        return data.decode(errors="replace")
    if status < 400:
        return ""
    try:
        return json.loads(data).get("code", "")
    except ValueError:
        return data[:100].decode(errors="replace")


def burst_requests(info: dict, attempts: int) -> list[tuple[bytes, dict]]:
    """The burst's attempts, (body, headers) each: attempt i by buyer
    i % n, each with its own Idempotency-Key."""
    buyers = info["buyers"]
    run = f"{time.time_ns()}"
    bodies = [
        json.dumps({"sku_id": info["sku_id"], "quantity": 1, "address_id": b["address_id"]}).encode() for b in buyers
    ]
    auths = [f"Bearer {b['token']}" for b in buyers]
    return [
        (
            bodies[i % len(buyers)],
            {
                "Content-Type": "application/json",
                "Authorization": auths[i % len(buyers)],
                "Idempotency-Key": f"stress-{run}-{i}",
            },
        )
        for i in range(attempts)
    ]


def _burst_summary(
    answers: list[tuple[float, int, str, bool]], started: float, elapsed: float, attempts: int, **extra
) -> dict:
    """The burst's figures from its answers ``(when it ended, status, error
    code, through Flask)``, whichever driver sent it; a missing answer (a
    failed connection) counts as a server error."""
    counts: dict[str, int] = {}
    for _end, status, code, _flask in answers:
        key = f"{status} {code}".strip()
        counts[key] = counts.get(key, 0) + 1
    last_admitted = max((a[0] for a in answers if 200 <= a[1] < 300), default=started)
    return {
        "attempts": attempts,
        "seconds": elapsed,
        "admitted_seconds": last_admitted - started,
        "admitted_phase": sum(1 for a in answers if a[0] <= last_admitted),
        "rps": attempts / elapsed,
        "counts": counts,
        "server_errors": sum(1 for a in answers if a[1] >= 500 or a[1] < 0) + (attempts - len(answers)),
        # sold-out answers made before Flask (SoldOutGate), of all the 409s
        "gate_answers": sum(1 for a in answers if a[1] == 409 and not a[3]),
        "conflicts": sum(1 for a in answers if a[1] == 409),
        **extra,
    }


def burst(base: str, info: dict, *, attempts: int = 1000, concurrency: int = 32, driver: str = "python") -> dict:
    """``attempts`` POST /api/v1/flashsale/buy from the buyers in turn
    (:func:`burst_requests`), ``concurrency`` at once, a connection each,
    all released at once. Returns counts by status/code, attempts/s,
    p50/p99 latency (ms), and the two phases of a sale that sells out:
    ``admitted_seconds``, from the start to the last 2xx answer (the
    winners, with the sold-out answers that came meanwhile:
    ``admitted_phase`` attempts), and the attempts answered after it.

    The driver shares the machine's cores with the server. ``python``:
    ``concurrency`` threads, doing in the timed window only what
    :func:`get_burst` does for a ping (a connection, the request, the
    answer read): every attempt's body and headers are made before the
    threads start, and the error codes are decoded after the last answer.
    ``wrk``: :func:`common.wrk_requests`, a fraction of the Python
    driver's CPU per request (bench/README.md, "The burst's driver")."""
    requests = burst_requests(info, attempts)
    if driver == "wrk":
        w = wrk_requests(
            base,
            [("POST", "/api/v1/flashsale/buy", headers, body) for body, headers in requests],
            connections=concurrency,
        )
        return _burst_summary(
            w["answers"], w["started"], w["seconds"], attempts, p50_ms=w["p50_ms"], p99_ms=w["p99_ms"]
        )
    host, port = base.split("//", 1)[1].split(":")
    results: list = [None] * attempts
    next_i = iter(range(attempts))
    lock = threading.Lock()
    barrier = threading.Barrier(concurrency + 1)

    def worker():
        barrier.wait()
        while True:
            with lock:
                i = next(next_i, None)
            if i is None:
                return
            payload, headers = requests[i]
            results[i] = _post(host, int(port), "/api/v1/flashsale/buy", payload, headers)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    lats = sorted(r[1] * 1000 for r in results)
    return _burst_summary(
        [(end, status, _code(status, data), flask) for status, _lat, data, end, flask in results],
        started,
        elapsed,
        attempts,
        p50_ms=statistics.median(lats),
        p99_ms=lats[min(len(lats) - 1, int(len(lats) * 0.99))],
    )


def check(url: str, info: dict) -> list[str]:
    """What the database says after the burst; returns the failures (empty: PASS)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    failures = []
    with engine.connect() as conn:
        orders = conn.execute(text("SELECT count(*) FROM orders")).scalar()
        stock, sold = conn.execute(
            text("SELECT stock, sold FROM flashsale_skus WHERE id = :i"), {"i": info["flash_sku_id"]}
        ).one()
        top = conn.execute(
            text(
                "SELECT user_id, sum(ol.quantity) AS n FROM orders o JOIN order_lines ol ON ol.order_id = o.id GROUP BY user_id ORDER BY n DESC LIMIT 1"
            )
        ).first()
        units = conn.execute(text("SELECT coalesce(sum(ol.quantity), 0) FROM order_lines ol")).scalar()
        normal = conn.execute(text("SELECT stock FROM skus WHERE id = :i"), {"i": info["sku_id"]}).scalar()
        usage_max = conn.execute(text("SELECT coalesce(max(units), 0) FROM flashsale_usage")).scalar()
        reservations = conn.execute(text("SELECT coalesce(sum(quantity), 0) FROM flashsale_reservations")).scalar()
    engine.dispose()
    want = info["units"]
    if units != want:
        failures.append(f"units ordered {units}, expected exactly {want}")
    if orders != want:
        failures.append(f"orders {orders}, expected exactly {want} (one unit each)")
    if stock - sold != 0:
        failures.append(f"flash stock left {stock - sold}, expected 0")
    if sold != want or reservations != want:
        failures.append(f"flash sold {sold} / reserved {reservations}, expected {want}")
    if top is not None and top[1] > info["per_user"]:
        failures.append(f"buyer {top[0]} holds {top[1]} units, above the limit {info['per_user']}")
    if usage_max > info["per_user"]:
        failures.append(f"a per-buyer counter reads {usage_max}, above the limit {info['per_user']}")
    if normal != info["normal_stock"]:
        failures.append(f"normal stock {normal}, expected untouched {info['normal_stock']}")
    return failures


def new_sale(url: str, info: dict, *, units: int = 100, per_user: int = 2) -> dict:
    """A fresh product with a running flash sale for the same buyers (the
    per-buyer counters are per flash SKU, so the buyers start afresh);
    returns ``info`` pointing at it."""
    from jishi.db import db, utcnow
    from jishi.testing import factories
    from jishi_flashsale import service

    app = bench_app(url)
    with app.app_context():
        product = factories.product(name="秒杀", price=10000, stock=info["normal_stock"])
        now = utcnow()
        activity = service.save_activity(
            {
                "product_id": product.id,
                "title": "bench",
                "per_user_limit": per_user,
                "starts_at": now - timedelta(minutes=5),
                "ends_at": now + timedelta(hours=2),
                "skus": [{"sku_id": product.skus[0].id, "flash_price": 100, "stock": units}],
            },
            seller_id=None,
            platform=True,
        )
        db.session.commit()
        out = {
            **info,
            "sku_id": product.skus[0].id,
            "product_id": product.id,
            "activity_id": activity.id,
            "flash_sku_id": activity.skus[0].id,
            "units": units,
            "per_user": per_user,
        }
        db.session.remove()
        db.engine.dispose()
    return out


def get_burst(base: str, path: str, *, attempts: int = 1000, concurrency: int = 32, driver: str = "python") -> dict:
    """The same driver as :func:`burst` on a GET (the trivial endpoint), so
    the two are measured alike."""
    if driver == "wrk":
        w = wrk_requests(base, [("GET", path, {}, b"")] * attempts, connections=concurrency)
        return {
            "attempts": attempts,
            "seconds": w["seconds"],
            "rps": attempts / w["seconds"],
            "p50_ms": w["p50_ms"],
            "p99_ms": w["p99_ms"],
            "server_errors": sum(1 for a in w["answers"] if a[1] >= 500) + w["missing"],
        }
    host, port = base.split("//", 1)[1].split(":")
    port = int(port)
    results: list = [None] * attempts
    next_i = iter(range(attempts))
    lock = threading.Lock()
    barrier = threading.Barrier(concurrency + 1)

    def one():
        started = time.perf_counter()
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            return resp.status, time.perf_counter() - started
        except OSError:
            return -1, time.perf_counter() - started
        finally:
            conn.close()

    def worker():
        barrier.wait()
        while True:
            with lock:
                i = next(next_i, None)
            if i is None:
                return
            results[i] = one()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    lats = sorted(r[1] * 1000 for r in results)
    return {
        "attempts": attempts,
        "seconds": elapsed,
        "rps": attempts / elapsed,
        "p50_ms": statistics.median(lats),
        "p99_ms": lats[min(len(lats) - 1, int(len(lats) * 0.99))],
        "server_errors": sum(1 for r in results if r[0] >= 500 or r[0] < 0),
    }


@contextmanager
def consumers(env: dict, n: int = 1, nice: int = 19):
    """``n`` processes of ``jishi flashsale work`` (the queue's consumers)
    with the server's environment, at ``nice`` (the web workers answering
    buyers come first; the orders are placed in the gaps, as a consumer on
    a machine of its own would); stopped on exit."""
    root = Path(__file__).resolve().parents[1]
    # a PYTHONPATH given to the benchmark (an export of another commit) comes first, as for gunicorn
    path = ":".join(p for p in (os.environ.get("PYTHONPATH"), f"{root / 'bench'}:{root / 'core'}") if p)
    full = {**os.environ, **env, "PYTHONPATH": path}
    procs = [
        subprocess.Popen(
            [
                "nice",
                "-n",
                str(nice),
                sys.executable,
                "-c",
                "from jishi.cli import main; main()",
                "flashsale",
                "work",
                "--quiet",
            ],
            env=full,
            cwd=str(root),
            start_new_session=True,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(n)
    ]
    for p in procs:
        # A new session is a scheduler autogroup of its own (sched(7)), where
        # the process's nice value does not count against other groups; the
        # group's own nice value does.
        try:
            Path(f"/proc/{p.pid}/autogroup").write_text(str(nice))
        except OSError:
            pass
    if procs:  # purchases are queued only once a consumer's heartbeat is there
        import redis

        client = redis.Redis.from_url(env["JISHI_REDIS_URL"])
        key = env.get("JISHI_FLASHSALE_REDIS_PREFIX", "jishi:flashsale:") + "consumer"
        for _ in range(600):
            if client.exists(key) or any(p.poll() is not None for p in procs):
                break
            time.sleep(0.05)
    try:
        yield procs
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs:
            p.wait(timeout=20)


def drained(redis_url: str, prefix: str = "jishi:flashsale:", timeout: float = 300.0) -> float:
    """Wait until the queue and the processing list are empty; returns the
    seconds waited (raises TimeoutError)."""
    return drain(redis_url, prefix, timeout)[0]


def drain(redis_url: str, prefix: str = "jishi:flashsale:", timeout: float = 300.0) -> tuple[float, int]:
    """Wait until the queue and the processing list are empty; returns the
    seconds waited and the jobs waiting when it began (raises TimeoutError)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    started = time.perf_counter()
    waiting = client.llen(prefix + "queue") + client.llen(prefix + "processing")
    while client.llen(prefix + "queue") + client.llen(prefix + "processing"):
        if time.perf_counter() - started > timeout:
            raise TimeoutError("the flash-sale queue did not drain")
        time.sleep(0.01)
    return time.perf_counter() - started, int(waiting)
