"""The cart (SPEC K6): one cart per buyer across every seller.

Quantities are checked against stock when a line is added or changed (the
checkout checks again, atomically, when the order is placed). The cart page
prices and groups lines exactly like the checkout does, by reusing
:func:`jishi.checkout.service.load_lines`, ``price_lines`` and
``group_lines`` (so the ``line_price_rules`` and ``split_cart`` hooks apply).

:func:`add` costs two statements whatever the cart size: the SKU with its
product, the buyer's existing line for that SKU (one outer join) and the
rows every plugin's ``purchase_loaders`` declare for its
``purchase_blockers`` and ``cart_line_problems``, then the INSERT or UPDATE.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask.globals import _cv_app
from sqlalchemy import Integer, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.attributes import set_committed_value

from jishi.cart.models import CartLine
from jishi.catalog.models import Product, Sku
from jishi.catalog.service import _conditions_key, _visible_conditions, purchase_blockers
from jishi.checkout.service import _attrs, group_lines, load_lines, price_lines
from jishi.db import commit, db, rollback, utcnow
from jishi.errors import DomainError
from jishi.flaskctx import jishi_hook
from jishi.i18n import gettext as _
from jishi.loaders import bound_columns, bound_params, decode, held_rows, persistent
from jishi.reports import tracking

MAX_QUANTITY = 9999
MAX_LINES = 200


class CartError(DomainError):
    """Bad cart input; ``field`` names the offending field."""


def _check_quantity(quantity) -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise CartError("quantity", _("Must be an integer."))
    if quantity < 1:
        raise CartError("quantity", _("Quantity must be at least 1."))
    if quantity > MAX_QUANTITY:
        raise CartError("quantity", _("At most %(n)d at a time.", n=MAX_QUANTITY))
    return quantity


def _sellable_sku(sku_id, user) -> tuple[Sku, CartLine | None]:
    """The SKU (with its product) and the buyer's line of it, if any, in ONE
    statement, with the rows of every plugin's ``purchase_loaders`` (for
    its ``purchase_blockers`` and ``cart_line_problems``: then no statement
    of theirs); refused when it cannot be bought."""
    if not isinstance(sku_id, int) or isinstance(sku_id, bool):
        raise CartError("sku_id", _("Must be an integer."))
    loaders = [ld for found in jishi_hook().purchase_loaders(user=user) for ld in found or ()]
    stmt, decoders, held = _sellable_statement(loaders)
    params = {"sku_id": sku_id, "buyer_id": user.id, **bound_params(loaders, _BOUND)}
    # A SKU of a product buyers cannot see (off the shelf, or hidden by a
    # ``product_filters`` plugin: an unreviewed merchant product) answers
    # exactly like an unknown SKU: its product page is a 404 too, so the
    # answer must not name it.
    row = _held_sellable(held, params) if held is not None else _NOT_HELD
    if row is _NOT_HELD:
        row = db.session.execute(stmt, params).one_or_none()
    sku, line = (row[0], row[1]) if row is not None else (None, None)
    if sku is None:
        raise CartError("sku_id", _("Product variant %(id)s does not exist.", id=sku_id), code="not_found", status=404)
    app_ctx = _cv_app.get(None)  # (g without its proxy)
    if loaders and app_ctx is not None:  # for this request's hooks (product_loaded)
        app_ctx.g.__dict__.setdefault("jishi_product_loaded", {})[sku.product_id] = decode(loaders, row[2:], decoders)
    if not sku.is_active:
        raise CartError(
            "sku_id", _("%(name)s is no longer on sale.", name=sku.product.name), code="off_shelf", status=409
        )
    for problem in purchase_blockers(sku.product, user):
        raise CartError("sku_id", problem.message, code=problem.code, status=409)
    return sku, line


#: the kernel's parameters of ``purchase_loaders`` (the product being added)
_BOUND = ("product_id", "seller_id")
_SELLABLE_CACHE: dict[tuple, tuple] = {}


#: :func:`_held_sellable` could not read the row as instances (the ORM reads it)
_NOT_HELD = object()


def _held_sellable(held: tuple, params: dict):
    """The row of :func:`_sellable_sku` (``(sku, line or None, *loaders'
    columns)``, None when no SKU matched) read by the held Core statement
    of :func:`_sellable_statement`, run from its SQL compiled once per
    dialect (:func:`jishi.loaders.held_rows`), the SKU, its product and the
    line made clean persistent instances (:func:`jishi.loaders.persistent`),
    ``Sku.product`` set, as the ORM's ``contains_eager`` read makes them
    (the ORM's statement execution and row processing were a third of an
    add to cart's CPU). ``_NOT_HELD`` when the session holds one of them
    already or a load event listens: then the ORM reads the row, as before."""
    sku_keys, product_keys, line_keys, stmt, forms = held
    session = db.session()
    if session.autoflush:
        session.flush()  # as session.execute would (nothing pending: no work)
    rows = held_rows(session.connection(), stmt, params, forms)
    if not rows:
        return None
    if len(rows) > 1:
        return _NOT_HELD  # (one_or_none refuses it)
    row = rows[0]
    a = len(sku_keys)
    b = a + len(product_keys)
    c = b + len(line_keys)
    sku = persistent(session, Sku, dict(zip(sku_keys, row[:a])), existing="none")
    product = persistent(session, Product, dict(zip(product_keys, row[a:b])), existing="none")
    line = None
    if row[b + line_keys.index("id")] is not None:
        line = persistent(session, CartLine, dict(zip(line_keys, row[b:c])), existing="none")
        if line is None:
            return _NOT_HELD
    if sku is None or product is None:
        return _NOT_HELD
    set_committed_value(sku, "product", product)
    return (sku, line, *row[c:])


def _sellable_statement(loaders) -> tuple:
    """``(statement, decoders, held)`` of :func:`_sellable_sku`: built once
    per ``product_filters`` conditions and loaders' shape, run with the
    ``sku_id``, ``buyer_id`` and loaders' values. ``held``: the same read
    as a Core statement on the tables (:func:`_held_sellable`), None for a
    statement not kept (a condition that cannot be keyed)."""
    conditions = _visible_conditions("detail")
    ckey = _conditions_key(conditions)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    shape = (postgres, ckey, tuple((id(ld.query), tuple(sorted(ld.params or ()))) for ld in loaders))
    hit = _SELLABLE_CACHE.get(shape) if ckey is not None else None
    if hit is not None and all(q is ld.query for q, ld in zip(hit[2], loaders, strict=True)):
        return hit[0], hit[1], hit[3]
    sku_id = bindparam("sku_id", type_=Integer)
    bound = {
        "product_id": select(Sku.product_id).where(Sku.id == sku_id).scalar_subquery(),
        "seller_id": (
            select(Product.seller_id).join(Sku, Sku.product_id == Product.id).where(Sku.id == sku_id).scalar_subquery()
        ),
    }
    columns, decoders = bound_columns(loaders, bound, postgres) if loaders else ([], [])
    in_cart = (CartLine.sku_id == Sku.id) & (CartLine.user_id == bindparam("buyer_id", type_=Integer))
    stmt = (
        select(Sku, CartLine, *columns)
        .join(Sku.product)
        .outerjoin(CartLine, in_cart)
        .options(contains_eager(Sku.product))
        .where(Sku.id == sku_id, Product.on_shelf.is_(True), *conditions)
    )
    held = None
    if ckey is not None:
        attrs = [_attrs(Sku), _attrs(Product), _attrs(CartLine)]
        core = (
            select(*[col for found in attrs for _k, col in found], *columns)
            .select_from(
                Sku.__table__.join(Product.__table__, Product.id == Sku.product_id).outerjoin(
                    CartLine.__table__, in_cart
                )
            )
            .where(Sku.id == sku_id, Product.on_shelf.is_(True), *conditions)
        )
        held = (*[[k for k, _c in found] for found in attrs], core, {})
        if len(_SELLABLE_CACHE) >= 64:
            _SELLABLE_CACHE.clear()
        _SELLABLE_CACHE[shape] = (stmt, decoders, tuple(ld.query for ld in loaders), held)
    return stmt, decoders, held


def _check_line(sku: Sku, quantity: int, user) -> None:
    """The ``cart_line_problems`` hook: the first problem refuses the line
    (409, its code, message and field)."""
    for result in jishi_hook().cart_line_problems(product=sku.product, sku_id=sku.id, quantity=quantity, user=user):
        for problem in result or ():
            raise CartError(problem.field or "sku_id", problem.message, code=problem.code, status=409)


def _stock_error(sku: Sku) -> CartError:
    return CartError(
        "quantity",
        _("Only %(n)d of %(name)s left.", n=max(sku.stock, 0), name=sku.product.name),
        code="out_of_stock",
        status=409,
    )


def add(user, sku_id: int, quantity: int) -> CartLine:
    """Put ``quantity`` of a SKU in the cart (adding to an existing line)."""
    quantity = _check_quantity(quantity)
    sku, line = _sellable_sku(sku_id, user)
    total = quantity + (line.quantity if line else 0)
    if total > MAX_QUANTITY:
        raise CartError("quantity", _("At most %(n)d at a time.", n=MAX_QUANTITY))
    if total > sku.stock:
        raise _stock_error(sku)
    _check_line(sku, total, user)
    # The write as a Core statement run from its SQL held per dialect
    # (jishi.loaders.held_rows), its values set as the line's committed ones
    # (issue 20: the unit of work's flush of one line was a third of an add
    # to cart's CPU; SQLAlchemy's execute of the Core statement a tenth).
    session = db.session()
    session.flush()  # what the hooks changed, as the flush did before
    if line is None:
        stmt, forms = _held_insert()
        # (created_at given: a default computed by a callable is not held)
        values = {"user_id": user.id, "sku_id": sku.id, "quantity": quantity, "selected": True, "created_at": utcnow()}
        try:
            (row,) = held_rows(session.connection(), stmt, values, forms)
        except IntegrityError:
            # Another request added the same SKU meanwhile: add to that line.
            rollback()
            return add(user, sku_id, quantity)
        line = persistent(session, CartLine, dict(zip((c.key for c in CartLine.__table__.c), row)))
    else:
        stmt, forms = _held_update()
        if not held_rows(session.connection(), stmt, {"line_id": line.id, "quantity": total}, forms):
            # Another request removed the line meanwhile: add anew.
            rollback()
            return add(user, sku_id, quantity)
        set_committed_value(line, "quantity", total)
        set_committed_value(line, "selected", True)
    set_committed_value(line, "sku", sku)
    commit_keep(line)
    tracking.track("cart", sku.product_id, sku.product.seller_id)  # the funnel's add-to-cart step
    return line


#: name -> (statement, its held SQL per dialect: jishi.loaders.held_rows)
_WRITES: dict[str, tuple[Any, dict]] = {}


def _held_insert() -> tuple[Any, dict]:
    """``INSERT INTO cart_lines .. RETURNING *``, built once (no dialect of its own)."""
    hit = _WRITES.get("insert")
    if hit is None:
        table = CartLine.__table__
        # (every column but the key a named parameter: the held SQL is
        # compiled once, for these keys)
        values = {c.key: bindparam(c.key, type_=c.type) for c in table.c if not c.primary_key}
        hit = _WRITES["insert"] = (insert(table).values(values).returning(*table.c), {})
    return hit


def _held_update() -> tuple[Any, dict]:
    """The line's new quantity, selected again, built once; ``RETURNING``
    its id (what :func:`jishi.loaders.held_rows` runs is a statement with rows)."""
    hit = _WRITES.get("update")
    if hit is None:
        table = CartLine.__table__
        stmt = (
            update(table)
            .where(table.c.id == bindparam("line_id", type_=Integer))
            .values(quantity=bindparam("quantity", type_=Integer), selected=True)
            .returning(table.c.id)
        )
        hit = _WRITES["update"] = (stmt, {})
    return hit


def commit_keep(*objs) -> None:
    """Commit without expiring loaded objects, so a response can read
    ``objs`` without reloading them."""
    session = db.session()
    old = session.expire_on_commit
    session.expire_on_commit = False
    try:
        commit()
    finally:
        session.expire_on_commit = old


def _own_line(user, line_id: int) -> CartLine:
    line = db.session.execute(
        select(CartLine)
        .join(CartLine.sku)
        .join(Sku.product)
        .options(contains_eager(CartLine.sku).contains_eager(Sku.product))
        .where(CartLine.id == line_id, CartLine.user_id == user.id)
    ).scalar_one_or_none()
    if line is None:
        raise CartError("id", _("Not found: %(what)s", what=_("cart line")), code="not_found", status=404)
    return line


def set_quantity(user, line_id: int, quantity: int) -> CartLine:
    quantity = _check_quantity(quantity)
    line = _own_line(user, line_id)
    if quantity > line.sku.stock:
        raise _stock_error(line.sku)
    _check_line(line.sku, quantity, user)
    line.quantity = quantity
    commit_keep(line)
    return line


def update_line(user, line_id: int, quantity: int | None = None, selected: bool | None = None) -> CartLine:
    """Change quantity and/or selection of one of the user's lines."""
    if quantity is not None:
        quantity = _check_quantity(quantity)
    if selected is not None and not isinstance(selected, bool):
        raise CartError("selected", _("Must be true or false."))
    line = _own_line(user, line_id)
    if quantity is not None:
        if quantity > line.sku.stock:
            raise _stock_error(line.sku)
        _check_line(line.sku, quantity, user)
        line.quantity = quantity
    if selected is not None:
        line.selected = selected
    commit_keep(line)
    return line


def remove(user, line_id: int) -> None:
    result = db.session.execute(
        delete(CartLine)
        .where(CartLine.id == line_id, CartLine.user_id == user.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        rollback()
        raise CartError("id", _("Not found: %(what)s", what=_("cart line")), code="not_found", status=404)
    commit()


def set_selected(user, line_ids, selected: bool) -> int:
    """Select or unselect the user's lines ``line_ids`` (others' ids are ignored)."""
    if not isinstance(selected, bool):
        raise CartError("selected", _("Must be true or false."))
    if not isinstance(line_ids, (list, tuple)) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in line_ids
    ):
        raise CartError("ids", _("A list of line ids."))
    if not line_ids:
        return 0
    result = db.session.execute(
        update(CartLine)
        .where(CartLine.user_id == user.id, CartLine.id.in_(list(line_ids)))
        .values(selected=selected)
        .execution_options(synchronize_session=False)
    )
    commit()
    return result.rowcount


def clear(user) -> None:
    db.session.execute(delete(CartLine).where(CartLine.user_id == user.id))
    commit()


def count(user) -> int:
    return db.session.execute(
        select(func.coalesce(func.sum(CartLine.quantity), 0)).where(CartLine.user_id == user.id)
    ).scalar_one()


# --- The cart page -----------------------------------------------------------


@dataclass
class CartViewLine:
    id: int
    sku: Sku
    product: Product
    quantity: int
    selected: bool
    unit_price: int
    base_price: int
    price_source: str
    price_label: str
    available: bool
    problem: str | None
    problem_code: str | None = None

    @property
    def amount(self) -> int:
        return self.unit_price * self.quantity


@dataclass
class CartViewGroup:
    key: str
    title: str
    seller_id: int | None
    tags: tuple[str, ...]
    lines: list[CartViewLine]

    @property
    def selected_amount(self) -> int:
        return sum(line.amount for line in self.lines if line.selected and line.available)


@dataclass
class CartView:
    groups: list[CartViewGroup] = field(default_factory=list)

    @property
    def lines(self) -> list[CartViewLine]:
        return [line for g in self.groups for line in g.lines]

    @property
    def selected_lines(self) -> list[CartViewLine]:
        return [line for line in self.lines if line.selected and line.available]

    @property
    def total_amount(self) -> int:
        """Goods amount of the selected, available lines (before order discounts)."""
        return sum(line.amount for line in self.selected_lines)

    @property
    def selected_quantity(self) -> int:
        return sum(line.quantity for line in self.selected_lines)

    @property
    def quantity(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def all_selected(self) -> bool:
        lines = self.lines
        return bool(lines) and all(line.selected for line in lines)

    @property
    def is_empty(self) -> bool:
        return not self.groups


def view(user) -> CartView:
    """Every cart line, priced and grouped like the checkout; totals count
    selected lines that can be bought."""
    rows = db.session.execute(
        select(CartLine.id, CartLine.sku_id, CartLine.quantity, CartLine.selected)
        .where(CartLine.user_id == user.id)
        .order_by(CartLine.id.desc())
    ).all()
    if not rows:
        return CartView()
    by_sku: dict[int, Any] = {r.sku_id: r for r in rows}
    lines = load_lines([(r.sku_id, r.quantity) for r in rows])
    price_lines(lines, user)
    groups = group_lines(lines, user)
    out = []
    for group in groups:
        vlines = []
        for cl in group.lines:
            row = by_sku[cl.sku_id]
            problem = code = None
            if not cl.on_shelf:
                code, problem = "off_shelf", _("%(name)s is no longer on sale.", name=cl.name)
            elif cl.stock < cl.quantity:
                code, problem = "out_of_stock", _("Only %(n)d of %(name)s left.", n=max(cl.stock, 0), name=cl.name)
            elif cl.quantity_limit is not None and cl.quantity > cl.quantity_limit:
                code, problem = (
                    "limit",
                    _("At most %(n)d of %(name)s at this price.", n=cl.quantity_limit, name=cl.name),
                )
            vlines.append(
                CartViewLine(
                    id=row.id,
                    sku=cl.sku,
                    product=cl.sku.product,
                    quantity=cl.quantity,
                    selected=row.selected,
                    unit_price=cl.unit_price,
                    base_price=cl.base_price,
                    price_source=cl.price_source,
                    price_label=cl.price_label,
                    available=problem is None,
                    problem=problem,
                    problem_code=code,
                )
            )
        out.append(CartViewGroup(group.key, group.title, group.seller_id, tuple(group.tags), vlines))
    return CartView(out)
