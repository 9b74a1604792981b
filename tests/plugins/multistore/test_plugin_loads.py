"""MS1: the plugin loads through its entry point and its console answers."""

from __future__ import annotations


def test_merchant_console_home(app, client, ms, login, factory):
    m = ms.merchant("一号店")
    buyer = factory.user()
    assert client.get("/merchant/").status_code in (302, 401)
    login(buyer)
    assert client.get("/merchant/").status_code == 403
    login(ms.admin_of(m))
    resp = client.get("/merchant/")
    assert resp.status_code == 200 and "一号店" in resp.get_data(as_text=True)
