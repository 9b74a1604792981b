"""Issue 19 (performance), migration k0009: ``report_buyer_daily`` gets each
buyer's previous and next paid day in the scope and current member level,
backfilled from the rows already written (and the users), and loses them
again on downgrade."""

from __future__ import annotations

from datetime import date


def _app(tmp_path):
    from jishi.app import create_app

    return create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/m.db", "SECRET_KEY": "x", "JISHI_PLUGINS": ""},
        instance_path=str(tmp_path / "instance"),
    )


def _downgrade(app, target: str) -> None:
    from jishi import migrations
    from jishi.db import db

    with app.app_context(), db.engine.begin() as conn:
        kernel = migrations.histories(app)[0]
        migrations._run(
            kernel, conn, lambda script, rev, ctx: script._downgrade_revs(target, rev), destination_rev=target
        )


def test_k0009_backfills_links_and_levels_and_downgrades(tmp_path):
    from jishi import migrations
    from sqlalchemy import create_engine, inspect, text

    app = _app(tmp_path)
    migrations.upgrade(app, "k0008")
    engine = create_engine(f"sqlite:///{tmp_path}/m.db")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO member_levels (id, name, rank) VALUES (1, 'gold', 2)"))
        for uid, level in ((1, 1), (2, None)):
            conn.execute(
                text(
                    "INSERT INTO users (id, phone, name, password_hash, role, member_level_id, session_token, is_active,"
                    " created_at) VALUES (:id, :p, '', '', 'buyer', :l, :t, true, '2026-01-01 00:00:00')"
                ),
                {"id": uid, "p": f"1380000000{uid}", "l": level, "t": f"t{uid}"},
            )
        # user 1: platform on days 1, 3, 7 (seller 5 on days 3 and 7); user 2: platform on day 3
        for sid, day, uid in ((0, 1, 1), (0, 3, 1), (0, 7, 1), (5, 3, 1), (5, 7, 1), (0, 3, 2)):
            conn.execute(
                text(
                    "INSERT INTO report_buyer_daily (seller_id, day, user_id, paid_orders, paid_amount,"
                    " refunded_amount, first_day) VALUES (:s, :d, :u, 1, 100, 0, :d)"
                ),
                {"s": sid, "d": date(2026, 1, day), "u": uid},
            )
    migrations.upgrade(app)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT seller_id, day, user_id, prev_day, next_day, member_level_id FROM report_buyer_daily"
                " ORDER BY seller_id, user_id, day"
            )
        ).all()
    d = lambda n: date(2026, 1, n).isoformat() if n else None  # noqa: E731
    assert [tuple(v.isoformat() if isinstance(v, date) else v for v in r) for r in rows] == [
        (0, d(1), 1, None, d(3), 1),
        (0, d(3), 1, d(1), d(7), 1),
        (0, d(7), 1, d(3), None, 1),
        (0, d(3), 2, None, None, None),
        (5, d(3), 1, None, d(7), 1),
        (5, d(7), 1, d(3), None, 1),
    ]
    assert "ix_report_buyer_daily_user" in {i["name"] for i in inspect(engine).get_indexes("report_buyer_daily")}
    engine.dispose()

    _downgrade(app, "k0008")
    engine = create_engine(f"sqlite:///{tmp_path}/m.db")
    columns = {c["name"] for c in inspect(engine).get_columns("report_buyer_daily")}
    indexes = {i["name"] for i in inspect(engine).get_indexes("report_buyer_daily")}
    with engine.connect() as conn:
        n = conn.execute(text("SELECT COUNT(*) FROM report_buyer_daily")).scalar()
    engine.dispose()
    assert not columns & {"prev_day", "next_day", "member_level_id"} and n == 6
    assert "ix_report_buyer_daily_user" not in indexes and "ix_report_buyer_daily_day" in indexes
    migrations.upgrade(app)  # and up again
