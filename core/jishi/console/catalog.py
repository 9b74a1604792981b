"""Console: products (specs -> SKUs, params, tags, images, shelf, stock) and
the category tree (K4)."""

from __future__ import annotations

import itertools

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy.orm import selectinload

from jishi.catalog.models import Category, Product, Sku
from jishi.console.common import bp, requires
from jishi.db import db
from jishi.i18n import gettext as _
from jishi.money import MoneyError, fen_to_yuan_str, parse_yuan
from jishi.web.common import error_text, form_int, form_outcome

PAGE = 30


def _catalog():
    from jishi.catalog import service

    return service


@bp.get("/products")
@requires("products")
def products():
    q = (request.args.get("q") or "").strip()
    shelf = request.args.get("shelf", "")
    before = form_int("before", source=request.args)
    query = db.select(Product).options(selectinload(Product.skus))
    if q:
        query = query.where(Product.search_text.contains(q.lower()))
    if shelf in ("on", "off"):
        query = query.where(Product.on_shelf.is_(shelf == "on"))
    if before:
        query = query.where(Product.id < before)
    rows = db.session.execute(query.order_by(Product.id.desc()).limit(PAGE + 1)).scalars().all()
    more_url = url_for("console.products", q=q, shelf=shelf, before=rows[PAGE - 1].id) if len(rows) > PAGE else None
    return render_template("console/products.html", products=rows[:PAGE], q=q, shelf=shelf, more_url=more_url)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _split_values(text: str) -> list[str]:
    for sep in ("，", "、", "|"):
        text = text.replace(sep, ",")
    return [v.strip() for v in text.split(",") if v.strip()]


def _pairs(text: str) -> list[tuple[str, str]]:
    out = []
    for line in _lines(text):
        line = line.replace("：", ":")
        name, _sep, value = line.partition(":")
        out.append((name.strip(), value.strip()))
    return out


def parse_specs(text: str) -> list[dict]:
    """ "颜色: 红, 蓝" per line -> [{"name": "颜色", "values": ["红", "蓝"]}]."""
    return [{"name": name, "values": _split_values(values)} for name, values in _pairs(text) if name]


def spec_combinations(specs: list[dict]) -> list[dict]:
    if not specs or any(not s["values"] for s in specs):
        return [{}]
    names = [s["name"] for s in specs]
    return [dict(zip(names, combo)) for combo in itertools.product(*(s["values"] for s in specs))]


def _sku_key(values: dict) -> str:
    return "|".join(f"{k}={values[k]}" for k in sorted(values))


def product_form_state(product: Product | None) -> dict:
    """What the product form shows: from the product, or from the posted form
    (also used by plugins' product forms, e.g. the merchant console's)."""
    if request.method == "POST":
        f = request.form
        specs = parse_specs(f.get("specs", ""))
        posted = {}
        for i in range(form_int("sku_count", 0) or 0):
            prefix = f"sku-{i}-"
            values = {k[len(prefix) + 5 :]: v for k, v in f.items() if k.startswith(prefix + "spec-")}
            posted[_sku_key(values)] = {
                "id": form_int(prefix + "id"),
                "spec_values": values,
                "price": f.get(prefix + "price", ""),
                "original_price": f.get(prefix + "original_price", ""),
                "member_price": f.get(prefix + "member_price", ""),
                "stock": f.get(prefix + "stock", "0"),
                "code": f.get(prefix + "code", ""),
                "is_active": bool(f.get(prefix + "is_active")),
            }
        skus = []
        for values in spec_combinations(specs):
            skus.append(
                posted.get(_sku_key(values))
                or {
                    "id": None,
                    "spec_values": values,
                    "price": "",
                    "original_price": "",
                    "member_price": "",
                    "stock": "0",
                    "code": "",
                    "is_active": True,
                }
            )
        return {
            "name": f.get("name", ""),
            "subtitle": f.get("subtitle", ""),
            "category_id": form_int("category_id"),
            "description": f.get("description", ""),
            "images": f.get("images", ""),
            "tags": f.get("tags", ""),
            "params": f.get("params", ""),
            "specs": f.get("specs", ""),
            "on_shelf": bool(f.get("on_shelf")),
            "is_virtual": bool(f.get("is_virtual")),
            "skus": skus,
        }
    if product is None:
        return {
            "name": "",
            "subtitle": "",
            "category_id": None,
            "description": "",
            "images": "",
            "tags": "",
            "params": "",
            "specs": "",
            "on_shelf": False,
            "is_virtual": False,
            "skus": [
                {
                    "id": None,
                    "spec_values": {},
                    "price": "",
                    "original_price": "",
                    "member_price": "",
                    "stock": "0",
                    "code": "",
                    "is_active": True,
                }
            ],
        }

    def yuan(v):
        return fen_to_yuan_str(v) if v is not None else ""

    return {
        "name": product.name,
        "subtitle": product.subtitle,
        "category_id": product.category_id,
        "description": product.description,
        "images": "\n".join(i.url for i in product.images),
        "tags": ", ".join(t.name for t in product.tags),
        "params": "\n".join(f"{p.name}: {p.value}" for p in product.params),
        "specs": "\n".join(f"{s.name}: {', '.join(s.values)}" for s in product.specs),
        "on_shelf": product.on_shelf,
        "is_virtual": product.is_virtual,
        "skus": [
            {
                "id": s.id,
                "spec_values": dict(s.spec_values or {}),
                "price": yuan(s.price),
                "original_price": yuan(s.original_price),
                "member_price": yuan(s.member_price),
                "stock": str(s.stock),
                "code": s.code,
                "is_active": s.is_active,
            }
            for s in product.skus
        ],
    }


class FormError(Exception):
    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__(message)


def _money(text: str, field: str, required: bool = False) -> int | None:
    text = (text or "").strip()
    if not text:
        if required:
            raise FormError(field, _("Enter a price."))
        return None
    try:
        return parse_yuan(text)
    except MoneyError:
        raise FormError(field, _("Prices are amounts in yuan such as 12.50.")) from None


def product_data(state: dict) -> dict:
    """The form state as the dict :func:`jishi.catalog.service.save_product` takes."""
    skus = []
    for i, s in enumerate(state["skus"]):
        if not s["is_active"]:
            continue  # an unlisted SKU is deactivated by save_product
        stock = str(s["stock"]).strip() or "0"
        if not stock.isdecimal() or len(stock) > 10:
            raise FormError(f"skus.{i}.stock", _("Stock is a whole number of units."))
        sku = {
            "spec_values": s["spec_values"],
            "price": _money(s["price"], f"skus.{i}.price", required=True),
            "original_price": _money(s["original_price"], f"skus.{i}.original_price"),
            "member_price": _money(s["member_price"], f"skus.{i}.member_price"),
            "stock": int(stock),
            "code": (s["code"] or "").strip(),
            "is_active": s["is_active"],
        }
        if s.get("id"):
            sku["id"] = s["id"]
        skus.append(sku)
    return {
        "name": state["name"].strip(),
        "subtitle": state["subtitle"].strip(),
        "category_id": state["category_id"],
        "description": state["description"],
        "images": _lines(state["images"]),
        "tags": _split_values(state["tags"]),
        "params": [{"name": n, "value": v} for n, v in _pairs(state["params"]) if n],
        "specs": parse_specs(state["specs"]),
        "on_shelf": state["on_shelf"],
        "is_virtual": state["is_virtual"],
        "skus": skus,
    }


def _categories() -> list[Category]:
    return list(db.session.execute(db.select(Category).order_by(Category.path)).scalars())


def _product_form(product: Product | None):
    state = product_form_state(product)
    error = None
    if request.method == "POST" and request.form.get("action") == "save":
        service = _catalog()
        try:
            saved = service.save_product(product_data(state), product)
        except (FormError, service.CatalogError) as exc:
            db.session.rollback()
            error = {"field": getattr(exc, "field", None), "message": error_text(exc)}
        else:
            db.session.commit()
            flash(_("Product saved."), "success")
            return redirect(url_for("console.product_edit", product_id=saved.id))
    status = 422 if error else 200
    return render_template(
        "console/product_form.html", product=product, form=state, categories=_categories(), error=error
    ), status


@bp.route("/products/new", methods=["GET", "POST"])
@requires("products")
def product_new():
    return _product_form(None)


@bp.route("/products/<int:product_id>", methods=["GET", "POST"])
@requires("products")
def product_edit(product_id: int):
    product = _catalog().get_product(product_id, visible_only=False)
    if product is None:
        abort(404)
    return _product_form(product)


@bp.post("/products/<int:product_id>/shelf")
@requires("products")
def product_shelf(product_id: int):
    product = db.session.get(Product, product_id)
    if product is None:
        abort(404)
    service = _catalog()
    with form_outcome(lambda: _("On shelf.") if product.on_shelf else _("Off shelf.")):
        service.set_on_shelf(product, request.form.get("on_shelf") == "1")
    return redirect(request.referrer or url_for("console.products"))


@bp.post("/skus/<int:sku_id>/stock")
@requires("products")
def sku_stock(sku_id: int):
    sku = db.session.get(Sku, sku_id)
    stock = form_int("stock", minimum=0)
    if sku is None:
        abort(404)
    if stock is None:
        flash(_("Stock is a whole number of units."), "error")
    else:
        service = _catalog()
        with form_outcome(_("Stock saved.")):
            service.set_stock(sku, stock)
    return redirect(request.referrer or url_for("console.product_edit", product_id=sku.product_id))


# -- categories --------------------------------------------------------------


@bp.get("/categories")
@requires("products")
def categories():
    categories = _categories()
    return render_template(
        "console/categories.html",
        tree=_catalog().category_tree(),
        categories=categories,
        by_id={c.id: c for c in categories},
    )


@bp.post("/categories")
@requires("products")
def category_save():
    """Create (no id) or rename / move / re-sort (with id) a category."""
    service = _catalog()
    cat = None
    cat_id = form_int("id")
    if cat_id:
        cat = db.session.get(Category, cat_id)
        if cat is None:
            abort(404)
    data = {
        "name": (request.form.get("name") or "").strip(),
        "parent_id": form_int("parent_id"),
        "sort": form_int("sort", 0) or 0,
        "image": request.form.get("image", ""),
    }
    with form_outcome(_("Category saved.")):
        service.save_category(data, cat)
    return redirect(url_for("console.categories"))


@bp.post("/categories/<int:category_id>/delete")
@requires("products")
def category_delete(category_id: int):
    cat = db.session.get(Category, category_id)
    if cat is None:
        abort(404)
    service = _catalog()
    with form_outcome(_("Category deleted.")):
        service.delete_category(cat)
    return redirect(url_for("console.categories"))
