"""schema.org ``Store`` JSON-LD for a store's page: what search engines show as a place.

>>> d = store_jsonld({"name": "优衣库(来福士店)", "category": "Apparel", "address": "西藏中路268号",
...                   "province": "上海市", "city": "上海市", "district": "黄浦区", "lon": 121.476, "lat": 31.233,
...                   "phone": "021-60000001", "hours": "10:00-22:00", "status": "open"}, "https://o2o.cn/stores/1")
>>> d["@type"], d["geo"]["latitude"], d["openingHoursSpecification"][0]["opens"]
('ClothingStore', 31.233, '10:00')
"""

from __future__ import annotations

from datetime import datetime

from ..geo.hours import HoursError, coming_special, parse_hours

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
# The festival's categories as schema.org's Store subtypes; any other category is a plain Store.
STORE_TYPES = {
    "Apparel": "ClothingStore", "Kids & Baby": "ClothingStore", "Sportswear": "SportingGoodsStore",
    "Electronics": "ElectronicsStore", "Home Appliances": "ElectronicsStore", "Department Store": "DepartmentStore",
    "Supermarket": "GroceryStore", "Jewellery": "JewelryStore", "Home & Furniture": "FurnitureStore",
    "Footwear": "ShoeStore",
}


def _clock(minute: int) -> str:
    """``HH:MM`` of a minute of the day; a range's end past midnight wraps (schema.org reads a
    ``closes`` before ``opens`` as the next day), and 24:00 is written 23:59."""
    if minute == 1440:
        return "23:59"
    minute %= 1440
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _ranges(ranges, **extra) -> list[dict]:
    return [{"@type": "OpeningHoursSpecification", **extra, "opens": _clock(start), "closes": _clock(end)}
            for start, end in ranges]


def opening_hours(hours: str | None, special=None, now: datetime | None = None) -> list[dict]:
    """The daily hours (every day of the week), then each coming dated exception (festival hours;
    a closed day as opens = closes = 00:00, as search engines read it)."""
    out = []
    if hours:
        try:
            out += _ranges(parse_hours(hours), dayOfWeek=DAYS)
        except HoursError:
            pass
    if special and now is not None:
        for day, ranges in coming_special(special, now):
            dated = {"validFrom": day.isoformat(), "validThrough": day.isoformat()}
            out += _ranges(ranges, **dated) if ranges else [
                {"@type": "OpeningHoursSpecification", **dated, "opens": "00:00", "closes": "00:00"}]
    return out


def store_jsonld(store: dict, url: str, now: datetime | None = None, brand_name: str | None = None) -> dict:
    """A store as a schema.org ``Store`` (or its subtype by category): name, address, geo
    (WGS-84, as stored), telephone, opening hours, url (the page's canonical address)."""
    region = store.get("city") if store.get("city") and store.get("city") != store.get("province") else None
    address = {"@type": "PostalAddress", "streetAddress": store.get("address"),
               "addressLocality": region or store.get("city") or store.get("province"),
               "addressRegion": store.get("province"), "addressCountry": "CN"}
    if store.get("district"):
        address["addressLocality"] = " ".join(x for x in (region, store["district"]) if x)
    out = {
        "@context": "https://schema.org",
        "@type": STORE_TYPES.get(store.get("category"), "Store"),
        "@id": url,
        "name": store.get("name"),
        "url": url,
        "address": {k: v for k, v in address.items() if v},
        "geo": {"@type": "GeoCoordinates", "latitude": store["lat"], "longitude": store["lon"]},
    }
    if store.get("phone"):
        out["telephone"] = store["phone"]
    hours = opening_hours(store.get("hours"), store.get("special_hours"), now)
    if hours:
        out["openingHoursSpecification"] = hours
    if store.get("brand"):
        out["brand"] = {"@type": "Brand", "name": brand_name or store["brand"]}
    if store.get("status") == "closed":
        out["publicAccess"] = False
    return out
