"""Draw the app's icons (the web app manifest's and the home-screen one) with Pillow.

    .venv/bin/python scripts/make_icons.py          # writes static/icons/*.png
    .venv/bin/python scripts/make_icons.py --check  # exit 1 if a committed icon differs

Shapes only, no font: the same pixels on every machine. A white map pin on the top bar's red
(#d7282b), drawn four times larger and scaled down for smooth edges. ``icon-*.png`` are rounded squares on a transparent ground ("any" purpose);
``maskable-512.png`` fills the square and keeps the pin inside the central 80 % circle that
every mask leaves visible; ``apple-touch-icon.png`` is square and opaque (iOS rounds it itself).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "static" / "icons"
RED = (0xD7, 0x28, 0x2B, 255)  # the top bar's red (--red in static/css/app.css)
WHITE = (255, 255, 255, 255)
SUPERSAMPLE = 4

# name -> (size in px, shape of the ground, share of the side the pin's height takes)
ICONS = {
    "icon-192.png": (192, "rounded", 0.62),
    "icon-512.png": (512, "rounded", 0.62),
    "maskable-512.png": (512, "full", 0.48),
    "apple-touch-icon.png": (180, "full", 0.58),
}


def draw_icon(size: int, ground: str, pin_share: float) -> Image.Image:
    """One icon as an RGBA image of ``size`` × ``size`` pixels."""
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if ground == "rounded":
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=round(big * 0.2), fill=RED)
    else:
        draw.rectangle((0, 0, big - 1, big - 1), fill=RED)

    # The pin: a circle on top of a triangle whose sides touch it, tip at the bottom.
    height = big * pin_share
    r = height * 0.36
    cx, cy = big / 2, (big - height) / 2 + r
    tip_y = cy - r + height
    pin = Image.new("L", (big, big), 0)
    pin_draw = ImageDraw.Draw(pin)
    pin_draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    d = tip_y - cy                        # tangent points of lines from the tip to the circle
    t_y = cy + r * r / d
    t_dx = r * (d * d - r * r) ** 0.5 / d
    pin_draw.polygon([(cx - t_dx, t_y), (cx + t_dx, t_y), (cx, tip_y)], fill=255)
    hole_r = r * 0.42
    hole = Image.new("L", (big, big), 0)
    ImageDraw.Draw(hole).ellipse((cx - hole_r, cy - hole_r, cx + hole_r, cy + hole_r), fill=255)
    pin = ImageChops.subtract(pin, hole)
    image.paste(Image.new("RGBA", (big, big), WHITE), (0, 0), pin)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def icons() -> dict[str, Image.Image]:
    """Every icon by file name."""
    return {name: draw_icon(*spec) for name, spec in ICONS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed icons, write nothing")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    differ = []
    for name, image in icons().items():
        path = OUT / name
        if args.check:
            if not path.is_file() or Image.open(path).convert("RGBA").tobytes() != image.tobytes():
                differ.append(name)
        else:
            image.save(path, optimize=True)
            print(f"{path.relative_to(ROOT)}: {image.width}x{image.height}")
    if differ:
        print("out of date (run scripts/make_icons.py): " + ", ".join(differ), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
