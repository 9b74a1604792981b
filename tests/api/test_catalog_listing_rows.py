"""The catalog listing's rows (``catalog.service.list_products``) run from
the listing's SQL held per dialect (``jishi.loaders.held_rows``, issue 20)
and made ``Row``s again: they must be what SQLAlchemy's execute of the same
statement gives, field for field and key for key (the templates read
``row.price``, the product cards key by ``_fields``, the API by position,
a plugin may read ``row._mapping[...]``), inside the session's transaction
and outside it (the plain home page's only statement), and never stale.
"""

from __future__ import annotations

import pickle

from jishi.catalog import service
from jishi.catalog.models import Product
from jishi.db import db
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Row


def _executed(limit: int, category_id: int | None = None) -> list:
    """The same listing (newest first) through SQLAlchemy's execute."""
    shape = ("newest", True, 0, 0 if category_id is None else 1, False, False, False, False, False)
    stmt, forms = service._listing_statement(shape, service.visible_conditions("listing"))
    assert forms and None not in forms.values()  # (the listing ran from its held SQL)
    params = {"limit": limit + 1} if category_id is None else {"limit": limit + 1, "categories": category_id}
    return db.session.connection().execute(stmt, params).all()[:limit]


def _same(ours: list, theirs: list) -> None:
    assert len(ours) == len(theirs) > 0
    for a, b in zip(ours, theirs, strict=True):
        assert isinstance(a, Row)
        assert a == b and tuple(a) == tuple(b) and hash(a) == hash(b)
        assert [type(v) for v in a] == [type(v) for v in b]
        assert a._fields == b._fields == tuple(c.key for c in service.LISTING_COLUMNS)
        assert a._asdict() == b._asdict()
        keys = list(b._parent._keymap)  # names, labels ("products_price") and the Column objects
        assert len(keys) == len(a._parent._keymap)
        for key in keys:
            assert a._mapping[key] == b._mapping[key]
        assert a._mapping[Product.__table__.c.price] == a.price == b.price
        assert a.on_shelf is True and a.is_virtual is False  # (SQLite's 0/1 made booleans as SQLAlchemy does)
        assert pickle.loads(pickle.dumps(a)) == a


def test_listing_rows_are_sqlalchemys_rows(app, factory):
    cat = factory.category("茶")
    for i in range(5):
        factory.product(name=f"茶{i}", price=100 + i, category=cat)
    cat_id = cat.id
    db.session.commit()
    db.session.remove()
    # outside a transaction: the listing is the request's first statement
    assert not db.session().in_transaction()
    ours, _cursor = service.list_products(limit=3)
    assert not db.session().in_transaction()  # (its own pooled connection, as before)
    _same(ours, _executed(3))
    # inside the session's transaction
    assert db.session().in_transaction()
    ours, cursor = service.list_products(limit=3, category_id=cat_id)
    _same(ours, _executed(3, category_id=cat_id))
    assert cursor is not None
    more, _cursor = service.list_products(limit=3, category_id=cat_id, cursor=cursor)
    assert [r.name for r in ours + more] == [f"茶{i}" for i in reversed(range(5))]


def test_listing_sees_pending_and_other_connections_writes(app, factory):
    """Nothing is kept: the session's pending change is flushed first, and
    another connection's committed write shows on the next listing."""
    pid = factory.product(name="旧名", price=100).id
    db.session.commit()
    db.session.remove()
    assert [r.name for r in service.list_products(limit=5)[0]] == ["旧名"]
    db.session.remove()
    other = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with other.begin() as conn:
            conn.execute(text("UPDATE products SET name = '新名', price = 90 WHERE id = :id"), {"id": pid})
    finally:
        other.dispose()
    rows, _cursor = service.list_products(limit=5)
    assert [(r.name, r.price) for r in rows] == [("新名", 90)]
    product = db.session.get(Product, pid)
    product.name = "未提交"  # pending in this session: autoflushed before the read
    assert [r.name for r in service.list_products(limit=5)[0]] == ["未提交"]
    db.session.rollback()
