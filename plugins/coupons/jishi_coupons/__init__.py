"""jishi-coupons: coupons (优惠券) and full-reduction activities (满减), SPEC CP.

Enabled with ``JISHI_PLUGINS=coupons`` (entry point ``jishi_coupons.plugin``);
works in a single-store shop (platform coupons only) and with multistore
(platform and merchant coupons). See ``docs/plugins/coupons.md``.
"""
