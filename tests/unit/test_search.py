"""The search index without a database: folding, words, places, ranking, and the delta."""

from __future__ import annotations

import random

import numpy as np
import pytest

from o2o.geo.index import Filters
from o2o.search.docs import prefix_quality
from o2o.search.index import SearchIndex
from o2o.search.text import address_parts, name_parts, normalise, pinyin_forms, runs, short_place_name


def store(i, name, brand, category, lon, lat, address, city="上海市", district="黄浦区", province="上海市",
          retailer="R", status="open"):
    return {"id": i, "name": name, "brand": brand, "category": category, "lon": lon, "lat": lat,
            "address": address, "province": province, "city": city, "district": district,
            "retailer": retailer, "status": status}


STORES = [
    store(1, "优衣库(南京东路店)", "Uniqlo", "Apparel", 121.4840, 31.2370, "上海市黄浦区南京东路300号恒基名人购物中心2层",
          retailer="Fast Retailing"),
    store(2, "优衣库(徐家汇店)", "Uniqlo", "Apparel", 121.4370, 31.1950, "上海市徐汇区肇嘉浜路1111号美罗城1层",
          district="徐汇区", retailer="Fast Retailing"),
    store(3, "海尔(徐汇专卖店)", "Haier", "Home Appliances", 121.4400, 31.1900, "上海市徐汇区漕溪北路88号",
          district="徐汇区", retailer="Haier Group"),
    store(4, "卡萨帝(徐汇店)", "Casarte", "Home Appliances", 121.4410, 31.1910, "上海市徐汇区漕溪北路90号",
          district="徐汇区", retailer="Haier Group"),
    store(5, "优衣库(湖滨银泰店)", "Uniqlo", "Apparel", 120.1650, 30.2580, "杭州市上城区延安路98号湖滨银泰in77",
          province="浙江省", city="杭州市", district="上城区", retailer="Fast Retailing"),
    store(6, "优衣库(西湖文化广场店)", "Uniqlo", "Apparel", 120.1700, 30.2800, "杭州市拱墅区中山北路568号文化广场",
          province="浙江省", city="杭州市", district="拱墅区", retailer="Fast Retailing"),
    store(7, "盒马鲜生(来福士店)", "Hema", "Supermarket", 121.4760, 31.2330, "上海市黄浦区西藏中路268号来福士广场B1",
          retailer="Hema"),
    store(8, "优衣库(已闭店)", "Uniqlo", "Apparel", 121.4755, 31.2320, "上海市黄浦区人民大道1号", status="closed",
          retailer="Fast Retailing"),
]
PEOPLES_SQUARE = (121.4737, 31.2304)


@pytest.fixture(scope="module")
def index():
    idx = SearchIndex()
    idx.load(STORES)
    return idx


def ids(result):
    return result.ids.tolist()


def test_normalise_folds_width_traditional_and_case():
    assert normalise("優衣庫（ＵＮＩＱＬＯ）") == "优衣库(uniqlo)"


def test_runs_split_at_script_changes():
    assert runs(normalise("优衣库nanjing 海尔,GAP")) == ["优衣库", "nanjing", "海尔", "gap"]


def test_pinyin_forms_keep_digits():
    assert pinyin_forms("优衣库") == ("youyiku", "yyk")
    assert pinyin_forms("361度") == ("361du", "361d")
    assert pinyin_forms("uniqlo") is None


def test_short_place_names_drop_the_suffix_only_when_two_characters_remain():
    assert [short_place_name(n) for n in ("徐汇区", "内蒙古自治区", "东区", "浦东新区")] == ["徐汇", "内蒙古", "东区", "浦东"]


def test_addresses_and_names_are_read_as_shops_write_them():
    assert address_parts("上海市徐汇区肇嘉浜路1111号美罗城1层", ("上海市", "徐汇区")) == (["肇嘉浜路"], ["美罗城"])
    assert name_parts("优衣库（南京东路店）") == ("优衣库", "南京东路店")


def test_closed_stores_are_not_indexed(index):
    assert 8 not in ids(index.search(*PEOPLES_SQUARE, "优衣库", k=20))
    assert len(index) == 7


@pytest.mark.parametrize("q", ["优衣库", "優衣庫", "youyiku", "yyk", "UNIQLO", "uniqol", "uniqo", "Uniqllo"])
def test_every_way_of_typing_a_brand_finds_it(index, q):
    found = index.search(*PEOPLES_SQUARE, q, k=20)
    assert set(ids(found)) == {1, 2, 5, 6}
    d = found.distance_m.tolist()
    assert d == sorted(d)


def test_a_place_word_keeps_only_its_stores_and_orders_from_its_centre(index):
    found = index.search(*PEOPLES_SQUARE, "优衣库 杭州", k=20)
    assert set(ids(found)) == {5, 6} and found.place.name == "杭州市"
    cx, cy = found.place.centre
    from o2o.geo.distance import haversine_m

    where = {s["id"]: (s["lon"], s["lat"]) for s in STORES}
    from_centre = [float(haversine_m(cx, cy, np.array([where[i][0]]), np.array([where[i][1]]))[0]) for i in ids(found)]
    assert from_centre == sorted(from_centre)
    assert all(d > 100_000 for d in found.distance_m)   # still from the shopper in Shanghai


def test_a_district_word_and_a_retailer_match_rank_after_the_brand(index):
    found = index.search(*PEOPLES_SQUARE, "haier 徐汇", k=20)
    assert ids(found) == [3, 4]            # Haier's own store first; Casarte only by its retailer
    assert found.matched_all.tolist() == [True, True]


def test_every_word_first_then_fewer(index):
    found = index.search(*PEOPLES_SQUARE, "优衣库 美罗城", k=20)
    assert ids(found)[0] == 2 and found.matched_all.tolist()[0]
    assert not any(found.matched_all.tolist()[1:])


def test_malls_and_streets_in_addresses_are_found(index):
    assert ids(index.search(*PEOPLES_SQUARE, "来福士", k=5)) == [7]
    assert ids(index.search(*PEOPLES_SQUARE, "laifushi", k=5)) == [7]
    assert 1 in ids(index.search(*PEOPLES_SQUARE, "南京东路", k=5))


def test_category_words_in_both_languages(index):
    assert ids(index.search(*PEOPLES_SQUARE, "超市", k=5)) == [7]
    assert ids(index.search(*PEOPLES_SQUARE, "supermarket", k=5)) == [7]
    assert set(ids(index.search(*PEOPLES_SQUARE, "家电", k=5))) == {3, 4}


def test_nonsense_and_stop_words_find_nothing(index):
    for q in ("qwxzvk", "的", "???", "zzzzzz"):
        assert ids(index.search(*PEOPLES_SQUARE, q)) == [], q


def test_filters_and_radius(index):
    assert set(ids(index.search(*PEOPLES_SQUARE, "徐汇", filters=Filters.of(categories=["Apparel"])))) == {2}
    found = index.search(*PEOPLES_SQUARE, "优衣库", radius_m=1000)
    assert ids(found) == [] and found.fallback[0].tolist() == [1]


def test_prefix_quality():
    assert prefix_quality("you", {"youyiku"}) == 1
    assert prefix_quality("youyiku", {"youyiku"}) == 0
    assert prefix_quality("yik", {"youyiku"}) is None      # not at a syllable a shopper starts with
    assert prefix_quality("衣库", {"优衣库"}) == 2
    assert prefix_quality("x", {"youyiku"}) is None


def test_the_delta_answers_as_a_fresh_build_would():
    """Random adds, moves, renames and closures: the live index equals one built from scratch."""
    rng = random.Random(5)
    live = SearchIndex(min_rebuild=3, rebuild_fraction=0.0)
    current = {s["id"]: dict(s) for s in STORES}
    live.load(current.values())
    names = ["优衣库(新店{})", "海尔(新店{})", "盒马鲜生(新店{})", "屈臣氏(新店{})"]
    brands = ["Uniqlo", "Haier", "Hema", "Watsons"]
    queries = ["优衣库", "youyiku", "海尔", "hema", "新店", "超市", "优衣库 杭州", "watsons", "屈臣氏 徐汇"]
    for step in range(40):
        action = rng.choice(["add", "move", "close", "rename"])
        sid = rng.choice(list(current)) if action != "add" else max(current) + 1
        if action == "add":
            b = rng.randrange(4)
            current[sid] = store(sid, names[b].format(sid), brands[b], "Apparel", 121.40 + rng.random() * 0.1,
                                 31.15 + rng.random() * 0.1, f"上海市徐汇区测试路{sid}号", district="徐汇区")
        elif action == "move":
            current[sid].update(lon=120.1 + rng.random() * 0.1, lat=30.25 + rng.random() * 0.05,
                                province="浙江省", city="杭州市", district="上城区")
        elif action == "close":
            current[sid]["status"] = "closed"
        else:
            current[sid]["name"] = f"优衣库(改名{sid}店)"
        live.upsert(current[sid])
        fresh = SearchIndex()
        fresh.load(current.values())
        for q in queries:
            a = live.search(*PEOPLES_SQUARE, q, k=50)
            b = fresh.search(*PEOPLES_SQUARE, q, k=50)
            assert ids(a) == ids(b), (step, action, q)
            assert np.allclose(a.distance_m, b.distance_m)
