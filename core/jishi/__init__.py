"""Jishi (集市): a plugin-based, extensible multi-merchant commerce framework.

Public API for plugin authors: :mod:`jishi.hookspecs` (``hookimpl`` and the
result dataclasses), :mod:`jishi.signals`, :mod:`jishi.money`,
:mod:`jishi.db` (``db``, ``Base``), :mod:`jishi.testing`.
"""

from jishi.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["__version__", "hookimpl"]
