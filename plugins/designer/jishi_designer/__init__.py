"""jishi-designer: the page designer (店铺装修) for the storefront and the
mini-program: the home page, custom pages and (with multistore) each
merchant's shop page, made of typed blocks that any plugin contributes
through the ``page_block_types`` hook.

Enabled with ``JISHI_PLUGINS=designer`` (entry point ``jishi_designer.plugin``).
See ``docs/plugins/designer.md``.
"""
