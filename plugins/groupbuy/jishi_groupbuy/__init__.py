"""jishi-groupbuy: group buying (拼团, SPEC GB).

Enabled with ``JISHI_PLUGINS=groupbuy`` (entry point ``jishi_groupbuy.plugin``).
Activities set a group price per SKU, a group size, a time limit per group
and a per-buyer limit; a buyer opens a group by paying, others join through
its share link; a full group's orders go to shipping, an expired group's
members are refunded automatically. See ``docs/plugins/groupbuy.md``.
"""
