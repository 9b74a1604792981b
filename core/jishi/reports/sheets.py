"""Spreadsheet exports that keep typed text as text (issue 20's API probe).

A merchant types the text an export carries (a shop's name, a product's, a
carrier, a tracking number) and the platform opens it in a spreadsheet:

- a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return would run as a formula (OWASP's CSV injection): in a CSV such a
  text starts with an apostrophe, which spreadsheets show as text; in an
  XLSX it is written as a string cell (openpyxl makes a string starting
  with ``=`` a formula);
- a control character a worksheet cannot hold made openpyxl refuse the
  whole export (a 500): it is left out of the XLSX (a CSV holds it).

Numbers stay numbers: only ``str`` values are touched.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence

#: the first characters that make a spreadsheet read a cell as a formula
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


#: a number written as text (money in yuan, "-50.00"): no formula
_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def csv_cell(value):
    """``value`` as a CSV cell: a text a spreadsheet would run as a formula
    starts with an apostrophe (a number such as "-50.00" is no formula);
    anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_row(row: Iterable) -> list:
    return [csv_cell(v) for v in row]


def xlsx_bytes(sheet: str, header: Sequence, rows: Iterable[Sequence]) -> bytes:
    """One worksheet named ``sheet`` (its first 31 characters) of ``header``
    then ``rows``, written by openpyxl's write-only mode (rows streamed):
    text as string cells without the characters a worksheet cannot hold."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet[:31])

    def cell(value):
        if not isinstance(value, str):
            return value
        c = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        c.data_type = "s"  # (not a formula, whatever it starts with)
        return c

    ws.append([cell(v) for v in header])
    for row in rows:
        ws.append([cell(v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
