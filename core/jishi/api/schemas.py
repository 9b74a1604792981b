"""The kernel API's order schemas, for a plugin's own order endpoints (a
merchant's or a platform's order list and detail) that answer orders the way
``/api/v1/orders`` does.

Public API for plugins (see docs/writing-plugins.md):

- :class:`OrderListItemSchema`, :class:`OrderDetailSchema`: an order in a
  list (with its lines) and in full; subclass them to add your fields
- :class:`RefundSchema`: an after-sales request (a merchant's after-sales
  endpoints answer like the platform's)
- :func:`order_detail` ``(order)``: the values :class:`OrderDetailSchema`
  dumps (lines, allocations, history, delivery, refunds, seller, notices)
- :func:`schema_values` ``(obj, schema_cls, **extra)``: an object's values for
  ``schema_cls`` plus ``extra``
- :class:`ReportArgs`, :class:`ReportExportArgs`, :class:`ReportSchema`,
  :func:`report_range`, :func:`report_export_response`: the reports of
  issue 19 (a merchant's report endpoints answer like the platform's)
- :class:`PriceChangeArgs`, :class:`AddressChangeArgs`: the bodies of an
  order's price change (改价) and address change, as the platform's order
  API takes them

Id fields for the paths and arguments (``Id``, ``QueryId``) are in
:mod:`jishi.api.common`.
"""

from __future__ import annotations

from jishi.api.orders import (
    AddressChangeArgs,
    OrderDetailSchema,
    OrderListItemSchema,
    PriceChangeArgs,
    RefundSchema,
    order_detail,
    schema_values,
)
from jishi.api.report_schemas import ReportArgs, ReportExportArgs, ReportSchema, report_export_response, report_range

__all__ = [
    "AddressChangeArgs",
    "OrderDetailSchema",
    "OrderListItemSchema",
    "PriceChangeArgs",
    "RefundSchema",
    "ReportArgs",
    "ReportExportArgs",
    "ReportSchema",
    "order_detail",
    "report_export_response",
    "report_range",
    "schema_values",
]
