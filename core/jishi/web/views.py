"""Storefront pages (blueprint "shop"): browsing the catalog.

The blueprint lives in :mod:`jishi.web.common`; the pages are split by area
(:mod:`.account`, :mod:`.shopping`, :mod:`.buyer_orders`) and registered on
import here.
"""

from __future__ import annotations

from flask import abort, flash, render_template, request, url_for
from flask_login import current_user

from jishi.catalog.models import Category, Tag
from jishi.db import db
from jishi.extensions import csrf
from jishi.i18n import gettext as _
from jishi.money import format_fen
from jishi.web.common import bp, error_text, query_money, record_visit

SORTS = ("newest", "sales", "price_asc", "price_desc")
LISTING_ARGS = ("q", "tag", "min", "max", "sort")  # what the "more" and sort links carry


def _catalog():
    from jishi.catalog import service

    return service


@bp.get("/")
def index():
    from flask import current_app

    user = current_user._get_current_object() if current_user.is_authenticated else None
    designed = current_app.extensions["jishi"].hook.storefront_page(slug="home", user=user)
    if designed is not None:
        # a designer plugin's page (``storefront_page`` hook) replaces the body
        record_visit("home")
        return render_template("shop/designed.html", body=designed, slug="home")
    catalog = _catalog()
    products, next_cursor = catalog.list_products(sort="newest", limit=12)
    record_visit("home")
    return render_template(
        "shop/index.html",
        categories=catalog.category_tree(kept=True),
        products=products,
        more_url=url_for("shop.search", sort="newest", cursor=next_cursor) if next_cursor else None,
    )


def _listing(template: str, **context):
    """Shared by the category and search pages: filters, sort, keyset "more"."""
    catalog = _catalog()
    args = request.args
    sort = args.get("sort") if args.get("sort") in SORTS else "newest"
    q = (args.get("q") or "").strip()[:60] or None
    tag_id = args.get("tag", type=int)
    min_price, max_price = query_money("min"), query_money("max")
    category = context.get("category")
    query = {
        "q": q,
        "category_id": category.id if category else None,
        "tag_id": tag_id,
        "min_price": min_price,
        "max_price": max_price,
        "sort": sort,
        "limit": 20,
    }
    try:
        products, next_cursor = catalog.list_products(cursor=args.get("cursor") or None, **query)
    except catalog.CatalogError as exc:
        # A stale or edited "more" link, or a filter the catalog refuses: show
        # the first page with what is wrong rather than an error page.
        flash(error_text(exc), "error")
        if getattr(exc, "field", None) != "cursor":
            query.update(tag_id=None, min_price=None, max_price=None)
        products, next_cursor = catalog.list_products(cursor=None, **query)
    params = {k: v for k, v in args.items() if k in LISTING_ARGS and v}
    here = dict(request.view_args or {})
    more_url = url_for(request.endpoint, **here, **params, cursor=next_cursor) if next_cursor else None
    sort_urls = {s: url_for(request.endpoint, **here, **{**params, "sort": s}) for s in SORTS}
    tags = db.session.execute(db.select(Tag).order_by(Tag.id).limit(30)).scalars().all()
    return render_template(
        template,
        products=products,
        more_url=more_url,
        sort=sort,
        sorts=SORTS,
        sort_urls=sort_urls,
        q=q or "",
        tag_id=tag_id,
        tags=tags,
        params=params,
        first_page=not args.get("cursor"),
        **context,
    )


@bp.get("/category/<int:category_id>")
def category(category_id: int):
    cat = db.session.get(Category, category_id)
    if cat is None:
        abort(404)
    children = (
        db.session.execute(db.select(Category).where(Category.parent_id == cat.id).order_by(Category.sort, Category.id))
        .scalars()
        .all()
    )
    trail = []
    node = cat
    while node is not None and len(trail) < 10:
        trail.insert(0, node)
        node = node.parent
    record_visit("category", cat.id)
    return _listing("shop/category.html", category=cat, children=children, trail=trail)


@bp.get("/categories")
def categories():
    """Every category, as a tree (the phone tab bar's "Browse")."""
    return render_template("shop/categories.html", categories=_catalog().category_tree(kept=True))


@bp.get("/search")
def search():
    """Products by keyword and filters; above them the platform's hot
    searches (``search.hot_words``) and, kept by the browser alone, the
    buyer's recent searches (``shop.js``)."""
    record_visit("search")
    return _listing("shop/search.html", category=None, hot_searches=_catalog().hot_searches())


@bp.get("/product/<int:product_id>")
def product(product_id: int):
    """The product page, in at most six statements whatever plugins are
    enabled: the product with its category and SKUs; one statement for its
    images, parameters, specs, tags and every plugin's ``product_page_loaders``;
    the reviews (with their pictures; ``?pictures=1``: only those with
    pictures, 有图) with the rating; the visit counters; the settings; and the
    signed-in user, if any (``tests/plugins/test_product_page_queries.py``)."""
    from jishi.reviews import service as reviews_service

    visitor = current_user._get_current_object()  # (one proxy look-up, not one per attribute)
    user = visitor if getattr(visitor, "is_authenticated", False) else None
    product, loaded = _catalog().product_page(
        product_id, visible_only=not getattr(visitor, "is_platform", False), user=user
    )
    if product is None:
        abort(404)
    with_pictures = request.args.get("pictures") == "1"
    reviews, rating = reviews_service.product_reviews_rated(product.id, limit=10, with_pictures=with_pictures)
    skus = [s for s in product.skus if s.is_active]
    wanted = request.args.get("sku", type=int)
    selected = (
        next((s for s in skus if s.id == wanted), None)
        or next((s for s in skus if s.stock > 0), None)
        or (skus[0] if skus else None)
    )
    is_member = getattr(visitor, "member_level_id", None) is not None
    sku_data = [
        {
            "id": s.id,
            "values": s.spec_values or {},
            "price": format_fen(s.price),
            "stock": s.stock,
            "original": format_fen(s.original_price) if s.original_price and s.original_price > s.price else "",
            "member": format_fen(s.member_price) if s.member_price else "",
            "stock_text": _("%(n)s in stock", n=s.stock) if s.stock > 0 else _("Sold out"),
        }
        for s in skus
    ]
    record_visit("product", product.id, product.seller_id)
    return render_template(
        "shop/product.html",
        product=product,
        skus=skus,
        selected=selected,
        reviews=reviews,
        rating_x10=rating[0],
        rating_count=rating[1],
        pictures_count=rating[2],
        with_pictures=with_pictures,
        is_member=is_member,
        sku_data=sku_data,
        loaded=loaded,
        in_stock=any(s.stock > 0 for s in skus),  # (the template's sold-out test, without a Jinja filter chain)
    )


# Register the other storefront pages on the blueprint.
from jishi.web import account, buyer_orders, shopping  # noqa: E402, F401

# The product page's add-to-cart form carries a CSRF token for signed-in
# visitors only; the others' post is sent to sign in (``login_required``).
csrf.exempt_when_signed_out("shop.cart_add")
