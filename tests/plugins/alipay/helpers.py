"""Helpers of the Alipay plugin's tests."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import g
from jishi import settings
from jishi.db import commit, db
from jishi.orders.models import PaymentOrder
from jishi.testing import flows
from jishi_alipay import config

APP_ID = "2021000000000001"
SELLER_ID = "2088000000000001"
BUYER_ID = "2088102146225135"


def configure(fake, app_key_pem: str, **changes) -> None:
    values = {
        config.ENABLED: True,
        config.APP_ID: APP_ID,
        config.PRIVATE_KEY: app_key_pem,
        config.PUBLIC_KEY: fake.alipay_public_pem,
        config.SELLER_ID: SELLER_ID,
        config.GATEWAY_URL: fake.gateway_url,
        config.PROFIT_SHARING: False,
    }
    values.update(changes)
    settings.set_many(values)
    commit()
    g.pop("jishi_settings", None)  # the test's app context outlives request contexts


def place(factory, price: int = 1230, quantity: int = 1):
    """A buyer's pending payment for one product (``price`` fen)."""
    buyer = factory.user()
    address = factory.address(buyer)
    product = factory.product(price=price, stock=50)
    [payment] = flows.place(buyer, [(product.skus[0], quantity)], address)
    return buyer, payment


def poster(client):
    """Deliver a notification through the app's notify route: the answer body."""

    def post(url: str, params: dict) -> str:
        return client.post(urlsplit(url).path, data=params).get_data(as_text=True)

    return post


def notify(client, params: dict, path: str = "/payments/notify/alipay"):
    return client.post(path, data=params)


def fresh(payment_id: int) -> PaymentOrder:
    db.session.expire_all()
    payment = db.session.get(PaymentOrder, payment_id)
    assert payment is not None
    return payment


def start_api(api, buyer, payment, channel: str, **extra):
    r = api.post(f"/payments/{payment.number}/pay", user=buyer, json={"method": "alipay", "channel": channel, **extra})
    assert r.status_code == 200, r.json
    return r.json
