"""Answer models of the demand endpoints (issue 17), for the OpenAPI document (:mod:`o2o.web.docs`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .schemas import Polygon, _Model


class DemandCell(_Model):
    h3: str
    searches: int
    unmet: int = Field(description="Searches whose nearest match was more than 5 km away, or absent")


class DemandFeature(_Model):
    type: Literal["Feature"]
    id: str
    geometry: Polygon
    properties: DemandCell


class Demand(_Model):
    """H3 cells of shoppers' searches (no personal data): searches and unmet searches in each"""

    type: Literal["FeatureCollection"]
    features: list[DemandFeature]
    res: int
    searches: int
    unmet: int
    max: int


class DemandRegionRow(_Model):
    province: str
    city: str = None
    searches: int
    unmet: int
    share_met: float
    west: float | None = None
    south: float | None = None
    east: float | None = None
    north: float | None = None


class DemandRegionFeature(_Model):
    type: Literal["Feature"]
    bbox: list[float] = Field(min_length=4, max_length=4)
    geometry: "PointGeometry"
    properties: dict


class DemandRegions(_Model):
    """``{level, rows}``, or with ``format=geojson`` a FeatureCollection of the regions' centres"""

    level: Literal["province", "city"] = None
    rows: list[DemandRegionRow] = None
    type: Literal["FeatureCollection"] = None
    features: list[DemandRegionFeature] = None


class PointGeometry(_Model):
    type: Literal["Point"]
    coordinates: list[float] = Field(min_length=2, max_length=2)


class SuggestionProperties(_Model):
    brand: str
    city: str
    city_en: str
    province: str | None
    searches: int = Field(description="Unmet searches for the brand around this place")
    all_searches: int
    population: int
    nearest_own_store_m: int | None = Field(description="Metres to the retailer's nearest open store of the brand")


class Suggestion(_Model):
    type: Literal["Feature"]
    geometry: PointGeometry
    properties: SuggestionProperties


class DemandSuggestions(_Model):
    """Places to open next for a brand, best first"""

    type: Literal["FeatureCollection"]
    features: list[Suggestion]
    brand: str


class StoreReach(_Model):
    id: int
    name: str
    brand: str
    city: str | None
    lon: float
    lat: float
    searches: int = Field(description="Met searches for the brand whose nearest own store this is (within 5 km)")


class StoresReach(_Model):
    stores: list[StoreReach]


DemandRegionFeature.model_rebuild()
