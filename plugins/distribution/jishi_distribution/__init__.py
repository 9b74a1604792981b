"""jishi-distribution: 分销 — promoters, referral binding, two-level
commissions frozen until completion, reversed on refunds, promoter payouts.

Enabled with ``JISHI_PLUGINS=distribution`` (entry point
``jishi_distribution.plugin``), with or without multistore and coupons. See
``docs/plugins/distribution.md``.
"""
