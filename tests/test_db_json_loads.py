"""Issue 20: psycopg's JSON columns are decoded by orjson (the engine's
``json_deserializer``, :func:`jishi.db.psycopg_json_loads`), giving exactly
the values the standard library's ``json.loads`` gives."""

from __future__ import annotations

import json

import pytest
from jishi.db import apply_engine_config, db, psycopg_json_loads
from jishi.testing import is_postgres

VALUES = [
    {"a": 1, "b": [1, 2, {"c": None, "d": True, "e": False}], "f": 1.5, "g": -0.0},
    [0, -1, 2**63 - 1, -(2**63), 2**64 - 1, 2**64, -(2**63) - 1, 10**30, -(10**40), 1234567890123456789],
    {"龙井": "绿茶 🍵", "k": 'é\n\t"\\/', "nested": {"deep": [[[[{"x": "y"}]]]]}},
    [0.1, 1e-300, 1.7976931348623157e308, 5e-324, 3.141592653589793, 100.0],
    "plain text",
    12345,
    None,
    [],
    {},
]


def test_loads_equals_the_standard_librarys():
    loads = psycopg_json_loads()
    assert loads is not None  # orjson is a dependency
    texts = [json.dumps(v, ensure_ascii=a).encode() for v in VALUES for a in (True, False)]
    texts += [
        b'{"a": 1, "a": 2}',
        b"-0",
        b"[1e400, -1e400]",
        b'"\\ud800x"',
        b'"\\ud83d\\ude00"',
        b"18446744073709551616",
        b"-9223372036854775809",
        b" [1 , 2] ",
        b"0.30000000000000004",
        b"123456789012345678901234567890.5",
    ]
    for text in texts:
        got, want = loads(text), json.loads(text)
        assert repr(got) == repr(want), text


def test_psycopg_and_sqlite_engines_get_it():
    for uri, expected in (
        ("postgresql+psycopg://u@h/d", True),
        ("postgresql+psycopg2://u@h/d", False),
        ("postgresql://u@h/d", False),
        ("sqlite:///x.db", True),
        ("sqlite://", True),
    ):
        config = {"SQLALCHEMY_DATABASE_URI": uri}
        apply_engine_config(config)
        assert ("json_deserializer" in config["SQLALCHEMY_ENGINE_OPTIONS"]) is expected, uri
    config = {
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@h/d",
        "SQLALCHEMY_ENGINE_OPTIONS": {"json_deserializer": len},
    }
    apply_engine_config(config)
    assert config["SQLALCHEMY_ENGINE_OPTIONS"]["json_deserializer"] is len  # an explicit option wins


def test_a_sqlite_json_column_round_trips_identically(app):
    """prev5: SQLite's JSON columns are decoded by the same loader: written
    through the ORM, read back by a fresh session and by Core, the same
    values, types included (an integer beyond 64 bits stays an integer)."""
    if is_postgres():
        pytest.skip("SQLite's JSON columns")
    from jishi.models import Setting
    from sqlalchemy import text

    with app.app_context():
        assert db.engine.dialect._json_deserializer is psycopg_json_loads()
        for i, value in enumerate(VALUES):
            db.session.add(Setting(key=f"test.json.{i}", value=value))
        db.session.commit()
        db.session.expunge_all()
        for i, value in enumerate(VALUES):
            got = db.session.get(Setting, f"test.json.{i}").value
            assert repr(got) == repr(value), (i, got)
            core = db.session.execute(db.select(Setting.value).where(Setting.key == f"test.json.{i}")).scalar_one()
            assert repr(core) == repr(value)
            raw = db.session.execute(text("SELECT value FROM settings WHERE key = :k"), {"k": f"test.json.{i}"})
            stored = raw.scalar_one()  # (a number: the column's numeric affinity kept it as one)
            assert repr(json.loads(stored) if isinstance(stored, str) else stored) == repr(value)
        db.session.rollback()


@pytest.mark.skipif(not is_postgres(), reason="psycopg's JSON loader: PostgreSQL only")
def test_a_json_column_round_trips_identically(app):
    """Written through the ORM, read back by a fresh session, by Core and by
    a raw psycopg cursor of the engine: the same values, types included."""
    from jishi.models import Setting
    from sqlalchemy import text

    with app.app_context():
        assert db.engine.dialect._json_deserializer is psycopg_json_loads()
        for i, value in enumerate(VALUES):
            db.session.add(Setting(key=f"test.json.{i}", value=value))
        db.session.commit()
        db.session.expunge_all()
        for i, value in enumerate(VALUES):
            got = db.session.get(Setting, f"test.json.{i}").value
            assert repr(got) == repr(value), (i, got)
            core = db.session.execute(text("SELECT value FROM settings WHERE key = :k"), {"k": f"test.json.{i}"})
            assert repr(core.scalar_one()) == repr(value)
            # jsonb normalises the text (1.7976931348623157e308 is 309 digits):
            # decoded as the standard library decodes jsonb's text
            jsonb, jsonb_text = db.session.execute(
                text("SELECT value::jsonb, value::jsonb::text FROM settings WHERE key = :k"), {"k": f"test.json.{i}"}
            ).one()
            assert repr(jsonb) == repr(json.loads(jsonb_text)), i
        raw = db.session.connection().connection.driver_connection
        with raw.cursor() as cur:
            cur.execute("SELECT value FROM settings WHERE key = %s", ("test.json.1",))
            assert repr(cur.fetchone()[0]) == repr(VALUES[1])
        db.session.rollback()


def test_exact_loads_reads_text_as_bytes():
    """detail3: ``exact_json_loads`` (psycopg's deserializer, and the page
    loaders' rows, which come as ``str``) gives ``json.loads``' value for a
    text as for its bytes."""
    from jishi.db import exact_json_loads

    texts = [json.dumps(v, ensure_ascii=a) for v in VALUES for a in (True, False)]
    texts += ['"\\ud800x"', "[1e400]", "18446744073709551616", '{"n": 123456789012345678901, "s": "龙"}', "[]"]
    for text in texts:
        assert repr(exact_json_loads(text)) == repr(json.loads(text)) == repr(exact_json_loads(text.encode()))


def test_long_digit_runs_are_found_as_the_regular_expression_finds_them():
    """Issue 20, twelfth sitting: ``exact_json_loads`` looks for a run of
    19 ASCII digits (where orjson may answer otherwise) by a byte
    translation and a substring search, not the regular expression
    ``[0-9]{19}`` (ten times slower); it answers as the expression does for
    text and for bytes, buffers, non-ASCII digits and lone surrogates."""
    import random
    import re

    from jishi.db import _has_long_digits

    pattern = re.compile(r"[0-9]{19}")
    rnd = random.Random(20)
    alphabet = ["0", "1", "9", "5", " ", ",", "-", ".", "e", '"', "龙", "٣", "１", "\ud800", "🍵", "\x00", "/"]
    texts = ["", "1" * 18, "1" * 19, "x" + "2" * 19, "2" * 18 + "٣", "1" * 10 + "\ud800" + "1" * 10, "１" * 19]
    for _ in range(3000):  # mostly digits, so that runs of 19 come and go
        digits = rnd.choice((0.9, 0.97))
        size = rnd.randint(0, 60)
        texts.append("".join(rnd.choice("0123456789" if rnd.random() < digits else alphabet) for _ in range(size)))
    found = 0
    for text in texts:
        want = pattern.search(text) is not None
        found += want
        assert _has_long_digits(text) is want, text
        if "\ud800" not in text:
            raw = text.encode()
            assert _has_long_digits(raw) is want and _has_long_digits(bytearray(raw)) is want, text
            assert _has_long_digits(memoryview(raw)) is want, text
    assert 100 < found < len(texts) - 100  # both answers were tried
