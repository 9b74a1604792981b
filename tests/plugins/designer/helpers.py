"""Helpers shared by the designer's tests."""

from __future__ import annotations

from jishi_designer import service


def page_with(blocks: list[tuple[str, dict]], *, seller_id: int | None = None, slug: str | None = None):
    """A page (the home page, a merchant's shop page or the custom page
    ``slug``) whose draft holds ``blocks`` (type code, settings), each
    saved through the validating editor path."""
    if slug:
        page = service.create_page(None, slug, slug.title())
    elif seller_id is not None:
        page = service.shop_page(seller_id)
    else:
        page = service.home_page()
    for code, settings in blocks:
        block = service.add_block(page, code)
        service.update_block(page, block["id"], {**block["settings"], **settings})
    return page


def published(blocks, user=None, **kw):
    """:func:`page_with`, then published."""
    page = page_with(blocks, **kw)
    service.publish(page, user)
    return page
