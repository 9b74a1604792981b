"""C5/C9 for the merchant console: the storefront header leads merchant staff
to their console; the merchant home shows figures and to-dos."""

from __future__ import annotations


def test_storefront_header_links_merchant_staff_to_their_console(client, factory, ms, login):
    """C5: a signed-in merchant clerk sees 商家后台 in the header; a buyer does not."""
    m = ms.merchant("茶铺")
    login(ms.clerk(m))
    header = client.get("/").get_data(as_text=True).split("</header>")[0]
    assert 'href="/merchant/"' in header
    login(factory.user())
    header = client.get("/").get_data(as_text=True).split("</header>")[0]
    assert 'href="/merchant/"' not in header
