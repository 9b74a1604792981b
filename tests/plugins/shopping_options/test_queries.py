"""Issue 18: the checks batch: every rule for every line of a checkout is
read in ONE statement, whatever the number of lines or products."""

from __future__ import annotations

from jishi.checkout.service import build_checkout
from jishi.testing import flows
from jishi_shopping_options import service

from . import helpers as so


def test_validate_reads_all_lines_in_one_statement(app, factory, queries):
    """Issue 18: ``validate_checkout`` costs one statement for 1 or 6 products (no per-line query)."""
    u = so.buyer(factory)
    products = [factory.product(price=100 + i, stock=20) for i in range(6)]
    for i, p in enumerate(products):
        so.options(p, max_per_order=5, max_per_buyer=9, min_per_order=1 + i % 2)
    counts = []
    with app.test_request_context("/", method="POST"):
        for chosen in (products[:1], products):
            co = build_checkout(u, [(p.skus[0].id, 2) for p in chosen], flows.address_id(u))
            assert not co.problems, co.problems
            del co.__dict__["_shopping_options_loaded"]  # read once per checkout (issue 20): measure that read
            with queries() as q:
                assert service.validate(co) is None
            assert q.count == 0  # the rows the checkout's loaders read with its other rows (issue 20)
            del co.__dict__["_shopping_options_loaded"]
            co.loaded = None  # a checkout built without them: the plugin's own read
            with queries() as q:
                assert service.validate(co) is None
            counts.append(q.count)
    assert counts == [1, 1]


def test_checkout_costs_the_same_for_more_lines(app, factory, queries):
    """Issue 18: a whole checkout preview with the plugin costs the same statements for 1 and 6 limited products."""
    u = so.buyer(factory)
    products = [factory.product(price=100 + i, stock=20) for i in range(6)]
    for p in products:
        so.options(p, max_per_buyer=9)
    skus = [p.skus[0].id for p in products]
    address_id = flows.address_id(u)
    counts = []
    for chosen in (skus[:1], skus[:1], skus):  # the first warms the settings cache
        with app.test_request_context("/", method="POST"):
            with queries() as q:
                build_checkout(u, [(s, 1) for s in chosen], address_id)
            counts.append(q.count)
            assert sum("shopping_options" in s for s in q.statements) == 1
    assert counts[1] == counts[2], (counts, q.statements)
