"""Faithful file reading and writing for the command line (CSV and Parquet).

A cleaning tool may only change the cells that are missing. So the CSV layer keeps
every field's raw text (quotes included) and every line ending: a row without a
missing cell is written back as the exact text it was read as, and a row with one
is the same fields joined by the same separator with only the missing fields
replaced, formatted in their column's own format (:class:`ColumnFormat`).

The rules (documented in the README, "Cleaning files"):

* a field is missing when it is unquoted and its text is one of the markers
  (default: only the empty field); a quoted field is always a value;
* a column is numerical when every observed field is a number; a column of digit
  strings with a leading zero (zip codes, identifiers) is text unless named numerical;
  anything else is text (categorical);
* the separator is the one given, else the most frequent of ``, ; TAB |`` in the
  header line; the encoding must be ASCII-compatible (UTF-8, Latin-1, cp1252 ...);
* in a table of several columns an empty line is kept as it is and is not a row; in
  a one-column table it is a row whose cell is missing.

Parquet files keep their dtypes: they are read with pyarrow and written with the
input's schema, one row group at a time.

Errors the user can fix raise :class:`UserError`, whose message names the file and
the line, column or option.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "PANDAS_NA_VALUES",
    "ColumnFormat",
    "CsvReader",
    "UserError",
    "file_format",
    "infer_formats",
]

#: pandas' default missing markers (``--keep-default-na``)
PANDAS_NA_VALUES = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
     "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
)
CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".dat", ".data")
PARQUET_SUFFIXES = (".parquet", ".pq")
_SEPARATORS = (",", ";", "\t", "|")
_INT = re.compile(r"[+-]?\d+")
_LEADING_ZERO = re.compile(r"[+-]?0\d")
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
#: the bytes the reader finds by value: an encoding must write them as ASCII does
_ASCII_PROBE = ',;\t|"\r\n 0123456789.+-eE_azAZ'
#: byte order marks of UTF-16 and UTF-32 (UTF-32-LE's starts like UTF-16-LE's)
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
UTF16_REMEDY = ("convert the file to UTF-8 first, e.g. iconv -f UTF-16 -t UTF-8 "
                "in.csv > in-utf8.csv")


class UserError(Exception):
    """A problem with the input the user can fix (exit code 2, one line)."""


def file_format(path, given: str | None) -> str:
    """``"csv"`` or ``"parquet"``: ``given`` (``--format``) else by the suffix."""
    if given:
        return given
    suffix = os.path.splitext(str(path))[1].lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    raise UserError(
        f"{path}: unknown file format {suffix or '(no suffix)'!r}; the formats are "
        f"CSV ({', '.join(CSV_SUFFIXES)}) and Parquet ({', '.join(PARQUET_SUFFIXES)}); "
        "name one with --format"
    )


# ----------------------------------------------------------------- CSV fields
def _split_quoted(text: str, sep: str) -> list[str] | None:
    """Raw fields of a record holding a quote; ``None`` while a quote is open."""
    fields, i, n = [], 0, len(text)
    while True:
        if i < n and text[i] == '"':
            j = i + 1
            while True:
                k = text.find('"', j)
                if k < 0:
                    return None  # the quoted field goes on on the next line
                if text.startswith('"', k + 1):
                    j = k + 2
                    continue
                break
            end = text.find(sep, k + 1)
        else:
            end = text.find(sep, i)
        if end < 0:
            fields.append(text[i:])
            return fields
        fields.append(text[i:end])
        i = end + len(sep)


def _unquote(raw: str) -> str:
    close = raw.rfind('"')
    return raw[1:close].replace('""', '"') + raw[close + 1:]


def _ending(line: str) -> tuple[str, str]:
    if line.endswith("\r\n"):
        return line[:-2], "\r\n"
    if line.endswith("\n"):
        return line[:-1], "\n"
    return line, ""


@dataclass
class Chunk:
    """Consecutive records of a CSV file.

    ``fields[i]`` is record ``i``'s list of raw field texts (``None`` for a kept
    empty line), ``ends[i]`` its line ending and ``lines[i]`` its first line number.
    """

    fields: list
    ends: list
    lines: list

    def rows(self) -> list[int]:
        """Positions of the records that are rows (not kept empty lines)."""
        return [i for i, f in enumerate(self.fields) if f is not None]


class CsvReader:
    """Read a CSV file record by record, keeping the raw text of every field.

    Parameters
    ----------
    path : path-like
    sep : str or None
        Field separator; ``None`` sniffs it from the header line.
    encoding : str
        An ASCII-compatible encoding.
    na_values : set of str
        Unquoted field texts that mark a missing cell.
    """

    def __init__(self, path, *, sep=None, encoding="utf-8", na_values=frozenset({""})):
        self.path = str(path)
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise UserError(f"--encoding {encoding}: unknown encoding") from None
        if _ASCII_PROBE.encode(encoding, errors="replace") != _ASCII_PROBE.encode():
            # separators, quotes and line ends are found byte by byte
            raise UserError(
                f"--encoding {encoding}: ASCII-compatible encodings only (UTF-8, "
                f"Latin-1, cp1252 ...); {UTF16_REMEDY}"
            )
        self.encoding = encoding
        self.na_values = frozenset(na_values)
        try:
            self._file = open(self.path, "rb")  # noqa: SIM115 (closed by close())
        except OSError as exc:
            raise UserError(f"{self.path}: cannot read: {exc.strerror}") from None
        self._offset = 0
        self._line = 0
        self._pending = ""  # the line ending of the record being read
        try:
            self._read_header(sep)
        except UserError:
            self.close()
            raise

    def _read_header(self, sep: str | None) -> None:
        start = self._file.peek(4)[:4] if hasattr(self._file, "peek") else b""
        if start.startswith(_WIDE_BOMS) or b"\x00" in start:
            sign = ("a byte order mark" if start.startswith(_WIDE_BOMS)
                    else "NUL bytes")
            raise UserError(
                f"{self.path}: the file is UTF-16 or UTF-32 (it starts with {sign}); "
                f"ASCII-compatible encodings only (UTF-8, Latin-1, cp1252 ...); "
                f"{UTF16_REMEDY}"
            )
        header = self._next_line()
        if header is None or not header.strip():
            raise UserError(f"{self.path}: the file is empty (no header line)")
        text, self.header_end = _ending(header)
        if "\r" in text and '"' not in text:
            raise UserError(
                f"{self.path}: lines end with a lone CR (classic Mac); convert the "
                "line endings to LF or CRLF"
            )
        self.sep = sep or _sniff(text)
        self._pending = self.header_end
        fields = self._record(text)
        self.header_end = self._pending
        self.header_fields = fields
        names = [_unquote(f) if f.startswith('"') else f for f in fields]
        if names and names[0].startswith("\ufeff"):  # a byte order mark
            names[0] = names[0][1:]
        self.names = _unique(names)

    # the header and the body share one decoder so byte offsets stay exact
    def _next_line(self) -> str | None:
        raw = self._file.readline()
        if not raw:
            return None
        try:
            line = raw.decode(self.encoding)
        except UnicodeDecodeError as exc:
            offset = self._offset + exc.start
            raise UserError(
                f"{self.path}: byte {offset} (line {self._line + 1}) is not valid "
                f"{self.encoding} (byte 0x{raw[exc.start]:02x}); name the "
                "encoding with --encoding, e.g. --encoding latin-1"
            ) from None
        self._offset += len(raw)
        self._line += 1
        return line

    def _record(self, text: str) -> list[str]:
        """Raw fields of a record that starts with ``text`` (more lines if quoted)."""
        if '"' not in text:
            return text.split(self.sep)
        start = self._line
        while True:
            fields = _split_quoted(text, self.sep)
            if fields is not None:
                return fields
            more = self._next_line()
            if more is None:
                raise UserError(
                    f"{self.path}: line {start}: a quoted field is never closed"
                )
            body, end = _ending(more)
            text = text + self._pending + body
            self._pending = end

    def chunks(self, rows: int | None = None) -> Iterator[Chunk]:
        """Yield the records in chunks of at most ``rows`` rows (all if ``None``)."""
        width = len(self.names)
        chunk = Chunk([], [], [])
        count = 0
        while True:
            line = self._next_line()
            if line is None:
                break
            number = self._line
            text, end = _ending(line)
            if width > 1 and text == "":
                fields = None  # an empty line: kept, not a row
            else:
                self._pending = end
                fields = self._record(text)
                end = self._pending
                if len(fields) != width:
                    raise UserError(
                        f"{self.path}: line {number} has {len(fields)} fields, the "
                        f"header has {width} (separator {self.sep!r}; name another "
                        "with --sep)"
                    )
                count += 1
            chunk.fields.append(fields)
            chunk.ends.append(end)
            chunk.lines.append(number)
            if rows is not None and count >= rows:
                yield chunk
                chunk, count = Chunk([], [], []), 0
        if chunk.fields:
            yield chunk

    @property
    def offset(self) -> int:
        """Bytes of the file read so far (a progress measure)."""
        return self._offset

    def header_text(self) -> str:
        return self.sep.join(self.header_fields) + self.header_end

    def close(self) -> None:
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _sniff(header: str) -> str:
    counts = [header.count(s) for s in _SEPARATORS]
    return _SEPARATORS[int(np.argmax(counts))] if max(counts) else ","


def _unique(names: Sequence[str]) -> list[str]:
    """Unique column names: a repeated name gets ``.1``, ``.2`` ... (for the model
    and for ``--numeric``/``--categorical``; the file keeps its header text)."""
    seen, used, out = set(names), set(), []
    for name in names:
        new, k = name, 0
        while new in used or (new != name and new in seen):
            k += 1
            new = f"{name}.{k}"
        used.add(new)
        out.append(new)
    return out


# ------------------------------------------------------------ column formats
@dataclass
class ColumnFormat:
    """How a column's cells are read and how an imputed cell is written.

    Attributes
    ----------
    name : str
        The column's (unique) name.
    kind : {"int", "float", "text"}
    decimals : int
        Digits after the point (``"float"``): the most an observed cell uses.
    exponent : bool
        Scientific notation (``"float"``).
    width : int
        Zero-padded width of an ``"int"`` column read as numbers despite leading
        zeros (0: no padding).
    quote : bool
        Most observed cells are quoted, so an imputed cell is quoted too.
    """

    name: str
    kind: str
    decimals: int = 0
    exponent: bool = False
    width: int = 0
    quote: bool = False

    @property
    def numerical(self) -> bool:
        return self.kind != "text"

    def format(self, value) -> str:
        """The text of an imputed value, quoted when the column quotes or it must be."""
        if self.kind == "int":
            text = str(int(round(float(value))))
            if self.width:
                text = text.zfill(self.width)
        elif self.kind == "float":
            v = float(value)
            kind = "e" if self.exponent else "f"
            text = f"{v:.{self.decimals}{kind}}"
        else:
            text = str(value)
        return text

    def write(self, value, sep: str) -> str:
        text = self.format(value)
        if self.quote or any(c in text for c in (sep, '"', "\n", "\r")) or not text:
            return '"' + text.replace('"', '""') + '"'
        return text


def _decimals(text: str) -> tuple[int, bool]:
    mantissa, _, _ = text.lower().partition("e")
    _, dot, frac = mantissa.partition(".")
    return (len(frac) if dot else 0), "e" in text.lower()


def infer_formats(
    names: Sequence[str],
    values: Sequence[Sequence[str | None]],
    quoted: Sequence[float],
    *,
    numeric: Sequence[str] = (),
    categorical: Sequence[str] = (),
) -> list[ColumnFormat]:
    """Decide each column's kind and format from its observed texts.

    Parameters
    ----------
    names : column names
    values : per column, the unquoted text of every cell (``None`` where missing)
    quoted : per column, the fraction of observed cells that were quoted
    numeric, categorical : columns the user names (``--numeric`` / ``--categorical``)

    Returns
    -------
    list of ColumnFormat
    """
    formats = []
    for name, col, q in zip(names, values, quoted, strict=True):
        seen = [v.strip() for v in col if v is not None]  # "1, 2": spaces allowed
        quote = q > 0.5
        if name in categorical:
            formats.append(ColumnFormat(name, "text", quote=quote))
            continue
        ints = all(_INT.fullmatch(v) for v in seen)
        zeros = ints and any(_LEADING_ZERO.match(v) for v in seen)
        if ints and (not zeros or name in numeric):
            widths = {len(v) for v in seen}
            width = widths.pop() if zeros and len(widths) == 1 else 0
            formats.append(ColumnFormat(name, "int", width=width, quote=quote))
        elif not zeros and all(_FLOAT.fullmatch(v) for v in seen):
            shapes = [_decimals(v) for v in seen]
            decimals = max((d for d, _ in shapes), default=0)
            exponent = any(e for _, e in shapes)
            formats.append(
                ColumnFormat(name, "float", decimals, exponent, quote=quote)
            )
        elif name in numeric:
            bad = next(v for v in seen if not _FLOAT.fullmatch(v))
            raise UserError(f"--numeric {name}: the cell {bad!r} is not a number")
        else:
            formats.append(ColumnFormat(name, "text", quote=quote))
    return formats


def chunk_columns(reader: CsvReader, chunk: Chunk):
    """Per column of the chunk's rows: the unquoted texts (``None`` where missing)
    and the number of quoted observed cells."""
    rows = [chunk.fields[i] for i in chunk.rows()]
    na = reader.na_values
    columns, quoted = [], []
    for raw in zip(*rows, strict=True) if rows else [() for _ in reader.names]:
        texts, q = [], 0
        for f in raw:
            if f.startswith('"'):
                texts.append(_unquote(f))
                q += 1
            elif f in na:
                texts.append(None)
            else:
                texts.append(f)
        columns.append(texts)
        quoted.append(q)
    return columns, quoted


def chunk_frame(
    reader: CsvReader, chunk: Chunk, formats: Sequence[ColumnFormat]
) -> pd.DataFrame:
    """The estimator's DataFrame of a chunk: numbers as float64 (NaN where missing),
    text as object (None where missing), columns named as in ``formats``."""
    columns, _ = chunk_columns(reader, chunk)
    data = {}
    rows = chunk.rows()
    for fmt, texts in zip(formats, columns, strict=True):
        if fmt.numerical:
            filled = ["nan" if t is None else t for t in texts]
            try:
                data[fmt.name] = np.array(filled, dtype=np.str_).astype(np.float64)
            except ValueError:
                for pos, t in enumerate(texts):
                    if t is not None and not _FLOAT.fullmatch(t.strip()):
                        line = chunk.lines[rows[pos]]
                        raise UserError(
                            f"{reader.path}: line {line}, column {fmt.name!r}: "
                            f"{t!r} is not a number (the column is numerical; a "
                            "missing marker? see --na-values)"
                        ) from None
                raise
        else:
            data[fmt.name] = pd.Series(texts, dtype=object)
    return pd.DataFrame(data, index=pd.RangeIndex(len(rows)))


def write_chunk(
    out, reader: CsvReader, chunk: Chunk, formats: Sequence[ColumnFormat],
    missing: np.ndarray, imputed: pd.DataFrame,
) -> None:
    """Write a chunk: untouched records as read, imputed fields in their format."""
    sep = reader.sep
    rows = chunk.rows()
    holes = {}  # record position -> [(column, text)]
    if missing.any():
        for j, fmt in enumerate(formats):
            where = np.flatnonzero(missing[:, j])
            if not len(where):
                continue
            values = imputed[fmt.name].to_numpy()[where]
            for r, v in zip(where, values, strict=True):
                holes.setdefault(rows[r], []).append((j, fmt.write(v, sep)))
    parts = []
    for i, (fields, end) in enumerate(zip(chunk.fields, chunk.ends, strict=True)):
        if fields is None:
            parts.append(end)
            continue
        if i in holes:
            fields = list(fields)
            for j, text in holes[i]:
                fields[j] = text
        parts.append(sep.join(fields) + end)
    out.write("".join(parts))


def check_output(path) -> None:
    """The output's folder must exist (checked before any work is done)."""
    folder = os.path.dirname(os.path.abspath(str(path)))
    if not os.path.isdir(folder):
        raise UserError(f"{path}: the output folder {folder} does not exist")


# -------------------------------------------------------------------- Parquet
def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:  # pragma: no cover - depends on the environment
        raise UserError(
            "Parquet needs pyarrow: pip install 'deepimpute-vae[parquet]'"
        ) from None
    return pyarrow


def _nullable_integer(arrow_type):
    """pandas' nullable integer dtype of an Arrow integer type (else None)."""
    name = str(arrow_type)  # int8 ... uint64
    if not _pyarrow().types.is_integer(arrow_type):
        return None
    return pd.api.types.pandas_dtype(
        "U" + name[1:].capitalize() if name.startswith("u") else name.capitalize()
    )


def to_pandas(table) -> pd.DataFrame:
    """An Arrow table (or the rows of one) as a DataFrame with its stored dtypes.

    An integer column that pandas did not write (no pandas metadata names its
    dtype: a file written by pyarrow, Spark, DuckDB ...) becomes pandas' nullable
    integer dtype, in every batch, with or without nulls: pandas would make a
    column with nulls float64, whose imputations (5.2) the file's integer type
    cannot take back; as an integer dtype it is imputed with integers, as an
    integer column of a CSV is.
    """
    pa = _pyarrow()
    meta = table.schema.pandas_metadata or {}
    described = {c.get("field_name") for c in meta.get("columns", [])}
    frame = table.to_pandas()
    for field in table.schema:
        if pa.types.is_integer(field.type) and field.name not in described:
            column = table.column(field.name).to_pandas(types_mapper=_nullable_integer)
            frame[field.name] = column.array  # positional: the frame's own index
    return frame


def read_parquet(path) -> pd.DataFrame:
    """The whole file as a DataFrame with its stored dtypes (:func:`to_pandas`)."""
    pa = _pyarrow()
    try:
        return to_pandas(pa.parquet.read_table(str(path)))
    except (OSError, pa.ArrowException) as exc:
        raise UserError(f"{path}: cannot read as Parquet: {exc}") from None


def parquet_batches(path, rows: int) -> tuple[object, int, Iterator[pd.DataFrame]]:
    """The file's schema, its number of rows, and its rows as DataFrames of at most
    ``rows`` rows."""
    pa = _pyarrow()
    try:
        pf = pa.parquet.ParquetFile(str(path))
    except (OSError, pa.ArrowException) as exc:
        raise UserError(f"{path}: cannot read as Parquet: {exc}") from None
    schema = pf.schema_arrow

    def frames():
        for batch in pf.iter_batches(batch_size=rows):
            yield to_pandas(pa.Table.from_batches([batch], schema=schema))

    return schema, pf.metadata.num_rows, frames()


def is_dataset(path) -> bool:
    """Whether ``path`` names a Parquet dataset: a directory or a glob pattern."""
    text = str(path)
    return os.path.isdir(text) or any(c in text for c in "*?[")


def read_parquet_dataset(path):
    """A Parquet dataset (a directory of Parquet files, or a glob) as a lazy
    ``dask.dataframe.DataFrame``, one partition per file or row group."""
    import glob

    try:
        import dask.dataframe as dd
    except ImportError:
        raise UserError(
            f"{path}: a Parquet dataset is read with dask: pip install "
            "'deepimpute-vae[dask]'"
        ) from None
    _pyarrow()
    text = str(path)
    pattern = os.path.join(text, "**", "*") if os.path.isdir(text) else text
    files = [f for f in glob.glob(pattern, recursive=True)
             if os.path.isfile(f) and f.lower().endswith(PARQUET_SUFFIXES)]
    if not files:
        raise UserError(
            f"{path}: no Parquet files ({', '.join(PARQUET_SUFFIXES)}) found"
        )
    try:
        return dd.read_parquet(sorted(files))
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read as a Parquet dataset: {exc}") from None


class ParquetSink:
    """Write DataFrames as row groups of one Parquet file with a fixed schema."""

    def __init__(self, path, schema):
        pa = _pyarrow()
        self._pa = pa
        self.schema = schema
        self._writer = pa.parquet.ParquetWriter(str(path), schema)

    def write(self, frame: pd.DataFrame) -> None:
        table = self._pa.Table.from_pandas(frame, schema=self.schema)
        self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()
