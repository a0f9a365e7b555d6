"""What the API answers, as pydantic models: the OpenAPI document's components are generated
from these (:func:`components`), next to the request models of :mod:`o2o.web.params`, so an
enum or a field is written once.

The models describe; the views build plain dicts (the hot paths stay free of model instances).
``tests/fuzz/test_openapi_fuzz.py`` checks every answer against these schemas.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, create_model
from pydantic.json_schema import models_json_schema

from ..geo.crs import Crs
from ..services.validation import READ_ONLY, StoreFields

REF = "#/components/schemas/{model}"
Status = Literal["open", "closed"]
Bbox = Annotated[list[float], Field(min_length=4, max_length=4, description="west, south, east, north")]
Object = dict[str, Any]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")  # answers may carry more members than described


class Point(_Model):
    type: Literal["Point"]
    coordinates: Annotated[list[float], Field(min_length=2, max_length=3)]


# ----------------------------------------------------------------------------- stores
class Nav(_Model):
    amap: str
    amap_marker: str
    geo: str


class Store(_Model):
    id: int
    retailer_id: int
    external_id: str
    name: str
    brand: str
    retailer: str
    category: str
    lat: float
    lon: float
    address: str
    province: str | None
    city: str | None
    district: str | None
    hours: str | None
    special_hours: str | None = Field(None, description="Festival hours: dated exceptions to the daily hours, "
                                                        "e.g. 2026-11-10 10:00-02:00; 2026-11-12 closed")
    phone: str | None
    online_url: str | None
    status: Status
    created_at: datetime
    updated_at: datetime
    go_url: str
    brand_slug: str
    open_now: bool | None
    nav: Nav
    url: str
    distance_m: float = None
    category_zh: str | None = Field(None, description="The category's Chinese name (as stored if it has none)")
    brand_zh: str | None = Field(None, description="The brand's Chinese name, where the catalogue knows it")


class StoreFeature(_Model):
    type: Literal["Feature"]
    id: int
    geometry: Point
    properties: Store


class ClusterProperties(_Model):
    cluster: Literal[True]
    point_count: int


class ClusterFeature(_Model):
    type: Literal["Feature"]
    geometry: Point
    bbox: Bbox = None
    properties: ClusterProperties


class RetailerSummary(_Model):
    id: int
    name: str
    domains: list[str]


class FeatureCollection(_Model):
    """Stores (and, in a viewport, clusters) as GeoJSON."""

    type: Literal["FeatureCollection"]
    features: list[StoreFeature | ClusterFeature]
    nearest: StoreFeature | None = Field(None, description="With radius_km and no store inside it: the nearest one (or null)")
    message: str = None
    total: int = None
    clustered: bool = None
    crs_name: Crs = None
    place: Object = Field(None, description="With q naming a place (杭州, 徐汇): that place, as in /api/v1/places")
    retailer: RetailerSummary = None


class Change(_Model):
    rev: int
    changed_at: datetime
    before: Object = Field(description="The fields as they were before this change")


class History(_Model):
    id: int
    history: list[Change]


class Brand(_Model):
    name: str
    slug: str
    stores: int


# ----------------------------------------------------------------------------- search
class PlaceProperties(_Model):
    name: str
    level: Literal["province", "city", "district", "mall", "street"]
    province: str | None
    city: str | None
    short_name: str | None = None
    pinyin: str | None = None


class PlaceFeature(_Model):
    type: Literal["Feature"]
    bbox: Bbox
    geometry: Point
    properties: PlaceProperties


class Places(_Model):
    type: Literal["FeatureCollection"]
    features: list[PlaceFeature]
    crs_name: Crs = None


class Suggestion(_Model):
    type: Literal["brand", "place", "category", "store", "product"]
    text: str
    value: str = Field(None, description="brand or category: the value to filter on")
    name: str = None
    name_zh: str | None = None
    stores: int = None
    level: str = None
    province: str | None = None
    city: str | None = None
    bbox: Bbox = None
    lon: float = None
    lat: float = None
    id: int = Field(None, description="store: its id")
    address: str = None
    distance_m: float = None


class Suggestions(_Model):
    suggestions: Annotated[list[Suggestion], Field(max_length=10)]


# ----------------------------------------------------------------------------- writes
StoreInput = create_model(
    "StoreInput", __base__=StoreFields,
    __doc__="name, brand, category, lat and lon are required to register a store",
    lng=(float | None, Field(None, ge=-180, le=180, description="Another name for lon")),
    # Sent back as received (a Feature's properties): ignored.
    **{name: (Any, Field(None, description="Ignored: set by the server", json_schema_extra={"readOnly": True}))
       for name in sorted(READ_ONLY)})


class StoreFeatureInput(BaseModel):
    """A store as a GeoJSON Feature: its Point gives lon and lat"""

    type: Literal["Feature"]
    geometry: Point | None = None
    properties: StoreInput = None


class StoreBody(RootModel[StoreInput | StoreFeatureInput]):
    """A store's fields, or the store as a GeoJSON Feature"""


class ImportFeature(BaseModel):
    type: Literal["Feature"] = None
    geometry: Point | None = None
    properties: Object = Field(None, description="Store fields, named as in CSV headers")


class ImportGeoJSON(BaseModel):
    """A FeatureCollection (or one Feature) of Points; rows are upserted by external_id"""

    type: Literal["FeatureCollection"]
    features: list[ImportFeature]


class RejectedRow(_Model):
    row: int
    line: int = None
    external_id: str | None = None
    errors: list[str]


class PreviewRow(_Model):
    row: int
    line: int | None = None
    cells: list[str]


class ImportPreview(_Model):
    header: list[str]
    rows: list[PreviewRow]


class ImportReport(_Model):
    inserted: int
    updated: int
    unchanged: int
    rejected: list[RejectedRow]
    rows: int
    atomic: bool
    stored: bool
    encoding: str | None = None
    format: Literal["csv", "xlsx", "xls", "ods", "geojson"] | None = None
    columns: dict[str, str] = Field(None, description="How each header was understood: {header: field}")
    unknown_columns: list[str] = Field(None, description="Headers not understood: their cells were not stored")
    dry_run: bool = Field(None, description="Checked and reported only: nothing was stored")
    preview: ImportPreview = Field(None, description="A dry run's first rows, as the file has them")
    message: str


# ----------------------------------------------------------------------------- errors, health
class Problem(_Model):
    field: str
    message: str


class ErrorBody(_Model):
    code: str
    message: str
    field: str = Field(None, description="The parameter or body field at fault")
    errors: list[Problem] = Field(None, description="Every problem, when there are several")
    duplicate_of: int = Field(None, description="The open store a new one would duplicate")


class Error(_Model):
    """A client error naming the field"""

    error: ErrorBody


class Health(_Model):
    status: str
    stores: int = None
    worker: int = Field(None, description="Process id of the worker")


# ----------------------------------------------------------------------------- analytics
class Polygon(_Model):
    type: Literal["Polygon"]
    coordinates: list[list[Annotated[list[float], Field(min_length=2, max_length=2)]]]


class HexProperties(_Model):
    h3: str
    count: int


class HexFeature(_Model):
    type: Literal["Feature"]
    id: str
    geometry: Polygon
    properties: HexProperties


class Heatmap(_Model):
    """H3 hexagons with counts; the counts add up to total"""

    type: Literal["FeatureCollection"]
    features: list[HexFeature]
    layer: Literal["stores", "scans"]
    res: int
    total: int
    max: int


class Hour(_Model):
    hour: str
    hour_utc: str
    scans: int


class Timeseries(_Model):
    bucket: str
    timezone: str
    series: list[Hour]
    total: int


class RegionRow(_Model):
    province: str
    city: str = None
    stores: int
    scans: int
    scans_per_store: float
    top_brand: str | None
    west: float | None = None
    south: float | None = None
    east: float | None = None
    north: float | None = None


class Regions(_Model):
    level: Literal["province", "city"]
    rows: list[RegionRow]


class ProductScanRow(_Model):
    """One of a region's most scanned products (no region members with by=product)"""

    province: str = None
    city: str = None
    district: str = None
    product_id: int
    sku: str | None
    title: str | None
    brand: str | None
    scans: int
    rank: int = Field(description="1 = the region's most scanned product")
    region_scans: int = Field(description="Every product scan of the region")


class ProductScans(_Model):
    """The most scanned products per region (or of the whole country)"""

    by: Literal["province", "city", "district", "product"]
    top: int
    rows: list[ProductScanRow]
    total: int


class ProductScanHours(_Model):
    """Scans of products per hour (hours labelled in Beijing time)"""

    by: Literal["hour"]
    timezone: str
    rows: list[Hour]
    total: int


class RegionFeature(_Model):
    type: Literal["Feature"]
    bbox: Annotated[list[float | None], Field(min_length=4, max_length=4)] = None
    geometry: Point | None
    properties: Object


class RegionFeatures(_Model):
    type: Literal["FeatureCollection"]
    features: list[RegionFeature]


class ProvinceCoverage(_Model):
    province: str
    urban_population: int
    cities: int
    share_1km: float = None
    share_3km: float = None
    share_5km: float = None


class Gap(_Model):
    name_zh: str
    name: str
    province: str | None
    population: int
    lon: float = None
    lat: float = None
    nearest_store_m: float | None


class Coverage(_Model):
    radii_km: list[float]
    provinces: list[ProvinceCoverage]
    gaps: list[Gap]


class GapFeature(_Model):
    type: Literal["Feature"]
    geometry: Point
    properties: Object


class GapFeatures(_Model):
    type: Literal["FeatureCollection"]
    features: list[GapFeature]


# Every model a path refers to by name; the models they hold come along.
# ----------------------------------------------------------------------------- products (issue 15)
Availability = Literal["in_stock", "limited", "out_of_stock"]


class Product(_Model):
    id: int
    retailer_id: int
    retailer: str | None
    sku: str = Field(description="The retailer's own code, unique per retailer")
    title: str
    brand: str
    category: str | None
    price: float | None = Field(description="CNY")
    online_url: str | None = Field(description="https, on one of the retailer's domains")
    gtin: str | None
    image_url: str | None
    updated_at: datetime


class Products(_Model):
    products: list[Product]


class ProductStore(Store):
    availability: Literal["in_stock", "limited"]
    quantity: int | None
    price: float | None = Field(description="The store's price (the product's where the store gives none)")
    stock_updated_at: datetime


class ProductStoreFeature(_Model):
    type: Literal["Feature"]
    id: int
    geometry: Point
    properties: ProductStore


class ProductStores(_Model):
    """The nearest open stores with the product in stock or limited, nearest first."""

    type: Literal["FeatureCollection"]
    features: list[ProductStoreFeature]
    product: Product
    crs_name: Crs = None


class CatalogueRejectedRow(_Model):
    row: int
    line: int = None
    sku: str | None = None
    store: str | None = None
    errors: list[str]


class CatalogueImportReport(_Model):
    """A product or stock import: products are added or updated by sku, stock lines by store and sku."""

    inserted: int
    updated: int
    unchanged: int
    rejected: list[CatalogueRejectedRow]
    rows: int
    atomic: bool
    stored: bool
    encoding: str | None = None
    format: Literal["csv", "xlsx", "xls", "ods", "json"] | None = None
    columns: dict[str, str] = Field(None, description="How each header was understood: {header: field}")
    unknown_columns: list[str] = Field(None, description="Headers not understood: their cells were not stored")
    dry_run: bool = Field(None, description="Checked and reported only: nothing was stored")
    message: str


from .schemas_people import (ApiKeyInfo, ApiKeys, InvitedPerson, InviteBody, KeyBody, NewApiKey,  # noqa: E402
                             People, Person, PersonChange)
from .schemas_demand import Demand, DemandRegions, DemandSuggestions, StoresReach  # noqa: E402

DOCUMENTED = (FeatureCollection, StoreFeature, History, Brand, Places, Suggestions, StoreInput, StoreFeatureInput,
              StoreBody, ImportGeoJSON, ImportReport, Error, Health, Heatmap, Timeseries, Regions, RegionFeatures,
              Coverage, GapFeatures, ProductScans, ProductScanHours, Products, ProductStores, CatalogueImportReport, People, InvitedPerson,
              InviteBody, Person, PersonChange, ApiKeys, NewApiKey, ApiKeyInfo, KeyBody, Demand, DemandRegions,
              DemandSuggestions, StoresReach)


def tidy(schema):
    """A pydantic JSON Schema without what only adds noise to the document: generated titles and
    ``default: null`` (an absent member, not a null one)."""
    if isinstance(schema, dict):
        return {k: tidy(v) for k, v in schema.items()
                if not (k == "title" and isinstance(v, str)) and not (k == "default" and v is None)}
    if isinstance(schema, list):
        return [tidy(v) for v in schema]
    return schema


def components() -> dict:
    """``components.schemas`` of the OpenAPI document (JSON Schema 2020-12, as OpenAPI 3.1 has it)."""
    _, top = models_json_schema([(m, "validation") for m in DOCUMENTED], ref_template=REF)
    return {name: tidy(schema) for name, schema in sorted(top["$defs"].items())}
