"""Importing a retailer's products and its stores' stock from its own files.

The files are the ones stores come in (:mod:`.sheets`: CSV in UTF-8 or GBK, ``.xlsx``, ``.xls``), or
JSON (a list of objects, or ``{"products": [...]}`` / ``{"stock": [...]}``), with Chinese or English
headers. Products are keyed by the retailer's ``sku`` (a known sku updates, a new one adds); stock
lines by (store code, sku). Every bad row is reported with its number and reasons, as for stores;
``atomic`` stores all rows or none, ``dry_run`` stores nothing and says what would happen, and each
import is one transaction.
"""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from typing import Iterable

from ..storage.base import StoreRepository
from ..storage.products import AVAILABILITY, PRODUCT_WRITABLE
from . import sheets
from .accounts import Principal
from .importer import MAX_ROWS, ImportError_, Report, Row, analyzed_after
from .units import unit_of_work
from .validation import check_online_url

PRODUCT_HEADERS = {
    "sku": ["sku", "商品编码", "商品编号", "商品代码", "货号", "款号", "编码", "product_code", "item_code", "code"],
    "title": ["title", "name", "product_name", "商品名称", "商品名", "名称", "品名", "标题"],
    "brand": ["brand", "品牌", "品牌名称"],
    "category": ["category", "品类", "类别", "分类", "类目"],
    "price": ["price", "价格", "售价", "零售价", "吊牌价", "单价"],
    "online_url": ["online_url", "url", "link", "商品链接", "链接", "网店链接", "购买链接", "线上链接"],
    "gtin": ["gtin", "ean", "barcode", "upc", "条码", "条形码", "商品条码"],
    "image_url": ["image_url", "image", "img", "picture", "图片", "图片链接", "主图", "商品图片"],
}
STOCK_HEADERS = {
    "store": ["store", "external_id", "store_code", "store_id", "门店编码", "门店编号", "门店代码", "店号"],
    "sku": ["sku", "商品编码", "商品编号", "货号", "product_code", "item_code"],
    "availability": ["availability", "stock_status", "status", "库存状态", "状态", "有无库存"],
    "quantity": ["quantity", "qty", "数量", "库存", "库存数量", "库存数"],
    "price": ["price", "价格", "门店价", "门店价格", "售价"],
}
# The stock words retailers write; English as the contract has them.
AVAILABILITY_WORDS = {"有货": "in_stock", "现货": "in_stock", "充足": "in_stock", "少量": "limited",
                      "少量库存": "limited", "紧张": "limited", "库存紧张": "limited", "无货": "out_of_stock",
                      "缺货": "out_of_stock", "售罄": "out_of_stock", "instock": "in_stock",
                      "outofstock": "out_of_stock", **{a: a for a in AVAILABILITY}}
LIMITED_BELOW = 5   # a quantity with no stock word: 0 is out of stock, under this limited
MAX_TEXT = {"sku": 64, "title": 200, "brand": 100, "category": 100, "gtin": 14, "online_url": 2048,
            "image_url": 2048, "store": 64}
_PRICE_NOISE = re.compile(r"[¥￥,，元\s]|^cny|^rmb", re.IGNORECASE)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")   # Unicode's control characters (category Cc), exactly


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text or "")).strip().lower().lstrip("\ufeff")
    return text.replace(" ", "").replace("-", "_").strip("*")


def _lookup(aliases: dict[str, list[str]]) -> dict[str, str]:
    return {_key(a): name for name, names in aliases.items() for a in names}


_PRODUCT_LOOKUP = _lookup(PRODUCT_HEADERS)
_STOCK_LOOKUP = _lookup(STOCK_HEADERS)


def read_rows(data: bytes, filename: str | None, mimetype: str | None, aliases: dict[str, list[str]],
              json_key: str) -> tuple[list[Row], str, str | None, dict[str, str], list[str]]:
    """Rows of a CSV, spreadsheet or JSON file, with fields named by ``aliases``: (rows, format,
    encoding, header → field, headers not understood). Raises :class:`ImportError_` for a file that
    cannot be read at all."""
    lookup = _lookup(aliases)
    try:
        table = sheets.read_file(data, filename, mimetype, max_rows=MAX_ROWS, known=lambda h: _key(h) in lookup)
    except sheets.TableError as exc:
        raise ImportError_(str(exc)) from None
    if isinstance(table, sheets.JsonText):
        return _json_rows(table.text, lookup, json_key)
    fields, columns, unknown = [], {}, []
    for i, text in enumerate(table.header):
        name = lookup.get(_key(text)) if text else None
        if name in fields:
            name = None   # a second column for the same field: named, not merged
        fields.append(name)
        if name:
            columns[text] = name
        elif text:
            unknown.append(text)
    rows = []
    for line, values in table.rows:
        row = {name: value for name, value in zip(fields, values) if name and value != ""}
        rows.append(Row(len(rows) + 1, line, row))
    return rows, table.format, table.encoding, columns, unknown


def _json_rows(text: str, lookup: dict[str, str], json_key: str):
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ImportError_(f"the file is not valid JSON ({exc})") from None
    items = doc.get(json_key, doc.get("rows")) if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise ImportError_(f'JSON must be a list of objects or {{"{json_key}": [...]}}')
    if len(items) > MAX_ROWS:
        raise ImportError_(f"too many rows (at most {MAX_ROWS:,} per file)")
    rows, columns, unknown = [], {}, []
    for item in items:
        row = {}
        if isinstance(item, dict):
            for k, v in item.items():
                name = lookup.get(_key(k))
                if name:
                    columns[k] = name
                    if v is not None and v != "":
                        row[name] = v
                elif k not in unknown:
                    unknown.append(k)
        else:
            row["_error"] = "the row is not a JSON object"
        rows.append(Row(len(rows) + 1, None, row))
    return rows, "json", "utf-8", columns, unknown


# ----------------------------------------------------------------------------------- values
def _text(value, field: str, errors: list[str], required: bool = False) -> str | None:
    if type(value) is str:   # the common case, a cell of a CSV file: checked without the general path
        text = value.strip()
        if text and len(text) <= MAX_TEXT.get(field, 200) and not _CONTROL.search(text):
            return text
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.append(f"{field} is required")
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        errors.append(f"{field} must be text")
        return None
    text = str(value).strip()
    if _CONTROL.search(text):
        errors.append(f"{field} contains control characters")
        return None
    if len(text) > MAX_TEXT.get(field, 200):
        errors.append(f"{field} is longer than {MAX_TEXT.get(field, 200)} characters")
        return None
    return text


def _number(value, field: str, errors: list[str]) -> float | None:
    """A price: ``499``, ``499.00``, ``¥1,299``, ``1299元``; not negative."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        errors.append(f"{field} {value!r} is not a number")
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        try:
            number = float(_PRICE_NOISE.sub("", unicodedata.normalize("NFKC", str(value))))
        except ValueError:
            errors.append(f"{field} {str(value)[:40]!r} is not a number")
            return None
    if not math.isfinite(number) or number < 0 or number > 1e9:
        errors.append(f"{field} {str(value)[:40]!r} is not a price (0 or more)")
        return None
    return round(number, 2)


def _quantity(value, errors: list[str]) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number < 0 or not number.is_integer() or number > 2**31 - 1:
        errors.append(f"quantity {str(value)[:40]!r} is not a whole number (0 or more)")
        return None
    return int(number)


def availability_word(value) -> str | None:
    """``in_stock``, ``limited`` or ``out_of_stock`` for a stock word (有货/少量/无货/缺货, English), else None."""
    if isinstance(value, str) and len(value) <= 40:
        return _word(value)   # a file repeats a handful of words: each folded once
    return _fold_word(value)


def _fold_word(value) -> str | None:
    return AVAILABILITY_WORDS.get(_key(value).replace("_", "")) or AVAILABILITY_WORDS.get(_key(value))


_word = functools.lru_cache(maxsize=256)(_fold_word)


def clean_product(data: dict, domains: Iterable[str]) -> tuple[dict | None, list[str]]:
    """A product row's fields, checked: (fields, []) or (None, reasons)."""
    errors: list[str] = []
    if "_error" in data:
        return None, [data["_error"]]
    out = {"sku": _text(data.get("sku"), "sku", errors, required=True),
           "title": _text(data.get("title"), "title", errors, required=True),
           "brand": _text(data.get("brand"), "brand", errors, required=True),
           "category": _text(data.get("category"), "category", errors),
           "price": _number(data.get("price"), "price", errors),
           "online_url": _text(data.get("online_url"), "online_url", errors),
           "gtin": _text(data.get("gtin"), "gtin", errors),
           "image_url": _text(data.get("image_url"), "image_url", errors)}
    if out["online_url"]:
        reason = check_online_url(out["online_url"], tuple(domains))
        if reason:
            errors.append(reason)
    if out["gtin"] and not (out["gtin"].isascii() and out["gtin"].isdigit() and len(out["gtin"]) in (8, 12, 13, 14)):
        errors.append(f"gtin {out['gtin']!r} is not a barcode (8, 12, 13 or 14 digits)")
    if out["image_url"] and not re.match(r"https?://[^\s/]+", out["image_url"]):
        errors.append("image_url must be an http(s) link")
    return (None, errors) if errors else (out, [])


# ----------------------------------------------------------------------------------- products
def import_products(repo: StoreRepository, retailer: Principal, rows: list[Row], atomic: bool = False,
                    dry_run: bool = False) -> Report:
    """Check every row and upsert the good ones by sku (all or none with ``atomic``)."""
    report = Report(atomic=atomic, rows=len(rows))
    problems: dict[int, list[str]] = {}
    clean: dict[str, tuple[int, dict]] = {}
    for row in rows:
        fields, errors = clean_product(row.data, retailer.domains)
        if fields and fields["sku"] in clean:
            errors = [f"sku {fields['sku']!r} appears again (first in row {clean[fields['sku']][0]})"]
        if errors:
            problems[row.number] = errors
        else:
            clean[fields["sku"]] = (row.number, fields)
    report.rejected = [{"row": n, **({"line": rows[n - 1].line} if rows[n - 1].line else {}),
                        "sku": _shown(rows[n - 1].data.get("sku")), "errors": errs}
                       for n, errs in sorted(problems.items())]

    def work() -> Report:
        existing = repo.find_product_ids(retailer.id, list(clean))
        changed = []
        for sku, (_, fields) in clean.items():
            if sku in existing:
                before = repo.get_product(existing[sku])
                if all(before.get(c) == fields.get(c) for c in PRODUCT_WRITABLE):
                    report.unchanged += 1
                    continue
                report.updated += 1
            else:
                report.inserted += 1
            changed.append(fields)
        if dry_run:
            report.dry_run, report.stored = True, False
        elif atomic and report.rejected:
            report.stored, report.unchanged = False, 0
        elif changed:
            repo.upsert_products(retailer.id, changed)
        return report

    return analyzed_after(repo, unit_of_work(repo, work, attempts=1), ("products",))


def _shown(value):
    return None if value is None else str(value)[:64]


# ----------------------------------------------------------------------------------- stock
def import_stock(repo: StoreRepository, retailer: Principal, rows: list[Row], atomic: bool = False,
                 dry_run: bool = False, replace: bool = False) -> Report:
    """Check every stock line (a store code and a sku of this retailer, a stock word) and write the
    good ones; ``replace``: each store named in the file keeps only the lines the file gives it."""
    report = Report(atomic=atomic, rows=len(rows))
    problems: dict[int, list[str]] = {}
    parsed: dict[int, dict] = {}
    for row in rows:
        data, errors = row.data, []
        if "_error" in data:
            problems[row.number] = [data["_error"]]
            continue
        store = _text(data.get("store"), "store", errors, required=True)
        sku = _text(data.get("sku"), "sku", errors, required=True)
        quantity = _quantity(data.get("quantity"), errors)
        price = _number(data.get("price"), "price", errors)
        word = data.get("availability")
        if word is None or word == "":
            if quantity is None:
                errors.append("availability is required (in_stock, limited, out_of_stock or 有货, 少量, 无货) "
                              "when there is no quantity")
                availability = None
            else:
                availability = ("out_of_stock" if quantity == 0 else "limited" if quantity < LIMITED_BELOW
                                else "in_stock")
        else:
            availability = availability_word(word)
            if availability is None:
                errors.append(f"availability {str(word)[:40]!r} is not a stock word (in_stock, limited, "
                              "out_of_stock, 有货, 少量, 无货, 缺货)")
        if errors:
            problems[row.number] = errors
        else:
            parsed[row.number] = {"store": store, "sku": sku, "availability": availability, "quantity": quantity,
                                  "price": price}

    def work() -> Report:
        stores = repo.find_store_ids(retailer.id, [p["store"] for p in parsed.values()])
        products = repo.find_product_ids(retailer.id, [p["sku"] for p in parsed.values()])
        lines, seen = [], {}
        for n, p in parsed.items():
            errors = []
            if p["store"] not in stores:
                errors.append(f"store {p['store']!r} is not one of the retailer's store codes (external_id)")
            if p["sku"] not in products:
                errors.append(f"sku {p['sku']!r} is not one of the retailer's products (import it first)")
            key = (p["store"], p["sku"])
            if not errors and key in seen:
                errors.append(f"store {p['store']!r} and sku {p['sku']!r} appear again (first in row {seen[key]})")
            if errors:
                problems[n] = errors
                continue
            seen[key] = n
            lines.append({"store_id": stores[p["store"]], "product_id": products[p["sku"]],
                          "availability": p["availability"], "quantity": p["quantity"], "price": p["price"]})
        report.rejected = [{"row": n, **({"line": rows[n - 1].line} if rows[n - 1].line else {}),
                            "store": _shown(rows[n - 1].data.get("store")), "sku": _shown(rows[n - 1].data.get("sku")),
                            "errors": errs} for n, errs in sorted(problems.items())]
        store_ids = sorted({line["store_id"] for line in lines})
        existing = {(s["store_id"], s["product_id"]): s for sid in store_ids for s in repo.stock_of_store(sid)}
        for line in lines:
            before = existing.get((line["store_id"], line["product_id"]))
            if before is None:
                report.inserted += 1
            elif all(before[c] == line[c] for c in ("availability", "quantity", "price")):
                report.unchanged += 1
            else:
                report.updated += 1
        if dry_run:
            report.dry_run, report.stored = True, False
        elif atomic and report.rejected:
            report.stored, report.unchanged = False, 0
        else:
            repo.set_stock(lines, replace_stores=store_ids if replace else ())
        return report

    return analyzed_after(repo, unit_of_work(repo, work, attempts=1), ("stock",))
