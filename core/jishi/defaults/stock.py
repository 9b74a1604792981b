"""Default stock: atomic conditional UPDATEs on the SKU rows.

Lines no ``reserve_stock`` plugin takes come out of the SKU's own stock, all
of them in ONE conditional statement (:func:`reserve_sku_stock`), so placing
a checkout costs the same number of statements for 1 line or 30.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
    with it). The same as :func:`sku_stock_update` run, then
    :func:`check_sku_stock` on its rows.
    """
    item = sku_stock_update(lines)
    if item is None:
        return
    stmt, params, forms = item
    check_sku_stock(lines, held_rows(db.session.connection(), stmt, params, forms, direct=True))


def sku_stock_update(lines: Sequence) -> tuple | None:
    """The conditional UPDATE of :func:`reserve_sku_stock` for ``lines``, not
    run: ``(statement, parameters, held forms)`` as
    :func:`jishi.loaders.held_rows_many` takes it (so that the placement
    sends it with its INSERTs, in one round trip); None for no line. Its
    rows go to :func:`check_sku_stock`."""
    wanted = _wanted(lines)
    if not wanted:
        return None
    stmt, forms = _statement(len(wanted))
    return stmt, _params(wanted), forms


def check_sku_stock(lines: Sequence, rows) -> None:
    """Raise :class:`jishi.checkout.errors.OutOfStock` naming the first line
    of the first SKU the UPDATE of :func:`sku_stock_update` for ``lines``
    did not take (its rows: the ids of the SKUs it decremented)."""
    from jishi.checkout.errors import OutOfStock

    taken = {row[0] for row in rows}
    first_line: dict[int, Any] = {}
    for line in lines:
        first_line.setdefault(line.sku_id, line)
    for sku_id, line in first_line.items():
        if sku_id not in taken:
            raise OutOfStock(line.key, line.name)


def give_back_sku_stock(lines: Sequence, rows) -> None:
    """Undo the UPDATE of :func:`sku_stock_update` for ``lines`` (its rows:
    the SKUs it decremented): each of those SKUs gets back what it gave, in
    one UPDATE run by SQLAlchemy. The placement's rare correction, when a
    pool took a line its price rule gave the SKU, or none took a line its
    rule gave a pool."""
    taken = {row[0] for row in rows}
    back = {sku_id: qty for sku_id, qty in _wanted(lines).items() if sku_id in taken}
    if not back:
        return
    skus = Sku.__table__
    more = case(*[(skus.c.id == sku_id, qty) for sku_id, qty in back.items()], else_=0)
    db.session.connection().execute(update(skus).where(skus.c.id.in_(list(back))).values(stock=skus.c.stock + more))


def _wanted(lines: Sequence) -> dict[int, int]:
    """``{sku id: quantity}`` of ``lines``, in the order the SKUs first appear."""
    wanted: dict[int, int] = {}
    for line in lines:
        wanted[line.sku_id] = wanted.get(line.sku_id, 0) + line.quantity
    return wanted


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
