"""The ``cloudtrail`` format and the enrichment of Bedrock events with CloudTrail's IP and agent.

``tests/data/ingest/cloudtrail/bedrock-trail.json`` is a ``{"Records": [...]}`` file holding the
CloudTrail records of five calls in the Bedrock fixture (one made by an AWS service, "AWS
Internal") and one S3 ``GetObject`` record.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from distillscan.case import Case
from distillscan.ingest import ingest

DATA = Path(__file__).parent.parent / "data" / "ingest"
TRAIL = DATA / "cloudtrail" / "bedrock-trail.json"
INVOCATIONS = DATA / "bedrock" / "invocations.jsonl"
BOTO = (
    "Boto3/1.36.2 md/Botocore#1.36.2 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.9 "
    "md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.36.2"
)
NODE = (
    "aws-sdk-js/3.730.0 ua/2.1 os/linux#5.10 lang/js md/nodejs#20.18.1 "
    "api/bedrock-runtime#3.730.0 m/E,N"
)
HARVESTER_07 = "arn:aws:sts::111122223333:assumed-role/DataTeamRole/harvester-07"

#: ``source_ip``/``user_agent`` of the Bedrock events once CloudTrail is in the case, by line.
ENRICHED = {
    1: ("203.0.113.45", BOTO),
    2: ("198.51.100.23", NODE),
    3: (None, None),  # the CloudTrail record says "AWS Internal": not a client address
    4: (None, None),  # no CloudTrail record
    5: ("2001:db8:4006:812::200e", BOTO),
    6: ("203.0.113.45", BOTO),
    7: (None, None),
    9: (None, None),
    10: (None, None),
}


def _client_columns(case_dir: Path) -> dict[int, tuple[str | None, str | None]]:
    con = Case(case_dir).connect()
    rows = con.sql("SELECT source_line, source_ip, user_agent FROM events").fetchall()
    con.close()
    return {line: (ip, agent) for line, ip, agent in rows}


def test_trail_records_go_to_the_cloudtrail_table(tmp_path: Path) -> None:
    report = ingest([TRAIL], tmp_path / "case")
    assert report.errors == []
    (entry,) = Case(tmp_path / "case").load_manifest()["inputs"]
    assert (entry["format"], entry["target"]) == ("cloudtrail", "cloudtrail")
    assert (entry["rows_read"], entry["rows_loaded"], entry["rows_quarantined"]) == (6, 5, 1)
    con = Case(tmp_path / "case").connect()
    trail = con.sql(
        "SELECT request_id, event_time, source_ip, user_agent, principal_arn, source_file "
        "FROM cloudtrail ORDER BY source_line"
    ).fetchall()
    quarantine = con.sql("SELECT reason, source_format, raw FROM quarantine").fetchall()
    views = con.sql("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    con.close()
    assert sorted(views) == [("cloudtrail",), ("quarantine",)]  # no events: none were loaded
    assert trail[0] == (
        "7c1f5a3e-2b8d-4e61-9a0f-3d2c1b4a5e60",
        datetime(2026, 2, 3, 14, 5, 9),
        "203.0.113.45",
        BOTO,
        HARVESTER_07,
        "bedrock-trail.json",
    )
    assert [row[0] for row in trail] == [
        "7c1f5a3e-2b8d-4e61-9a0f-3d2c1b4a5e60",
        "0b9e3d2a-6f41-4c7e-8a55-1e2f3a4b5c6d",
        "5d4c3b2a-1908-4f7e-b6d5-c4b3a2918070",
        "c0ffee00-1234-4abc-9def-0123456789ab",
        "e5d4c3b2-a190-4876-8543-210fedcba987",
    ]
    # kept as logged in the cloudtrail table; only the events view ignores it
    assert trail[2][2:4] == ("AWS Internal", "AWS Internal")
    ((reason, source_format, raw),) = quarantine
    assert (reason, source_format) == (
        "eventSource: s3.amazonaws.com is not Bedrock; only Bedrock records enrich events",
        "cloudtrail",
    )
    assert json.loads(raw)["eventName"] == "GetObject"


@pytest.mark.parametrize("order", ["bedrock first", "cloudtrail first", "together"])
def test_events_get_ip_and_agent_in_any_ingest_order(tmp_path: Path, order: str) -> None:
    case_dir = tmp_path / "case"
    if order == "bedrock first":
        ingest([INVOCATIONS], case_dir)
        assert set(_client_columns(case_dir).values()) == {(None, None)}
        ingest([TRAIL], case_dir)
    elif order == "cloudtrail first":
        ingest([TRAIL], case_dir)
        ingest([INVOCATIONS], case_dir)
    else:
        ingest([TRAIL, INVOCATIONS], case_dir)
    assert _client_columns(case_dir) == ENRICHED
    totals = Case(case_dir).load_manifest()["totals"]
    assert totals == {"rows_read": 17, "rows_loaded": 14, "rows_quarantined": 3}


def test_duplicate_trail_records_do_not_duplicate_events(tmp_path: Path) -> None:
    """A second trail file (JSON lines) repeats one request with another address."""
    record = json.loads(TRAIL.read_text("utf-8"))["Records"][0]
    later = tmp_path / "logs" / "z-trail-copy.jsonl"
    later.parent.mkdir()
    later.write_text(json.dumps({**record, "sourceIPAddress": "192.0.2.99"}) + "\n", "utf-8")
    case_dir = tmp_path / "case"
    ingest([INVOCATIONS, TRAIL, later], case_dir)
    columns = _client_columns(case_dir)
    assert len(columns) == 9
    # the first record by file name and line wins: bedrock-trail.json before z-trail-copy.jsonl
    assert columns[1] == ("203.0.113.45", BOTO)


def test_an_event_keeps_the_ip_and_agent_it_logged(tmp_path: Path) -> None:
    """CloudTrail only fills what the event lacks; a logged value is evidence as it stands."""
    own = tmp_path / "logs" / "gateway.jsonl"
    own.parent.mkdir()
    own.write_text(
        json.dumps(
            {
                "event_id": "7c1f5a3e-2b8d-4e61-9a0f-3d2c1b4a5e60",
                "timestamp": "2026-02-03T14:05:09Z",
                "account_id": HARVESTER_07,
                "source_ip": "10.0.0.8",
                "prompt": "hello",
            }
        )
        + "\n"
        + json.dumps(
            {
                "event_id": "0b9e3d2a-6f41-4c7e-8a55-1e2f3a4b5c6d",
                "timestamp": "2026-02-03T14:05:11Z",
                "account_id": "arn:aws:iam::111122223333:user/ci-eval-runner",
                "user_agent": "internal-proxy/1.0",
                "prompt": "hello",
            }
        )
        + "\n",
        "utf-8",
    )
    case_dir = tmp_path / "case"
    ingest([own, TRAIL], case_dir)
    assert _client_columns(case_dir) == {
        1: ("10.0.0.8", BOTO),
        2: ("198.51.100.23", "internal-proxy/1.0"),
    }
