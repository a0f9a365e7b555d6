"""The tables retailers really have, read as rows of text: CSV (UTF-8, UTF-8 with a BOM, GBK/GB18030,
UTF-16; comma, tab or semicolon), Excel ``.xlsx`` and the legacy ``.xls`` that WPS still writes.

Spreadsheets are read with python-calamine (Rust's calamine: one library for ``.xlsx``, ``.xls`` and
``.ods``, and measured at several times openpyxl's speed: see docs/benchmarks.md), first sheet only.
Cells become text the way a person reads them: an integral number stays ``121`` (not ``121.0``), a
code typed as text such as ``00123`` keeps its zeros, a date is ISO 8601.

The header row is found, not assumed: a title row ("2026 双11 参与门店") or a blank row above it is
skipped. The caller says which header texts it understands (``known``); the first row, among the
first few, with at least two known headers is the header.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass
from typing import Callable

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLS_MIME = "application/vnd.ms-excel"
ODS_MIME = "application/vnd.oasis.opendocument.spreadsheet"
SPREADSHEET_MIMES = {XLSX_MIME: "xlsx", XLS_MIME: "xls", ODS_MIME: "ods"}
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"   # the Compound File container of .xls (and old .doc)
HEADER_SEARCH_ROWS = 10                      # the header is among the first rows, under any title


class TableError(ValueError):
    """The file as a whole cannot be read as a table."""


@dataclass
class JsonText:
    """A file that is JSON text (GeoJSON or a list of records): for the caller to read."""
    text: str
    encoding: str


@dataclass
class Table:
    header: list[str]
    rows: list[tuple[int, list[str]]]   # (line or sheet row number, 1-based; cell texts)
    format: str                         # csv | xlsx | xls | ods
    encoding: str | None                # the text encoding of a CSV; None for a spreadsheet
    header_line: int                    # where the header was found (1 = the first line)


def spreadsheet_kind(data: bytes, filename: str | None = None, mimetype: str | None = None) -> str | None:
    """``xlsx``, ``xls`` or ``ods`` when the bytes are a spreadsheet (by their magic, then name or type)."""
    name = (filename or "").lower()
    if data.startswith(_OLE2):
        return "xls"
    if data.startswith(_ZIP):
        if name.endswith(".ods") or mimetype == ODS_MIME or b"oasis.opendocument.spreadsheet" in data[:200]:
            return "ods"
        return "xlsx"
    if name.endswith((".xlsx", ".xls", ".ods")) or mimetype in SPREADSHEET_MIMES:
        raise TableError(f"the file is named or sent as a spreadsheet ({filename or mimetype}) but is not one")
    return None


def decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding it was in: UTF-8 (with or without BOM), UTF-16 with a BOM, else GB18030
    (a superset of GBK, what Excel writes on a Chinese Windows)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise TableError("the file starts like UTF-16 text but is not valid UTF-16") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise TableError("the file is neither UTF-8 nor GBK/GB18030 text, nor an Excel file") from None


def cell_text(value) -> str:
    """A spreadsheet cell as the text a person sees in it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):   # a duration cell (calamine), e.g. typed 10:00 as a time
        seconds = int(value.total_seconds())
        return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"
    return str(value).strip()


def read_spreadsheet(data: bytes, kind: str, max_rows: int) -> list[tuple[int, list[str]]]:
    """The first sheet's rows as text, numbered as the spreadsheet numbers them."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        if not book.sheet_names:
            raise TableError("the spreadsheet has no sheet")
        sheet = book.get_sheet_by_index(0)
        values = sheet.to_python(skip_empty_area=False)
    except CalamineError as exc:
        raise TableError(f"cannot read the {kind} file: {exc}") from None
    except (ValueError, OSError, KeyError) as exc:
        raise TableError(f"cannot read the {kind} file: {exc}") from None
    if len(values) > max_rows + HEADER_SEARCH_ROWS:
        raise TableError(f"too many rows (at most {max_rows:,} per file)")
    return [(i, [cell_text(v) for v in row]) for i, row in enumerate(values, start=1)]


def read_csv(text: str, max_rows: int) -> list[tuple[int, list[str]]]:
    head = text.split("\n", HEADER_SEARCH_ROWS)[:HEADER_SEARCH_ROWS]
    delimiter = max((",", "\t", ";", "，"), key=lambda d: sum(line.count(d) for line in head))
    if not any(line.count(delimiter) for line in head):
        raise TableError("no header row with columns separated by commas or tabs")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = []
    try:
        start = 1
        for values in reader:
            rows.append((start, [v.strip() for v in values]))
            start = reader.line_num + 1
            if len(rows) > max_rows + HEADER_SEARCH_ROWS:
                raise TableError(f"too many rows (at most {max_rows:,} per file)")
    except csv.Error as exc:
        raise TableError(f"the CSV is malformed near line {reader.line_num}: {exc}") from None
    return rows


def read_table(data: bytes, filename: str | None, mimetype: str | None, *, known: Callable[[str], bool],
               max_rows: int) -> Table:
    """The header and data rows of a CSV or spreadsheet. ``known(header)`` says whether a header
    text is one the caller understands; the header row is the first with two such texts (among the
    first ten rows), else the first non-empty row. Blank rows are dropped."""
    kind = spreadsheet_kind(data, filename, mimetype)
    if kind:
        rows, encoding = read_spreadsheet(data, kind, max_rows), None
    else:
        text, encoding = decode(data)
        if "\x00" in text:
            raise TableError("the file contains NUL bytes: it is not a CSV text file")
        rows, kind = read_csv(text, max_rows), "csv"
    rows = [(n, values) for n, values in rows if any(values)]
    if not rows:
        raise TableError("the file has no rows")
    at = next((i for i, (_, values) in enumerate(rows[:HEADER_SEARCH_ROWS])
               if sum(1 for v in values if v and known(v)) >= 2), 0)
    header_line, header = rows[at]
    while header and not header[-1]:
        header = header[:-1]
    return Table(header=header, rows=rows[at + 1:], format=kind, encoding=encoding, header_line=header_line)


def read_file(data: bytes, filename: str | None, mimetype: str | None, *, known: Callable[[str], bool],
              max_rows: int, json_names: tuple[str, ...] = (".json",)) -> Table | JsonText:
    """A table (CSV or spreadsheet, as :func:`read_table`) or JSON text, whichever the file is:
    JSON when it is named so or its text starts like JSON."""
    if not data.strip():
        raise TableError("the file is empty")
    if spreadsheet_kind(data, filename, mimetype) is None:
        text, encoding = decode(data)
        if "\x00" not in text and ((filename or "").lower().endswith(json_names)
                                   or text.lstrip().startswith(("{", "["))):
            return JsonText(text, encoding)
    return read_table(data, filename, mimetype, known=known, max_rows=max_rows)
