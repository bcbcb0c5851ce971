"""The ``litellm`` format: LiteLLM proxy SpendLogs exports, as JSON lines and as CSV.

``spendlogs.jsonl`` rows: a stored chat prompt with tools and reasoning (1), a row whose prompt
was not stored and whose key has no user (2), a failed call of a key with neither user nor team
(3), an embedding (4), a redacted prompt (5), an Anthropic ``/v1/messages`` call through the
proxy (6), a ``messages`` value LiteLLM never writes (7) and a row without ``startTime`` (8).
``spendlogs.csv`` is rows 1-3 exported as CSV, JSON columns as JSON text.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from distillscan.case import Case
from distillscan.ingest import ingest

DATA = Path(__file__).parent.parent / "data" / "ingest" / "litellm"
KEY_1 = "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b"
KEY_2 = "5f2b7a1c9e0d4f3a8b6c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a"
KEY_3 = "c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2"
PER_FILE = ("source_sha256", "source_file", "source_line")


def _load(case_dir: Path, path: Path) -> dict[str, dict[str, Any]]:
    """Ingest ``path`` and return its events by event id."""
    report = ingest([path], case_dir)
    assert report.errors == []
    con = Case(case_dir).connect()
    relation = con.sql("SELECT * FROM events")
    events = {row[0]: dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()}
    con.close()
    return events


@pytest.fixture(scope="module")
def jsonl(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return _load(tmp_path_factory.mktemp("litellm") / "case", DATA / "spendlogs.jsonl")


def test_stored_chat_prompt(jsonl: dict[str, dict[str, Any]]) -> None:
    event = jsonl["chatcmpl-9f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b"]
    assert {k: v for k, v in event.items() if k != "source_sha256"} == {
        "event_id": "chatcmpl-9f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b",
        "ts": datetime(2026, 2, 3, 14, 5, 9, 123000),
        "account_id": "u_hydra_0412",
        "api_key_id": KEY_1,
        "org_id": "team-resale-east",
        "end_user_id": "tenant-77:cust-9931",
        "source_ip": "203.0.113.45",
        "user_agent": "OpenAI/Python 1.59.7",
        "model": "frontier-2",
        "operation": "acompletion",
        "system_prompt": "Think step by step and show all of your reasoning.",
        "prompt": (
            "Prove that there are infinitely many primes.\n"
            'Use only elementary arguments, "no calculus".'
        ),
        "n_turns": 1,
        "has_history": False,
        "n_images": 0,
        "n_tools": 1,
        "max_tokens": 16000,
        "temperature": 1.0,
        "n_choices": 2,
        "logprobs": True,
        "reasoning_effort": "high",
        "thinking_budget": None,
        "reasoning_requested": True,
        "response_text": "Assume finitely many primes p1..pn; consider N = p1*...*pn + 1.",
        "prompt_tokens": 230,
        "completion_tokens": 1600,
        "status": "ok",
        "text_available": True,
        "source_format": "litellm",
        "source_file": "spendlogs.jsonl",
        "source_line": 1,
    }


def test_unstored_prompt_and_team_fallback(jsonl: dict[str, dict[str, Any]]) -> None:
    event = jsonl["chatcmpl-1a2b3c4d-0000-4000-8000-000000000002"]
    assert (event["account_id"], event["api_key_id"], event["org_id"]) == (
        "team:team-support-bot",
        KEY_2,
        "org-acme",
    )
    assert event["ts"] == datetime(2026, 2, 3, 14, 5, 12, 500000)  # no offset: UTC
    assert event["text_available"] is False
    text_columns = ("system_prompt", "prompt", "n_turns", "has_history", "n_images", "n_tools")
    assert [event[k] for k in (*text_columns, "response_text", "end_user_id")] == [None] * 8


def test_failed_call_of_a_bare_key(jsonl: dict[str, dict[str, Any]]) -> None:
    event = jsonl["chatcmpl-1a2b3c4d-0000-4000-8000-000000000003"]
    assert (event["account_id"], event["org_id"]) == (f"key:{KEY_3}", None)
    assert (event["status"], event["max_tokens"], event["source_ip"]) == (
        "429",
        4096,
        "198.51.100.7",
    )
    assert (event["prompt"], event["text_available"]) == (
        "Rate my essay with the rubric below.",
        True,
    )


def test_embedding_inputs_are_the_prompt(jsonl: dict[str, dict[str, Any]]) -> None:
    event = jsonl["emb-77aa88bb-99cc-4ddd-8eee-ff0011223344"]
    assert (event["operation"], event["model"]) == ("aembedding", "text-embedding-3-small")
    assert (event["prompt"], event["n_turns"]) == ("quarterly revenue forecast\nchurn drivers", 1)


def test_redacted_prompt_is_not_text(jsonl: dict[str, dict[str, Any]]) -> None:
    event = jsonl["chatcmpl-5e6f7a8b-0000-4000-8000-000000000005"]
    assert (event["prompt"], event["response_text"], event["text_available"]) == (None, None, False)
    assert event["account_id"] == "u_clinic_02"


def test_anthropic_messages_through_the_proxy(jsonl: dict[str, dict[str, Any]]) -> None:
    event = jsonl["msg_01HZX3ANTHROPIC0000006"]
    assert {
        k: event[k]
        for k in (
            "account_id",
            "user_agent",
            "source_ip",
            "system_prompt",
            "prompt",
            "n_turns",
            "has_history",
            "n_tools",
            "max_tokens",
            "thinking_budget",
            "reasoning_requested",
            "response_text",
        )
    } == {
        "account_id": "u_hydra_0413",
        "user_agent": "claude-cli/1.0.51 (external, cli)",
        # the top-level column is empty; the copy in metadata is used
        "source_ip": "203.0.113.46",
        "system_prompt": "You are Claude Code, an agentic coding tool.",
        # the last user turn holds only a tool result: its text is the prompt
        "prompt": "STATE = {}\ndef get(k): return STATE[k]",
        "n_turns": 3,
        "has_history": True,
        "n_tools": 3,
        "max_tokens": 32000,
        "thinking_budget": 8000,
        "reasoning_requested": True,
        "response_text": "Replace STATE with a Store class.",
    }


def test_jsonl_counts_and_quarantine(tmp_path: Path) -> None:
    ingest([DATA / "spendlogs.jsonl"], tmp_path / "case")
    case = Case(tmp_path / "case")
    (entry,) = case.load_manifest()["inputs"]
    assert (
        entry["format"],
        entry["rows_read"],
        entry["rows_loaded"],
        entry["rows_quarantined"],
    ) == (
        "litellm",
        8,
        6,
        2,
    )
    con = case.connect()
    reasons = con.sql("SELECT source_line, reason FROM quarantine ORDER BY source_line").fetchall()
    con.close()
    assert reasons == [
        (
            7,
            "messages: expected a list of {role, content} ({} when not stored), "
            'got {"text":"hello"}',
        ),
        (8, "ts: missing"),
    ]


def test_csv_export_reads_as_the_json_export(
    tmp_path: Path, jsonl: dict[str, dict[str, Any]]
) -> None:
    from_csv = _load(tmp_path / "case", DATA / "spendlogs.csv")
    assert len(from_csv) == 3
    for event_id, event in from_csv.items():
        assert event["source_file"] == "spendlogs.csv"
        same = {k: v for k, v in jsonl[event_id].items() if k not in PER_FILE}
        assert {k: v for k, v in event.items() if k not in PER_FILE} == same
    assert sorted(e["source_line"] for e in from_csv.values()) == [2, 3, 4]


#: Response bodies LiteLLM logs, by the API behind the proxy, and the text each must yield.
RESPONSE_SHAPES = {
    "chat": ({"choices": [{"message": {"role": "assistant", "content": "one"}}]}, "one"),
    "chat, n=2": (
        {"choices": [{"message": {"content": "first"}}, {"message": {"content": "second"}}]},
        "first\nsecond",
    ),
    "chat, content parts": (
        {"choices": [{"message": {"content": [{"type": "text", "text": "parts"}]}}]},
        "parts",
    ),
    "text completion": ({"choices": [{"index": 0, "text": "completed"}]}, "completed"),
    "anthropic messages": (
        {"content": [{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "said"}]},
        "said",
    ),
    "responses api": (
        {"output": [{"type": "reasoning"}, {"type": "message", "content": "out"}]},
        "out",
    ),
    "plain string": ("just text", "just text"),
    "empty choices": ({"choices": []}, None),
    "redacted": ("redacted-by-litellm", None),
}


def test_response_shapes(tmp_path: Path) -> None:
    """Each response shape gives its text, the first shape found winning, as the careful path."""
    rows = [
        {
            "request_id": f"req-{n}",
            "call_type": "acompletion",
            "api_key": "k",
            "user": "u",
            "startTime": "2026-02-03T14:05:09.123Z",
            "messages": [{"role": "user", "content": "q"}],
            "response": body,
        }
        for n, (body, _) in enumerate(RESPONSE_SHAPES.values())
    ]
    path = tmp_path / "shapes.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), "utf-8")
    events = _load(tmp_path / "case", path)
    assert {
        name: events[f"req-{n}"]["response_text"] for n, name in enumerate(RESPONSE_SHAPES)
    } == {name: text for name, (_, text) in RESPONSE_SHAPES.items()}


def _payload(n: int, **fields: Any) -> dict[str, Any]:
    """A ``StandardLoggingPayload`` as LiteLLM's S3 and GCS loggers write it (field names from
    LiteLLM's logging spec; values made up)."""
    payload: dict[str, Any] = {
        "id": f"chatcmpl-payload-{n}",
        "trace_id": f"trace-{n}",
        "call_type": "acompletion",
        "response_cost": 0.00042,
        "status": "success",
        "total_tokens": 150,
        "prompt_tokens": 100,
        "completion_tokens": 50,
        "startTime": 1770127509.5 + n,
        "endTime": 1770127511.0 + n,
        "completionStartTime": 1770127510.0 + n,
        "model": "frontier-2",
        "model_id": "deploy-1",
        "model_group": "frontier",
        "api_base": "https://api.example.test/v1",
        "metadata": {
            "user_api_key_hash": KEY_2,
            "user_api_key_alias": "harvest-key",
            "user_api_key_org_id": "org-9",
            "user_api_key_team_id": "team-4",
            "user_api_key_user_id": "u_payload",
            "user_api_key_team_alias": None,
            "spend_logs_metadata": None,
            "requester_ip_address": "198.51.100.7",
            "requester_metadata": {},
        },
        "cache_hit": None,
        "cache_key": None,
        "saved_cache_cost": 0.0,
        "request_tags": [],
        "end_user": "cust-17",
        "requester_ip_address": "198.51.100.7",
        "messages": [
            {"role": "system", "content": "Reason step by step."},
            {"role": "user", "content": f"Prove lemma {n}."},
        ],
        "response": {"choices": [{"message": {"role": "assistant", "content": "Proof."}}]},
        "error_str": None,
        "model_parameters": {"temperature": 0.2, "max_tokens": 4096, "reasoning_effort": "high"},
        "hidden_params": {"model_id": "deploy-1", "api_base": None, "response_cost": "0.00042"},
    }
    payload.update(fields)
    return payload


def test_logger_payload_files(tmp_path: Path) -> None:
    """LiteLLM's S3 logger: one payload per file, the key's user or team as the account, the
    epoch start time, the request's parameters from ``model_parameters``."""
    folder = tmp_path / "s3" / "2026-02-03"
    folder.mkdir(parents=True)
    failed = _payload(
        2,
        status="failure",
        error_information={"error_code": "429", "error_class": "RateLimitError"},
        response=None,
    )
    failed["metadata"]["user_api_key_user_id"] = None
    payloads = [_payload(0), _payload(1), failed]
    for n, payload in enumerate(payloads):
        (folder / f"time-{n}.json").write_text(json.dumps(payload, indent=1), "utf-8")
    events = _load(tmp_path / "case", folder)
    first = events["chatcmpl-payload-0"]
    assert first["ts"] == datetime(2026, 2, 3, 14, 5, 9, 500000)
    assert (
        first["account_id"],
        first["api_key_id"],
        first["org_id"],
        first["end_user_id"],
        first["source_ip"],
        first["model"],
    ) == ("u_payload", KEY_2, "org-9", "cust-17", "198.51.100.7", "frontier")
    assert (first["system_prompt"], first["prompt"], first["response_text"]) == (
        "Reason step by step.",
        "Prove lemma 0.",
        "Proof.",
    )
    assert (first["max_tokens"], first["temperature"], first["reasoning_effort"]) == (
        4096,
        0.2,
        "high",
    )
    assert first["reasoning_requested"] is True and first["status"] == "ok"
    assert first["source_format"] == "litellm"
    assert events["chatcmpl-payload-2"]["account_id"] == "team:team-4"
    assert events["chatcmpl-payload-2"]["status"] == "429"
