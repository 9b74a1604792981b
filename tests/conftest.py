"""Kernel tests. Fixtures come from ``jishi.testing`` (the pytest11 plugin)."""
