"""Running Jishi as a deployment: behind proxies, with short Redis timeouts
for the rate limiter, request ids and structured logs, liveness and
readiness, Prometheus metrics (docs/operations.md).

``create_app`` calls :func:`configure` once the configuration is final and
:func:`init_app` last (after the plugins' ``app_ready``, so the proxy fix is
the outermost WSGI layer and the request hooks run first).
"""

from __future__ import annotations

from typing import Any

from flask import Flask

REDIS_SCHEMES = ("redis://", "rediss://", "redis+unix://", "redis+sentinel://", "redis+cluster://", "unix://")


def configure(app: Flask) -> None:
    """Settings derived from the configuration, before the extensions read it."""
    from jishi import observability

    _limiter_storage_timeouts(app.config)
    if app.config.get("JISHI_LOG_JSON"):
        observability.use_json_logs(app.config.get("JISHI_LOG_LEVEL") or "INFO")


def init_app(app: Flask) -> None:
    from jishi import health, metrics, observability

    observability.install(app)
    app.register_blueprint(health.bp)
    metrics.install(app)
    _trust_proxies(app)


def redis_timeout(config) -> float:
    """``JISHI_REDIS_TIMEOUT`` in seconds (a float; the environment gives text)."""
    try:
        return max(0.01, float(config.get("JISHI_REDIS_TIMEOUT") or 0.5))
    except (TypeError, ValueError):
        return 0.5


def _limiter_storage_timeouts(config) -> None:
    """A Redis rate-limit storage gets short connect and read timeouts (an
    explicit ``RATELIMIT_STORAGE_OPTIONS`` entry wins): a hung Redis costs a
    request ``JISHI_REDIS_TIMEOUT`` at most, then Flask-Limiter counts in
    this process (``RATELIMIT_IN_MEMORY_FALLBACK_ENABLED``) and tries Redis
    again after 1, 2, 4 … 32 seconds."""
    uri = str(config.get("RATELIMIT_STORAGE_URI") or "")
    if not uri.startswith(REDIS_SCHEMES):
        return
    timeout = redis_timeout(config)
    options: dict[str, Any] = dict(config.get("RATELIMIT_STORAGE_OPTIONS") or {})
    options.setdefault("socket_timeout", timeout)
    options.setdefault("socket_connect_timeout", timeout)
    config["RATELIMIT_STORAGE_OPTIONS"] = options


def trusted_proxies(config) -> dict[str, int]:
    """``JISHI_TRUSTED_PROXIES`` as ProxyFix's arguments: a number of hops
    trusts that many values of X-Forwarded-For, -Proto, -Host and -Port (not
    -Prefix); a mapping (``{"x_for": 1, "x_proto": 1, ...}``) sets each.
    0 (the default): forwarded headers are ignored."""
    value = config.get("JISHI_TRUSTED_PROXIES") or 0
    if isinstance(value, dict):
        allowed = {"x_for", "x_proto", "x_host", "x_port", "x_prefix"}
        unknown = set(value) - allowed
        if unknown:
            from jishi.config import ConfigError

            raise ConfigError(f"JISHI_TRUSTED_PROXIES: unknown keys {sorted(unknown)}; use {sorted(allowed)}")
        return {k: int(v) for k, v in value.items()}
    try:
        hops = int(value)
    except (TypeError, ValueError):
        from jishi.config import ConfigError

        raise ConfigError(f"JISHI_TRUSTED_PROXIES must be a number of proxies (0 or more), not {value!r}") from None
    if hops < 0:
        from jishi.config import ConfigError

        raise ConfigError("JISHI_TRUSTED_PROXIES must be 0 or more")
    return {"x_for": hops, "x_proto": hops, "x_host": hops, "x_port": hops, "x_prefix": 0}


def _trust_proxies(app: Flask) -> None:
    hops = trusted_proxies(app.config)
    if not any(hops.values()):
        return
    from werkzeug.middleware.proxy_fix import ProxyFix

    app.wsgi_app = ProxyFix(app.wsgi_app, **hops)  # type: ignore[method-assign]
