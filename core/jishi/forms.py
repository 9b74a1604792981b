"""Form helpers for a plugin's pages (console and storefront).

Public API for plugins (see docs/writing-plugins.md): the same helpers the
kernel's own pages use, so a plugin's forms read, fail and answer alike.

- :func:`form_int`: a whole-number field (``default`` when empty or not a number)
- :func:`form_money`: a yuan field ("12.34") as integer fen; ``MoneyError`` for garbage
- :func:`form_outcome`: ``with form_outcome(): ...`` commits and flashes "Saved.",
  or rolls a :class:`~jishi.errors.DomainError` back and flashes it
- :func:`flash_error` / :func:`error_text`: show an error (every problem of a ``CheckoutError``)
- :func:`safe_next`: a local ``next`` target only (no open redirects)
- :func:`checkout_options`: the checkout options of a checkout form
  (``delivery-<group>``, ``message-<group>``, ``opt.<name>[.<group>]``)
- :func:`record_visit`: count a storefront page view for the reports
- :func:`render_kept` ``(template_name, args)``: a small template of a slot
  rendered on every page view (a link, a badge: ``args`` of ids), kept
  between requests with the settings' version when its HTML can depend on
  nothing else (the template reads only ``args``, ``url_for``, ``_``)
- a product form like the console's (a merchant's products, say):
  :func:`product_form_state` ``(product)`` (what the form shows: the product,
  or the posted form), :func:`product_data` ``(state)`` (the dict
  :func:`jishi.catalog.service.save_product` takes; raises :class:`FormError`
  with the ``field`` and ``message`` of a bad value)
"""

from __future__ import annotations

from jishi.console.catalog import FormError, product_data, product_form_state
from jishi.web.cards import render_kept
from jishi.web.common import (
    error_text,
    flash_error,
    form_int,
    form_money,
    form_outcome,
    record_visit,
    safe_next,
)
from jishi.web.shopping import checkout_options

__all__ = [
    "FormError",
    "checkout_options",
    "error_text",
    "flash_error",
    "form_int",
    "form_money",
    "form_outcome",
    "product_data",
    "product_form_state",
    "record_visit",
    "render_kept",
    "safe_next",
]
