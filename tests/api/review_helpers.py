"""Helpers of the review-picture tests (K11 晒图): received order lines to
review and a buyer's uploaded pictures."""

from __future__ import annotations

import io

from jishi.testing import flows


def received_lines(factory, buyer, n: int = 1, **product) -> list:
    """``n`` received (reviewable) order lines of one order of ``buyer``,
    one product each (``product``: more arguments of ``factory.product``)."""
    items = [(factory.product(price=1000 + i, stock=5, **product).skus[0], 1) for i in range(n)]
    [payment] = flows.place(buyer, items, factory.address(buyer))
    flows.pay(payment)
    order = flows.receive(flows.ship(payment.orders[0]))
    return list(order.lines)


def upload(api, user, data: bytes, name: str = "photo.jpg"):
    """``POST /api/v1/reviews/images`` of ``data`` as ``user``."""
    return api.post(
        "/reviews/images", user=user, data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
    )


def pictures(api, factory, user, n: int, shade: int = 0) -> list[int]:
    """``n`` different pictures uploaded by ``user``; their ids."""
    ids = []
    for i in range(n):
        resp = upload(api, user, factory.image_bytes("PNG", color=(10 * i, shade, 90)))
        assert resp.status_code == 201, resp.json
        ids.append(resp.json["id"])
    return ids
