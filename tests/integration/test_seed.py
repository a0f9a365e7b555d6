"""The demo festival's stores: deterministic, on land in mainland China, shaped like the campaign."""

import numpy as np
import pandas as pd
import pytest

from o2o.regions import load_level, load_regions
from o2o.seed.catalogue import BRANDS
from o2o.seed.stores import generate

CAMPAIGN_NAMES = {"Uniqlo", "GAP", "Haier", "GXG", "Intime", "Marks & Spencer", "Gome", "Hongtu Sanbao"}


@pytest.fixture(scope="module")
def stores() -> pd.DataFrame:
    return generate(30_000, 1111).stores


def test_same_seed_same_stores():
    a = generate(1500, 7).stores
    b = generate(1500, 7).stores
    pd.testing.assert_frame_equal(a, b)


def test_other_seed_other_stores():
    a = generate(1500, 7).stores
    c = generate(1500, 8).stores
    assert not np.allclose(a["lon"].to_numpy(), c["lon"].to_numpy())


def test_thirty_thousand_stores_with_unique_codes_per_retailer(stores):
    assert len(stores) == 30_000
    assert not stores.duplicated(["retailer", "external_id"]).any()


def test_brands_and_categories_include_the_campaigns_own(stores):
    assert stores["brand"].nunique() >= 40
    assert stores["category"].nunique() >= 8
    assert CAMPAIGN_NAMES <= set(stores["brand"])


def test_every_store_is_inside_a_mainland_district_polygon(stores):
    regions = load_regions()
    where = regions.locate(stores["lon"].to_numpy(), stores["lat"].to_numpy())
    assert where["mainland"].all()
    assert (where["district"].to_numpy() == stores["district"].to_numpy()).all()
    assert (where["city"].to_numpy() == stores["city"].to_numpy()).all()
    assert (where["province"].to_numpy() == stores["province"].to_numpy()).all()
    for hk_mo_tw in ("香港", "澳门", "台湾"):
        assert not stores["province"].str.startswith(hk_mo_tw).any()


def test_stores_spread_across_china(stores):
    assert stores["province"].nunique() >= 28
    assert stores["city"].nunique() >= 250


def test_a_regional_chain_stays_mostly_at_home(stores):
    intime = stores[stores["brand"] == "Intime"]
    assert (intime["province"] == "浙江省").mean() > 0.6
    sanbao = stores[stores["brand"] == "Hongtu Sanbao"]
    assert (sanbao["province"] == "江苏省").mean() > 0.6


def test_a_national_brand_follows_city_size(stores):
    haier = stores[stores["brand"] == "Haier"].groupby("city").size()
    assert haier.get("上海市", 0) > haier.median() * 5
    gap = stores[stores["brand"] == "GAP"]
    # GAP is only in big cities: few cities, each with several stores.
    assert gap["city"].nunique() < 60


def test_no_two_stores_of_a_brand_within_twenty_metres(stores):
    from scipy.spatial import cKDTree

    from o2o.geo.distance import EARTH_RADIUS_M, unit_vectors

    for brand, group in stores.groupby("brand"):
        tree = cKDTree(unit_vectors(group["lon"], group["lat"]))
        assert not tree.query_pairs(20.0 / EARTH_RADIUS_M), brand


def test_fields_vary_like_real_data(stores):
    assert stores["hours"].nunique() >= 8
    assert stores["phone"].str.match(r"^(0\d{2,3}-\d{7,8}|1\d{2}-\d{4}-\d{4})$").all()
    assert stores["online_url"].str.startswith("https://").all()
    assert stores["address"].str.len().min() > 6
    assert 0 < (stores["status"] == "closed").mean() < 0.02


def test_geodata_levels_are_wgs84_and_cover_china():
    provinces = load_level("provinces")
    assert provinces.crs.to_epsg() == 4326
    assert len(provinces) >= 34
    districts = load_level("districts")
    assert districts["mainland"].sum() > 2800
    assert districts.geometry.is_valid.all()


@pytest.mark.parametrize("lon, lat, district", [
    (116.3975, 39.9087, "东城区"), (121.4737, 31.2304, "黄浦区"), (113.3245, 23.1064, "海珠区"),
])
def test_landmarks_fall_in_their_districts(lon, lat, district):
    assert load_regions().locate_one(lon, lat)["district"] == district


def test_the_sea_is_in_no_district():
    assert load_regions().locate_one(123.0, 30.0) is None  # East China Sea


def test_every_catalogue_brand_is_seeded(stores):
    assert set(stores["brand"]) == {b.name for b in BRANDS}
