"""Gateway and cloud exports: each product's file is detected as that product, and every row
loads with the account and time the product records, wherever it puts them.

The fixtures in ``tests/data/ingest/gateways`` are built from each product's published schema
(its own repository's types or its documentation), with invented values.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from distillscan.case import Case
from distillscan.ingest import ingest
from distillscan.ingest.formats import FORMATS, gateways

DATA = Path(__file__).parent.parent / "data" / "ingest" / "gateways"
COLUMNS = (
    "account_id, end_user_id, api_key_id, ts, model, prompt, system_prompt, response_text, "
    "source_ip, user_agent, prompt_tokens, completion_tokens, n_turns, text_available, "
    "source_format"
)


def _load(tmp_path: Path, name: str) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    report = ingest([DATA / name], tmp_path / "case")
    assert report.errors == []
    con = Case(tmp_path / "case").connect()
    relation = con.sql(f"SELECT {COLUMNS} FROM events ORDER BY source_line")
    rows = [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
    reasons: list[tuple[int, str]] = []
    if con.sql("SELECT 1 FROM duckdb_views() WHERE view_name = 'quarantine'").fetchall():
        reasons = con.sql("SELECT source_line, reason FROM quarantine ORDER BY 1").fetchall()
    con.close()
    return rows, reasons


@pytest.mark.parametrize(
    ("name", "fmt", "accounts", "first_ts"),
    [
        (
            "helicone.jsonl",
            "helicone",
            ["cust-4411", "cust-7"],
            datetime(2025, 3, 4, 12, 34, 56, 789000),
        ),
        (
            "helicone.csv",
            "helicone",
            ["cust-4411", "cust-9"],
            datetime(2025, 3, 4, 12, 34, 56, 789000),
        ),
        (
            "portkey.jsonl",
            "portkey",
            ["user-123", "user-456"],
            datetime(2025, 3, 4, 12, 34, 56, 789000),
        ),
        ("kong.jsonl", "kong", ["acme-corp"], datetime(2025, 3, 4, 12, 34, 56, 789000)),
        (
            "cloudflare.json",
            "cloudflare-ai-gateway",
            ["u-991", "u-992"],
            datetime(2025, 3, 4, 12, 34, 56, 789000),
        ),
        ("langfuse.json", "langfuse", ["u-77", "u-78"], datetime(2025, 6, 3, 14, 2, 11, 120000)),
        (
            "higress.jsonl",
            "higress",
            ["team-billing", "team-ops"],
            datetime(2025, 6, 3, 14, 2, 11, 120000),
        ),
        ("vertex.jsonl", "vertex", ["acme-prod"], datetime(2025, 6, 3, 14, 2, 13, 480000)),
        ("newapi-api-response.json", "newapi", ["7"], datetime(2026, 1, 12, 0, 0, 19)),
        (
            "cloudwatch-filter-log-events.json",
            "bedrock",
            ["arn:aws:sts::111122223333:assumed-role/app"],
            datetime(2026, 1, 12, 0, 0, 1),
        ),
    ],
)
def test_each_export_loads_with_its_accounts_and_times(
    tmp_path: Path, name: str, fmt: str, accounts: list[str], first_ts: datetime
) -> None:
    rows, _ = _load(tmp_path, name)
    assert {r["source_format"] for r in rows} == {fmt}
    assert [r["account_id"] for r in rows] == accounts
    assert rows[0]["ts"] == first_ts
    for row in rows:
        # A format that says text is there must have found it.
        assert not row["text_available"] or row["prompt"], row


def test_kong_reads_the_consumer_its_credential_and_the_json_text_bodies(tmp_path: Path) -> None:
    (row,), _ = _load(tmp_path, "kong.jsonl")
    assert (row["api_key_id"], row["source_ip"], row["user_agent"]) == (
        "c1a7cred",
        "203.0.113.45",
        "python-httpx/0.27.0",
    )
    assert (row["model"], row["prompt"], row["response_text"]) == ("gpt-4o", "What is 1 + 1?", "2")
    assert (row["prompt_tokens"], row["completion_tokens"]) == (25, 12)


def test_gemini_contents_are_prompt_text(tmp_path: Path) -> None:
    rows, _ = _load(tmp_path, "helicone.jsonl")
    gemini = rows[1]
    assert (gemini["model"], gemini["prompt"], gemini["n_turns"]) == (
        "gemini-2.0-flash",
        "Step by step please",
        3,  # two user turns and the model's
    )
    (vertex,), _ = _load(tmp_path / "v", "vertex.jsonl")
    assert (vertex["prompt"], vertex["system_prompt"], vertex["response_text"]) == (
        "Reset my password",
        "You are a support bot.",
        "Go to Settings",
    )
    assert (vertex["end_user_id"], vertex["model"]) == ("u-8812", "gemini-2.5-flash")


def test_helicone_csv_reads_the_model_from_the_body_text(tmp_path: Path) -> None:
    rows, _ = _load(tmp_path, "helicone.csv")
    assert [(r["model"], r["system_prompt"]) for r in rows] == [
        ("gpt-4o-mini", "You are terse."),
        ("claude-3-5-haiku", "Be brief."),
    ]


def test_a_record_without_its_caller_is_quarantined_not_loaded_empty(tmp_path: Path) -> None:
    rows, reasons = _load(tmp_path, "portkey.jsonl")
    assert len(rows) == 2
    assert reasons == [(3, "account_id: missing")]


def test_higress_addresses_lose_their_port(tmp_path: Path) -> None:
    rows, _ = _load(tmp_path, "higress.jsonl")
    assert [r["source_ip"] for r in rows] == ["203.0.113.24", "2001:db8::5"]
    assert [r["prompt_tokens"] for r in rows] == [343, 12]  # text and numbers alike


def test_cloudtrail_lookup_events_carry_their_event_as_text(tmp_path: Path) -> None:
    ingest([DATA / "cloudtrail-lookup-events.json"], tmp_path / "case")
    con = Case(tmp_path / "case").connect()
    rows = con.sql("SELECT request_id, source_ip, user_agent FROM cloudtrail").fetchall()
    con.close()
    assert rows == [("r-1", "198.51.100.7", "Boto3/1.34")]


def test_every_shipped_product_is_registered_before_the_request_log_formats() -> None:
    names = [f.name for f in FORMATS]
    for product in gateways.FORMATS:
        assert names.index(product.name) < names.index("openai")
