"""The map's boundaries (data/reference/*.geojson, see CREDITS.md): files, centres, and the figures drawn."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pandas as pd

from etl.paths import REFERENCE_DIR

BOUNDARY_FILES = {"city": "zhejiang_cities.geojson", "county": "zhejiang_counties.geojson"}
BOUNDARY_ROUTE = "/boundaries/"


def boundary_path(level: str) -> Path:
    """The boundary file for a map level: 11 cities or 90 counties (see data/reference/CREDITS.md)."""
    return REFERENCE_DIR / BOUNDARY_FILES[level if level in BOUNDARY_FILES else "city"]


def boundary_url(level: str) -> str:
    """Where the app serves the boundary file, so the browser fetches it once instead of in every figure."""
    return f"{BOUNDARY_ROUTE}{BOUNDARY_FILES[level if level in BOUNDARY_FILES else 'city']}"


@lru_cache(maxsize=2)
def boundaries(level: str) -> dict:
    with open(boundary_path(level), encoding="utf-8") as handle:
        return json.load(handle)


@lru_cache(maxsize=2)
def centres(level: str) -> dict[str, tuple[float, float]]:
    """Each area's centre (the centroid of its largest ring), where the map puts a mark an area cannot carry."""
    out = {}
    for feature in boundaries(level)["features"]:
        geometry = feature.get("geometry") or {}
        polygons = geometry.get("coordinates") or []
        if geometry.get("type") == "Polygon":
            polygons = [polygons]
        best: tuple[float, float, float] | None = None
        for polygon in polygons:
            ring = polygon[0] if polygon else []
            area = cx = cy = 0.0
            for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
                cross = x0 * y1 - x1 * y0
                area += cross
                cx += (x0 + x1) * cross
                cy += (y0 + y1) * cross
            if area and (best is None or abs(area) > best[0]):
                best = (abs(area), cx / (3 * area), cy / (3 * area))
        if best is not None:
            out[str(feature.get("properties", {}).get("adcode"))] = (best[1], best[2])
    return out


def with_boundary(facts: pd.DataFrame, level: str) -> pd.DataFrame:
    """The facts, less those of the map's level that have no boundary to colour (the others stay, to be listed
    as left out with their reason)."""
    if facts.empty:
        return facts
    codes = {str(f["properties"].get("adcode")) for f in boundaries(level)["features"]}
    no_area = (facts["region_level"].astype(str) == level) & ~facts["region_code"].astype(str).isin(codes)
    return facts[~no_area]


def beside_rows(facts: pd.DataFrame) -> pd.DataFrame:
    """Zones and towns have no boundary: each one's latest figure, listed beside the map, largest first."""
    rows = facts[facts["region_level"].astype(str).isin(["zone", "town"])]
    return rows.drop_duplicates("region_code").sort_values("value", ascending=False)
