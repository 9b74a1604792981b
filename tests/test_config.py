"""K1: the app factory's configuration layers — defaults, plugins'
config_defaults, ``instance/jishi.cfg``, ``JISHI_*`` environment, explicit
mapping — and the default SQLite database in the instance folder."""

from __future__ import annotations

import stat
from datetime import UTC

import pytest
from jishi.app import create_app


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch):
    """No JISHI_* variables from the caller (CI sets some) leak into these apps."""
    import os

    for key in list(os.environ):
        if key.startswith("JISHI_") and key != "JISHI_TEST_DATABASE_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("JISHI_SANDBOX_SECRET", "test-sandbox-secret")  # the default is refused outside tests
    monkeypatch.setenv("JISHI_SECRET_KEY", "test-secret-key")  # a missing one is refused outside tests


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path):
    """K1: no URL configured -> SQLite file in the instance folder."""
    app = create_app(instance_path=str(tmp_path / "inst"))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'inst' / 'jishi.db'}"
    assert (tmp_path / "inst").is_dir()


def test_secret_key_is_generated_once_and_private_in_a_demo(tmp_path, monkeypatch):
    """K1: in a demo (and in debug and tests) a missing SECRET_KEY is
    generated into the instance folder (0600) and reused by the next start."""
    monkeypatch.delenv("JISHI_SECRET_KEY")
    first = create_app({"JISHI_DEMO": True}, instance_path=str(tmp_path))
    second = create_app({"JISHI_DEMO": True}, instance_path=str(tmp_path))
    key_file = tmp_path / "secret_key"
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key_file.read_text().strip()
    assert len(first.config["SECRET_KEY"]) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_missing_secret_key_refuses_to_start(tmp_path, monkeypatch):
    """Issue 15: outside demo, debug and tests a missing SECRET_KEY stops the
    app with a clear error (a key generated per instance folder would differ
    between hosts and break sessions across them), even when an earlier
    version left a generated key file behind; JISHI_SECRET_KEY starts it."""
    from jishi.config import ConfigError

    monkeypatch.delenv("JISHI_SECRET_KEY")
    (tmp_path / "secret_key").write_text("left-by-an-earlier-start")
    with pytest.raises(ConfigError, match="JISHI_SECRET_KEY"):
        create_app(instance_path=str(tmp_path))
    monkeypatch.setenv("FLASK_DEBUG", "1")
    assert create_app(instance_path=str(tmp_path)).config["SECRET_KEY"] == "left-by-an-earlier-start"
    monkeypatch.delenv("FLASK_DEBUG")
    monkeypatch.setenv("JISHI_SECRET_KEY", "shared-by-every-host")
    assert create_app(instance_path=str(tmp_path)).config["SECRET_KEY"] == "shared-by-every-host"


def test_cookie_settings_from_the_environment(tmp_path, monkeypatch):
    """Issue 15: secure cookies (and the other cookie settings) by
    environment variables, not only the instance file."""
    monkeypatch.setenv("JISHI_SESSION_COOKIE_SECURE", "true")
    monkeypatch.setenv("JISHI_REMEMBER_COOKIE_SECURE", "true")
    monkeypatch.setenv("JISHI_SESSION_COOKIE_SAMESITE", "Strict")
    monkeypatch.setenv("JISHI_PREFERRED_URL_SCHEME", "https")
    app = create_app(instance_path=str(tmp_path))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Strict"
    assert app.config["PREFERRED_URL_SCHEME"] == "https"


def test_instance_file_then_environment_then_mapping(tmp_path, monkeypatch):
    """K1: instance/jishi.cfg < JISHI_* environment < explicit config."""
    (tmp_path / "jishi.cfg").write_text(
        'JISHI_THEME = "jade"\nJISHI_UNPAID_TIMEOUT_MINUTES = 45\nJISHI_PAYMENT_MODE = "per_order"\n'
        "JISHI_AUTO_CONFIRM_DAYS = 3\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("JISHI_UNPAID_TIMEOUT_MINUTES", "15")
    monkeypatch.setenv("JISHI_PAYMENT_MODE", "combined")
    app = create_app({"JISHI_PAYMENT_MODE": "per_order"}, instance_path=str(tmp_path))
    assert app.config["JISHI_THEME"] == "jade"  # file only
    assert app.config["JISHI_AUTO_CONFIRM_DAYS"] == 3  # file only
    assert app.config["JISHI_UNPAID_TIMEOUT_MINUTES"] == 15  # environment beats file, decoded as int
    assert app.config["JISHI_PAYMENT_MODE"] == "per_order"  # mapping beats environment
    assert app.config["JISHI_AUTO_COMPLETE_DAYS"] == 7  # untouched default


def test_environment_values_are_decoded(tmp_path, monkeypatch):
    """K1: JSON-looking values become bool/int/list; other text stays text."""
    monkeypatch.setenv("JISHI_DEFAULT_DELIVERY", "false")
    monkeypatch.setenv("JISHI_THEMES_DIRS", '["/nonexistent/themes"]')
    monkeypatch.setenv("JISHI_SANDBOX_SECRET", "12.5")
    app = create_app(instance_path=str(tmp_path))
    assert app.config["JISHI_DEFAULT_DELIVERY"] is False
    assert app.config["JISHI_THEMES_DIRS"] == ["/nonexistent/themes"]
    assert app.config["JISHI_SANDBOX_SECRET"] == "12.5"  # a float is never decoded


def test_database_url_from_environment_and_postgres_scheme(tmp_path, monkeypatch):
    """K1: JISHI_DATABASE_URL selects the database; postgres:// URLs use psycopg 3."""
    monkeypatch.setenv("JISHI_DATABASE_URL", f"sqlite:///{tmp_path}/other.db")
    assert create_app(instance_path=str(tmp_path)).config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/other.db"
    monkeypatch.setenv("JISHI_DATABASE_URL", "postgres://u@db.example/shop")
    assert (
        create_app(instance_path=str(tmp_path)).config["SQLALCHEMY_DATABASE_URI"]
        == "postgresql+psycopg://u@db.example/shop"
    )
    monkeypatch.setenv("JISHI_DATABASE_URL", "postgresql://u@db.example/shop")
    assert (
        create_app(instance_path=str(tmp_path)).config["SQLALCHEMY_DATABASE_URI"]
        == "postgresql+psycopg://u@db.example/shop"
    )


def test_plugins_enabled_from_the_instance_file(tmp_path):
    """K1/K2: the enable list may live in instance/jishi.cfg."""
    (tmp_path / "jishi.cfg").write_text('JISHI_PLUGINS = "hello"\n', encoding="utf-8")
    app = create_app(instance_path=str(tmp_path))
    assert app.extensions["jishi"].enabled_plugin_names() == ["hello"]
    assert app.config["HELLO_GREETING"] == "Hello from jishi-hello"  # the plugin's default


def test_redis_url_moves_rate_limits_to_redis(tmp_path, monkeypatch):
    """K1: with JISHI_REDIS_URL the rate limiter shares state through Redis."""
    monkeypatch.setenv("JISHI_REDIS_URL", "redis://127.0.0.1:6379/3")
    app = create_app(instance_path=str(tmp_path))
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/3"


def test_default_delivery_steps_aside_for_delivery_plugins(app):
    """K1/DE: the kernel's flat-rate delivery is on by default ("auto") until
    an enabled installed plugin that ships anywhere offers delivery methods
    (not one declaring ``replaces_default_delivery = False``); true/false
    force it."""
    from jishi.plugins import PluginInfo

    ext = app.extensions["jishi"]
    assert app.config["JISHI_DEFAULT_DELIVERY"] == "auto" and ext.default_delivery is True
    fake = PluginInfo(
        name="courier", distribution="x", version="1", module="x", enabled=True, hooks=["delivery_options"]
    )
    ext.plugins.append(fake)
    try:
        assert ext.default_delivery is False
        fake.enabled = False
        assert ext.default_delivery is True
        fake.enabled = True
        fake.replaces_default_delivery = False  # pickup, local delivery: add a way, do not ship
        assert ext.default_delivery is True
        fake.replaces_default_delivery = True
        app.config["JISHI_DEFAULT_DELIVERY"] = True
        assert ext.default_delivery is True
        app.config["JISHI_DEFAULT_DELIVERY"] = False
        assert ext.default_delivery is False
    finally:
        ext.plugins.remove(fake)
        app.config["JISHI_DEFAULT_DELIVERY"] = "auto"


def test_shop_time_helpers(app):
    """K: times are stored naive UTC and typed/read in the shop's zone
    (BABEL_DEFAULT_TIMEZONE, Asia/Shanghai = UTC+8)."""
    from datetime import datetime, timedelta

    import pytest
    from jishi.i18n import from_shop_time, parse_shop_time, shop_timezone, to_shop_time

    assert str(shop_timezone()) == "Asia/Shanghai"
    stored = datetime(2026, 5, 1, 6, 30)
    local = to_shop_time(stored)
    assert (local.hour, local.minute, local.utcoffset()) == (14, 30, timedelta(hours=8))
    assert to_shop_time(None) is None
    assert from_shop_time(datetime(2026, 5, 1, 14, 30)) == stored
    assert from_shop_time(datetime(2026, 5, 1, 6, 30, tzinfo=UTC)) == stored
    assert parse_shop_time("2026-05-01 14:30") == stored
    assert parse_shop_time("2026-05-01T07:30+01:00") == stored
    assert parse_shop_time("  ") is None
    with pytest.raises(ValueError):
        parse_shop_time("yesterday")
    app.config["BABEL_DEFAULT_TIMEZONE"] = "UTC"
    try:
        assert parse_shop_time("2026-05-01 06:30") == stored
    finally:
        app.config["BABEL_DEFAULT_TIMEZONE"] = "Asia/Shanghai"


def test_default_sandbox_secret_is_refused_outside_debug_demo_and_tests(tmp_path, monkeypatch):
    """K9: anyone who read the docs could sign a payment notification with
    the documented sandbox secret: create_app refuses it, naming the
    setting, unless the app is a demo, in debug or under test."""
    from jishi.config import ConfigError, DefaultConfig

    monkeypatch.delenv("JISHI_SANDBOX_SECRET")
    with pytest.raises(ConfigError, match="JISHI_SANDBOX_SECRET"):
        create_app(instance_path=str(tmp_path))
    with pytest.raises(ConfigError, match="JISHI_SANDBOX_SECRET"):
        create_app({"JISHI_SANDBOX_SECRET": DefaultConfig.JISHI_SANDBOX_SECRET}, instance_path=str(tmp_path))
    for allowed in ({"JISHI_DEMO": True}, {"DEBUG": True}, {"TESTING": True}):
        app = create_app(allowed, instance_path=str(tmp_path))
        assert app.config["JISHI_SANDBOX_SECRET"] == DefaultConfig.JISHI_SANDBOX_SECRET
    monkeypatch.setenv("JISHI_DEMO", "true")
    assert create_app(instance_path=str(tmp_path)).config["JISHI_DEMO"] is True
    monkeypatch.delenv("JISHI_DEMO")
    monkeypatch.setenv("JISHI_SANDBOX_SECRET", "a-secret-of-our-own")
    assert create_app(instance_path=str(tmp_path)).config["JISHI_SANDBOX_SECRET"] == "a-secret-of-our-own"


def test_cli_names_the_refused_sandbox_secret(tmp_path, monkeypatch):
    """K9/K13: a command refused at start-up prints one error naming the setting, no traceback."""
    from click.testing import CliRunner
    from jishi.cli import make_cli

    monkeypatch.delenv("JISHI_SANDBOX_SECRET")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(make_cli(), ["plugins", "list"])
    assert result.exit_code == 1
    assert "Error: JISHI_SANDBOX_SECRET is the documented default" in result.output
    assert "Traceback" not in result.output
