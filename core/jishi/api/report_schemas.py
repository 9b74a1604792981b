"""The reports' API schemas (issue 19), for the platform's report routes and
a plugin's own (a merchant's reports answer the same shape); re-exported by
:mod:`jishi.api.schemas`."""

from __future__ import annotations

from flask import Response
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from jishi.api.common import Money, fail
from jishi.i18n import gettext as _

__all__ = [
    "ReportArgs",
    "ReportExportArgs",
    "ReportSchema",
    "report_export_response",
    "report_range",
]

MAX_DAYS = 731


class ReportArgs(Schema):
    start = fields.Date(metadata={"description": "first shop day (YYYY-MM-DD), default 29 days before the end"})
    end = fields.Date(metadata={"description": "last shop day, inclusive (YYYY-MM-DD), default today"})
    grain = fields.String(load_default="day", validate=validate.OneOf(("day", "week", "month")))

    @validates_schema
    def _order(self, data, **kwargs):
        if data.get("start") and data.get("end"):
            if data["start"] > data["end"]:
                raise ValidationError(_("The start is after the end."), "start")
            if (data["end"] - data["start"]).days >= MAX_DAYS:
                raise ValidationError(_("At most %(n)d days at a time.", n=MAX_DAYS), "start")


class ReportExportArgs(ReportArgs):
    section = fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={
            "description": "overview, trend, funnel, products, buyers, rfm, levels, finance or a plugin's section key (coupons...)"
        },
    )
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "xlsx")))


class _Figures(Schema):
    paid_amount = Money()
    paid_orders = fields.Integer()
    orders = fields.Integer()
    buyers = fields.Integer()
    units = fields.Integer()
    aov = Money(metadata={"description": "average order value: paid amount / paid orders, fen"})
    refund_amount = Money()
    refund_count = fields.Integer()
    pv = fields.Integer(metadata={"description": "page views"})
    uv = fields.Integer(metadata={"description": "unique visitors, summed per day"})


class _Changes(Schema):
    paid_amount = fields.Integer(allow_none=True)
    paid_orders = fields.Integer(allow_none=True)
    orders = fields.Integer(allow_none=True)
    buyers = fields.Integer(allow_none=True)
    units = fields.Integer(allow_none=True)
    aov = fields.Integer(allow_none=True)
    refund_amount = fields.Integer(allow_none=True)
    refund_count = fields.Integer(allow_none=True)
    pv = fields.Integer(allow_none=True)
    uv = fields.Integer(allow_none=True)


class _Overview(Schema):
    start = fields.String()
    end = fields.String()
    previous_start = fields.String()
    previous_end = fields.String()
    current = fields.Nested(_Figures)
    previous = fields.Nested(_Figures)
    change_permille = fields.Nested(
        _Changes, metadata={"description": "change against the previous period; null: it was 0"}
    )
    uv_exact = fields.Boolean(
        metadata={
            "description": "true: uv is the distinct visitors over the range; false: the range starts before the "
            "visitor rows kept (JISHI_VISITOR_DAYS_KEEP) and uv is the sum of each day's"
        }
    )
    previous_uv_exact = fields.Boolean(metadata={"description": "the same for the previous period's uv"})


class _TrendRow(Schema):
    period = fields.String(metadata={"description": "the day, the week's Monday or the month (YYYY-MM)"})
    paid_amount = Money()
    paid_orders = fields.Integer()
    buyers = fields.Integer()
    units = fields.Integer()
    refund_amount = Money()
    pv = fields.Integer()
    uv = fields.Integer()


class _Funnel(Schema):
    visitors = fields.Integer()
    carted = fields.Integer()
    ordered = fields.Integer()
    paid = fields.Integer()
    cart_rate_permille = fields.Integer()
    order_rate_permille = fields.Integer(metadata={"description": "下单转化率: ordered / visitors"})
    order_pay_rate_permille = fields.Integer(metadata={"description": "下单-付款转化率: paid / ordered"})
    pay_rate_permille = fields.Integer(metadata={"description": "付款转化率: paid / visitors"})
    uv_exact = fields.Boolean(
        metadata={"description": "visitors and carted distinct over the range (false: sums of days)"}
    )


class _ProductRow(Schema):
    product_id = fields.Integer()
    name = fields.String()
    pv = fields.Integer()
    uv = fields.Integer()
    carts = fields.Integer()
    carted = fields.Integer()
    buyers = fields.Integer()
    units = fields.Integer()
    paid_amount = Money()
    conversion_permille = fields.Integer(metadata={"description": "buyers / UV"})


class _Products(Schema):
    on_shelf = fields.Integer()
    visited = fields.Integer()
    items = fields.List(fields.Nested(_ProductRow))
    uv_exact = fields.Boolean(
        metadata={"description": "each item's uv and carted distinct over the range (false: sums of days)"}
    )


class _Segment(Schema):
    segment = fields.String(
        metadata={
            "description": "important_value (重要价值), important_develop (重要发展), important_keep (重要保持), "
            "important_retain (重要挽留), general_value, general_develop, general_keep, general_retain (一般…)"
        }
    )
    label = fields.String()
    buyers = fields.Integer()
    share_permille = fields.Integer()
    amount = Money(metadata={"description": "the segment's paid amount net of refunds"})


class _Level(Schema):
    level_id = fields.Integer(metadata={"description": "0: no member level"})
    name = fields.String()
    buyers = fields.Integer()
    share_permille = fields.Integer()


class _Medians(Schema):
    recency_days = fields.Float()
    frequency = fields.Float()
    monetary = fields.Integer(
        metadata={
            "description": "fen (the median rounded down: money stays integer fen; a buyer is high-value when above it)"
        }
    )


class _Buyers(Schema):
    buyers = fields.Integer(metadata={"description": "distinct buyers who paid in the range"})
    new_buyers = fields.Integer(metadata={"description": "first paid order (in the scope) in the range"})
    returning_buyers = fields.Integer(metadata={"description": "paid before the range too"})
    repeat_buyers = fields.Integer(metadata={"description": "at least 2 paid orders in the range"})
    repeat_rate_permille = fields.Integer()
    medians = fields.Nested(_Medians, metadata={"description": "the RFM thresholds (median split)"})
    segments = fields.List(fields.Nested(_Segment))
    levels = fields.List(fields.Nested(_Level))


class _FinanceDay(Schema):
    day = fields.String()
    paid_amount = Money()
    refund_amount = Money()
    net_amount = Money(
        validate=None, metadata={"description": "paid less refunded (fen; negative when refunds exceed it)"}
    )


class _FinanceTotals(Schema):
    paid_amount = Money()
    refund_amount = Money()
    net_amount = Money(
        validate=None, metadata={"description": "paid less refunded (fen; negative when refunds exceed it)"}
    )


class _Finance(Schema):
    totals = fields.Nested(_FinanceTotals)
    days = fields.List(fields.Nested(_FinanceDay))


class _Column(Schema):
    key = fields.String()
    label = fields.String()


class _Section(Schema):
    key = fields.String()
    title = fields.String()
    columns = fields.List(fields.Nested(_Column))
    rows = fields.List(fields.Dict())
    money = fields.List(fields.String(), metadata={"description": "columns in fen"})
    permille = fields.List(fields.String(), metadata={"description": "columns in permille"})


class ReportSchema(Schema):
    overview = fields.Nested(_Overview)
    trend = fields.List(fields.Nested(_TrendRow))
    funnel = fields.Nested(_Funnel)
    products = fields.Nested(_Products)
    buyers = fields.Nested(_Buyers, metadata={"description": "new/returning, repeat rate, RFM, member levels"})
    finance = fields.Nested(_Finance, metadata={"description": "paid, refunded and net per shop day"})
    sections = fields.List(fields.Nested(_Section), metadata={"description": "the plugins' (report_sections)"})


def report_range(args) -> tuple:
    """``(start, end)`` from the arguments, defaults filled."""
    from jishi.reports import service

    start, end = service.report_range(args.get("start"), args.get("end"))
    return start, end


def report_export_response(args, scope: int) -> Response:
    """The CSV or XLSX of one section for ``scope`` (0: the platform)."""
    from jishi.reports import service

    start, end = report_range(args)
    table = service.report_table(args["section"], start, end, scope, args.get("grain", "day"))
    if table is None:
        fail(422, "invalid", _("No such report section."), "section")
    name = f"{table.key}-{start.isoformat()}-{end.isoformat()}"
    if args["format"] == "xlsx":
        return Response(
            service.table_xlsx(table),
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return Response(
        service.table_csv(table),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
