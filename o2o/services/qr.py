"""QR codes of stores' deep links, made with segno.

Error correction level Q (25 % of the code can be lost) so a printed poster still scans
through glare, a crease or a sticker; segno raises it further when the data allows.
"""

from __future__ import annotations

import io

import segno

MIMETYPES = {"svg": "image/svg+xml", "png": "image/png"}


def render(url: str, kind: str = "svg", scale: int | None = None) -> tuple[bytes, str]:
    """The QR code of ``url`` as SVG or PNG bytes, with its MIME type."""
    if kind not in MIMETYPES:
        raise ValueError(f"unknown QR format {kind!r}")
    code = segno.make(url, error="q", boost_error=True, micro=False)
    scale = min(max(scale or (4 if kind == "svg" else 8), 1), 40)
    out = io.BytesIO()
    if kind == "svg":
        code.save(out, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True,
                  title="QR code: " + url)
    else:
        code.save(out, kind="png", scale=scale, border=4)
    return out.getvalue(), MIMETYPES[kind]
