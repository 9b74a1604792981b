"""C4: the group-buy console names products and merchants, not ids."""

from __future__ import annotations

import pytest

from . import helpers as gb


@pytest.mark.jishi_plugins("multistore", "groupbuy")
def test_platform_group_buys_name_product_and_merchant(client, factory, ms, login):
    m = ms.merchant("茶铺")
    product = ms.product(m, name="明前龙井")
    a = gb.activity(product)
    login(factory.admin())
    page = client.get("/seller/groupbuy/activities").get_data(as_text=True)
    row = page[page.index(f'data-activity="{a.id}"') :]
    row = row[: row.index("</tr>")]
    assert '<td class="product-name">明前龙井</td>' in row and '<span class="tag seller-name">茶铺</span>' in row
    assert f"<td>{product.id}</td>" not in row
