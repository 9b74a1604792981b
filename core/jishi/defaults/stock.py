"""Default stock: atomic conditional UPDATEs on the SKU rows.

Lines no ``reserve_stock`` plugin takes come out of the SKU's own stock, all
of them in ONE conditional statement (:func:`reserve_sku_stock`), so placing
a checkout costs the same number of statements for 1 line or 30.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import case, update

from jishi.catalog.models import Sku
from jishi.db import db
from jishi.hookspecs import hookimpl


def reserve_sku_stock(lines: Sequence) -> None:
    """Take the stock of every line in ``lines`` from its SKU, all or nothing.

    One ``UPDATE skus SET stock = stock - CASE id WHEN .. THEN qty .. END
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
    if len(wanted) == 1:
        [(sku_id, qty)] = wanted.items()
        need = qty
        where = Sku.id == sku_id
    else:
        need = case(wanted, value=Sku.id)
        where = Sku.id.in_(list(wanted))
    taken = set(
        db.session.execute(
            update(Sku)
            .where(where, Sku.stock >= need)
            .values(stock=Sku.stock - need)
            .returning(Sku.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    for sku_id, line in first_line.items():
        if sku_id not in taken:
            raise OutOfStock(line.key, line.name)


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
