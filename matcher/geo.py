"""Home and workplace coordinates from Danish postcodes (GeoNames, CC BY 4.0), and distances between them."""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from trial.errors import InputError
from trial.tables import ROW


@cache
def postcode_table() -> pd.DataFrame:
    """The shipped GeoNames postcode centroids, indexed by the 4-digit postcode."""
    with (resources.files("matcher") / "data" / "dk_postcodes.csv").open("r", encoding="utf-8") as handle:
        table = pd.read_csv(handle, dtype={"postcode": str})
    return table.drop_duplicates("postcode").set_index("postcode")[["latitude", "longitude"]]


def coordinates(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude per row: explicit `latitude`/`longitude` cells win, else the postcode's centroid.

    Unlisted postcodes take the nearest listed one of their area, else NaN (the ranker treats the distance as
    missing); malformed ones are an InputError.
    """
    postcode = frame["postcode"].astype(str).str.strip() if "postcode" in frame else pd.Series("", index=frame.index)
    bad = (postcode != "") & ~postcode.str.fullmatch(r"\d{3,4}")
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        row = int(frame[ROW].iloc[first]) if ROW in frame else first + 2
        raise InputError("not a Danish postcode (4 digits)", file=frame.attrs.get("file"), row=row, column="postcode")
    table = postcode_table()
    code = postcode.str.zfill(4)
    found = table.reindex(code.where(code.isin(table.index), code.map(_nearest_known)))
    lat = found["latitude"].to_numpy(dtype=float)
    lon = found["longitude"].to_numpy(dtype=float)
    for column, values in (("latitude", lat), ("longitude", lon)):
        if column in frame:
            given = pd.to_numeric(frame[column].astype(str).str.replace(",", ".", regex=False), errors="coerce")
            values[:] = np.where(given.notna().to_numpy(), given.to_numpy(dtype=float), values)
    return lat, lon


def _nearest_known(code: str) -> str:
    """An unlisted postcode (e.g. a PO box number) takes the numerically nearest listed one of its area
    (same first two digits): Danish postcodes are ordered geographically.
    """
    if not code.isdigit():
        return ""
    known = _known_numbers()
    area = known[(known // 100) == int(code) // 100]
    return f"{area[np.argmin(np.abs(area - int(code)))]:04d}" if area.size else ""


@cache
def _known_numbers() -> np.ndarray:
    return np.array([int(c) for c in postcode_table().index if c.isdigit()])


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance in km; broadcasts, so a column of homes against a row of workplaces gives a matrix."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(x, dtype=np.float64)) for x in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 6371.0 * 2 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
