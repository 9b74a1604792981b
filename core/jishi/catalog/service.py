"""Catalog rules: keeping denormalised listing columns in step."""

from __future__ import annotations

from jishi.catalog.models import Product


def refresh_product(product: Product) -> None:
    """Recompute ``price`` (lowest active SKU price) and ``search_text``."""
    active = [s for s in product.skus if s.is_active]
    product.price = min((s.price for s in active), default=0)
    originals = [s.original_price for s in active if s.original_price]
    product.original_price = max(originals) if originals else product.original_price
    parts = [product.name, product.subtitle or ""] + [t.name for t in product.tags]
    product.search_text = " ".join(parts).lower()[:600]
