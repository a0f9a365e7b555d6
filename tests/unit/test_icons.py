"""The committed app icons are what scripts/make_icons.py draws, at the sizes the manifest states."""

import importlib.util
from pathlib import Path

from PIL import Image

from o2o.web import offline

ROOT = Path(__file__).resolve().parent.parent.parent


def _make_icons():
    spec = importlib.util.spec_from_file_location("make_icons", ROOT / "scripts" / "make_icons.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_icons_are_the_script_drawing_pixel_for_pixel():
    drawn = _make_icons().icons()
    for name, image in drawn.items():
        committed = Image.open(ROOT / "static" / "icons" / name)
        assert committed.format == "PNG"
        assert committed.convert("RGBA").tobytes() == image.tobytes(), f"{name}: run scripts/make_icons.py"


def test_manifest_icons_exist_at_their_sizes():
    for name, size, _ in offline.ICONS:
        assert Image.open(ROOT / "static" / "icons" / name).size == (size, size)
    assert Image.open(ROOT / "static" / "icons" / "apple-touch-icon.png").size == (180, 180)


def test_maskable_icon_is_opaque_and_keeps_the_pin_inside_the_safe_circle():
    image = Image.open(ROOT / "static" / "icons" / "maskable-512.png").convert("RGBA")
    assert image.getextrema()[3] == (255, 255)          # no transparency: a mask may cut anywhere
    # Every white pixel (the pin) lies within the central circle of 40 % of the side's radius.
    pixels = image.load()
    for y in range(0, 512, 2):
        for x in range(0, 512, 2):
            r, g, b, _ = pixels[x, y]
            if r > 250 and g > 250 and b > 250:
                assert (x - 256) ** 2 + (y - 256) ** 2 <= (0.4 * 512) ** 2
