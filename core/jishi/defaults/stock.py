"""Default stock: atomic conditional UPDATEs on the SKU rows.

Lines no ``reserve_stock`` plugin takes come out of the SKU's own stock, all
of them in ONE conditional statement (:func:`reserve_sku_stock`), so placing
a checkout costs the same number of statements for 1 line or 30.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Integer, bindparam, case, update

from jishi.catalog.models import Sku
from jishi.db import db, held_rows
from jishi.hookspecs import hookimpl


def reserve_sku_stock(lines: Sequence) -> None:
    """Take the stock of every line in ``lines`` from its SKU, all or nothing.

    One ``UPDATE skus SET stock = stock - CASE WHEN id = .. THEN qty .. END
    WHERE id IN (..) AND stock >= CASE ..  RETURNING id``: each row is
    decremented only when it has enough (the condition is re-checked on the
    locked row, so concurrent checkouts never oversell). When a row is short,
    raises :class:`jishi.checkout.errors.OutOfStock` naming its line; the
    caller rolls the whole transaction back (the rows that were decremented
    with it).
    """
    from jishi.checkout.errors import OutOfStock

    wanted: dict[int, int] = {}
    first_line: dict[int, object] = {}
    for line in lines:
        wanted[line.sku_id] = wanted.get(line.sku_id, 0) + line.quantity
        first_line.setdefault(line.sku_id, line)
    if not wanted:
        return
    stmt, forms = _statement(len(wanted))
    conn = db.session.connection()
    taken = {row[0] for row in held_rows(conn, stmt, _params(wanted), forms, direct=True)}
    for sku_id, line in first_line.items():
        if sku_id not in taken:
            raise OutOfStock(line.key, line.name)


#: the conditional UPDATE for n SKUs, built once per n (up to _HELD):
#: Core on the table, its ids and quantities bound (a statement built anew
#: per placement cost more Python than the rest of the stock's work), with
#: its SQL compiled once per dialect (``held_rows``' forms; None: a
#: statement built for this call only, run by SQLAlchemy's execute)
_HELD = 64
_STATEMENTS: dict[int, tuple] = {}


def _statement(n: int) -> tuple:
    """``(statement, its held forms or None)`` for ``n`` SKUs."""
    held = _STATEMENTS.get(n)
    if held is not None:
        return held
    skus = Sku.__table__
    if n == 1:
        need = bindparam("q0", type_=Integer)
        where = skus.c.id == bindparam("i0", type_=Integer)
    else:
        need = case(
            *[(skus.c.id == bindparam(f"i{k}", type_=Integer), bindparam(f"q{k}", type_=Integer)) for k in range(n)]
        )
        where = skus.c.id.in_([bindparam(f"i{k}", type_=Integer) for k in range(n)])
    stmt = update(skus).where(where, skus.c.stock >= need).values(stock=skus.c.stock - need).returning(skus.c.id)
    if n > _HELD:
        return stmt, None
    held = _STATEMENTS[n] = (stmt, {})
    return held


def _params(wanted: dict[int, int]) -> dict:
    params = {}
    for k, (sku_id, qty) in enumerate(wanted.items()):
        params[f"i{k}"] = sku_id
        params[f"q{k}"] = qty
    return params


@hookimpl(trylast=True)
def release_stock(order_line, quantity, reason):
    if order_line.sku_id is None or quantity <= 0:
        return True
    db.session.execute(
        update(Sku)
        .where(Sku.id == order_line.sku_id)
        .values(stock=Sku.stock + quantity)
        .execution_options(synchronize_session=False)
    )
    return True
