"""Property tests: whatever the input, ingest accounts for every record, and values survive.

Three properties, over canonical JSON lines, CSV and Parquet (and every registered format for
the first):

* arbitrary records never make ingest raise: each is loaded or quarantined exactly once, at its
  own position, and the counts reconcile;
* valid canonical records round-trip to the same canonical values;
* a timestamp written with any UTC offset, in any supported shape, lands on the same instant.

The Hypothesis profile (``tests/conftest.py``) is derandomized, so the examples are the same on
every run.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import unicodedata
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ingest_support import read_case

from distillscan.ingest import formats, ingest
from distillscan.ingest.formats import canonical
from distillscan.verify import verify

UTC = dt.UTC
#: Examples of each property that ingests one input per example: 10 (the profile's 15 elsewhere),
#: as the ingest is most of an example's cost. ``DISTILLSCAN_HYPOTHESIS=thorough`` runs its many
#: more here too.
INGEST_EXAMPLES = 10 if settings.default.max_examples <= 15 else settings.default.max_examples

# --- strategies -----------------------------------------------------------------------------

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=24)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
    | st.sampled_from(["2026-02-03T14:05:09Z", "1770127509", "high", "", "  ", "[1,2]", "{}"])
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=12,
)
#: Keys any format might read, plus noise.
KEYS = st.sampled_from(
    sorted({key for fmt in formats.FORMATS for key in fmt.keys} | {"role", "content", "type"})
) | st.text(max_size=8)
RECORDS = st.dictionaries(KEYS, JSON_VALUES, max_size=10)
#: A record with the canonical required keys present, so detection and mapping go deep.
CANONICAL_LIKE = st.fixed_dictionaries(
    {"account_id": JSON_VALUES, "timestamp": JSON_VALUES}, optional={"messages": JSON_VALUES}
).flatmap(lambda base: RECORDS.map(lambda extra: {**extra, **base}))


def _ingest_and_account(
    paths: list[Path], case: Path, expected_positions: list[int], **kw: Any
) -> None:
    """Ingest must not raise, and every expected position is loaded or quarantined once, or
    the file fails as a whole because no row of it names its account (or its time), with
    nothing of it committed."""
    report = ingest(paths, case, **kw)
    if report.errors:
        assert len(report.errors) == 1 and "no row says which" in report.errors[0], report.errors
        assert report.loaded == []
        assert read_case(case, "events", "source_line") == []
        assert read_case(case, "quarantine", "source_line") == []
        return
    assert report.rows_read == len(expected_positions)
    assert report.rows_loaded + report.rows_quarantined == report.rows_read
    [entry] = report.loaded
    target = "events" if entry["target"] == "events" else entry["target"]
    table = {"events": "events", "accounts": "account_inputs", "cloudtrail": "cloudtrail"}[target]
    loaded = [row[0] for row in read_case(case, table, "source_line")]
    quarantined = [row[0] for row in read_case(case, "quarantine", "source_line")]
    assert len(loaded) == report.rows_loaded
    assert sorted(loaded + quarantined) == sorted(expected_positions)
    result = verify(case)
    assert result.ok, result.problems


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")


# --- arbitrary records never make ingest raise -----------------------------------------------


@settings(max_examples=INGEST_EXAMPLES)
@given(records=st.lists(st.one_of(RECORDS, CANONICAL_LIKE, JSON_VALUES), min_size=1, max_size=12))
def test_arbitrary_json_lines_are_loaded_or_quarantined(
    tmp_path_factory: pytest.TempPathFactory, records: list[Any]
) -> None:
    folder = tmp_path_factory.mktemp("jsonl")
    path = folder / "input.jsonl"
    _write_jsonl(path, records)
    lines = list(range(1, len(records) + 1))
    _ingest_and_account([path], folder / "case", lines, format_name="canonical")


@pytest.mark.parametrize("format_name", formats.format_names())
@settings(max_examples=5)
@given(records=st.lists(st.one_of(RECORDS, CANONICAL_LIKE), min_size=1, max_size=8))
def test_every_format_survives_arbitrary_records(
    tmp_path_factory: pytest.TempPathFactory, format_name: str, records: list[dict[str, Any]]
) -> None:
    folder = tmp_path_factory.mktemp(format_name)
    path = folder / "input.jsonl"
    _write_jsonl(path, records)
    lines = list(range(1, len(records) + 1))
    _ingest_and_account([path], folder / "case", lines, format_name=format_name)


CELLS = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=16
) | st.sampled_from(["", '"', '""', ",", "\n", "\r\n", "\r", "2026-02-03T14:05:09Z", "[{}]"])


@settings(max_examples=INGEST_EXAMPLES)
@given(
    header=st.lists(KEYS, min_size=1, max_size=6, unique=True),
    data=st.data(),
)
def test_arbitrary_csv_rows_are_loaded_or_quarantined(
    tmp_path_factory: pytest.TempPathFactory, header: list[str], data: st.DataObject
) -> None:
    rows = data.draw(
        st.lists(
            st.lists(CELLS, min_size=len(header), max_size=len(header)), min_size=1, max_size=8
        )
    )
    # The writer's default "\r\n" terminator makes it quote any cell holding \r or \n.
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    header_lines = len(io.StringIO(text.getvalue(), newline="").readlines())
    starts = []
    line = header_lines + 1
    for row in rows:
        chunk = io.StringIO(newline="")
        csv.writer(chunk).writerow(row)
        starts.append(line)
        line += len(io.StringIO(chunk.getvalue(), newline="").readlines())
        writer.writerow(row)
    folder = tmp_path_factory.mktemp("csv")
    path = folder / "input.csv"
    path.write_text(text.getvalue(), "utf-8", newline="")
    if all(h.strip() == "" for h in header) and len(header) == 1:
        return  # a single blank header cell: there is no header row to speak of
    _ingest_and_account([path], folder / "case", starts, format_name="canonical")


COLUMN_VALUES = st.sampled_from(["string", "int", "float", "bool", "list", "struct", "null"])


@settings(max_examples=INGEST_EXAMPLES)
@given(
    columns=st.dictionaries(KEYS.filter(bool), COLUMN_VALUES, min_size=1, max_size=6),
    n=st.integers(1, 6),
    data=st.data(),
)
def test_arbitrary_parquet_rows_are_loaded_or_quarantined(
    tmp_path_factory: pytest.TempPathFactory,
    columns: dict[str, str],
    n: int,
    data: st.DataObject,
) -> None:
    strategies = {
        "string": TEXT | st.none(),
        "int": st.integers(-(2**63), 2**63 - 1) | st.none(),
        "float": st.floats() | st.none(),
        "bool": st.booleans() | st.none(),
        "list": st.lists(TEXT, max_size=3) | st.none(),
        "struct": st.fixed_dictionaries({"role": TEXT, "content": TEXT}) | st.none(),
        "null": st.none(),
    }
    types = {
        "string": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
        "list": pa.list_(pa.string()),
        "struct": pa.struct([("role", pa.string()), ("content", pa.string())]),
        "null": pa.null(),
    }  # fmt: skip
    table = pa.table(
        {
            name: pa.array(
                data.draw(st.lists(strategies[kind], min_size=n, max_size=n)), types[kind]
            )
            for name, kind in columns.items()
        }
    )
    folder = tmp_path_factory.mktemp("parquet")
    path = folder / "input.parquet"
    pq.write_table(table, path)
    _ingest_and_account([path], folder / "case", list(range(1, n + 1)), format_name="canonical")


# --- valid records round-trip ---------------------------------------------------------------

#: Text that names something: not only whitespace, and not only invisible characters (Unicode
#: spaces and format characters such as U+200B or a soft hyphen), which ingest counts as blank.
NON_BLANK = TEXT.filter(
    lambda s: any(not c.isspace() and unicodedata.category(c) not in ("Zs", "Cf") for c in s)
)
OFFSETS = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)
INSTANTS = st.datetimes(min_value=dt.datetime(2000, 1, 2), max_value=dt.datetime(2099, 12, 30)).map(
    lambda d: d.replace(tzinfo=UTC)
)


@st.composite
def valid_records(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Valid canonical records with distinct ids, each with its expected canonical values."""
    ids = draw(st.lists(NON_BLANK, min_size=1, max_size=6, unique=True))
    records = []
    for event_id in ids:
        instant = draw(INSTANTS)
        records.append(
            {
                "event_id": event_id,
                "timestamp": instant.astimezone(draw(OFFSETS)),
                "account_id": draw(NON_BLANK),
                "model": draw(st.none() | NON_BLANK),
                "prompt": draw(st.none() | NON_BLANK),
                "max_tokens": draw(st.none() | st.integers(0, 2**62)),
                "temperature": draw(st.none() | st.floats(-1e6, 1e6, allow_nan=False)),
                "logprobs": draw(st.none() | st.booleans()),
            }
        )
    return records


def _expected(records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(
        (
            r["event_id"],
            r["timestamp"].astimezone(UTC).replace(tzinfo=None),
            r["account_id"],
            r["model"],
            r["prompt"],
            r["max_tokens"],
            r["temperature"],
            r["logprobs"],
        )
        for r in records
    )


ROUND_TRIP_COLUMNS = "event_id, ts, account_id, model, prompt, max_tokens, temperature, logprobs"


def _loaded(case: Path) -> list[tuple[Any, ...]]:
    return sorted(read_case(case, "events", ROUND_TRIP_COLUMNS))


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, dt.datetime) else value
        for key, value in record.items()
        if value is not None
    }


@settings(max_examples=INGEST_EXAMPLES)
@given(records=valid_records())
def test_valid_json_lines_round_trip(
    tmp_path_factory: pytest.TempPathFactory, records: list[dict[str, Any]]
) -> None:
    folder = tmp_path_factory.mktemp("rt-jsonl")
    _write_jsonl(folder / "in.jsonl", [_plain(r) for r in records])
    report = ingest([folder / "in.jsonl"], folder / "case")
    assert report.rows_quarantined == 0, report.examples
    assert _loaded(folder / "case") == _expected(records)


@settings(max_examples=INGEST_EXAMPLES)
@given(records=valid_records())
def test_valid_csv_rows_round_trip(
    tmp_path_factory: pytest.TempPathFactory, records: list[dict[str, Any]]
) -> None:
    header = ["event_id", "timestamp", "account_id", "model", "prompt", "max_tokens",
              "temperature", "logprobs"]  # fmt: skip
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    for record in records:
        plain = _plain(record)
        cells = {
            key: (json.dumps(value) if isinstance(value, bool | float) else str(value))
            for key, value in plain.items()
        }
        writer.writerow([cells.get(key, "") for key in header])
    folder = tmp_path_factory.mktemp("rt-csv")
    (folder / "in.csv").write_text(text.getvalue(), "utf-8", newline="")
    report = ingest([folder / "in.csv"], folder / "case")
    assert report.rows_quarantined == 0, report.examples
    assert _loaded(folder / "case") == _expected(records)


@settings(max_examples=INGEST_EXAMPLES)
@given(records=valid_records())
def test_valid_parquet_rows_round_trip(
    tmp_path_factory: pytest.TempPathFactory, records: list[dict[str, Any]]
) -> None:
    schema = pa.schema(
        [
            ("event_id", pa.string()),
            ("timestamp", pa.timestamp("us", tz="UTC")),
            ("account_id", pa.string()),
            ("model", pa.string()),
            ("prompt", pa.string()),
            ("max_tokens", pa.int64()),
            ("temperature", pa.float64()),
            ("logprobs", pa.bool_()),
        ]
    )
    folder = tmp_path_factory.mktemp("rt-parquet")
    pq.write_table(pa.Table.from_pylist(records, schema=schema), folder / "in.parquet")
    report = ingest([folder / "in.parquet"], folder / "case")
    assert report.rows_quarantined == 0, report.examples
    assert _loaded(folder / "case") == _expected(records)


# --- any offset, the same instant -----------------------------------------------------------


def _shapes(instant: dt.datetime, offset: dt.timezone) -> list[tuple[Any, dt.datetime]]:
    """The instant written in each supported shape, with the precision that shape keeps."""
    local = instant.astimezone(offset)
    seconds = instant.replace(microsecond=0)
    millis = instant.replace(microsecond=instant.microsecond // 1000 * 1000)
    basic = local.strftime("%Y-%m-%dT%H:%M:%S.%f%z")  # +HHMM
    return [
        (local.isoformat(), instant),
        (basic, instant),
        (local.strftime("%a, %d %b %Y %H:%M:%S %z"), seconds),
        (local.strftime("%d/%b/%Y:%H:%M:%S %z"), seconds),
        (int(seconds.timestamp()), seconds),
        (str(int(seconds.timestamp())), seconds),
        (int(millis.timestamp() * 1000), millis),
        (round(instant.timestamp() * 1_000_000), instant),
        (instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), instant),
    ]


@settings(max_examples=INGEST_EXAMPLES)
@given(instant=INSTANTS, offsets=st.lists(OFFSETS, min_size=1, max_size=3))
def test_any_offset_lands_on_the_same_utc_instant(
    tmp_path_factory: pytest.TempPathFactory, instant: dt.datetime, offsets: list[dt.timezone]
) -> None:
    records = []
    expected = []
    for offset in offsets:
        for value, exact in _shapes(instant, offset):
            records.append({"timestamp": value, "account_id": "acct"})
            expected.append(exact.replace(tzinfo=None))
    folder = tmp_path_factory.mktemp("offsets")
    _write_jsonl(folder / "ts.jsonl", records)
    report = ingest([folder / "ts.jsonl"], folder / "case")
    assert report.rows_quarantined == 0, report.examples
    loaded = [ts for _, ts in read_case(folder / "case", "events", "source_line, ts")]
    assert loaded == expected


def test_canonical_keys_cover_the_round_trip_columns() -> None:
    # The round-trip strategy writes canonical field names; keep it in step with the format.
    assert {"event_id", "timestamp", "account_id", "model", "prompt", "max_tokens",
            "temperature", "logprobs"} <= set(canonical.FORMAT.keys)  # fmt: skip
