"""jishi-footprints: the products a buyer opened (浏览足迹).

Enabled with ``JISHI_PLUGINS=footprints`` (entry point
``jishi_footprints.plugin``). Each product page or product detail a
signed-in buyer opens is noted by the kernel's visit tracking and handed
over in batches (hook ``products_viewed``): the buyer finds it again under
我的足迹 (``/footprints``, ``GET /api/v1/footprints``), newest first and by
day, and removes one or all. See ``docs/plugins/footprints.md``.
"""
