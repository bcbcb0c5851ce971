"""Detection of the ``bedrock``, ``cloudtrail``, ``litellm`` and ``newapi`` fixtures.

Each fixture must be recognised as its own format from its first records, and no other committed
fixture (of any format) may look like one of these four: a false match would map a whole file
with the wrong SQL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from distillscan.ingest import formats
from distillscan.ingest.formats import bedrock, cloudtrail, litellm, newapi
from distillscan.ingest.formats.base import LogFormat
from distillscan.ingest.load import SNIFF_RECORDS
from distillscan.ingest.readers import container_of, read_csv, read_json, read_jsonl
from distillscan.ingest.streams import InputStream

DATA = Path(__file__).parent.parent / "data" / "ingest"

OWN_FIXTURES: dict[str, LogFormat] = {
    "bedrock/invocations.jsonl": bedrock.FORMAT,
    "cloudtrail/bedrock-trail.json": cloudtrail.FORMAT,
    "litellm/spendlogs.jsonl": litellm.FORMAT,
    "litellm/spendlogs.csv": litellm.FORMAT,
    "newapi/logs.jsonl": newapi.FORMAT,
    "gateways/cloudtrail-lookup-events.json": cloudtrail.FORMAT,
    "gateways/newapi-api-response.json": newapi.FORMAT,
    "gateways/cloudwatch-filter-log-events.json": bedrock.FORMAT,
}
MINE = tuple(OWN_FIXTURES.values())


def _first_records(path: Path) -> list[dict[str, object]]:
    """The JSON objects the ingest would sniff: the first records as the readers frame them."""
    container = container_of(path)
    reader = {"jsonl": read_jsonl, "json": read_json, "csv": read_csv}[container or "jsonl"]
    stream = InputStream(path)
    try:
        batch = next(reader(stream))
    finally:
        stream.close()
    sample = []
    for text in batch.records.to_pylist():
        try:
            value = json.loads(text)
        except ValueError:
            continue  # a broken record is the quarantine's business, not detection's
        if isinstance(value, dict):
            sample.append(value)
    return sample[:SNIFF_RECORDS]


@pytest.mark.parametrize("name", sorted(OWN_FIXTURES))
def test_fixture_is_detected_as_its_own_format(name: str) -> None:
    records = _first_records(DATA / name)
    assert formats.detect(records) is OWN_FIXTURES[name]
    for other in formats.FORMATS:
        if other is not OWN_FIXTURES[name]:
            assert not any(other.sniff(r) for r in records), other.name


@pytest.mark.parametrize(
    "path",
    sorted(
        p
        for p in DATA.rglob("*")
        if container_of(p) in ("jsonl", "json", "csv")
        and p.relative_to(DATA).as_posix() not in OWN_FIXTURES
    ),
    ids=lambda p: p.relative_to(DATA).as_posix(),
)
def test_other_fixtures_do_not_look_like_these_formats(path: Path) -> None:
    records = _first_records(path)
    for fmt in MINE:
        assert not any(fmt.sniff(r) for r in records), fmt.name


def test_formats_are_registered_before_canonical() -> None:
    order = [f.name for f in formats.FORMATS]
    for fmt in MINE:
        assert order.index(fmt.name) < order.index("canonical")
        assert formats.by_name(fmt.name) is fmt
