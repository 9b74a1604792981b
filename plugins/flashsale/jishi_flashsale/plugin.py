"""The flashsale plugin object (entry point ``flashsale``).

Hooks implemented (see ``docs/plugins/flashsale.md``):

- ``config_defaults``   ``JISHI_FLASHSALE_UNPAID_MINUTES`` (5), ``JISHI_FLASHSALE_SOLDOUT_TTL``
  (1 s), ``JISHI_FLASHSALE_REDIS`` (True: use ``JISHI_REDIS_URL`` when set),
  ``JISHI_FLASHSALE_QUEUE`` (True: queued placement behind the gate while a
  ``jishi flashsale work`` consumer runs), ``JISHI_FLASHSALE_REDIS_TIMEOUT`` (2 s: a Redis
  call's limit), ``JISHI_FLASHSALE_RECOVER_SECONDS`` (30: the consumer's recovery pass),
  ``JISHI_FLASHSALE_BATCH`` (50: queued jobs the consumer places in one transaction),
  ``JISHI_FLASHSALE_LINGER_MS`` (300: how long a short batch waits for more jobs),
  ``JISHI_FLASHSALE_KEYED_FAST`` (True: keyed attempts on a sold-out SKU answered from
  Redis when it holds every key of the sale), ``JISHI_FLASHSALE_EPOCH_SECONDS`` (60: how
  old Redis's epoch must be before a sale is marked so)
- ``register_commands`` ``jishi flashsale work``: the queue's consumer
- ``price_rules``       the flash price (priority 100) while a sale runs,
  ``quantity_limit`` = what the buyer may still take (one query for all lines)
- ``validate_checkout`` a flash purchase is placed at its flash price or refused
  (``flashsale_ended``), never at the normal price
- ``reserve_stock_many`` the flash lines of a checkout, or of a batch the queue's
  consumer places, in three statements per flash SKU (atomic, all or nothing);
  no ``reserve_stock``: the kernel offers every line to ``reserve_stock_many``
  first, which takes every flash line or raises, so the per-line form only
  ever answered None (one hook call per line, issue 20)
- ``release_stock``     flash lines give their units back exactly once
- ``periodic_jobs``     ``flashsale_close_unpaid`` (30 s), ``flashsale_reconcile`` (30 s),
                        ``flashsale_windows`` (60 s: when sales may run, :func:`service.publish_windows`)
- ``template_slot``     ``product_detail_after_price``: price, stock left, countdown
- ``product_page_loaders`` the slot's activity and flash SKUs, read with the page
- ``app_ready``         the sold-out answer first among ``before_request`` functions
- ``blueprints`` / ``api_blueprints`` / ``console_menu_items``
- ``page_block_types``  ``flashsale.strip``: the page designer's flash-sale strip
  (:mod:`jishi_flashsale.blocks`)
- ``report_sections``  the flash sales' campaign effect (:mod:`jishi_flashsale.reports`)
- ``demo_data``
"""

from __future__ import annotations

from jishi.hookspecs import MenuItem, PeriodicJob, StorefrontLink, hookimpl, slots

from jishi_flashsale import (
    models,  # noqa: F401 - the plugin's tables
    service,
)

requires = ()


@hookimpl
def config_defaults():
    return {
        "JISHI_FLASHSALE_UNPAID_MINUTES": 5,
        "JISHI_FLASHSALE_SOLDOUT_TTL": 1.0,
        "JISHI_FLASHSALE_REDIS": True,
        "JISHI_FLASHSALE_REDIS_PREFIX": "jishi:flashsale:",
        "JISHI_FLASHSALE_QUEUE": True,
        "JISHI_FLASHSALE_REDIS_TIMEOUT": 2.0,
        "JISHI_FLASHSALE_RECOVER_SECONDS": 30,
        "JISHI_FLASHSALE_BATCH": 50,
        "JISHI_FLASHSALE_LINGER_MS": 300,
        "JISHI_FLASHSALE_KEYED_FAST": True,
        "JISHI_FLASHSALE_EPOCH_SECONDS": 60,
    }


@hookimpl
def register_commands(cli):
    """``jishi flashsale work``: the consumer of queued purchases."""
    import click
    from flask import current_app
    from flask.cli import with_appcontext

    @cli.group("flashsale")
    def flashsale():
        """Flash sales (秒杀)."""

    @flashsale.command("work")
    @click.option("--max-jobs", type=int, default=None, help="Stop after this many jobs.")
    @click.option("--until-empty", is_flag=True, help="Stop when the queue is empty.")
    @click.option("--quiet", is_flag=True, help="No line per job.")
    @click.option(
        "--batch", type=int, default=None, help="Jobs placed in one transaction (default JISHI_FLASHSALE_BATCH)."
    )
    @click.option(
        "--linger-ms",
        type=int,
        default=None,
        help="How long a short batch waits for more jobs (default JISHI_FLASHSALE_LINGER_MS).",
    )
    @with_appcontext
    def work(max_jobs, until_empty, quiet, batch, linger_ms):
        """Place queued flash-sale purchases (JISHI_FLASHSALE_QUEUE) through
        the checkout, waiting ones in batches of one transaction; run one or
        several."""
        from jishi_flashsale import gate
        from jishi_flashsale import queue as fs_queue

        if gate.redis_client() is None:
            raise click.ClickException("the flash-sale queue needs JISHI_REDIS_URL")
        # Redis errors never stop it (it backs off and reconnects); at start,
        # after a fault and periodically it queues again what a stopped
        # consumer left and places the durable tickets Redis lost
        done = fs_queue.work(
            max_jobs=max_jobs,
            idle_exit=until_empty,
            log=None if quiet else click.echo,
            release_session=True,
            batch=batch,
            linger=None if linger_ms is None else linger_ms / 1000,
        )
        click.echo(f"{done} queued purchases handled")
        current_app.logger.info("flashsale queue: %s jobs", done)


@hookimpl
def app_ready(app):
    """Put the sold-out answer in front of every other ``before_request``
    function (see :func:`jishi_flashsale.api.soldout_first`), and, for API
    clients without cookies, in front of Flask itself
    (:class:`jishi_flashsale.api.SoldOutGate`, WSGI middleware)."""
    from jishi_flashsale import api

    app.before_request_funcs.setdefault(None, []).insert(0, api.soldout_first)
    app.wsgi_app = api.SoldOutGate(app.wsgi_app, app)
    _queue_depth_gauge(app)


def _queue_depth_gauge(app):
    """``jishi_flashsale_queue_depth`` on ``/metrics`` (issue 15): queued
    purchases not yet placed, read from Redis at each scrape."""
    if not (app.config.get("JISHI_REDIS_URL") and app.config.get("JISHI_FLASHSALE_REDIS", True)):
        return
    from jishi.metrics import register_gauge

    from jishi_flashsale import queue

    register_gauge(app, "jishi_flashsale_queue_depth", "Flash-sale purchases queued or being placed.", queue.pending)


@hookimpl
def blueprints():
    from jishi_flashsale import views

    return [views.bp]


@hookimpl
def api_blueprints():
    from jishi_flashsale import api

    return [api.blp]


@hookimpl
def console_menu_items(console, principal):
    from jishi.i18n import gettext as _

    # a seller page: in the console of the user's seller scope
    return [
        MenuItem(
            _("Flash sales"),
            "flashsale.activities",
            console=console,
            sort=61,
            permission="marketing",
            group="marketing",
        )
    ]


@hookimpl
def storefront_links():
    from jishi.i18n import gettext as _

    return [StorefrontLink(_("Flash sale"), "flashsale.listing", icon="⚡", sort=10)]


@hookimpl
def product_page_loaders(product, user):
    return service.page_loaders(product.id, user_id=getattr(user, "id", None) if user is not None else None)


@hookimpl
@slots("product_detail_after_price")
def template_slot(slot, context):
    from jishi_flashsale import views

    return views.slot(slot, context)


@hookimpl
def periodic_jobs():
    return [
        PeriodicJob("flashsale_close_unpaid", service.close_unpaid, every_seconds=30),
        PeriodicJob("flashsale_reconcile", service.reconcile, every_seconds=30),
        PeriodicJob("flashsale_windows", service.publish_windows_job, every_seconds=60),
    ]


@hookimpl
def price_rules(lines, user):
    return service.price_rules(lines, user)


@hookimpl
def validate_checkout(checkout):
    return service.validate(checkout)


@hookimpl
def reserve_stock_many(lines):
    return service.reserve_many(lines)


@hookimpl
def release_stock(order_line, quantity, reason):
    return service.release(order_line, quantity, reason)


@hookimpl
def page_block_types():
    from jishi_flashsale import blocks

    return blocks.block_types()


@hookimpl
def report_sections(start, end, seller_id):
    """Issue 19: sold/stock, orders placed and paid, buyers, GMV and conversion per flash sale."""
    from jishi_flashsale.reports import flashsale_section

    return [flashsale_section(start, end, seller_id)]


@hookimpl
def demo_data(data):
    from jishi_flashsale import demo

    return demo.demo_data(data)


@hookimpl
def demo_orders(data):
    from jishi_flashsale import demo

    return demo.demo_orders(data)
