"""Read the tables users bring (CSV, Parquet, Excel) into frames of text, and type their cells with located errors.

Every problem is reported as one `InputError` naming the file, the row (the spreadsheet row: header = 1) and
the column, so an analyst can open the file and find it. Exports are taken as they come: Excel's `sep=` line,
Windows-1252 text, blank rows and header names in other words (`aliases`) are understood.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Mapping, Sequence
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
# A header cell holding nine digits or more, spaces and hyphens aside, is a person's CPR number (the leading zero
# perhaps lost by Excel) in a file without a header, or other data: never echoed as a column name.
_CPR_SHAPED = re.compile(r"\d{9,}")
_BOM = b"\xef\xbb\xbf"
_PEEK_BYTES = 1 << 16


def read_table(
    path: str | Path,
    *,
    required: Sequence[str] = (),
    optional: Sequence[str] = (),
    one_of: Iterable[tuple[str, ...]] = (),
    keep_extra: bool = False,
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Read a table as text cells ("" when empty) with the file's row numbers in column `_row`.

    Headers are stripped and lower-cased, and a header matching a wanted column or one of its `aliases` (in any
    case, with spaces, hyphens or dots for underscores) takes the column's name; only the named columns are kept
    (all of them with `keep_extra`). Blank rows are dropped and counted in `attrs["blank_rows"]`.
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
    columns = _Columns(required, optional, tuple(one_of), aliases or {})
    return _select(table, attrs, path, columns, keep_extra)


def column_names(path: str | Path) -> list[str]:
    """The header of a table, stripped and lower-cased, read without the rest of the file ([] if unreadable).

    It lets a command learn whether a file carries CPR numbers, and so needs the secret, before reading it.
    """
    path = Path(path)
    try:
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return _header_names(pq.read_schema(path).names, path)
        if suffix in {".xlsx", ".xlsm"}:
            import openpyxl

            book = openpyxl.load_workbook(path, read_only=True)
            try:
                first = next(book.worksheets[0].iter_rows(max_row=1, values_only=True), ())
            finally:
                book.close()
            return _header_names([v for v in first if v is not None], path)
        with path.open("rb") as handle:
            head = b"\n".join(handle.read(_PEEK_BYTES).split(b"\n", 2)[:2])  # a `sep=` line and the header
        raw, _ = _as_utf8(head)
        raw, given, header_row = _excel_separator(raw, path)
        header, _ = _header_line(raw, given, path, header_row)
        return header
    except (OSError, ValueError, KeyError, InputError, ImportError):
        return []


def _to_arrow(frame: pd.DataFrame) -> tuple[Any, dict[str, Any]]:
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    return table, dict(frame.attrs)


def _header_names(names: Sequence[object], path: Path, header_row: int = 1) -> list[str]:
    cleaned = [str(n).strip().lstrip("\ufeff").strip().lower() for n in names]
    if any(_CPR_SHAPED.search(re.sub(r"[\s-]", "", name)) for name in cleaned):
        # A file without a header: its first row is a person. Not echoed.
        raise InputError("the first row holds a CPR number, not column names; the file needs a header row",
                         file=path, row=header_row)
    seen: set[str] = set()
    for name in cleaned:
        if name and name in seen:
            raise InputError("column appears twice in the header", file=path, row=header_row, column=name)
        seen.add(name)
    return cleaned


def _as_utf8(raw: bytes) -> tuple[bytes, str]:
    """The bytes as UTF-8 without BOM, and the encoding they came in: UTF-8, else Windows-1252, else Latin-1.

    Danish Excel saves Windows-1252, whose en dash, curly quotes and euro sign (0x80-0x9F) Latin-1 would turn
    into control characters; Latin-1 remains for the five bytes Windows-1252 leaves undefined.
    """
    if raw.startswith(_BOM):
        raw = raw[len(_BOM):]
    try:
        raw.decode("utf-8")
        return raw, "utf-8"
    except UnicodeDecodeError:
        pass
    for encoding in ("cp1252", "latin-1"):
        try:
            return raw.decode(encoding).encode("utf-8"), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("Latin-1 decodes every byte")


def _excel_separator(raw: bytes, path: Path) -> tuple[bytes, str | None, int]:
    """Excel's optional first line `sep=;` names the delimiter: honour it and start the table after it."""
    if raw[:4].lower() != b"sep=":
        return raw, None, 1
    line, _, rest = raw.partition(b"\n")
    given = line.rstrip(b"\r")[4:].decode("utf-8", errors="replace")[:1]
    if given and given not in ";,\t|":
        raise InputError(f"the sep= line names {given!r}, which is no delimiter a table uses; use ; , | or a tab",
                         file=path, row=1)
    return rest, (given or None), 2


def _header_line(raw: bytes, given: str | None, path: Path, header_row: int) -> tuple[list[str], str]:
    """The header's names and the delimiter: the given one, else the likeliest of ; , and tab in the header."""
    first_line = raw.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8")
    delimiter = given or max(";,\t", key=first_line.count)
    if first_line.count(delimiter) == 0 and given is None:
        delimiter = ","
    header = next(csv.reader([first_line], delimiter=delimiter), [])
    names = _header_names(header, path, header_row)
    if not any(names):
        raise InputError("has no header row", file=path, row=header_row)
    return names, delimiter


def _read_csv(path: Path) -> tuple[Any, dict[str, Any]]:
    import pyarrow as pa

    raw = path.read_bytes()
    sha256 = hashlib.sha256(raw).hexdigest()  # of the bytes read, as the ledger records them
    if not raw.strip():
        raise InputError("file is empty", file=path)
    nul = raw.find(b"\x00")
    if nul >= 0:
        row = raw[:nul].count(b"\n") + 1
        raise InputError("contains a NUL byte (binary file, or UTF-16 text; save as UTF-8 CSV)", file=path, row=row)
    raw, encoding = _as_utf8(raw)
    raw, given, header_row = _excel_separator(raw, path)
    names, delimiter = _header_line(raw, given, path, header_row)
    raw, blank_tail = _strip_blank_tail(raw, delimiter)
    try:
        table = _parse_csv(raw, delimiter, len(names))
    except (pa.ArrowInvalid, UnicodeDecodeError):
        row, width = _find_ragged_row(raw, delimiter, len(names))
        if row is not None:
            raise InputError(
                f"has {width} fields but the header has {len(names)} (ragged row)", file=path,
                row=row + header_row - 1,
            ) from None
        # Arrow's message quotes the offending row, which may hold a CPR number: it is never passed on.
        raise InputError("cannot be read as CSV (check the delimiter, quotes and line breaks)", file=path) from None
    frame = table.rename_columns(names)
    attrs = {"decimal": "," if delimiter == ";" else ".", "encoding": encoding, "sha256": sha256,
             "header_row": header_row, "blank_rows": blank_tail}
    return frame, attrs


def _parse_csv(raw: bytes, delimiter: str, width: int) -> Any:
    """Arrow's multi-threaded parser; a field larger than its 1 MB blocks is read again with one block."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    column_names = [f"__c{i}" for i in range(width)]

    def parse(block_size: int | None) -> Any:
        return pacsv.read_csv(
            io.BytesIO(raw),
            read_options=pacsv.ReadOptions(column_names=column_names, skip_rows=1, use_threads=True,
                                           **({"block_size": block_size} if block_size else {})),
            # Empty lines are kept as blank rows, so the row numbers of the lines after them stay right.
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=False,
                                             invalid_row_handler=lambda _row: "error"),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in column_names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )

    try:
        return parse(None)
    except pa.ArrowInvalid as error:
        if "straddl" not in str(error):
            raise
    return parse(min(len(raw) + 1, 2**31 - 1))


def _strip_blank_tail(raw: bytes, delimiter: str) -> tuple[bytes, int]:
    """Drop the lines at the end holding only delimiters and spaces (Excel's `;;;;;;` rows); count them."""
    blank = b" \t\r" + delimiter.encode()
    end = len(raw) - 1 if raw.endswith(b"\n") else len(raw)
    count = 0
    while True:
        start = raw.rfind(b"\n", 0, end) + 1
        if start == 0 or raw[start:end].strip(blank):
            break  # the header, or a line with content
        count += 1
        end = start - 1
    return (raw[:end] + b"\n", count) if count else (raw, 0)


def _find_ragged_row(raw: bytes, delimiter: str, width: int) -> tuple[int | None, int]:
    """Slow path, only after a parse failure: locate the first record whose field count differs."""
    import sys

    limit = csv.field_size_limit()
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # a field of any size is counted, never a crash
    try:
        reader = csv.reader(io.StringIO(raw.decode("utf-8", errors="replace"), newline=""), delimiter=delimiter)
        for index, record in enumerate(reader, start=1):
            if record and len(record) != width:
                return index, len(record)
    except csv.Error:
        return None, 0
    finally:
        csv.field_size_limit(limit)
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


def _key(name: str) -> str:
    """A header compared loosely: lower case, with runs of spaces, hyphens, dots and underscores as one '_'."""
    return re.sub(r"[\s\-_.]+", "_", name.strip().lower()).strip("_")


class _Columns:
    """The columns a caller wants, and the header names (its own or aliases) that stand for each."""

    def __init__(self, required: Sequence[str], optional: Sequence[str], one_of: tuple[tuple[str, ...], ...],
                 aliases: Mapping[str, Sequence[str]]) -> None:
        self.required, self.optional, self.one_of = list(required), list(optional), one_of
        self.aliases = aliases
        self.lookup = {_key(c): c for c in [*required, *optional, *(c for g in one_of for c in g)]}
        self.lookup |= {_key(a): c for c, names in aliases.items() for a in names}

    def rename(self, names: list[str], path: Path, header_row: int) -> list[str]:
        """The header with every name that stands for a wanted column replaced by that column's name."""
        renamed = [self.lookup.get(_key(n), n) if n else n for n in names]
        seen: dict[str, str] = {}
        for original, name in zip(names, renamed, strict=True):
            if name in seen and name:
                raise InputError(f"columns '{seen[name]}' and '{original}' both stand for '{name}'", file=path,
                                 row=header_row)
            seen[name] = original
        return renamed

    def missing(self, present: set[str]) -> list[str]:
        """Every wanted column the header lacks, at once: by name and its first aliases, a choice as 'a or b'."""
        gaps = [self._named(c) for c in self.required if c not in present]
        gaps += [" or ".join(g) for g in self.one_of if not any(c in present for c in g)]
        return gaps

    def _named(self, column: str) -> str:
        others = list(self.aliases.get(column, ()))[:2]
        return f"{column} (or {' or '.join(repr(a) for a in others)})" if others else column


def _select(table: Any, attrs: dict[str, Any], path: Path, columns: _Columns, keep_extra: bool) -> pd.DataFrame:
    """Name, keep and trim the wanted columns, drop blank rows and refuse formula cells, in Arrow (fast)."""
    import pyarrow.compute as pc

    header_row = int(attrs.get("header_row", 1))
    original = list(table.column_names)
    table = table.rename_columns(columns.rename(original, path, header_row))
    present = set(table.column_names)
    gaps = columns.missing(present)
    if gaps:
        found = ", ".join(n for n in original if n) or "none"
        raise InputError(f"missing column{'s' if len(gaps) > 1 else ''} {', '.join(gaps)}; columns found: {found}",
                         file=path, row=header_row)
    wanted = list(columns.required)
    for group in columns.one_of:
        wanted.extend(c for c in group if c in present and c not in wanted)
    wanted.extend(c for c in columns.optional if c in present and c not in wanted)
    if keep_extra:
        wanted.extend(c for c in table.column_names if c and c not in wanted)
    rows = np.arange(header_row + 1, header_row + 1 + table.num_rows)
    trimmed = {name: pc.utf8_trim_whitespace(table.column(name)) for name in wanted}
    blank = _blank_rows(table)
    if blank is not None:
        keep = pc.invert(blank)
        rows = rows[keep.to_numpy(zero_copy_only=False)]
        trimmed = {name: values.filter(keep) for name, values in trimmed.items()}
        attrs["blank_rows"] = int(attrs.get("blank_rows", 0)) + int(pc.sum(blank).as_py() or 0)
    frame = {}
    for name, values in trimmed.items():
        _refuse_formulas(values, path, name, rows)
        frame[name] = values.to_numpy(zero_copy_only=False)
    result = pd.DataFrame(frame)
    result[ROW] = rows
    result.attrs.update(attrs)
    result.attrs.setdefault("blank_rows", 0)
    result.attrs["file"] = str(path)
    return result


def _blank_rows(table: Any) -> Any:
    """Which rows have nothing in any cell (an Arrow boolean array), or None when none are blank."""
    import pyarrow.compute as pc

    if table.num_rows == 0 or table.num_columns == 0:
        return None
    blank = None
    for column in table.columns:
        empty = pc.equal(pc.utf8_trim_whitespace(column.cast("string")), "")
        blank = empty if blank is None else pc.and_(blank, empty)
    blank = blank.combine_chunks() if hasattr(blank, "combine_chunks") else blank
    return blank if pc.any(blank).as_py() else None


def _refuse_formulas(column: Any, path: Path, name: str, rows: np.ndarray) -> None:
    """Cells that a spreadsheet would run as formulas (CSV injection) are refused, not stored or passed on."""
    import pyarrow.compute as pc

    # Leading tab or carriage return count too: spreadsheets strip them and then evaluate the rest.
    suspect = pc.match_substring_regex(column, r"^[=+\-@\t\r]")
    if not pc.any(suspect).as_py():
        return
    formula = pc.and_(suspect, pc.invert(pc.match_substring_regex(column, _NUMBER.pattern)))
    hits = np.flatnonzero(formula.to_numpy(zero_copy_only=False))
    if len(hits):
        raise InputError("cell looks like a spreadsheet formula", file=path, row=int(rows[hits[0]]), column=name)


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
