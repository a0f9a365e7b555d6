"""The relevance set: queries as Chinese shoppers type them, each with what must come back.

On the seeded festival (30,000 stores, the default seed), through the public API. Each case is
(query, where the shopper stands, what the answer must be). The kinds follow how people type on
a phone: characters, full pinyin, pinyin initials, traditional characters, English in any case,
a typo, brand + city, brand + district, category words, mall names, and nonsense.
"""

from __future__ import annotations

import math

import pytest

from o2o.web import create_app

SHANGHAI = (31.2304, 121.4737)    # People's Square
BEIJING = (39.9087, 116.3975)     # Tiananmen
HANGZHOU = (30.2590, 120.1490)    # West Lake
NANJING = (32.0417, 118.7840)     # Xinjiekou
GUANGZHOU = (23.1291, 113.2644)
CHENGDU = (30.6586, 104.0647)
GUOMAO = (39.9087, 116.4605)      # Beijing's CBD, in Chaoyang district


def brand(*names):
    return ("brand", set(names))


def city(name):
    return ("city", name)


def district(city_name, name):
    return ("district", (city_name, name))


def category(name):
    return ("category", name)


def address_has(text):
    return ("address", text)


EMPTY = ("empty", None)

# (query, origin, [expectations]); every expectation holds for every store returned (k=10),
# and every non-empty answer has at least one store.
CASES = [
    # Characters
    ("优衣库", SHANGHAI, [brand("Uniqlo"), city("上海市")]),
    ("海尔", SHANGHAI, [brand("Haier")]),
    ("国美", SHANGHAI, [brand("Gome")]),
    ("银泰百货", HANGZHOU, [brand("Intime")]),
    ("玛莎百货", SHANGHAI, [brand("Marks & Spencer")]),
    ("宏图三胞", NANJING, [brand("Hongtu Sanbao")]),
    ("杰克琼斯", BEIJING, [brand("Jack & Jones")]),
    ("盒马", SHANGHAI, [brand("Hema")]),
    ("屈臣氏", GUANGZHOU, [brand("Watsons")]),
    ("小米之家", CHENGDU, [brand("Xiaomi Home")]),
    # Full pinyin
    ("youyiku", SHANGHAI, [brand("Uniqlo")]),
    ("guomei", SHANGHAI, [brand("Gome")]),
    ("yintaibaihuo", HANGZHOU, [brand("Intime")]),
    ("quchenshi", GUANGZHOU, [brand("Watsons")]),
    ("hemaxiansheng", SHANGHAI, [brand("Hema")]),
    ("darunfa", SHANGHAI, [brand("RT-Mart")]),
    ("jiekeqiongsi", BEIJING, [brand("Jack & Jones")]),
    ("you yi ku", SHANGHAI, [brand("Uniqlo")]),
    # Pinyin initials
    ("yyk", SHANGHAI, [brand("Uniqlo")]),
    ("gmdq", SHANGHAI, [brand("Gome")]),
    ("qcs", GUANGZHOU, [brand("Watsons")]),
    ("hmxs", SHANGHAI, [brand("Hema")]),
    ("drf", SHANGHAI, [brand("RT-Mart")]),
    ("zdf", BEIJING, [brand("Chow Tai Fook")]),
    # Traditional characters
    ("優衣庫", SHANGHAI, [brand("Uniqlo")]),
    ("國美電器", SHANGHAI, [brand("Gome")]),
    ("銀泰百貨", HANGZHOU, [brand("Intime")]),
    ("絲芙蘭", SHANGHAI, [brand("Sephora")]),
    ("海爾", BEIJING, [brand("Haier")]),
    ("傑克瓊斯", BEIJING, [brand("Jack & Jones")]),
    # English, any case
    ("UNIQLO", SHANGHAI, [brand("Uniqlo")]),
    ("uniqlo", BEIJING, [brand("Uniqlo")]),
    ("Sephora", SHANGHAI, [brand("Sephora")]),
    ("ZARA", SHANGHAI, [brand("Zara")]),
    ("h&m", SHANGHAI, [brand("H&M")]),
    ("Jack & Jones", SHANGHAI, [brand("Jack & Jones")]),
    ("marks & spencer", SHANGHAI, [brand("Marks & Spencer")]),
    ("Li-Ning", BEIJING, [brand("Li-Ning")]),
    ("ＵＮＩＱＬＯ", SHANGHAI, [brand("Uniqlo")]),   # full-width, as some keyboards type
    # One typo: swapped, missing, extra, wrong letter
    ("uniqol", SHANGHAI, [brand("Uniqlo")]),
    ("uniqo", SHANGHAI, [brand("Uniqlo")]),
    ("uniqllo", SHANGHAI, [brand("Uniqlo")]),
    ("unoqlo", SHANGHAI, [brand("Uniqlo")]),
    ("sephroa", SHANGHAI, [brand("Sephora")]),
    ("skechres", SHANGHAI, [brand("Skechers")]),
    ("youyku", SHANGHAI, [brand("Uniqlo")]),
    # Brand + city (from elsewhere: only that city's stores, from its centre outwards)
    ("优衣库 杭州", SHANGHAI, [brand("Uniqlo"), city("杭州市"), "from_place"]),
    ("优衣库 南京", SHANGHAI, [brand("Uniqlo"), city("南京市"), "from_place"]),
    ("海尔 上海", BEIJING, [brand("Haier"), city("上海市"), "from_place"]),
    ("uniqlo hangzhou", SHANGHAI, [brand("Uniqlo"), city("杭州市"), "from_place"]),
    ("优衣库北京", SHANGHAI, [brand("Uniqlo"), city("北京市"), "from_place"]),
    ("杭州 优衣库", SHANGHAI, [brand("Uniqlo"), city("杭州市"), "from_place"]),
    ("海尔 广州", GUANGZHOU, [brand("Haier"), city("广州市"), "nearest_first"]),
    # Brand + district
    ("海尔 徐汇", SHANGHAI, [brand("Haier"), district("上海市", "徐汇区")]),
    ("优衣库 朝阳", GUOMAO, [brand("Uniqlo"), district("北京市", "朝阳区"), "nearest_first"]),
    ("海尔 朝阳", BEIJING, [brand("Haier"), district("北京市", "朝阳区"), "from_place"]),
    # (Casarte's retailer is Haier Group: a weaker match, after every Haier store)
    ("haier xuhui", SHANGHAI, [("brand_then", ("Haier", "Casarte")), district("上海市", "徐汇区")]),
    ("优衣库 浦东", SHANGHAI, [brand("Uniqlo"), district("上海市", "浦东新区")]),
    # Category words
    ("超市", SHANGHAI, [category("Supermarket"), "nearest_first"]),
    ("家电", SHANGHAI, [category("Home Appliances")]),
    ("supermarket", SHANGHAI, [category("Supermarket")]),
    ("化妆品", SHANGHAI, [category("Beauty")]),
    ("珠宝", BEIJING, [category("Jewellery")]),
    ("母婴", CHENGDU, [category("Kids & Baby")]),
    ("超市 杭州", SHANGHAI, [category("Supermarket"), city("杭州市"), "from_place"]),
    ("Home Appliances", SHANGHAI, [category("Home Appliances")]),
    # (百货 is also in the names of malls, 百货大楼: what a store is comes before what it mentions)
    ("百货", BEIJING, [category("Department Store")]),
    ("运动", GUANGZHOU, [category("Sportswear")]),
    ("女鞋", SHANGHAI, [category("Footwear")]),
    ("鞋", SHANGHAI, [("category_in", {"Footwear", "Sportswear"})]),   # 运动鞋 are shoes too
    # Malls and streets the addresses know
    ("万达广场", SHANGHAI, [address_has("万达广场"), "nearest_first"]),
    ("来福士", SHANGHAI, [address_has("来福士")]),
    ("wandaguangchang", SHANGHAI, [address_has("万达广场")]),
    ("优衣库 万达广场", SHANGHAI, [brand("Uniqlo"), address_has("万达广场")]),
    # Nonsense
    ("qwxzvk", SHANGHAI, [EMPTY]),
    ("zzzzzz", SHANGHAI, [EMPTY]),
    ("￥#@!", SHANGHAI, [EMPTY]),
    ("的", SHANGHAI, [EMPTY]),
]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    db = tmp_path_factory.mktemp("relevance") / "o2o.db"
    app = create_app({"DATABASE_URL": f"sqlite:///{db}", "SEED_STORES": 30000, "SEED_SCANS": 0,
                      "SECRET_KEY": "t", "TESTING": True})
    return app.test_client()


def _haversine(lon1, lat1, lon2, lat2):
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def test_the_set_has_every_kind_and_at_least_60_queries():
    assert len(CASES) >= 60
    assert len({q for q, _o, _e in CASES}) == len(CASES)


@pytest.mark.parametrize("query, origin, expect", CASES, ids=[c[0] for c in CASES])
def test_relevance(client, query, origin, expect):
    lat, lon = origin
    r = client.get("/api/v1/stores/nearby", query_string={"lat": lat, "lon": lon, "q": query, "k": 10})
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    feats = body["features"]
    if EMPTY in expect:
        assert feats == [], [f["properties"]["name"] for f in feats]
        return
    assert feats, f"{query!r} found nothing"
    props = [f["properties"] for f in feats]
    for exp in expect:
        if exp == "nearest_first":
            d = [p["distance_m"] for p in props]
            assert d == sorted(d)
        elif exp == "from_place":
            # The shopper is elsewhere: ordered from the place's centre; distance_m from the shopper.
            cx, cy = body["place"]["geometry"]["coordinates"]
            from_centre = [_haversine(cx, cy, p["lon"], p["lat"]) for p in props]
            assert from_centre == sorted(from_centre)
            for p in props:
                assert p["distance_m"] == pytest.approx(_haversine(lon, lat, p["lon"], p["lat"]), abs=1.0)
        else:
            kind, value = exp
            if kind == "brand_then":
                seen = [p["brand"] for p in props]
                assert seen[0] == value[0] and seen == sorted(seen, key=value.index), seen
            for p in props:
                if kind == "brand":
                    assert p["brand"] in value, (query, p["name"])
                elif kind == "brand_then":
                    assert p["brand"] in value, (query, p["name"])
                elif kind == "city":
                    assert p["city"] == value, (query, p["name"], p["city"])
                elif kind == "district":
                    assert (p["city"], p["district"]) == value, (query, p["name"])
                elif kind == "category":
                    assert p["category"] == value, (query, p["name"])
                elif kind == "category_in":
                    assert p["category"] in value, (query, p["name"])
                elif kind == "address":
                    assert value in p["address"], (query, p["name"], p["address"])


def test_a_place_word_names_the_place_in_the_answer(client):
    lat, lon = SHANGHAI
    body = client.get("/api/v1/stores/nearby", query_string={"lat": lat, "lon": lon, "q": "优衣库 杭州"}).get_json()
    assert body["place"]["properties"]["name"] == "杭州市"
    assert body["place"]["properties"]["level"] == "city"


def test_inside_the_place_the_shopper_is_the_origin(client):
    lat, lon = SHANGHAI
    body = client.get("/api/v1/stores/nearby", query_string={"lat": lat, "lon": lon, "q": "优衣库 上海"}).get_json()
    d = [f["properties"]["distance_m"] for f in body["features"]]
    assert d and d == sorted(d) and all(f["properties"]["city"] == "上海市" for f in body["features"])


def test_stores_holding_every_word_come_first(client):
    lat, lon = SHANGHAI
    body = client.get("/api/v1/stores/nearby",
                      query_string={"lat": lat, "lon": lon, "q": "优衣库 来福士", "k": 50}).get_json()
    full = [("来福士" in f["properties"]["address"] and f["properties"]["brand"] == "Uniqlo")
            for f in body["features"]]
    assert full[0]
    assert full == sorted(full, reverse=True)   # all the full matches, then the partial ones


def test_search_keeps_filters_and_radius(client):
    lat, lon = SHANGHAI
    body = client.get("/api/v1/stores/nearby", query_string={
        "lat": lat, "lon": lon, "q": "万达广场", "category": "Apparel", "radius_km": 10, "k": 50}).get_json()
    assert body["features"]
    for f in body["features"]:
        assert f["properties"]["category"] == "Apparel" and f["properties"]["distance_m"] <= 10_000


def test_search_with_a_radius_that_holds_none_names_the_nearest(client):
    lat, lon = SHANGHAI
    body = client.get("/api/v1/stores/nearby", query_string={
        "lat": lat, "lon": lon, "q": "宏图三胞", "radius_km": 1}).get_json()
    assert body["features"] == []
    assert body["nearest"]["properties"]["brand"] == "Hongtu Sanbao"


# ---------------------------------------------------------------------------- places, suggest
@pytest.mark.parametrize("q, name, level", [
    ("杭州", "杭州市", "city"), ("hangzhou", "杭州市", "city"), ("徐汇", "徐汇区", "district"),
    ("xuhui", "徐汇区", "district"), ("浙江", "浙江省", "province"), ("上海", "上海市", "city"),
    ("浦东", "浦东新区", "district"), ("hang zhou", "杭州市", "city"), ("杭州市", "杭州市", "city"),
])
def test_places_finds_admin_areas_by_words_or_pinyin(client, q, name, level):
    body = client.get("/api/v1/places", query_string={"q": q}).get_json()
    first = body["features"][0]
    assert (first["properties"]["name"], first["properties"]["level"]) == (name, level)
    w, s, e, n = first["bbox"]
    x, y = first["geometry"]["coordinates"]
    assert w < e and s < n and w <= x <= e and s <= y <= n
    assert set(first["properties"]) >= {"name", "level", "province", "city"}


def test_places_knows_malls_and_streets_from_addresses(client):
    lat, lon = SHANGHAI
    body = client.get("/api/v1/places", query_string={"q": "万达广场", "lat": lat, "lon": lon}).get_json()
    first = body["features"][0]["properties"]
    assert (first["name"], first["level"], first["city"]) == ("万达广场", "mall", "上海市")


def test_places_answers_nothing_for_nonsense(client):
    assert client.get("/api/v1/places", query_string={"q": "qwxzvk"}).get_json()["features"] == []


def test_places_and_suggest_name_the_bad_parameter(client):
    for path in ("/api/v1/places", "/api/v1/suggest"):
        r = client.get(path)
        assert r.status_code == 400 and r.get_json()["error"]["field"] == "q"
        r = client.get(path, query_string={"q": "x" * 101})
        assert r.status_code == 400 and r.get_json()["error"]["field"] == "q"
        r = client.get(path, query_string={"q": "杭州", "lat": "31"})
        assert r.status_code == 400 and r.get_json()["error"]["field"] == "lon"
        r = client.get(path, query_string={"q": "杭州", "limit": "0"})
        assert r.status_code == 400 and r.get_json()["error"]["field"] == "limit"


@pytest.mark.parametrize("q, kind, value", [
    ("yyk", "brand", "Uniqlo"), ("优", "brand", "Uniqlo"), ("uni", "brand", "Uniqlo"),
    ("hai", "brand", "Haier"), ("超", "category", "Supermarket"), ("杭", "place", "杭州市"),
    ("hangz", "place", "杭州市"), ("海尔", "brand", "Haier"), ("優衣", "brand", "Uniqlo"),
])
def test_suggest_offers_what_is_being_typed(client, q, kind, value):
    lat, lon = SHANGHAI
    body = client.get("/api/v1/suggest", query_string={"q": q, "lat": lat, "lon": lon}).get_json()
    items = body["suggestions"]
    assert 0 < len(items) <= 10
    assert any(s["type"] == kind and (s.get("value") == value or s["text"] == value) for s in items), items
    for s in items:
        assert s["type"] in ("brand", "place", "category", "store", "product") and s["text"]


def test_suggest_gives_a_place_its_bbox_and_a_store_its_id(client):
    lat, lon = SHANGHAI
    items = client.get("/api/v1/suggest", query_string={"q": "徐汇", "lat": lat, "lon": lon}).get_json()["suggestions"]
    place = next(s for s in items if s["type"] == "place")
    assert place["text"] == "徐汇区" and len(place["bbox"]) == 4
    items = client.get("/api/v1/suggest", query_string={"q": "优衣库", "lat": lat, "lon": lon}).get_json()["suggestions"]
    store = next(s for s in items if s["type"] == "store")
    assert client.get(f"/api/v1/stores/{store['id']}").get_json()["properties"]["brand"] == "Uniqlo"


def test_features_carry_the_category_in_chinese(client):
    lat, lon = SHANGHAI
    for q in ({"q": "超市"}, {"category": "Supermarket"}):
        body = client.get("/api/v1/stores/nearby", query_string={"lat": lat, "lon": lon, **q}).get_json()
        assert body["features"] and all(f["properties"]["category_zh"] == "超市" for f in body["features"])


def test_places_and_search_answer_in_the_coordinate_system_asked_for(client):
    from o2o.geo import crs

    wgs = client.get("/api/v1/places", query_string={"q": "徐汇"}).get_json()["features"][0]
    gcj = client.get("/api/v1/places", query_string={"q": "徐汇", "crs": "gcj02"}).get_json()["features"][0]
    assert gcj["geometry"]["coordinates"] == pytest.approx(list(crs.wgs84_to_gcj02(*wgs["geometry"]["coordinates"])), abs=1e-5)
    lat, lon = crs.wgs84_to_gcj02(121.4737, 31.2304)[::-1]
    body = client.get("/api/v1/stores/nearby", query_string={"lat": lat, "lon": lon, "crs": "gcj02", "q": "海尔 徐汇"}).get_json()
    plain = client.get("/api/v1/stores/nearby", query_string={"lat": 31.2304, "lon": 121.4737, "q": "海尔 徐汇"}).get_json()
    assert [f["id"] for f in body["features"]] == [f["id"] for f in plain["features"]]
    assert body["place"]["geometry"]["coordinates"] == pytest.approx(
        list(crs.wgs84_to_gcj02(*plain["place"]["geometry"]["coordinates"])), abs=1e-5)


def test_suggest_completes_the_last_word_and_keeps_the_others(client):
    lat, lon = SHANGHAI
    items = client.get("/api/v1/suggest", query_string={"q": "海尔 xu", "lat": lat, "lon": lon}).get_json()["suggestions"]
    place = next(s for s in items if s["type"] == "place")
    assert place["text"] == "徐汇区" and place["query"] == "海尔 徐汇区"   # the district near the shopper first
    body = client.get("/api/v1/stores/nearby", query_string={"lat": lat, "lon": lon, "q": place["query"]}).get_json()
    assert body["features"] and all(f["properties"]["brand"] == "Haier" and f["properties"]["district"] == "徐汇区"
                                    for f in body["features"])
