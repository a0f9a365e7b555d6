"""Printable QR posters for stores: A5 or A4, Chinese and English, one page per store (PDF).

Made with reportlab; Chinese text uses reportlab's built-in CID font (STSong-Light), so no font
file is needed and nothing is fetched. The QR code is drawn from segno's module matrix as
vector squares, so it prints sharp at any size.
"""

from __future__ import annotations

import io

import segno
from reportlab.lib.colors import HexColor, black, white
from reportlab.lib.pagesizes import A4, A5
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

SIZES = {"a4": A4, "a5": A5}
FONT = "STSong-Light"
RED = HexColor("#e4393c")
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

LINES_ZH = "扫码进入品牌官方网店下单，业绩计入本店"
LINES_EN = "Scan to buy online from the brand's shop: the sale is credited to this store."


def _fit(c: canvas.Canvas, text: str, size: float, max_width: float) -> float:
    while size > 6 and pdfmetrics.stringWidth(text, FONT, size) > max_width:
        size -= 0.5
    return size


def _draw_qr(c: canvas.Canvas, url: str, x: float, y: float, side: float) -> None:
    code = segno.make(url, error="q", boost_error=True, micro=False)
    matrix = list(code.matrix)
    n = len(matrix)
    quiet = 4
    module = side / (n + 2 * quiet)
    c.setFillColor(white)
    c.rect(x, y, side, side, stroke=0, fill=1)
    c.setFillColor(black)
    for row, bits in enumerate(matrix):
        for col, bit in enumerate(bits):
            if bit:
                c.rect(x + (col + quiet) * module, y + side - (row + quiet + 1) * module,
                       module * 1.02, module * 1.02, stroke=0, fill=1)


def _page(c: canvas.Canvas, store: dict, go_url: str, size: tuple[float, float]) -> None:
    width, height = size
    margin = 12 * mm if width < 160 * mm else 18 * mm
    usable = width - 2 * margin
    scale = width / A5[0]
    c.setFillColor(RED)
    c.rect(0, height - 30 * mm * scale, width, 30 * mm * scale, stroke=0, fill=1)
    c.setFillColor(white)
    c.setFont(FONT, 26 * scale)
    c.drawString(margin, height - 19 * mm * scale, "11.11 扫码购 Scan & Shop")
    c.setFillColor(black)
    y = height - 30 * mm * scale - 14 * mm * scale
    brand_size = _fit(c, store["brand"], 22 * scale, usable)
    c.setFont(FONT, brand_size)
    c.drawCentredString(width / 2, y, store["brand"])
    y -= 10 * mm * scale
    name_size = _fit(c, store["name"], 15 * scale, usable)
    c.setFont(FONT, name_size)
    c.drawCentredString(width / 2, y, store["name"])
    side = min(usable, 95 * mm * scale)
    y -= side + 8 * mm * scale
    _draw_qr(c, go_url, (width - side) / 2, y, side)
    y -= 9 * mm * scale
    c.setFont(FONT, _fit(c, go_url, 11 * scale, usable))
    c.drawCentredString(width / 2, y, go_url)
    y -= 10 * mm * scale
    c.setFont(FONT, _fit(c, LINES_ZH, 13 * scale, usable))
    c.drawCentredString(width / 2, y, LINES_ZH)
    y -= 7 * mm * scale
    c.setFont(FONT, _fit(c, LINES_EN, 10 * scale, usable))
    c.drawCentredString(width / 2, y, LINES_EN)
    c.setFont(FONT, 8 * scale)
    c.setFillColor(HexColor("#5f6b76"))
    c.drawCentredString(width / 2, margin / 2, (store.get("address") or "")[:80])


def posters_pdf(stores: list[tuple[dict, str]], size: str = "a5") -> bytes:
    """One page per ``(store, go_url)``; ``size`` is ``a5`` or ``a4``."""
    if size not in SIZES:
        raise ValueError("size must be a4 or a5")
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=SIZES[size], pageCompression=1)
    c.setTitle("o2o 11.11 QR posters")
    for store, url in stores:
        _page(c, store, url, SIZES[size])
        c.showPage()
    if not stores:
        c.setFont(FONT, 14)
        c.drawString(20 * mm, SIZES[size][1] - 30 * mm, "No open stores.")
        c.showPage()
    c.save()
    return out.getvalue()
