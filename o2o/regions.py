"""China's provinces, cities and districts from ``geodata/``, and point-in-polygon look-ups.

The boundary files are WGS-84 GeoParquet built by ``geodata/build.py``. Loading them is kept
here, apart from the maths in :mod:`o2o.geo`; a :class:`Regions` is loaded once per process.
"""

from __future__ import annotations

import functools
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

GEODATA_DIR = Path(__file__).resolve().parent.parent / "geodata"
LEVEL_COLUMNS = ("province", "city", "district")


class Regions:
    """District polygons (each carrying its city and province) with a spatial index."""

    def __init__(self, districts: gpd.GeoDataFrame):
        self.districts = districts.reset_index(drop=True)
        self.districts.sindex  # build the STRtree now, not on the first request

    @classmethod
    def load(cls, directory: Path | str = GEODATA_DIR) -> "Regions":
        return cls(gpd.read_parquet(Path(directory) / "districts.parquet"))

    def locate(self, lon, lat) -> pd.DataFrame:
        """Province, city, district and ``mainland`` for each point (None where on no land).

        Vectorised: pass arrays. Uses geopandas ``sjoin`` (point within polygon); a point on a
        shared border gets the district with the smaller adcode, deterministically.
        """
        lon = np.atleast_1d(np.asarray(lon, dtype=float))
        lat = np.atleast_1d(np.asarray(lat, dtype=float))
        points = gpd.GeoDataFrame({"_i": np.arange(len(lon))},
                                  geometry=gpd.points_from_xy(lon, lat), crs=self.districts.crs)
        cols = ["adcode", "province", "city", "district_name", "mainland", "geometry"]
        polys = self.districts.rename(columns={"name": "district_name"})[cols]
        joined = gpd.sjoin(points, polys, how="left", predicate="within")
        joined = joined.sort_values(["_i", "adcode"]).drop_duplicates("_i", keep="first").set_index("_i")
        out = pd.DataFrame({
            "province": joined["province"],
            "city": joined["city"],
            "district": joined["district_name"],
            "adcode": joined["adcode"],
            "mainland": joined["mainland"].fillna(False).astype(bool),
        }).reindex(np.arange(len(lon)))
        out["mainland"] = out["mainland"].fillna(False).astype(bool)
        return out.astype(object).where(out.notna(), None)

    def locate_one(self, lon: float, lat: float) -> dict | None:
        """The region of one point as a dict, or None if it is on no land in the data."""
        row = self.locate([lon], [lat]).iloc[0]
        return None if row["district"] is None else row.to_dict()


@functools.lru_cache(maxsize=4)
def load_regions(directory: str = str(GEODATA_DIR)) -> Regions:
    """The process-wide :class:`Regions` (loaded on first use, then shared)."""
    return Regions.load(directory)


def load_level(level: str, directory: Path | str = GEODATA_DIR) -> gpd.GeoDataFrame:
    """One level's boundaries: ``provinces``, ``cities`` or ``districts``."""
    if level not in ("provinces", "cities", "districts"):
        raise ValueError(f"unknown level {level!r}")
    return gpd.read_parquet(Path(directory) / f"{level}.parquet")
