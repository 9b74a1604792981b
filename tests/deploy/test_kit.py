"""Issue 15, "A deploy kit, tested": deploy/ (Dockerfile, compose.yaml,
nginx.conf, systemd units, jishi.env.example) is valid and refers only to
things that exist — files the Dockerfile copies, the WSGI entry point,
``jishi`` commands, routes the health checks probe, settings the env file
names. Docker is not needed (``docker compose config`` runs when the
compose plugin is installed); the same topology is started from
processes by tests/deploy/test_faults.py.
"""

from __future__ import annotations

import ast
import configparser
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from jishi.testing.deploy import jishi_env, run_jishi

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
JISHI_SERVICES = ("migrate", "web1", "web2", "worker", "flashsale")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def _dockerfile() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` with continuation lines joined."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _routes(app) -> set[str]:
    return {rule.rule for rule in app.url_map.iter_rules()}


@pytest.fixture(scope="module")
def all_plugins_app(tmp_path_factory):
    from jishi.app import create_app

    tmp = tmp_path_factory.mktemp("kit")
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/kit.db",
            "SECRET_KEY": "kit",
            "JISHI_SANDBOX_SECRET": "kit",
            "JISHI_PLUGINS": "all",
        },
        instance_path=str(tmp / "instance"),
    )


def test_the_dockerfile_builds_from_what_the_repository_has():
    """python:3.11-slim, a non-root user, every COPY source present in the
    build context (the repository root), gunicorn serving the kernel's WSGI
    entry point with the settings file the image copies."""
    steps = _dockerfile()
    assert steps[0] == ("FROM", "python:3.11-slim")
    copied = []
    for word, args in steps:
        if word == "COPY":
            *sources, dest = shlex.split(args)
            for src in sources:
                assert (ROOT / src).exists(), f"COPY {src}: not in the repository"
            copied.append(dest)
    users = [args for word, args in steps if word == "USER"]
    assert users and users[-1] not in ("root", "0"), "the image runs as root"
    run = " ".join(args for word, args in steps if word == "RUN")
    assert '".[postgres,redis,server]"' in run and "plugins/*/" in run
    for plugin in ("multistore", "flashsale"):
        assert (ROOT / "plugins" / plugin / "pyproject.toml").exists()
    [cmd] = [args for word, args in steps if word == "CMD"]
    argv = yaml.safe_load(cmd)
    assert argv[0] == "gunicorn" and argv[-1] == "jishi.wsgi:app"
    assert argv[argv.index("--config") + 1] in copied
    # the entry point: core/jishi/wsgi.py defines ``app``
    tree = ast.parse((ROOT / "core" / "jishi" / "wsgi.py").read_text(encoding="utf-8"))
    assert any(isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "app" for t in n.targets) for n in tree.body)
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    assert ".venv" in ignore and ".git" in ignore


def test_the_gunicorn_settings_load(tmp_path, monkeypatch):
    """deploy/gunicorn.conf.py runs as gunicorn runs it (sync workers, the
    bind and worker count from the environment)."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    scope: dict = {}
    exec(compile((DEPLOY / "gunicorn.conf.py").read_text(encoding="utf-8"), "gunicorn.conf.py", "exec"), scope)
    assert scope["workers"] == 3 and scope["worker_class"] == "sync" and scope["bind"] == "0.0.0.0:8000"
    assert (tmp_path / "metrics").is_dir()


def test_the_compose_file_holds_the_whole_topology(compose):
    """PostgreSQL, Redis (append-only, never evicting), a one-shot
    migration every Jishi service waits for, two web instances, two job
    workers, the flash-sale consumer, nginx in front."""
    services = compose["services"]
    assert set(services) >= {"postgres", "redis", "nginx", *JISHI_SERVICES}
    redis = services["redis"]["command"]
    assert redis[redis.index("--appendonly") + 1] == "yes"
    assert redis[redis.index("--maxmemory-policy") + 1] == "noeviction"
    assert services["migrate"]["command"] == ["jishi", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    for name in JISHI_SERVICES:
        svc = services[name]
        assert svc["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (DEPLOY / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file()
        env = svc["environment"]
        assert env["JISHI_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["JISHI_REDIS_URL"].startswith("redis://redis:")
        if name != "migrate":
            assert svc["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web1", "web2"):
        assert services[name]["command"][-1] == "jishi.wsgi:app"
    assert services["worker"]["command"] == ["jishi", "worker"]
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert services["flashsale"]["command"][:3] == ["jishi", "flashsale", "work"]
    for mount in services["nginx"]["volumes"]:
        src = mount.split(":")[0]
        if src.startswith("."):
            assert (DEPLOY / src).is_file(), src
    conf = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    for name in ("web1", "web2"):
        assert f"server {name}:8000" in conf
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port", "Host"):
        assert f"proxy_set_header {header} " in conf
    assert conf.count("{") == conf.count("}")


def _jishi_commands(compose: dict) -> list[list[str]]:
    commands = [svc["command"] for svc in compose["services"].values() if svc.get("command", [""])[0] == "jishi"]
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read(unit, encoding="utf-8")
        exe, *args = shlex.split(parser["Service"]["ExecStart"])
        if exe.endswith("/jishi"):
            commands.append(["jishi", *args])
    return commands


def test_every_command_the_kit_runs_exists(compose, tmp_path):
    """``jishi db upgrade``, ``jishi worker``, ``jishi flashsale work``
    (compose and systemd alike) are commands of the installed ``jishi``
    with every plugin enabled (``--help`` of each answers)."""
    commands = {tuple(c) for c in _jishi_commands(compose)}
    assert {("jishi", "db", "upgrade"), ("jishi", "worker")} <= commands
    assert any(c[:3] == ("jishi", "flashsale", "work") for c in commands)
    env = jishi_env(f"sqlite:///{tmp_path}/cli.db", JISHI_PLUGINS="all")
    for command in sorted(commands):
        words = [w for w in command[1:] if not w.startswith("-")]
        done = run_jishi([*words, "--help"], env, cwd=tmp_path, timeout=120)
        assert done.returncode == 0, f"{' '.join(command)}: {done.stderr[-2000:]}"
        flags = [w.split("=")[0] for w in command[1:] if w.startswith("-")]
        for flag in flags:
            assert flag in done.stdout, f"{' '.join(command)}: no option {flag}"


def test_the_systemd_units_are_the_same_topology():
    """The alternative to compose: a oneshot migration the web, worker and
    flash-sale units require, gunicorn serving jishi.wsgi:app, worker
    instances (jishi-worker@N), all reading /etc/jishi/jishi.env as an
    unprivileged user."""
    units = {}
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read(unit, encoding="utf-8")
        assert {"Unit", "Service", "Install"} <= set(parser.sections()), unit.name
        units[unit.name] = parser
    assert set(units) == {
        "jishi-migrate.service",
        "jishi-web.service",
        "jishi-worker@.service",
        "jishi-flashsale.service",
    }
    assert units["jishi-migrate.service"]["Service"]["Type"] == "oneshot"
    for name, unit in units.items():
        service = unit["Service"]
        assert service["User"] == "jishi" and service["EnvironmentFile"] == "/etc/jishi/jishi.env"
        if name != "jishi-migrate.service":
            assert "jishi-migrate.service" in unit["Unit"]["Requires"]
            assert "jishi-migrate.service" in unit["Unit"]["After"]
            assert service["Restart"] == "always"
    web = shlex.split(units["jishi-web.service"]["Service"]["ExecStart"])
    assert web[0].endswith("/gunicorn") and web[-1] == "jishi.wsgi:app"


def _known_settings(app) -> set[str]:
    from jishi import config

    known = {k for k in app.config if k.startswith("JISHI_")}
    known |= set(config.ENV_ALIASES)
    known |= {f"JISHI_{k}" for k in app.config if k.startswith("RATELIMIT_")}
    return known


def test_the_env_file_names_every_setting_a_deployment_needs(all_plugins_app, compose):
    """deploy/jishi.env.example lists the secret key, the database and
    Redis URLs, the proxy hops and the cookie security, and every JISHI_*
    name in it (and in compose.yaml) is a setting the kernel or a
    first-party plugin reads (a typo would be ignored in silence)."""
    names = []
    for line in (DEPLOY / "jishi.env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, _value = line.partition("=")
            assert sep, line
            names.append(name.strip())
    assert len(names) == len(set(names)), "a setting is listed twice"
    for required in (
        "JISHI_SECRET_KEY",
        "JISHI_DATABASE_URL",
        "JISHI_REDIS_URL",
        "JISHI_TRUSTED_PROXIES",
        "JISHI_SESSION_COOKIE_SECURE",
        "JISHI_SANDBOX_SECRET",
        "JISHI_PLUGINS",
    ):
        assert required in names
    in_compose = {
        k for svc in compose["services"].values() for k in (svc.get("environment") or {}) if k.startswith("JISHI_")
    }
    known = _known_settings(all_plugins_app)
    unknown = sorted((set(names) | in_compose) - known)
    assert not unknown, f"not settings of Jishi: {unknown}"


def test_the_health_checks_probe_routes_the_app_has(all_plugins_app, compose):
    """The image's HEALTHCHECK (liveness) and compose's web healthcheck
    (readiness) probe routes the app serves."""
    routes = _routes(all_plugins_app)
    probes = re.findall(r"http://127\.0\.0\.1:8000(/[a-z/]+)", (DEPLOY / "Dockerfile").read_text(encoding="utf-8"))
    probes += re.findall(r"http://127\.0\.0\.1:8000(/[a-z/]+)", yaml.safe_dump(compose))
    assert probes
    for path in probes:
        assert path in routes, f"{path} is not a route"


def _docker(*args: str) -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", *args], capture_output=True, check=False, timeout=30).returncode == 0
    except subprocess.TimeoutExpired:
        return False


HAS_COMPOSE = _docker("compose", "version")


@pytest.mark.skipif(not HAS_COMPOSE, reason="docker compose is not installed")
def test_docker_compose_accepts_the_file():
    done = subprocess.run(
        ["docker", "compose", "-f", str(DEPLOY / "compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
@pytest.mark.skipif(not HAS_COMPOSE or not _docker("info"), reason="no Docker daemon with the compose plugin")
def test_the_compose_stack_starts_and_serves(tmp_path):
    """Where Docker runs (issue 15: CI brings the compose stack up when
    Docker is available): build the image, start the whole topology under a
    project name of its own, wait until nginx answers /readyz (the web
    instances reach PostgreSQL and Redis, the schema is current: the
    one-shot migration ran), then remove it all, volumes included."""
    import urllib.request

    from jishi.testing.deploy import free_port, wait_until

    port = free_port()
    env_file = tmp_path / "jishi.env"
    env_file.write_text("JISHI_SECRET_KEY=compose-test-secret\nJISHI_SANDBOX_SECRET=compose-test\n", encoding="utf-8")
    override = tmp_path / "override.yaml"
    override.write_text(
        yaml.safe_dump({"services": {name: {"env_file": [str(env_file)]} for name in JISHI_SERVICES}}),
        encoding="utf-8",
    )
    project = f"jishi-test-{port}"
    base = ["docker", "compose", "-p", project, "-f", str(DEPLOY / "compose.yaml"), "-f", str(override)]
    env = {**os.environ, "JISHI_HTTP_PORT": str(port)}

    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=3) as resp:
                return resp.status == 200
        except OSError:
            return False

    try:
        up = subprocess.run([*base, "up", "-d", "--build"], env=env, capture_output=True, text=True, timeout=1200)
        assert up.returncode == 0, up.stderr[-3000:]
        wait_until(ready, 300, interval=2, what="nginx to answer /readyz")
        ps = subprocess.run([*base, "ps", "--format", "json"], env=env, capture_output=True, text=True, timeout=60)
        assert "worker" in ps.stdout and "flashsale" in ps.stdout
    finally:
        subprocess.run([*base, "down", "-v", "--remove-orphans"], env=env, capture_output=True, timeout=300)
