"""Default timed jobs run by ``jishi worker``."""

from __future__ import annotations

from jishi.hookspecs import PeriodicJob, hookimpl


@hookimpl
def periodic_jobs():
    from jishi.orders import service
    from jishi.payments import service as payments
    from jishi.reports import aggregate, tracking, visitors

    return [
        PeriodicJob("close_unpaid_orders", service.close_unpaid, every_seconds=60),
        PeriodicJob("reconcile_payments", lambda: str(payments.reconcile()), every_seconds=60),
        PeriodicJob("compare_payment_bills", payments.compare_bills, every_seconds=6 * 3600),
        PeriodicJob("auto_confirm_orders", service.auto_confirm, every_seconds=3600),
        PeriodicJob("flush_visits", tracking.flush, every_seconds=15),
        PeriodicJob("aggregate_reports", aggregate.aggregate_recent, every_seconds=300),
        PeriodicJob("prune_visitor_days", visitors.prune, every_seconds=3600),
    ]
