"""jishi-points: points (积分) earned on what buyers pay and spent at checkout.

Enabled with ``JISHI_PLUGINS=points`` (entry point ``jishi_points.plugin``),
with or without multistore and coupons. See ``docs/plugins/points.md``.
"""
