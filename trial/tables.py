"""Read the tables users bring (CSV, Parquet, Excel) into frames of text, and type their cells with located errors.

Every problem is reported as one `InputError` naming the file, the row (the spreadsheet row: header = 1) and
the column, so an analyst can open the file and find it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trial.errors import InputError

ROW = "_row"
_FORMULA_START = tuple("=+-@\t\r")
_NUMBER = re.compile(r"^[+-]?\d+([.,]\d+)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DK_DATE = re.compile(r"^\d{1,2}[-./]\d{1,2}[-./]\d{4}$")
_TRUE = {"true", "1", "ja", "yes", "j", "y", "sand"}
_FALSE = {"false", "0", "nej", "no", "n", "falsk"}


def read_table(
    path: str | Path,
    *,
    required: Sequence[str] = (),
    optional: Sequence[str] = (),
    one_of: Iterable[tuple[str, ...]] = (),
    keep_extra: bool = False,
) -> pd.DataFrame:
    """Read a table as text cells ("" when empty) with the file's row numbers in column `_row`.

    Headers are stripped and lower-cased; only the named columns are kept (all of them with `keep_extra`).
    """
    path = Path(path)
    if path.is_dir():
        raise InputError("is a directory, not a data file", file=path)
    if not path.exists():
        raise InputError("file not found", file=path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        table, attrs = _to_arrow(_read_parquet(path))
    elif suffix in {".xlsx", ".xlsm"}:
        table, attrs = _to_arrow(_read_excel(path))
    elif suffix == ".xls":
        raise InputError("old Excel .xls files are not supported; save the sheet as .xlsx or CSV", file=path)
    else:
        table, attrs = _read_csv(path)
    if "sha256" not in attrs:
        attrs["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _select(table, attrs, path, required, optional, one_of, keep_extra)


def _to_arrow(frame: pd.DataFrame) -> tuple[Any, dict[str, str]]:
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    return table, dict(frame.attrs)


def _header_names(names: Sequence[object], path: Path) -> list[str]:
    cleaned = [str(n).strip().lstrip("\ufeff").strip().lower() for n in names]
    seen: set[str] = set()
    for name in cleaned:
        if name and name in seen:
            raise InputError("column appears twice in the header", file=path, row=1, column=name)
        seen.add(name)
    return cleaned


def _read_csv(path: Path) -> tuple[Any, dict[str, str]]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    raw = path.read_bytes()
    sha256 = hashlib.sha256(raw).hexdigest()  # of the bytes read, as the ledger records them
    if not raw.strip():
        raise InputError("file is empty", file=path)
    nul = raw.find(b"\x00")
    if nul >= 0:
        row = raw[:nul].count(b"\n") + 1
        raise InputError("contains a NUL byte (binary file, or UTF-16 text; save as UTF-8 CSV)", file=path, row=row)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        raw.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        raw = raw.decode("latin-1").encode("utf-8")
        encoding = "latin-1"
    first_line = raw.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8")
    delimiter = max(";,\t", key=first_line.count)
    if first_line.count(delimiter) == 0:
        delimiter = ","
    header = next(csv.reader([first_line], delimiter=delimiter), [])
    names = _header_names(header, path)
    if not any(names):
        raise InputError("has no header row", file=path, row=1)
    bad_rows: list[int] = []

    def invalid(row: pacsv.InvalidRow) -> str:
        bad_rows.append(row.actual_columns)
        return "error"

    column_names = [f"__c{i}" for i in range(len(names))]
    try:
        table = pacsv.read_csv(
            io.BytesIO(raw),
            read_options=pacsv.ReadOptions(column_names=column_names, skip_rows=1, use_threads=True),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in column_names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        row, width = _find_ragged_row(raw, delimiter, len(names))
        if row is not None:
            raise InputError(
                f"has {width} fields but the header has {len(names)} (ragged row)", file=path, row=row
            ) from None
        # Arrow's message quotes the offending row, which may hold a CPR number: it is never passed on.
        raise InputError("cannot be read as CSV (check the delimiter, quotes and line breaks)", file=path) from None
    frame = table.rename_columns(names)
    return frame, {"decimal": "," if delimiter == ";" else ".", "encoding": encoding, "sha256": sha256}


def _find_ragged_row(raw: bytes, delimiter: str, width: int) -> tuple[int | None, int]:
    """Slow path, only after a parse failure: locate the first record whose field count differs."""
    reader = csv.reader(io.StringIO(raw.decode("utf-8"), newline=""), delimiter=delimiter)
    for index, record in enumerate(reader, start=1):
        if record and len(record) != width:
            return index, len(record)
    return None, 0


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        frame = pq.read_table(path).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"cannot be read as Parquet: {str(exc).splitlines()[0]}", file=path) from None
    return _as_text(frame, path)


def _read_excel(path: Path) -> pd.DataFrame:
    import zipfile

    try:
        frame = pd.read_excel(path, sheet_name=0, dtype=object, engine="openpyxl")
    except (zipfile.BadZipFile, ValueError, KeyError, OSError) as exc:
        raise InputError(f"cannot be read as Excel: {str(exc).splitlines()[0]}", file=path) from None
    return _as_text(frame, path)


def _as_text(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Typed sources (Parquet, Excel) become text like a CSV, so one set of parsers serves all formats."""
    out = {}
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_datetime64_any_dtype(col):
            text = col.dt.strftime("%Y-%m-%d")
        else:
            text = col.map(_cell_text)
        out[name] = text.fillna("").astype(str)
    result = pd.DataFrame(out)
    result.columns = _header_names(list(frame.columns), path)
    result.attrs["decimal"] = "."
    return result


def _cell_text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[no-any-return, attr-defined]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _select(
    table: Any,
    attrs: dict[str, str],
    path: Path,
    required: Sequence[str],
    optional: Sequence[str],
    one_of: Iterable[tuple[str, ...]],
    keep_extra: bool,
) -> pd.DataFrame:
    """Keep the named columns, trim them and refuse formula cells, in Arrow (fast), then hand over to pandas."""
    import pyarrow.compute as pc

    present = set(table.column_names)
    for column in required:
        if column not in present:
            raise InputError("required column is missing", file=path, row=1, column=column)
    wanted = list(required)
    for group in one_of:
        found = [c for c in group if c in present]
        if not found:
            raise InputError(f"needs one of the columns {', '.join(group)}", file=path, row=1)
        wanted.extend(c for c in found if c not in wanted)
    wanted.extend(c for c in optional if c in present and c not in wanted)
    if keep_extra:
        wanted.extend(c for c in table.column_names if c and c not in wanted)
    columns = {}
    for name in wanted:
        values = pc.utf8_trim_whitespace(table.column(name))
        _refuse_formulas(values, path, name)
        columns[name] = values.to_numpy(zero_copy_only=False)
    result = pd.DataFrame(columns)
    result[ROW] = np.arange(2, len(result) + 2)
    result.attrs.update(attrs)
    result.attrs["file"] = str(path)
    return result


def _refuse_formulas(column: Any, path: Path, name: str) -> None:
    """Cells that a spreadsheet would run as formulas (CSV injection) are refused, not stored or passed on."""
    import pyarrow.compute as pc

    # Leading tab or carriage return count too: spreadsheets strip them and then evaluate the rest.
    suspect = pc.match_substring_regex(column, r"^[=+\-@\t\r]")
    if not pc.any(suspect).as_py():
        return
    formula = pc.and_(suspect, pc.invert(pc.match_substring_regex(column, _NUMBER.pattern)))
    hits = np.flatnonzero(formula.to_numpy(zero_copy_only=False))
    if len(hits):
        raise InputError("cell looks like a spreadsheet formula", file=path, row=int(hits[0]) + 2, column=name)


def matches(values: pd.Series, pattern: str) -> np.ndarray:
    """Boolean array: does each text cell match the regular expression (RE2, via Arrow: fast on large files)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    return pc.match_substring_regex(array, pattern).to_numpy(zero_copy_only=False).astype(bool)


def _fail_at(df: pd.DataFrame, mask: np.ndarray, column: str, message: str) -> None:
    if mask.any():
        first = int(np.flatnonzero(mask)[0])
        raise InputError(message, file=df.attrs.get("file"), row=int(df[ROW].iloc[first]), column=column)


def to_dates(df: pd.DataFrame, column: str, *, allow_empty: bool = False) -> pd.Series:
    """Parse ISO (yyyy-mm-dd) or Danish (dd-mm-yyyy, dd.mm.yyyy, dd/mm/yyyy) dates; empty cells become NaT."""
    # Excel and Parquet sources may carry a time part; the date is what counts.
    raw = df[column]
    timed = matches(raw, r"^\d{4}-\d{2}-\d{2}[ T]")
    text = raw.where(~timed, raw.str[:10]) if timed.any() else raw
    empty = (text == "").to_numpy()
    if not allow_empty:
        _fail_at(df, empty, column, "date is missing")
    iso = matches(text, _ISO_DATE.pattern)
    danish = matches(text, _DK_DATE.pattern)
    _fail_at(df, ~(iso | danish | empty), column, "not a date (use yyyy-mm-dd or dd-mm-yyyy)")
    result = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    if iso.any():
        result[iso] = pd.to_datetime(text[iso], format="%Y-%m-%d", errors="coerce")
    if danish.any():
        normal = text[danish].str.replace(r"[./]", "-", regex=True)
        result[danish] = pd.to_datetime(normal, format="%d-%m-%Y", errors="coerce")
    _fail_at(df, (iso | danish) & result.isna().to_numpy(), column, "not a valid calendar date")
    return result


def to_bools(df: pd.DataFrame, column: str) -> pd.Series:
    """Parse true/false, 1/0, ja/nej, yes/no (any case)."""
    text = df[column].str.lower()
    truthy = text.isin(_TRUE).to_numpy()
    falsy = text.isin(_FALSE).to_numpy()
    _fail_at(df, ~(truthy | falsy), column, "not a yes/no value (use true/false, 1/0 or ja/nej)")
    return pd.Series(truthy, index=df.index)


def to_numbers(df: pd.DataFrame, column: str, *, allow_empty: bool = False) -> pd.Series:
    """Parse numbers; a decimal comma is accepted (Danish Excel exports)."""
    text = df[column]
    if df.attrs.get("decimal") == ",":
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        text = text.str.replace(",", ".", regex=False).where(~text.str.contains(r"\.", regex=True), text)
    empty = (text == "").to_numpy()
    if not allow_empty:
        _fail_at(df, empty, column, "number is missing")
    values = pd.to_numeric(text.where(~empty, None), errors="coerce")
    _fail_at(df, values.isna().to_numpy() & ~empty, column, "not a number")
    return values.astype(float)


def numeric_or_none(values: pd.Series) -> pd.Series | None:
    """The column as numbers when every value is one, else None.

    A text column is usually recognised from its first values, so parsing 100,000 strings is not wasted on it.
    """
    if len(values) == 0:
        return None
    if pd.to_numeric(values.iloc[:64], errors="coerce").isna().any():
        return None
    numeric = pd.to_numeric(values, errors="coerce")
    return numeric if numeric.notna().all() else None
