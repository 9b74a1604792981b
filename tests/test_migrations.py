"""K1: the committed migrations build exactly the models' schema, on a fresh
SQLite and a fresh PostgreSQL database, for the kernel and for a plugin (each
history with its own version table)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from jishi import migrations
from jishi.app import create_app
from sqlalchemy import create_engine, inspect, text


def _app(url: str, tmp_path, plugins: str = ""):
    cfg = {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "JISHI_PLUGINS": plugins}
    return create_app(cfg, instance_path=str(tmp_path / "instance"))


def _assert_matches_models(app):
    """compare_metadata gives no diffs for any history (kernel, plugins)."""
    from jishi.db import db

    with app.app_context():
        with db.engine.connect() as conn:
            for history in migrations.histories(app):
                ctx = MigrationContext.configure(
                    conn, opts={"include_object": history.include_object, "compare_type": True}
                )
                assert compare_metadata(ctx, db.metadata) == [], history.name
        assert migrations.diffs(app) == {}


def _tables(app) -> set[str]:
    from jishi.db import db

    with app.app_context():
        return set(inspect(db.engine).get_table_names())


def _upgrade_and_compare(url, tmp_path):
    app = _app(url, tmp_path, plugins="hello")
    report = migrations.upgrade(app)
    assert [name for name, _before, _after in report] == ["jishi", "hello"]
    assert all(before is None and after for _n, before, after in report)
    tables = _tables(app)
    assert {"alembic_version_jishi", "alembic_version_hello", "hello_greetings", "users", "orders"} <= tables
    _assert_matches_models(app)
    # a second upgrade is a no-op
    assert [(b, a) for _n, b, a in migrations.upgrade(app)] == [(a, a) for _n, _b, a in report]
    return app


def test_sqlite_upgrade_from_zero_matches_models(tmp_path):
    """K1: fresh SQLite, upgraded from zero == the models (kernel + plugin)."""
    app = _upgrade_and_compare(f"sqlite:///{tmp_path}/m.db", tmp_path)
    with app.app_context():
        from jishi.db import db

        db.engine.dispose()


def test_plugin_disabled_means_no_plugin_tables(tmp_path):
    """K1: only enabled plugins' histories run; the kernel's history never
    creates or compares a plugin's tables."""
    import jishi_hello.models  # noqa: F401 - the table is on the shared metadata

    app = _app(f"sqlite:///{tmp_path}/k.db", tmp_path)
    assert [n for n, _b, _a in migrations.upgrade(app)] == ["jishi"]
    tables = _tables(app)
    assert "hello_greetings" not in tables and "alembic_version_hello" not in tables
    assert migrations.diffs(app) == {}


def test_table_owners():
    """K1: a plugin's tables are those its package defines; the rest is the kernel's."""
    import jishi.models  # noqa: F401
    import jishi_hello.models  # noqa: F401

    owners = migrations.table_owners()
    assert owners["hello_greetings"] == "hello"
    assert owners["users"] == owners["product_tags"] == owners["settings"] == "jishi"


def _postgres_server() -> str | None:
    url = os.environ.get("JISHI_TEST_DATABASE_URL", "")
    if not url.startswith("postgres"):
        url = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    try:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception:
        return None
    return url


def test_postgresql_upgrade_from_zero_matches_models(tmp_path):
    """K1: fresh PostgreSQL database, upgraded from zero == the models."""
    server = _postgres_server()
    if server is None:
        pytest.skip("no PostgreSQL server reachable")
    name = f"jishi_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = server.rsplit("/", 1)[0] + "/" + name
        app = _upgrade_and_compare(url, tmp_path)
        with app.app_context():
            from jishi.db import db

            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_every_kernel_model_module_is_on_the_metadata():
    """K1: ``import jishi.models`` loads every kernel models module, so the
    migrations (and create_all) see every kernel table."""
    import subprocess
    import sys

    root = Path(migrations.__file__).resolve().parents[1]
    modules = sorted(
        "jishi." + ".".join(p.relative_to(root).with_suffix("").parts)
        for p in root.rglob("models.py")
        if "testing" not in p.parts
    )
    code = (
        "import importlib, jishi.models\n"
        "from jishi.db import db\n"
        "before = set(db.metadata.tables)\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(sorted(set(db.metadata.tables) - before))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]", f"tables missing from jishi.models imports: {out}"


def test_redundant_indexes_finds_an_index_a_key_serves():
    """The kit's lint: an index whose columns lead a unique key, a primary
    key or a longer index of its table is reported; a unique index, a
    partial one, one on an expression and one that only shares a column
    (not a leading one) are not."""
    from jishi.testing.deploy import redundant_indexes
    from sqlalchemy import Column, Index, Integer, MetaData, String, Table, UniqueConstraint, func

    md = MetaData()
    t = Table(
        "t",
        md,
        Column("id", Integer, primary_key=True),
        Column("a", Integer),
        Column("b", Integer),
        Column("c", String(10)),
        UniqueConstraint("a", "b", name="uq_t_a_b"),
    )
    Index("ix_t_a", t.c.a)  # leads uq_t_a_b
    Index("ix_t_id", t.c.id)  # the primary key
    Index("ix_t_c_a", t.c.c, t.c.a)
    Index("ix_t_c", t.c.c)  # leads ix_t_c_a
    Index("ix_t_b", t.c.b)  # second in uq_t_a_b: needed
    Index("ix_t_a_part", t.c.a, postgresql_where=t.c.b > 0, sqlite_where=t.c.b > 0)
    Index("ix_t_lower_c", func.lower(t.c.c))
    Index("uq_t_a", t.c.a, unique=True)
    found = redundant_indexes(md)
    assert [line.split(" ", 2)[1] for line in found] == ["ix_t_a", "ix_t_c", "ix_t_id"], found
    assert redundant_indexes(md, tables=["other"]) == []


def test_no_index_another_one_serves(tmp_path):
    """K1, issue 20: no table of the kernel or of a first-party plugin keeps
    an index whose columns lead another of its indexes or unique keys (the
    user's cart lines, say, are found by the (user, sku) key: an index on
    the user alone only cost every add to cart one more index write)."""
    from jishi.cli.docs import FIRST_PARTY_PLUGINS
    from jishi.db import db
    from jishi.testing.deploy import redundant_indexes

    _app(f"sqlite:///{tmp_path}/all.db", tmp_path, plugins=",".join(FIRST_PARTY_PLUGINS))
    assert redundant_indexes(db.metadata) == []


#: the heads of the first-party histories without a test of their own
#: under tests/plugins (delivery_local, designer, flashsale and
#: shopping_options have one)
HEADS = {
    "coupons": "cp0003",
    "delivery_express": "de0002",
    "distribution": "ds0002",
    "favorites": "fv0001",
    "footprints": "fp0001",
    "groupbuy": "gb0002",
    "messages": "mg0001",
    "multistore": "ms0004",
    "pickup": "pu0001",
    "points": "pt0004",  # (pt0005 comes before pt0004 in this history)
    "virtual": "vg0001",
    "wechat_login": "wl0002",
}


@pytest.mark.parametrize("postgres", [False, True], ids=["sqlite", "postgresql"])
@pytest.mark.parametrize("plugin", sorted(HEADS))
def test_plugin_history_matches_models(plugin, postgres, tmp_path):
    """K1: each of these plugins' own histories, upgraded from zero, ends at
    its head and builds exactly its models' tables, with no index a unique
    key serves, on SQLite and on PostgreSQL."""
    import importlib

    from jishi import migrations
    from jishi.testing.deploy import check_plugin_history, scratch_database

    if postgres and not os.environ.get("JISHI_TEST_DATABASE_URL", "").startswith("postgres"):
        pytest.skip("PostgreSQL only (JISHI_TEST_DATABASE_URL)")
    importlib.import_module(f"jishi_{plugin}.models")
    tables = sorted(t for t, owner in migrations.table_owners().items() if owner == plugin)
    assert tables
    with scratch_database(tmp_path, postgres=postgres) as url:
        check_plugin_history(url, tmp_path, plugin, HEADS[plugin], tables)


#: the revisions that dropped the indexes a unique key served, each with the
#: one before it and the indexes it dropped
DROPPED = {
    "jishi": ("k0009", {"payment_orders": "ix_payment_orders_user_id", "cart_lines": "ix_cart_lines_user_id"}),
    "coupons": (
        "cp0002",
        {
            "coupon_user_coupons": "ix_coupon_user_coupons_template_id",
            "coupon_usages": "ix_coupon_usages_user_coupon_id",
        },
    ),
    "delivery_express": (
        "de0001",
        {
            "express_region_rules": "ix_express_region_rules_template_id",
            "express_seller_templates": "ix_express_seller_templates_seller_key",
        },
    ),
    "flashsale": ("fs0002", {"flashsale_skus": "ix_flashsale_skus_activity_id"}),
    "groupbuy": ("gb0001", {"groupbuy_activity_skus": "ix_groupbuy_activity_skus_activity_id"}),
    "shopping_options": ("so0001", {"shopping_options_takes": "ix_shopping_options_takes_order_id"}),
    "wechat_login": ("wl0001", {"wechat_identities": "ix_wechat_identities_user_id"}),
}


def test_dropped_indexes_come_back_on_downgrade(tmp_path):
    """K1: the revisions that dropped the indexes a unique key served
    downgrade (the indexes made again) and upgrade again to the models."""
    from jishi.cli.docs import FIRST_PARTY_PLUGINS
    from jishi.db import db

    app = _app(f"sqlite:///{tmp_path}/d.db", tmp_path, plugins=",".join(FIRST_PARTY_PLUGINS))
    migrations.upgrade(app)

    def indexes(conn) -> set[str]:
        found = inspect(conn)
        return {ix["name"] for _n, (_b, dropped) in DROPPED.items() for t in dropped for ix in found.get_indexes(t)}

    wanted = {name for _b, dropped in DROPPED.values() for name in dropped.values()}
    with app.app_context(), db.engine.begin() as conn:
        assert not wanted & indexes(conn)
        for history in migrations.histories(app):
            if history.name in DROPPED:
                before = DROPPED[history.name][0]
                migrations._run(
                    history,
                    conn,
                    lambda script, rev, ctx, before=before: script._downgrade_revs(before, rev),
                    destination_rev=before,
                )
                assert migrations.current_revision(conn, history) == before
        assert wanted <= indexes(conn)
    assert {name for name, before, after in migrations.upgrade(app) if before != after} == set(DROPPED)
    with app.app_context(), db.engine.connect() as conn:
        assert not wanted & indexes(conn)
    assert migrations.diffs(app) == {}
    with app.app_context():
        db.engine.dispose()
