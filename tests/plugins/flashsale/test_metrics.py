"""Issue 15 metrics: the flash-sale queue depth on ``/metrics``
(``jishi_flashsale_queue_depth``, a gauge the plugin registers with
``jishi.metrics.register_gauge``), read from Redis at each scrape."""

from __future__ import annotations

import time

import pytest
from jishi_flashsale import queue as fs_queue

from . import helpers as fs


@pytest.fixture
def app_config(redis_url):
    return {
        "JISHI_REDIS_URL": redis_url,
        "JISHI_FLASHSALE_REDIS_PREFIX": f"m{time.monotonic_ns()}:",
        "RATELIMIT_STORAGE_URI": "memory://",
    }


def _depth(client) -> float:
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith("jishi_flashsale_queue_depth "):
            return float(line.split()[1])
    raise AssertionError("no jishi_flashsale_queue_depth on /metrics")


def test_queue_depth_gauge(app, api, client, factory):
    """Issue 15 metrics: a queued purchase shows in the depth until the
    consumer places it."""
    fs_queue.beat()
    product = factory.product(price=1000, stock=50)
    activity = fs.activity(product, stock=3, per_user=1, price=300)
    assert _depth(client) == 0
    resp = fs.buy_api(api, fs.buyer(factory), product.skus[0].id, key="m-1")
    assert resp.status_code == 202, resp.json
    assert _depth(client) == 1
    assert fs_queue.work(idle_exit=True, block=0.05) == 1
    assert _depth(client) == 0
    assert fs.flash_sku(activity.id).sold == 1
