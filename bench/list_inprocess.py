"""Per-request cost of the product list in-process: the WSGI app called
directly (no HTTP server, no load generator), so the figure is the Python
work of one request. Each configuration runs in a fresh process.

    python bench/list_inprocess.py URL                 # ours and the bare endpoint
    python bench/list_inprocess.py URL --which ours --profile   # cProfile top 40

URL is a seeded database (bench/common.py ``seed_catalog``), e.g.
``sqlite:////tmp/jishi-bench/jishi_bench_1000.db``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import wsgi_call  # noqa: E402


def run(which: str, url: str, n: int, profile: bool, token: str | None) -> float:
    os.environ["JISHI_DATABASE_URL"] = url
    os.environ.setdefault("JISHI_SECRET_KEY", "bench")
    os.environ.setdefault("JISHI_SANDBOX_SECRET", "bench")
    os.environ.setdefault("JISHI_SCHEMA_CHECK", "false")  # a create_all database
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if which == "bare":
        from baseline_app import app

        path, query = "/products", ""
    else:
        from jishi.app import create_app

        app = create_app(instance_path=tempfile.mkdtemp())
        path, query = "/api/v1/products", "limit=20"
    for _ in range(200):
        wsgi_call(app, path, query, headers)
    if profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        for _ in range(n):
            wsgi_call(app, path, query, headers)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(45)
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    best = float("inf")
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(n):
            wsgi_call(app, path, query, headers)
        best = min(best, (time.perf_counter() - start) / n * 1000)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--which", choices=["ours", "bare", "both"], default="both")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--token", help="send this bearer token (as the wrk run of bench/catalog.py does)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child or args.which != "both":
        ms = run(args.which, args.url, args.n, args.profile, args.token)
        print(json.dumps({"which": args.which, "ms": ms}))
        return
    out: dict[str, float] = {}
    env = {**os.environ, "PYTHONPATH": f"{HERE}:{HERE.parent / 'core'}"}
    for _ in range(args.rounds):  # alternate fresh processes; keep each one's best (a busy machine only adds)
        for which in ("bare", "ours"):
            cmd = [sys.executable, __file__, args.url, "--which", which, "--n", str(args.n), "--child"]
            if args.token:
                cmd += ["--token", args.token]
            res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
            ms = json.loads(res.stdout.strip().splitlines()[-1])["ms"]
            out[which] = min(out.get(which, ms), ms)
    for which in ("bare", "ours"):
        print(f"{which:5s} {out[which]:.3f} ms/request", flush=True)
    print(f"ratio (bare / ours) {out['bare'] / out['ours']:.2f}")


if __name__ == "__main__":
    main()
