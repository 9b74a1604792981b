"""jishi-multistore: the multi-merchant mall (多商户, SPEC MS1–MS17).

Enabled with ``JISHI_PLUGINS=multistore`` (entry point ``jishi_multistore.plugin``);
with the plugin off the kernel is a single-store shop. Everything here goes
through the kernel's hooks, signals and extension points; see
``docs/plugins/multistore.md``.
"""
