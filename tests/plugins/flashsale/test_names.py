"""C4: the flash-sale console names products, variants and merchants
instead of showing their ids."""

from __future__ import annotations

import pytest

from . import helpers as fs


@pytest.mark.jishi_plugins("multistore", "flashsale")
def test_platform_flash_sales_name_product_merchant_and_variant(client, factory, ms, login):
    m = ms.merchant("茶铺")
    product = ms.product(m, name="明前龙井", skus=[{"price": 2000, "stock": 9, "spec_values": {"规格": "250g"}}])
    a = fs.activity(product)
    login(factory.admin())
    page = client.get("/seller/flashsale/activities").get_data(as_text=True)
    row = page[page.index(f'data-activity="{a.id}"') :]
    row = row[: row.index("</tr>")]
    assert '<td class="product-name">明前龙井</td>' in row and "茶铺" in row and "#" not in row
    detail = client.get(f"/seller/flashsale/activities/{a.id}").get_data(as_text=True)
    assert '<td class="sku-name">规格:250g</td>' in detail or '<td class="sku-name">250g</td>' in detail
    assert f"<td>{product.skus[0].id}</td>" not in detail
    assert f"#{product.id} " not in detail and '<span class="tag seller-name">茶铺</span>' in detail
    picker = client.get("/seller/flashsale/activities/new").get_data(as_text=True)
    assert f'<option value="{product.id}">明前龙井 (茶铺)</option>' in picker
