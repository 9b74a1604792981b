"""Issue 20: the loaders statement (``jishi.loaders.run``) runs from its SQL
compiled once per dialect (``exec_driver_sql``: no cache key made and
hashed per execute), with the same rows, statements and values as
SQLAlchemy's own execute, on SQLite and PostgreSQL; expanding (``IN``)
parameters are held per padded size of their lists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi import loaders
from jishi.db import db, utcnow
from jishi.hookspecs import PageLoader
from jishi.models import Product, Sku
from sqlalchemy import bindparam, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite

BY_PRODUCT = select(Sku).where(Sku.product_id == bindparam("pid"), Sku.is_active.is_(True)).order_by(Sku.id).limit(5)
PRICES = (
    select(Sku.id.label("id"), Sku.price.label("price"), Product.created_at.label("at"))
    .join(Product, Product.id == Sku.product_id)
    .where(Sku.product_id == bindparam("pid"), Product.created_at <= bindparam("at"))
)


def _page(pid, at, floor):
    return [
        PageLoader("a", BY_PRODUCT, {"pid": pid}),
        PageLoader("b", PRICES, {"pid": pid, "at": at}),
        PageLoader("c", select(Sku.id.label("id")).where(Sku.price > floor).order_by(Sku.id)),  # built per call
    ]


def _through_sqlalchemy(lds):
    """The same loaders run by SQLAlchemy's execute of the statement."""
    stmt, params, decoders, _forms = loaders._statement(lds, db.session.get_bind().dialect.name == "postgresql")
    row = db.session.connection().execute(stmt, params).one()
    return loaders.decode(lds, row, decoders)


def _plain(loaded):
    return {
        k: [r if isinstance(r, dict) else (r.id, r.price, r.product_id) for r in rows] for k, rows in loaded.items()
    }


def test_loaders_run_from_the_held_sql_with_each_calls_values(app, factory, queries):
    one, two = factory.product(price=100), factory.product(price=200)
    db.session.commit()
    at = utcnow() + timedelta(minutes=1)
    loaders._CACHE.clear()
    first = loaders.run(_page(one.id, at, 150))
    two_id = two.id
    with queries() as q:
        second = loaders.run(_page(two_id, at, 50))  # the held SQL, new values
    assert len(q.statements) == 1
    ((_stmt, _sources, _decoders, _queries, forms),) = loaders._CACHE.values()
    (form,) = forms.values()
    assert isinstance(form, loaders._HeldSQL) and q.statements[0].startswith(form.sql)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    assert ("$1" in form.sql and "%(" not in form.sql) if postgres else "?" in form.sql
    assert [s.id for s in first["a"]] == [one.skus[0].id] and [s.id for s in second["a"]] == [two.skus[0].id]
    assert second["a"][0] is db.session.get(Sku, two.skus[0].id)  # a persistent instance of the session
    assert first["b"] == [{"id": one.skus[0].id, "price": 100, "at": one.created_at}]
    assert first["c"] == [{"id": two.skus[0].id}] and second["c"] == [{"id": one.skus[0].id}, {"id": two.skus[0].id}]
    assert _plain(second) == _plain(_through_sqlalchemy(_page(two.id, at, 50)))
    # a datetime parameter is bound as SQLAlchemy binds it: nothing before ``at``
    assert loaders.run(_page(one.id, one.created_at - timedelta(seconds=1), 150))["b"] == []
    # the rows arrive as JSON text on both databases, decoded by orjson (psycopg's json loader is json.loads)
    stmt, params, _decoders, forms = loaders._statement(_page(two_id, at, 50), postgres)
    (raw,) = loaders.held_rows(db.session.connection(), stmt, params, forms)
    assert raw[0] is not None and all(v is None or isinstance(v, str) for v in raw)
    if postgres:  # the raw cursor was for that execute only
        driver = db.session.connection().connection.driver_connection
        assert driver.cursor_factory is not loaders._RawCursor


def test_expanding_parameters_are_held_per_padded_size(app, factory, queries):
    """Issue 20 (the checkout's loaders use ``IN`` lists): a statement with
    expanding parameters is held too, one SQL per size of its lists padded
    to a power of two (the last value repeated), with the rows SQLAlchemy's
    own expansion gives, in one statement; an empty list runs through
    SQLAlchemy (the dialect's empty ``IN``)."""
    products = [factory.product(price=100 * (i + 1)) for i in range(5)]
    db.session.commit()
    pids = [p.id for p in products]
    skus = {p.id: p.skus[0].id for p in products}
    listed = (
        select(Sku.id.label("id"))
        .where(Sku.product_id.in_(bindparam("ids", expanding=True)), Sku.price.in_(bindparam("prices", expanding=True)))
        .order_by(Sku.id)
    )
    loaders._CACHE.clear()
    for ids, prices in [
        ([pids[0]], [100]),
        (pids[:2], [100, 200]),
        (pids[:3], [100, 200, 300]),  # padded to 4
        (pids, [300]),  # 5 ids padded to 8
        (pids[1:4], [200, 400, 500, 600, 700]),  # the same sizes as above, other values
    ]:
        lds = [PageLoader("x", listed, {"ids": ids, "prices": prices})]
        with queries() as q:
            got = loaders.run(lds)
        assert q.count == 1
        want = sorted(skus[pid] for pid in ids if products[pids.index(pid)].skus[0].price in prices)
        assert [r["id"] for r in got["x"]] == want
        assert _plain(got) == _plain(_through_sqlalchemy(lds))
    ((*_, forms),) = loaders._CACHE.values()
    (held,) = forms.values()
    assert isinstance(held, loaders._ExpandingHeld)
    assert set(held.sizes) == {(2, 2), (4, 4), (8, 1), (4, 8)}  # (the first call built the statement)
    assert all(isinstance(form, loaders._HeldSQL) for form in held.sizes.values())
    assert loaders.run([PageLoader("x", listed, {"ids": [], "prices": [100]})])["x"] == []  # through SQLAlchemy
    assert loaders.run([PageLoader("x", listed, {"ids": (pids[0],), "prices": (100,)})])["x"] == [{"id": skus[pids[0]]}]


def test_one_list_in_two_ins_is_held(app, factory, queries):
    """Issue 20: one expanding parameter's name in two ``IN``s (two bind
    objects, one name: multistore's commission INSERT filters the lines and
    the orders by the same ids) is held like any list: SQLAlchemy expands
    the name once and repeats its items at each place, and so does the
    held SQL, on both dialects, with SQLAlchemy's rows."""
    products = [factory.product(price=100) for _ in range(3)]
    db.session.commit()
    skus = [p.skus[0] for p in products]
    both = (
        select(Sku.id.label("id"))
        .where(Sku.id.in_(bindparam("ids", expanding=True)), Sku.product_id.in_(bindparam("pids", expanding=True)))
        .where(Sku.id.in_(bindparam("ids", expanding=True)))
        .order_by(Sku.id)
    )
    loaders._CACHE.clear()
    for ids, pids in [([skus[0].id], [products[0].id]), ([s.id for s in skus], [p.id for p in products[1:]])]:
        lds = [PageLoader("x", both, {"ids": ids, "pids": pids})]
        with queries() as q:
            got = loaders.run(lds)
        assert q.count == 1
        assert [r["id"] for r in got["x"]] == [s.id for s in skus if s.id in ids and s.product_id in pids]
        assert _plain(got) == _plain(_through_sqlalchemy(lds))
    ((*_, forms),) = loaders._CACHE.values()
    (held,) = forms.values()
    assert isinstance(held, loaders._ExpandingHeld) and set(held.sizes) == {(4, 2)}  # (the first call built it)
    lite = loaders._compile_held(both, sqlite.dialect(), {"ids", "pids"})
    form, flat = lite.sized({"ids": [7, 8, 9], "pids": [5]})
    assert form.sql.count("?") == 9 and form.args(flat) == (7, 8, 9, 9, 5, 7, 8, 9, 9)
    if loaders._RawCursor is not None:
        pg = loaders._compile_held(both, postgresql.dialect(driver="psycopg"), {"ids", "pids"})
        form, flat = pg.sized({"ids": [7, 8, 9], "pids": [5]})
        assert "$5" in form.sql and "$6" not in form.sql and form.sql.count("$1") == 2
        assert form.args(flat) == (7, 8, 9, 9, 5)


def test_expanding_parameters_of_strings_and_a_cap_on_sizes(app, factory, monkeypatch):
    a = factory.product(price=100)
    db.session.commit()
    named = select(Product.id.label("id")).where(Product.name.in_(bindparam("names", expanding=True)))
    loaders._CACHE.clear()
    monkeypatch.setattr(loaders, "_SIZES_PER_STATEMENT", 2)
    for names in (["nope"], [a.name, "x"], [a.name, "x", "y"], ["x", "y", "z", "w", a.name]):
        assert loaders.run([PageLoader("n", named, {"names": names})])["n"] == [{"id": a.id}] * (a.name in names)
    ((*_, forms),) = loaders._CACHE.values()
    (held,) = forms.values()
    assert len(held.sizes) <= 2


def test_expanding_held_sql_per_dialect_without_a_database():
    listed = select(Sku.id).where(Sku.product_id.in_(bindparam("ids", expanding=True)), Sku.price > bindparam("p"))
    lite = loaders._compile_held(listed, sqlite.dialect(), {"ids", "p"})
    form, flat = lite.sized({"ids": [7, 8, 9], "p": 5})
    assert form.sql.count("?") == 5 and form.args(flat) == (7, 8, 9, 9, 5)
    pg = loaders._compile_held(listed, postgresql.dialect(driver="psycopg"), {"ids", "p"})
    if loaders._RawCursor is not None:
        form, flat = pg.sized({"ids": [7, 8, 9], "p": 5})
        assert "$5" in form.sql and "%(" not in form.sql and form.args(flat) == (7, 8, 9, 9, 5)
    assert lite.sized({"ids": [], "p": 5})[0] is None
    # a tuple IN is not held (its expansion is not one name per item)
    from sqlalchemy import tuple_

    pairs = select(Sku.id).where(tuple_(Sku.product_id, Sku.price).in_(bindparam("pairs", expanding=True)))
    held = loaders._compile_held(pairs, sqlite.dialect(), {"pairs"})
    assert held is None or held.sized({"pairs": [(1, 2)]})[0] is None


def test_run_of_no_loaders_is_decode_of_none(app):
    """The review-pass mend: ``run`` leaves building ``Loaded`` to ``decode``."""
    empty = loaders.run([])
    assert isinstance(empty, loaders.Loaded) and empty == {} and empty.first("x") is None


def test_held_sql_per_dialect_without_a_database():
    """The compiled forms: SQLite's ``?`` in order with constants processed
    (a datetime as SQLite stores it); psycopg's ``$n``, one number per name
    however often it appears, ``%%`` back to ``%``."""
    at = bindparam("at")
    stmt = select(
        func.to_char(Product.created_at, literal_column("'99%'")).label("t"),
        (Product.price + 1).label("p"),
    ).where(
        Product.created_at <= at,
        Product.updated_at <= at,
        Product.price > bindparam("floor"),
        Product.on_shelf.is_(True),
    )
    lite = loaders._compile_held(stmt, sqlite.dialect(), {"at", "floor"})
    assert lite is not None and lite.raw is None and "'99%'" in lite.sql
    args = lite.args({"at": utcnow(), "floor": 7})
    assert len(args) == lite.sql.count("?") == 4 and args[0] == 1 and args[3] == 7
    assert isinstance(args[1], str) and args[1] == args[2]  # the datetime as SQLite stores it, twice
    pg = loaders._compile_held(stmt, postgresql.psycopg.dialect(), {"at", "floor"})
    if loaders._RawCursor is None:  # psycopg 3.1: SQLAlchemy's execute
        assert pg is None
        return
    assert pg is not None and pg.raw is loaders._RawCursor
    assert "%(" not in pg.sql and "'99%'" in pg.sql and "'99%%'" not in pg.sql
    # the constant 1 (in the SELECT list) is $1, ``at`` is $2 both times, ``floor`` $3
    assert pg.sql.count("$2") == 2 and "$3" in pg.sql and "$4" not in pg.sql
    assert pg.args({"at": "AT", "floor": 7}) == (1, "AT", 7)


def test_conditions_key_is_a_token_per_sql_and_values():
    """The ``product_filters`` conditions' key (the product read's and the
    listing's statement caches): equal SQL and values give one token,
    other values another; the same objects are answered from memory."""
    from jishi.catalog import service

    a = (Product.seller_id != 3, Product.price > 5)
    same = (Product.seller_id != 3, Product.price > 5)
    other = (Product.seller_id != 4, Product.price > 5)
    key = service._conditions_key(a)
    assert key is not None and hash(key) is not None
    assert service._conditions_key(same) == key and service._conditions_key(other) != key
    assert service._conditions_key(a) is key and service._conditions_key(()) == ()
    uncacheable = (Product.price > bindparam("p", callable_=lambda: 5),)
    assert service._conditions_key(uncacheable) is None and service._conditions_key(uncacheable) is None


def test_a_sqlalchemy_without_the_internals_read_runs_through_its_execute(app, factory, monkeypatch):
    """The held form reads SQLAlchemy's compiled internals
    (``_bind_processors``, ``_result_columns``); a release that moved them
    must not break a page: the statement then runs through SQLAlchemy's own
    execute, with the same rows."""
    one = factory.product(price=100)
    db.session.commit()
    at = utcnow() + timedelta(minutes=1)

    def moved(*args, **kwargs):
        raise AttributeError("'SQLCompiler' object has no attribute '_bind_processors'")

    monkeypatch.setattr(loaders, "_compile_held", moved)
    loaders._CACHE.clear()
    loaders.run(_page(one.id, at, 50))
    loaded = loaders.run(_page(one.id, at, 50))  # the second run is the one that would hold it
    ((*_, forms),) = loaders._CACHE.values()
    assert list(forms.values()) == [None]
    assert _plain(loaded) == _plain(_through_sqlalchemy(_page(one.id, at, 50)))
    assert [s.id for s in loaded["a"]] == [one.skus[0].id]


def test_held_rows_on_the_cursor_fire_the_events_and_wrap_errors(app, factory):
    """Issue 20 (detail2): in the session's transaction the held SQL runs on
    a DBAPI cursor (no ``CursorResult`` made): the cursor events see it
    (statement counts), the rows and their processed values are those of
    SQLAlchemy's execute, the cursor is closed, and a DBAPI error is raised
    as SQLAlchemy's (``sqlalchemy.exc.DBAPIError``), as an execute raises
    it. Outside a transaction it is SQLAlchemy's execute (autobegin)."""
    import pytest
    from sqlalchemy import Column, Integer, MetaData, Table, event, exc

    one = factory.product(price=100)
    db.session.commit()
    one_id, sku_id = one.id, one.skus[0].id
    stmt = select(Sku.id, Sku.price, Product.created_at).join(Product).where(Sku.product_id == bindparam("pid"))
    forms: dict = {}
    conn = db.session.connection()
    seen, cursors = [], []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)
        cursors.append(cursor)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        rows = loaders.held_rows(conn, stmt, {"pid": one.id}, forms)
        rows = loaders.held_rows(conn, stmt, {"pid": one.id}, forms)  # (held from the first)
    finally:
        event.remove(engine, "before_cursor_execute", before)
    (form,) = forms.values()
    assert isinstance(form, loaders._HeldSQL) and seen[-1] == form.sql
    assert [tuple(r) for r in rows] == [tuple(r) for r in conn.execute(stmt, {"pid": one.id}).all()]
    assert rows[0][2] == one.created_at  # (SQLite's text processed to a datetime)
    if conn.dialect.name == "postgresql":
        assert cursors[-1].closed
    db.session.commit()
    db.session.close()
    # not in a transaction: SQLAlchemy's execute begins one
    with db.engine.connect() as bare:
        assert bare._transaction is None
        got = loaders.held_rows(bare, stmt, {"pid": one_id}, {})
        assert [r[0] for r in got] == [sku_id]

    # an error of the database: SQLAlchemy's exception, the transaction rolled back as after any
    gone = Table("held_gone", MetaData(), Column("id", Integer, primary_key=True))
    gone.create(db.session.connection())
    db.session.commit()
    read = select(gone.c.id).where(gone.c.id > bindparam("n"))
    forms = {}
    assert loaders.held_rows(db.session.connection(), read, {"n": 0}, forms) == []
    gone.drop(db.session.connection())
    with pytest.raises(exc.DBAPIError):
        loaders.held_rows(db.session.connection(), read, {"n": 0}, forms)
    db.session.rollback()
    gone.drop(db.session.connection(), checkfirst=True)  # (the DROP was rolled back)
    db.session.commit()


def test_a_processed_value_is_processed_once_per_call():
    """Issue 20 (detail2): a bind processor runs once per value object a
    call passes, however many placeholders (or per-loader names) take it;
    other values, constants and unprocessed parameters as before."""
    calls = []

    def proc(v):
        calls.append(v)
        return f"<{v}>"

    at, other = object(), object()
    form = loaders._HeldSQL(
        "SQL", (("a", None, proc), ("b", None, proc), (None, "K", None), ("a", None, proc), ("c", None, None)), None
    )
    assert form.args({"a": at, "b": at, "c": 5}) == (f"<{at}>", f"<{at}>", "K", f"<{at}>", 5)
    assert calls == [at]
    calls.clear()
    assert form.args({"a": at, "b": other, "c": 6}) == (f"<{at}>", f"<{other}>", "K", f"<{at}>", 6)
    assert calls == [at, other]
    plain = loaders._HeldSQL("SQL", (("a", None, None), (None, 1, None)), None)
    assert not plain.processed and plain.args({"a": 2}) == (2, 1)


def test_held_parameters_picked_in_order_whatever_the_plan():
    """Issue 20 (detail5): the parameters are picked in one call
    (``operator.itemgetter`` over the call's values, processed once per
    name, and the constants); every shape of plan gives what one step per
    parameter gives: no parameter, one, only constants, an expanding list's
    ``(name, index)`` keys, a name repeated, processed values among the
    rest, a name processed two ways; the caller's parameters untouched."""

    def one_by_one(plan, params):
        done = {}
        out = []
        for key, value, proc in plan:
            if key is None:
                out.append(value)
            elif proc is None:
                out.append(params[key])
            else:
                out.append(done.setdefault(id(params[key]), proc(params[key])))
        return tuple(out)

    def up(v):
        return f"<{v}>"

    params = {"a": 1, "b": "x", ("ids", 0): 7, ("ids", 1): 8, "when": object()}
    plans = [
        (),
        (("a", None, None),),
        ((None, "K", None),),
        ((None, "K", None), (None, None, None)),
        (("a", None, None), ("b", None, None), ("a", None, None)),
        ((("ids", 0), None, None), (("ids", 1), None, None), (None, 3, None), ("b", None, None)),
        (("when", None, up), ("a", None, None), (None, "K", None), ("when", None, up), ("b", None, up)),
        (("a", None, up),),
        (("a", None, up), ("a", None, None), (None, 2, None), ("when", None, up)),  # a name processed two ways
    ]
    for plan in plans:
        form = loaders._HeldSQL("SQL", plan, None)
        before = dict(params)
        assert form.args(params) == one_by_one(plan, params), plan
        assert params == before
    with pytest.raises(KeyError):
        loaders._HeldSQL("SQL", (("a", None, None), ("missing", None, None)), None).args(params)


def test_held_rows_without_sqlalchemys_cursor_internals_run_through_its_execute(app, factory, monkeypatch):
    """The cursor path uses SQLAlchemy internals (``_cursor_execute`` and
    the connection's transaction attributes); without them the held SQL
    runs through ``exec_driver_sql``, with the same rows."""
    one = factory.product(price=100)
    db.session.commit()
    stmt = select(Sku.id, Sku.price).where(Sku.product_id == bindparam("pid"))
    forms: dict = {}
    conn = db.session.connection()
    want = [tuple(r) for r in loaders.held_rows(conn, stmt, {"pid": one.id}, forms)]
    monkeypatch.setattr(loaders, "_CURSOR_PATH", False)
    assert [tuple(r) for r in loaders.held_rows(conn, stmt, {"pid": one.id}, forms)] == want == [(one.skus[0].id, 100)]


def test_every_held_read_takes_one_cursor_path(app, factory, monkeypatch):
    """Issue 20 (the bearer read, then detail3: one path for every held
    statement): in the session's transaction the held SQL runs on a DB-API
    cursor, executed by the cursor itself when nothing listens
    (``loaders._quiet``) and through SQLAlchemy's ``_cursor_execute``
    when a statement listener, echo or a dialect ``do_execute`` hook could
    tell; either way the rows (and values: SQLite's datetimes) are those
    of SQLAlchemy's execute, ``direct=True`` changes nothing, and a DB-API
    error is raised as SQLAlchemy raises it (``sqlalchemy.exc.DBAPIError``).
    A connection outside a transaction runs it through SQLAlchemy's
    execute (which begins one)."""
    import pytest
    from sqlalchemy import event
    from sqlalchemy.engine import Connection
    from sqlalchemy.exc import DBAPIError

    one = factory.product(price=100)
    db.session.commit()
    at = utcnow() + timedelta(minutes=1)
    params = {"pid": one.id, "at": at}
    conn = db.session.connection()
    forms: dict = {}
    through = []
    real = Connection._cursor_execute

    def spy(self, *args, **kwargs):
        through.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "_cursor_execute", spy)
    want = [tuple(r) for r in conn.execute(PRICES, params).all()]
    try:
        assert loaders._quiet(conn)
        for direct in (True, False, False):
            rows = loaders.held_rows(conn, PRICES, params, forms, direct=direct)
            assert [tuple(r) for r in rows] == want and rows[0][2] == one.created_at
        assert through == []  # (run by the cursor itself)
        seen = []
        listener = lambda *a, **k: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert not loaders._quiet(conn)
            assert [tuple(r) for r in loaders.held_rows(conn, PRICES, params, forms, direct=True)] == want
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert through == [1] and seen == [1]
        hooked = lambda *a, **k: False  # noqa: E731  (a do_execute hook that lets the dialect execute)
        event.listen(db.engine, "do_execute", hooked)
        try:
            assert not loaders._quiet(conn)
        finally:
            event.remove(db.engine, "do_execute", hooked)
        (form,) = forms.values()
        broken = loaders._HeldSQL("SELECT no_such_column FROM skus", (), form.raw)
        with pytest.raises(DBAPIError):
            broken.rows(conn, {})  # (by the cursor itself)
        db.session.rollback()
        conn = db.session.connection()
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            with pytest.raises(DBAPIError):
                broken.rows(conn, {})  # (through _cursor_execute)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert len(through) == 2
    finally:
        db.session.rollback()
    with db.engine.connect() as outside:  # no transaction begun: SQLAlchemy's execute (it begins one)
        assert outside._transaction is None
        assert [tuple(r) for r in loaders.held_rows(outside, PRICES, params, forms)] == want
        assert outside.in_transaction()


def test_the_loaders_rows_are_decoded_exactly(app, factory):
    """detail3: the loaders' JSON rows give the values the standard
    library's ``json.loads`` gives, as the engine's JSON columns on psycopg
    do (``jishi.db.exact_json_loads``): an integer beyond 64 bits in a JSON
    column (in the rows as its text on both databases) or in a numeric
    column stays an int (orjson alone answers a float). A loader whose
    columns orjson reads exactly (integers, text, booleans, dates, JSON as
    text) is decoded by orjson alone."""
    from jishi.models import ProductImage
    from sqlalchemy import Numeric, cast

    big = {"n": 2**70, "m": -(10**30), "s": "12345678901234567890123", "f": 1.5, "l": [2**64, None]}
    one = factory.product(price=100)
    one.skus[0].spec_values = big
    db.session.commit()
    lds = [PageLoader("skus", BY_PRODUCT, {"pid": one.id})]
    (sku,) = loaders.run(lds)["skus"]
    assert sku.spec_values == big and type(sku.spec_values["n"]) is int
    db.session.expunge_all()
    assert db.session.get(Sku, sku.id).spec_values == big  # (as the ORM reads it)
    numeric = select(Sku.id, cast(Sku.price, Numeric(40, 0)).label("n"))
    assert loaders._decoder(select(ProductImage))[3] is True
    assert loaders._decoder(select(Sku))[3] is True  # (its JSON column as text)
    assert loaders._decoder(numeric)[3] is False
    text = '[{"id": 1, "n": 123456789012345678901}]'
    (row,) = loaders.decode([PageLoader("x", numeric)], [text], [loaders._decoder(numeric)])["x"]
    assert row == {"id": 1, "n": 123456789012345678901} and type(row["n"]) is int
    query = select(Sku.id, Sku.spec_values)
    text = '[{"id": 1, "spec_values": "{\\"n\\": 123456789012345678901}"}]'
    (row,) = loaders.decode([PageLoader("x", query)], [text], [loaders._decoder(query)])["x"]
    assert row == {"id": 1, "spec_values": {"n": 123456789012345678901}}


def test_sqlite_datetimes_are_bound_as_sqlalchemy_binds_them():
    """detail3: on SQLite the held SQL binds a naive datetime with
    ``isoformat`` (SQLAlchemy's ``%``-format of seven fields cost ~1.5 us a
    value, four per product page): the very text SQLAlchemy's DATETIME
    processor gives, for every value it takes (an aware datetime, a date,
    a subclass and None through SQLAlchemy's own); a DATETIME of another
    storage format, another type or another dialect keeps its processor."""
    from datetime import UTC, date, datetime

    from sqlalchemy import DateTime, Integer
    from sqlalchemy.dialects.sqlite import DATETIME as SQLiteDATETIME

    dialect = sqlite.dialect()
    bp = bindparam("at", type_=DateTime())
    proc = bp.type.dialect_impl(dialect).bind_processor(dialect)
    fast = loaders._faster(proc, bp, dialect)
    assert fast is not proc

    class Moment(datetime):
        pass

    values = [
        datetime(2026, 12, 5, 10, 4, 54, 527470),
        datetime(2026, 1, 2, 3, 4, 5),  # (no microseconds: still six digits)
        datetime(5, 1, 1),  # (a year below 1000: zero-padded)
        datetime(9999, 12, 31, 23, 59, 59, 999999),
        datetime(2026, 12, 5, 10, 4, 54, 1, tzinfo=UTC),  # (aware: SQLAlchemy drops the offset)
        Moment(2026, 12, 5, 1, 2, 3, 4),
        date(2026, 12, 5),
        None,
    ]
    for value in values:
        assert fast(value) == proc(value), value
    with __import__("pytest").raises(TypeError):
        fast("2026-12-05")  # (refused as SQLAlchemy refuses it)
    other = bindparam("at", type_=SQLiteDATETIME(storage_format="%(year)04d/%(month)02d/%(day)02d"))
    other_proc = other.type.dialect_impl(dialect).bind_processor(dialect)
    assert loaders._faster(other_proc, other, dialect) is other_proc
    assert loaders._faster(None, bindparam("n", type_=Integer()), dialect) is None
    pg = postgresql.dialect()
    assert loaders._faster(proc, bp, pg) is proc


def test_persistent_keys_the_instance_as_the_orm_does(app, factory):
    """detail3: ``persistent`` builds the identity key itself (no
    ``identity_key_from_primary_key`` call per instance): the key the ORM
    gives, so ``session.get`` finds the instance without a statement."""
    from jishi.models import ProductImage
    from jishi.testing import count_queries
    from sqlalchemy import inspect

    session = db.session()
    image = loaders.persistent(session, ProductImage, {"id": 987, "product_id": 1, "sort": 0, "url": "u"})
    mapper = ProductImage.__mapper__
    assert inspect(image).key == mapper.identity_key_from_primary_key([987])
    with count_queries(db.engine) as q:
        assert session.get(ProductImage, 987) is image
    assert q.count == 0
    session.expunge_all()


def test_float_columns_are_read_by_orjson_alone(app, factory):
    """Issue 20: a loader of float columns (an address's latitude and
    longitude: the checkout's address and the merchants' rows) decodes its
    rows with orjson alone, not through the 19-digit check of
    ``exact_json_loads``: both databases write a finite double with at most
    17 significant digits, which orjson reads as ``json.loads`` does."""
    import json

    import orjson
    from jishi.accounts.models import Address

    buyer = factory.user()
    values = [0.1, 31.230416, -121.4737010000001, 1e-300, 5e-324, 2.2250738585072014e-308, 1.5e300, -0.0, 3.0]
    for i in range(0, len(values), 2):
        factory.address(buyer, lat=values[i], lng=values[i + 1] if i + 1 < len(values) else None)
    db.session.commit()
    coords = select(Address.lat.label("lat"), Address.lng.label("lng")).where(Address.user_id == buyer.id)
    lds = [PageLoader("c", coords.order_by(Address.id))]
    postgres = db.session.get_bind().dialect.name == "postgresql"
    stmt, params, decoders, forms = loaders._statement(lds, postgres)
    assert decoders[0][3] is True  # plain: orjson alone
    (raw,) = loaders.held_rows(db.session.connection(), stmt, params, forms)
    assert orjson.loads(raw[0]) == json.loads(raw[0])
    got = [v for row in loaders.run(lds)["c"] for v in (row["lat"], row["lng"])]
    want = [v for row in json.loads(raw[0]) for v in (row["lat"], row["lng"])]
    assert got == want
    if postgres:  # PostgreSQL writes each double's shortest exact text: the values themselves
        assert got == [*values, None]


def _pipelines(monkeypatch) -> list:
    """The pipelines psycopg's connections enter (a list, one item each)."""
    entered: list = []
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        return entered
    pipeline = psycopg.Connection.pipeline

    def spy(self):
        entered.append(self)
        return pipeline(self)

    monkeypatch.setattr(psycopg.Connection, "pipeline", spy)
    return entered


@pytest.mark.parametrize("listened", [False, True])
def test_held_rows_many_runs_in_order_one_pipeline_on_postgresql(app, monkeypatch, tmp_path, listened):
    """Issue 20: ``held_rows_many`` answers each statement's rows, processed
    as ``held_rows`` answers them, run in their order in the transaction (a
    later one sees an earlier one's row); on PostgreSQL (psycopg, in a
    transaction) in ONE pipeline, one round trip for all, with or without
    listeners of the cursor events (which see every statement); elsewhere
    one by one."""
    from jishi.testing import libpq_messages
    from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, event, insert

    table = Table(
        "held_many",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("name", String(20)),
        Column("at", DateTime),
    )
    table.create(db.session.connection())
    db.session.commit()
    try:
        at = utcnow().replace(microsecond=123456)
        add = insert(table).values(name=bindparam("name"), at=bindparam("at")).returning(table.c.id, table.c.at)
        find = select(table.c.name, table.c.at).where(table.c.name == bindparam("name"))
        forms_add: dict = {}
        forms_find: dict = {}
        items = [
            (add, {"name": "a", "at": at}, forms_add),
            (find, {"name": "a"}, forms_find),
            (add, {"name": "b", "at": at}, forms_add),
        ]
        entered = _pipelines(monkeypatch)
        seen: list = []

        def before(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)

        conn = db.session.connection()
        conn.execute(select(1)).all()  # (the transaction begun on the server)
        postgres = conn.dialect.name == "postgresql"
        got: list = []
        if listened:
            event.listen(db.engine, "before_cursor_execute", before)
        try:
            if postgres:
                pgconn = conn.connection.driver_connection.pgconn
                sent = libpq_messages(pgconn, tmp_path, lambda: got.extend(loaders.held_rows_many(conn, items)))
            else:
                got.extend(loaders.held_rows_many(conn, items))
        finally:
            if listened:
                event.remove(db.engine, "before_cursor_execute", before)
        assert [len(rows) for rows in got] == [1, 1, 1]
        assert got[0][0][1] == at and tuple(got[1][0]) == ("a", at)  # (SQLite's text processed to a datetime)
        assert got[2][0][0] > got[0][0][0]
        assert len(seen) == (3 if listened else 0)
        if postgres:
            assert len(entered) == 1  # one pipeline
            kinds = [line.split("\t")[2] for line in sent]
            assert kinds.count("Sync") == 1 and "Query" not in kinds, sent
        else:
            assert entered == []
    finally:
        db.session.rollback()
        table.drop(db.session.connection(), checkfirst=True)
        db.session.commit()


def test_held_rows_many_raises_a_failed_statements_error_as_sqlalchemy_does(app, monkeypatch):
    """Issue 20: a statement of ``held_rows_many`` the database refuses (a
    unique key taken) raises SQLAlchemy's ``IntegrityError`` naming that
    statement's parameters; the
    statements after it write nothing (PostgreSQL skips them to the
    pipeline's sync; elsewhere they are not run); after the rollback the
    session goes on. Outside a transaction, one by one (SQLAlchemy's
    execute begins one)."""
    from sqlalchemy import Column, Integer, MetaData, String, Table, exc, func, insert

    table = Table(
        "held_many_err", MetaData(), Column("id", Integer, primary_key=True), Column("name", String(20), unique=True)
    )
    table.create(db.session.connection())
    db.session.commit()
    try:
        add = insert(table).values(name=bindparam("name")).returning(table.c.id)
        forms: dict = {}
        conn = db.session.connection()
        loaders.held_rows_many(conn, [(add, {"name": "a"}, forms)])
        db.session.commit()
        entered = _pipelines(monkeypatch)
        conn = db.session.connection()
        conn.execute(select(1)).all()
        with pytest.raises(exc.IntegrityError) as raised:
            loaders.held_rows_many(
                conn, [(add, {"name": "b"}, forms), (add, {"name": "a"}, forms), (add, {"name": "c"}, forms)]
            )
        params = raised.value.params
        assert list(params.values() if isinstance(params, dict) else params) == ["a"]  # the statement that failed
        assert len(entered) == (1 if conn.dialect.name == "postgresql" else 0)
        db.session.rollback()
        count = db.session.scalar(select(func.count()).select_from(table))
        assert count == 1
        db.session.commit()
        db.session.close()
        with db.engine.connect() as bare:  # not in a transaction: one by one
            assert bare._transaction is None
            rows = loaders.held_rows_many(bare, [(add, {"name": "d"}, forms), (add, {"name": "e"}, forms)])
            assert [len(r) for r in rows] == [1, 1]
            bare.rollback()
        assert len(entered) == (1 if db.session.get_bind().dialect.name == "postgresql" else 0)
    finally:
        db.session.rollback()
        table.drop(db.session.connection(), checkfirst=True)
        db.session.commit()


@pytest.mark.parametrize("listened", [False, True])
def test_an_error_read_while_the_pipeline_sends_raises_once_and_logs_nothing(app, caplog, listened):
    """Issue 20: a refused statement (a unique key taken, as in a race of
    two placements) followed by enough statements that psycopg reads the
    error while it still sends them: ``held_rows_many`` raises SQLAlchemy's
    ``IntegrityError`` naming the refused statement, the session goes on
    after its rollback, and nothing is logged (psycopg's pipeline logs a
    warning, "error ignored terminating", when its exit fails under an
    exception raised inside it: a handled race must not reach the logs).
    On SQLite the statements run one by one (the same error, nothing
    logged)."""
    import logging

    from sqlalchemy import Column, Integer, MetaData, String, Table, event, exc, func, insert

    table = Table(
        "held_many_early", MetaData(), Column("id", Integer, primary_key=True), Column("name", String(20), unique=True)
    )
    table.create(db.session.connection())
    db.session.commit()

    def before(conn, cursor, statement, parameters, context, executemany):
        pass

    try:
        add = insert(table).values(name=bindparam("name")).returning(table.c.id)
        forms: dict = {}
        loaders.held_rows_many(db.session.connection(), [(add, {"name": "a"}, forms)])
        db.session.commit()
        conn = db.session.connection()
        conn.execute(select(1)).all()  # (the transaction begun on the server)
        items = [(add, {"name": "a"}, forms)] + [(add, {"name": f"n{i}"}, forms) for i in range(2000)]
        if listened:
            event.listen(db.engine, "before_cursor_execute", before)
        try:
            with caplog.at_level(logging.WARNING), pytest.raises(exc.IntegrityError) as raised:
                loaders.held_rows_many(conn, items)
        finally:
            if listened:
                event.remove(db.engine, "before_cursor_execute", before)
        params = raised.value.params
        assert list(params.values() if isinstance(params, dict) else params) == ["a"]
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(table)) == 1
    finally:
        db.session.rollback()
        table.drop(db.session.connection(), checkfirst=True)
        db.session.commit()
