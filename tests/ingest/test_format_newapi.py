"""The ``newapi`` format: one-api / new-api reseller logs, which carry no prompt text.

``logs.jsonl``: two consume records of one customer over two tokens and IPs (lines 1-2), an
upstream error (3), a top-up (4) and an admin action (5).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from distillscan.case import Case
from distillscan.ingest import ingest

FIXTURE = Path(__file__).parent.parent / "data" / "ingest" / "newapi" / "logs.jsonl"
NO_TEXT: dict[str, Any] = {
    "org_id": None,
    "end_user_id": None,
    "user_agent": None,
    "operation": None,
    "system_prompt": None,
    "prompt": None,
    "n_turns": None,
    "has_history": None,
    "n_images": None,
    "n_tools": None,
    "max_tokens": None,
    "temperature": None,
    "n_choices": None,
    "logprobs": None,
    "reasoning_effort": None,
    "thinking_budget": None,
    "reasoning_requested": None,
    "response_text": None,
    "text_available": False,
    "source_format": "newapi",
    "source_file": "logs.jsonl",
}


def test_reseller_log(tmp_path: Path) -> None:
    report = ingest([FIXTURE], tmp_path / "case")
    assert report.errors == []
    case = Case(tmp_path / "case")
    (entry,) = case.load_manifest()["inputs"]
    assert (
        entry["format"],
        entry["rows_read"],
        entry["rows_loaded"],
        entry["rows_quarantined"],
    ) == (
        "newapi",
        5,
        3,
        2,
    )
    con = case.connect()
    relation = con.sql("SELECT * EXCLUDE (source_sha256) FROM events ORDER BY source_line")
    events = [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
    reasons = con.sql("SELECT source_line, reason FROM quarantine ORDER BY source_line").fetchall()
    con.close()
    assert events == [
        {
            **NO_TEXT,
            "event_id": "880412",
            "ts": datetime(2026, 2, 3, 14, 5, 9),
            "account_id": "1742",
            "api_key_id": "3310",
            "source_ip": "203.0.113.45",
            "model": "claude-sonnet-4-20250514",
            "prompt_tokens": 1240,
            "completion_tokens": 2310,
            "status": "ok",
            "source_line": 1,
        },
        {
            **NO_TEXT,
            "event_id": "880413",
            "ts": datetime(2026, 2, 3, 14, 5, 11),
            "account_id": "1742",
            "api_key_id": "3311",
            "source_ip": "203.0.113.46",
            "model": "claude-sonnet-4-20250514",
            "prompt_tokens": 1180,
            "completion_tokens": 2290,
            "status": "ok",
            "source_line": 2,
        },
        {
            **NO_TEXT,
            "event_id": "880414",
            "ts": datetime(2026, 2, 3, 14, 5, 30),
            "account_id": "2051",
            "api_key_id": "studio",  # token_id 0 means no token id: the name stands in
            "source_ip": None,  # logged as ""
            "model": "gpt-4o",
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "status": "error",
            "source_line": 3,
        },
    ]
    assert reasons == [
        (
            4,
            "type: 1 (top-up) is not an API call; "
            "only consume (2) and error (5) records are events",
        ),
        (
            5,
            "type: 3 (manage) is not an API call; "
            "only consume (2) and error (5) records are events",
        ),
    ]


def test_unknown_type_and_missing_type(tmp_path: Path) -> None:
    """A type the gateway code does not define is quarantined; a row without one is a call."""
    logs = tmp_path / "logs" / "export.csv"
    logs.parent.mkdir()
    logs.write_text(
        "id,user_id,created_at,type,model_name,token_id,token_name,quota,prompt_tokens,"
        "completion_tokens,ip\n"
        "9001,77,1770127509,9,gpt-4o,12,k,100,10,20,192.0.2.1\n"
        "9002,77,1770127510,,gpt-4o,12,k,100,10,20,192.0.2.1\n",
        "utf-8",
    )
    ingest([logs], tmp_path / "case")
    con = Case(tmp_path / "case").connect()
    loaded = con.sql("SELECT event_id, account_id, status, source_line FROM events").fetchall()
    reasons = con.sql("SELECT source_line, reason FROM quarantine").fetchall()
    con.close()
    assert loaded == [("9002", "77", "ok", 3)]
    assert reasons == [
        (
            2,
            "type: 9 (not a known log type) is not an API call; only consume (2) and error (5) "
            "records are events",
        )
    ]
