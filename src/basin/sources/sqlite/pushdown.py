"""The cursor filter of an incremental SQLite read, run by SQLite itself.

DuckDB's sqlite scanner reads a table whole and filters afterwards: a day's 1% of new
rows cost a scan of all of them. ``sqlite_query`` runs SQL inside SQLite, but returns
every column as text. So the rows come through it with each value in a form that
converts back exactly — integers and text as they are, reals as ``printf('%!.17g')``
(17 significant digits: the same double), blobs as hex — and are cast in DuckDB to the
types the scanner gives the table, which parses timestamp and date text as ``CAST``
does (measured on ISO forms with and without ``T``, fractions, offsets, ``infinity``).

The result is the scanner's, row for row:

- SQLite's filter only narrows to a superset of the cursor filter (a day of margin
  under the bound, rows whose cursor SQLite cannot compare kept), and DuckDB's exact
  filter runs on the converted rows, as before.
- SQLite types each value, not each column: a value of another storage class than the
  column's conversion expects (an integer in a text column, a number in a timestamp
  column) stops the query — ``error()`` in DuckDB — and the extractor reads the table
  through the scanner instead, as it always did.
- Tables with a column type without an exact text form here, or a cursor that is not an
  integer, text, timestamp or date, are read through the scanner.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from basin.common.sql import literal, quote_ident

MARK = "basin: the SQLite filter pushdown met a value"
"""In the error a value the conversions cannot take raises (the extractor then reads
through the scanner)."""

# scanner type → (storage classes accepted, SQLite expression of the value, DuckDB cast)
CONVERSIONS = {
    "BIGINT": (("integer",), "{c}", "CAST({v} AS BIGINT)"),
    "DOUBLE": (
        ("real", "integer"),
        "CASE typeof({c}) WHEN 'real' THEN printf('%!.17g', {c}) ELSE {c} END",
        "CAST({v} AS DOUBLE)",
    ),
    "VARCHAR": (("text",), "{c}", "{v}"),
    # (SQLite's hex(NULL) is '', not NULL)
    "BLOB": (("blob",), "CASE WHEN {c} IS NOT NULL THEN hex({c}) END", "unhex({v})"),
    "TIMESTAMP": (("text",), "{c}", "CAST({v} AS TIMESTAMP)"),
    "DATE": (("text",), "{c}", "CAST({v} AS DATE)"),
}
CURSOR_TYPES = {"BIGINT", "VARCHAR", "TIMESTAMP", "DATE"}
MARGIN = timedelta(days=1)
"""How far under the bound SQLite's time filter starts: SQLite applies a text's UTC
offset, DuckDB ignores it, so the two may disagree by up to a day."""


def pushed_relation(
    alias: str,
    table: str,
    columns: list[tuple[str, str]],
    cursor: str,
    lower: str,
    *,
    text_affinity: bool = False,
) -> str | None:
    """A DuckDB relation of the table's rows at or past ``lower`` on ``cursor``,
    filtered inside SQLite; ``columns``: (name, scanner type) of what is extracted;
    ``text_affinity``: the cursor column's declared type gives it TEXT affinity (SQLite
    stores every number written to it as text). None when this table cannot be read
    so (the scanner reads it)."""
    types = dict(columns)
    if any(t not in CONVERSIONS for t in types.values()) or types.get(cursor) not in CURSOR_TYPES:
        return None
    bound = _bound(types[cursor], lower)
    if bound is None:
        return None
    c = quote_ident(cursor)
    if types[cursor] == "BIGINT":
        # Numbers compare as numbers; text and blobs sort after every number: kept.
        narrow = f"{c} >= {bound}"
    elif types[cursor] == "VARCHAR" and text_affinity:
        # Byte-wise, as DuckDB compares text; every value is text or a blob (kept), and
        # an index on the cursor serves it.
        narrow = f"{c} >= {literal(bound)} COLLATE BINARY"
    elif types[cursor] == "VARCHAR":  # numbers sort before text in SQLite: kept apart
        narrow = f"(typeof({c}) NOT IN ('text', 'blob') OR {c} >= {literal(bound)} COLLATE BINARY)"
    else:  # a value SQLite cannot read as a date (NULL julianday) is kept
        narrow = (
            f"(typeof({c}) != 'text' OR julianday({c}) IS NULL "
            f"OR julianday({c}) >= julianday({literal(bound)}))"
        )
    values, checks, casts = [], [], []
    for i, (name, dtype) in enumerate(columns):
        classes, expression, cast = CONVERSIONS[dtype]
        q = quote_ident(name)
        values.append(f"{expression.format(c=q)} AS v{i}")
        accepted = ", ".join(literal(k) for k in (*classes, "null"))
        checks.append(f"typeof({q}) IN ({accepted})")
        casts.append(f"{cast.format(v=f'v{i}')} AS {q}")
    inner = (
        f"SELECT {', '.join(values)}, ({' AND '.join(checks)}) AS basin_ok "
        f"FROM {quote_ident(table)} WHERE {narrow}"
    )
    return (
        f"(SELECT {', '.join(casts)} FROM sqlite_query({literal(alias)}, {literal(inner)}) "
        f"WHERE CASE WHEN basin_ok = '1' THEN true ELSE error({literal(MARK)}) END)"
    )


def has_text_affinity(declared: str) -> bool:
    """SQLite's affinity rules: a declared type containing INT is INTEGER, else one
    containing CHAR, CLOB or TEXT is TEXT."""
    upper = declared.upper()
    return "INT" not in upper and any(word in upper for word in ("CHAR", "CLOB", "TEXT"))


def _bound(dtype: str, lower: str) -> str | None:
    """SQLite's lower bound: the integer or text itself, or the time less ``MARGIN`` as
    text SQLite's ``julianday`` reads; None if ``lower`` is not one."""
    if dtype == "VARCHAR":
        return lower
    try:
        if dtype == "BIGINT":
            return str(int(lower))
        moment = datetime.fromisoformat(lower.strip().replace(" ", "T"))
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(lower.strip()), datetime.min.time())
        except ValueError:
            return None
    return (moment.replace(tzinfo=None) - MARGIN).strftime("%Y-%m-%d %H:%M:%S")
