"""Shelf labels with QR codes for a store's products (issue 15): A4 sheets of 3 × 7 labels (70 × 42 mm,
the common sticker sheet), each with the product's title, price and sku and the QR code of
``/go/{store}?product={id}``: a shopper scans the label on the shelf, the store is credited and the
product's online page opens. Drawn like the posters (:mod:`.posters`): reportlab, the built-in CID
font for Chinese, the QR code as vector squares."""

from __future__ import annotations

import io

from reportlab.lib.colors import HexColor, black
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from .posters import FONT, RED, _draw_qr, _fit

COLUMNS, ROWS = 3, 7
LABEL_W, LABEL_H = 70 * mm, 42 * mm
PER_PAGE = COLUMNS * ROWS


def _label(c: canvas.Canvas, product: dict, url: str, x: float, y: float) -> None:
    pad = 3 * mm
    side = LABEL_H - 2 * pad
    _draw_qr(c, url, x + LABEL_W - side - pad, y + pad, side)
    text_w = LABEL_W - side - 3 * pad
    title = product["title"]
    c.setFillColor(black)
    lines, line = [], ""
    for ch in title:                          # Chinese wraps anywhere: two lines at most
        if c.stringWidth(line + ch, FONT, 9) > text_w:
            lines.append(line)
            line = ""
        line += ch
    lines.append(line)
    c.setFont(FONT, 9)
    for i, text in enumerate(lines[:2]):
        c.drawString(x + pad, y + LABEL_H - pad - 9 - i * 11, text)
    if product.get("price") is not None:
        c.setFillColor(RED)
        c.setFont(FONT, 16)
        c.drawString(x + pad, y + pad + 10, f"¥{product['price']:g}")
    c.setFillColor(HexColor("#5f6b76"))
    c.setFont(FONT, _fit(c, product["sku"], 7, text_w))
    c.drawString(x + pad, y + pad, product["sku"])


def labels_pdf(items: list[tuple[dict, str]]) -> bytes:
    """A4 pages of shelf labels, one per ``(product, go_url)``, 21 to a page."""
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    c.setTitle("o2o shelf labels")
    width, height = A4
    left = (width - COLUMNS * LABEL_W) / 2
    top = height - (height - ROWS * LABEL_H) / 2
    for n, (product, url) in enumerate(items):
        if n and n % PER_PAGE == 0:
            c.showPage()
        col, row = n % COLUMNS, (n % PER_PAGE) // COLUMNS
        _label(c, product, url, left + col * LABEL_W, top - (row + 1) * LABEL_H)
    if not items:
        c.setFont(FONT, 14)
        c.drawString(20 * mm, height - 30 * mm, "No products in this store's stock.")
    c.showPage()
    c.save()
    return out.getvalue()
