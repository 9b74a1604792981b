"""Default stock: atomic conditional UPDATEs on the SKU row."""

from __future__ import annotations

from sqlalchemy import update

from jishi.catalog.models import Sku
from jishi.db import db
from jishi.hookspecs import StockReservation, hookimpl


@hookimpl(trylast=True)
def reserve_stock(line, order):
    from jishi.checkout.errors import OutOfStock

    result = db.session.execute(
        update(Sku)
        .where(Sku.id == line.sku_id, Sku.stock >= line.quantity)
        .values(stock=Sku.stock - line.quantity)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise OutOfStock(line.key, line.name)
    return StockReservation(source="sku", quantity=line.quantity)


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
