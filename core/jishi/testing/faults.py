"""Fault injection for tests: a throwaway ``redis-server`` the test owns
and may stall, kill and restart empty (issue 15's fault tests).

    from jishi.testing.faults import RedisProcess

    with RedisProcess() as redis_proc:        # a free 127.0.0.1 port, no persistence
        app.config["JISHI_REDIS_URL"] = redis_proc.url
        with redis_proc.paused():             # SIGSTOP ... SIGCONT: a stall
            ...                               # clients time out; Redis runs what they sent on SIGCONT
        redis_proc.restart_empty()            # kill -9, then a new empty server on the same port

Only this object's own process is ever signalled (never a shared Redis).
Raises ``RuntimeError`` when ``redis-server`` is not installed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time


class RedisProcess:
    """A ``redis-server --save "" --appendonly no`` on a free loopback port."""

    def __init__(self, port: int | None = None):
        exe = shutil.which("redis-server")
        if not exe:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.exe: str = exe
        if port is None:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        self.port = port
        self.proc: subprocess.Popen | None = None
        self.stopped = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        self.proc = subprocess.Popen(
            [self.exe, "--port", str(self.port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.stopped = False
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 10.0) -> None:
        import redis

        client = redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.RedisError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        finally:
            client.close()

    def pause(self) -> None:
        """SIGSTOP: connections are accepted by the kernel, nothing is answered."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.stopped = True

    def resume(self) -> None:
        """SIGCONT: Redis runs what it was sent meanwhile."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)
        self.stopped = False

    @contextlib.contextmanager
    def paused(self):
        self.pause()
        try:
            yield self
        finally:
            self.resume()

    def kill(self) -> None:
        """kill -9: everything Redis held is gone (no persistence)."""
        if self.proc is None:
            return
        if self.stopped:
            os.kill(self.proc.pid, signal.SIGCONT)
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.proc = None

    def restart_empty(self) -> None:
        """kill -9, then a new empty server on the same port."""
        self.kill()
        for _ in range(50):  # the port may linger a moment
            try:
                self.start()
                return
            except Exception:
                time.sleep(0.1)
        self.start()

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.stopped:
            self.resume()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def __enter__(self) -> RedisProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
