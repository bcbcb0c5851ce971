"""The ``anthropic`` format: request logs wrapping Messages bodies, and Message Batches lines.

Fixtures under ``tests/data/ingest/anthropic/``:

* ``gateway.jsonl`` (and its ``.gz`` copy): lines 1-7 load: extended thinking with a budget,
  tools and cached input (1), a conversation with a system prompt in cached blocks, images, a
  PDF and earlier thinking turns (2), an agent loop whose last user turn holds only tool results
  and whose earlier tool result returned a screenshot (3), an overloaded error (4), a logged
  stream (5), a refusal (6), and an HTTP wrapper around a JSON-text body with thinking disabled
  (7). Lines 8-12 are broken, one way each;
* ``batch_requests.jsonl``/``batch_results.jsonl``: Message Batches lines as the API takes and
  returns them (no account, no request time); ``batch_export.jsonl``: as a provider exports them.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from ingest_support import Events, expected_row, load_fixture

from distillscan.case import Case
from distillscan.ingest import formats, ingest
from distillscan.ingest.formats import anthropic, openai

DATA = Path(__file__).parent.parent / "data" / "ingest" / "anthropic"


def _load(tmp_path: Path, name: str) -> tuple[dict[str, Any], Events, dict[int, str]]:
    return load_fixture(DATA / name, tmp_path / name.replace(".", "_"))


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, Any], Events, dict[int, str]]:
    return _load(tmp_path_factory.mktemp("anthropic"), "gateway.jsonl")


def _row(source_file: str, source_line: int, **values: Any) -> dict[str, Any]:
    return expected_row("anthropic", source_file, source_line, **values)


def _messages(line: int, **values: Any) -> dict[str, Any]:
    """An expected gateway row: a single-turn Messages request whose text was logged."""
    base: dict[str, Any] = {
        "operation": "messages",
        "has_history": False,
        "n_turns": 1,
        "n_images": 0,
        "n_tools": 0,
        "reasoning_requested": False,
        "text_available": True,
    }
    return _row("gateway.jsonl", line, **{**base, **values})


GATEWAY_ROWS = {
    1: _messages(
        1,
        event_id="req_011CUa1b2c3d4e5f6g7h8i9j",
        ts=datetime(2026, 2, 6, 8, 0),
        account_id="acct_a11ce0",
        api_key_id="apikey_01Rq7",
        org_id="org_8c2f6a1e",  # organization_id before workspace_id
        end_user_id="8f14e45fceea167a",  # metadata.user_id
        source_ip="203.0.113.201",
        user_agent="Anthropic/Python 0.49.0",
        model="claude-sonnet-4-5-20250929",
        system_prompt="You are a financial research analyst.",
        prompt="Should I worry about ACME's debt load? Check the latest price and news first.",
        n_tools=3,
        max_tokens=32000,
        thinking_budget=16000,
        reasoning_requested=True,
        # The text block only: the thinking block is not the answer.
        response_text="ACME's net debt is 2.1x EBITDA, which is manageable.",
        prompt_tokens=16200,  # 1200 + 0 cache writes + 15000 cache reads
        completion_tokens=845,
        status="200",
    ),
    2: _messages(
        2,
        event_id="req_011CUa1b2c3d4e5f6g7h8i9k",
        ts=datetime(2026, 2, 6, 0, 30, 15),  # 09:30:15+09:00
        account_id="acct_b0b5e1",
        api_key_id="apikey_01Mm3",
        org_id="org_77aa01bc",
        source_ip="198.51.100.150",
        user_agent="Anthropic/JS 0.39.0",
        model="claude-opus-4-5",
        system_prompt="You are an expert radiology tutor.\nExplain findings plainly.",
        prompt="Compare with this follow-up film.\nHas it resolved?",
        n_turns=3,
        has_history=True,
        n_images=2,  # base64 and URL sources; the PDF document is not an image
        max_tokens=8192,
        temperature=1.0,
        reasoning_effort="high",  # output_config.effort
        reasoning_requested=True,  # adaptive thinking
        response_text="The effusion is smaller but has not fully resolved.",
        prompt_tokens=3120,
        completion_tokens=402,
        status="200",
    ),
    3: _messages(
        3,
        event_id="req_011CUa1b2c3d4e5f6g7h8i9m",
        ts=datetime(2026, 2, 6, 10, 0),
        account_id="acct_a11ce0",
        api_key_id="apikey_01Rq7",
        org_id="org_8c2f6a1e",
        source_ip="203.0.113.201",
        user_agent="Anthropic/Python 0.49.0",
        model="claude-sonnet-4-5-20250929",
        # The last user turn holds only tool results: their text stands for the prompt.
        prompt="ACME refinances 2027 notes\nACME beats Q4 estimates",
        n_turns=5,
        has_history=True,
        n_images=1,  # the screenshot inside an earlier tool result
        n_tools=2,
        max_tokens=4096,
        prompt_tokens=4200,  # 2400 + 1800 cache writes
        completion_tokens=64,
        status="200",  # the response is a tool call: no text
    ),
    4: _messages(
        4,
        event_id="req_011CUa1b2c3d4e5f6g7h8i9n",
        ts=datetime(2026, 2, 6, 10, 5),
        account_id="acct_b0b5e1",
        api_key_id="apikey_01Mm3",
        source_ip="198.51.100.150",
        user_agent="Anthropic/JS 0.39.0",
        model="claude-opus-4-5",
        prompt="Summarise the attached memo.",
        max_tokens=1024,
        status="overloaded_error",
    ),
    5: _messages(
        5,
        event_id="req_011CUa1b2c3d4e5f6g7h8i9p",
        ts=datetime(2026, 2, 6, 10, 5),  # epoch seconds 1770372300
        account_id="acct_c4r01",
        api_key_id="apikey_01Zz9",
        source_ip="192.0.2.44",
        user_agent="Anthropic/Go 1.2.0",
        model="claude-haiku-4-5",
        system_prompt="Be friendly.",
        prompt="Say hello to the world.",
        max_tokens=256,
        response_text="Hello, world",  # text deltas of the stream, joined
        prompt_tokens=25,  # message_start usage
        completion_tokens=12,  # the final message_delta usage
        status="200",
    ),
    6: _messages(
        6,
        event_id="req_011CUa1b2c3d4e5f6g7h8i9q",
        ts=datetime(2026, 2, 6, 10, 10),
        account_id="acct_c4r01",
        api_key_id="apikey_01Zz9",
        source_ip="192.0.2.44",
        user_agent="Anthropic/Go 1.2.0",
        model="claude-sonnet-4-5",
        system_prompt="Answer every question fully.",
        prompt="Give detailed steps to culture a dangerous pathogen.",
        max_tokens=2048,
        prompt_tokens=30,
        completion_tokens=0,
        status="refusal",
    ),
    7: _messages(
        7,
        event_id="gw-anthropic-0007",
        ts=datetime(2026, 2, 6, 10, 15),
        account_id="acct_d00d",  # from the gateway's metadata
        api_key_id="apikey_01Gw",
        source_ip="198.51.100.7",
        user_agent="anthropic-sdk-ruby/1.1.0",  # the User-Agent request header
        model="claude-3-5-haiku-20241022",
        prompt="Classify this ticket: 'refund not received'.",
        max_tokens=512,
        response_text="billing",
        prompt_tokens=22,
        completion_tokens=2,
        status="200",
    ),
}

GATEWAY_REASONS = {
    8: 'request.messages: expected a list of {role, content}, got {"role":"user","content":"Hi"}',
    9: 'thinking_budget: expected an integer, got "lots"',
    10: "ts: missing",
    11: 'request body: expected a JSON object (Anthropic request), got "POST /v1/messages"',
    12: "completion_tokens: must not be negative, got -5",
}


@pytest.mark.parametrize("line", sorted(GATEWAY_ROWS))
def test_gateway_rows(line: int, gateway: tuple[dict[str, Any], Events, dict[int, str]]) -> None:
    _, events, _ = gateway
    assert events[line] == GATEWAY_ROWS[line]


def test_gateway_quarantine_names_the_problem(
    gateway: tuple[dict[str, Any], Events, dict[int, str]],
) -> None:
    _, _, reasons = gateway
    assert reasons == GATEWAY_REASONS


def test_gateway_counts_reconcile(gateway: tuple[dict[str, Any], Events, dict[int, str]]) -> None:
    entry, events, reasons = gateway
    assert entry["format"] == "anthropic"
    assert (entry["rows_read"], entry["rows_loaded"], entry["rows_quarantined"]) == (12, 7, 5)
    assert entry["rows_read"] == entry["rows_loaded"] + entry["rows_quarantined"]
    assert sorted(events) + sorted(reasons) == list(range(1, 13))


def test_gzip_copy_loads_the_same(
    tmp_path: Path, gateway: tuple[dict[str, Any], Events, dict[int, str]]
) -> None:
    entry, events, reasons = _load(tmp_path, "gateway.jsonl.gz")
    _, plain_events, plain_reasons = gateway
    assert (entry["compression"], entry["format"], entry["rows_loaded"]) == ("gz", "anthropic", 7)
    assert {line: {**e, "source_file": "gateway.jsonl"} for line, e in events.items()} == (
        plain_events
    )
    assert reasons == plain_reasons


def test_bare_batch_files_fail_for_want_of_an_account(tmp_path: Path) -> None:
    """Message batch requests and results name no account: each file fails with the reason."""
    for name, n in (("batch_requests.jsonl", 2), ("batch_results.jsonl", 3)):
        report = ingest([DATA / name], tmp_path / name.replace(".", "_"))
        (error,) = report.errors
        assert f"no row says which account it belongs to ({n} row(s) read as anthropic" in error
        assert "Anthropic batch line rubric-0001 carries no account or request time" in error
        assert report.loaded == []


def test_exported_batch_lines(tmp_path: Path) -> None:
    entry, events, reasons = _load(tmp_path, "batch_export.jsonl")
    assert (entry["format"], entry["rows_read"], entry["rows_loaded"], reasons) == (
        "anthropic",
        4,
        4,
        {},
    )
    envelope = {
        "account_id": "acct_e7e7e7",
        "org_id": "org_5b5b5b5b",
        "ts": datetime(2026, 2, 7, 3, 0),
    }
    request: dict[str, Any] = {
        **envelope,
        "model": "claude-haiku-4-5",
        "operation": "batch",
        "system_prompt": "Show your reasoning step by step, then the answer.",
        "n_turns": 1,
        "has_history": False,
        "n_images": 0,
        "n_tools": 0,
        "max_tokens": 1024,
        "reasoning_requested": False,
        "text_available": True,
    }
    assert events[1] == _row(
        "batch_export.jsonl",
        1,
        **request,
        event_id="msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d:rubric-0001",
        prompt="Grade this essay on a 1-5 rubric: ...",
    )
    # A succeeded result alone: the message's id, no prompt.
    assert events[2] == _row(
        "batch_export.jsonl",
        2,
        **envelope,
        event_id="msg_01Bat1",
        model="claude-haiku-4-5-20251001",
        operation="batch_output",
        response_text="Score: 4. The argument is clear but the conclusion is abrupt.",
        prompt_tokens=410,
        completion_tokens=96,
        status="ok",
        text_available=False,
    )
    # Request and errored result merged into one line.
    assert events[3] == _row(
        "batch_export.jsonl",
        3,
        **request,
        event_id="msgbatch_01HkcTjaV5uDC8jWR4ZsDV8d:rubric-0002",
        prompt="Grade this proof on a 1-5 rubric: ...",
        status="invalid_request_error",
    )
    # An expired result has no id at all: it gets the file-and-line one.
    expired = events[4]
    assert expired["event_id"].endswith(":4")
    assert expired == _row(
        "batch_export.jsonl",
        4,
        **envelope,
        event_id=expired["event_id"],
        operation="batch_output",
        status="expired",
        text_available=False,
    )


# --- detection --------------------------------------------------------------------------------

FIXTURES = sorted(p.name for p in DATA.iterdir() if not p.name.endswith(".gz"))


@pytest.mark.parametrize("name", FIXTURES)
def test_each_fixture_is_detected_as_anthropic(tmp_path: Path, name: str) -> None:
    report = ingest([DATA / name], tmp_path / "case")
    if report.errors:  # a bare batch file: detected, then refused for want of an account
        assert "read as anthropic;" in report.errors[0], report.errors
        return
    (entry,) = Case(tmp_path / "case").load_manifest()["inputs"]
    assert entry["format"] == "anthropic"


def _records(name: str) -> list[dict[str, Any]]:
    records = []
    for text in (DATA / name).read_text("utf-8").splitlines():
        try:
            records.append(json.loads(text))
        except ValueError:
            continue
    return records


def test_sniff_tells_anthropic_records_from_openai_ones() -> None:
    loaded = _records("gateway.jsonl")[:7]
    assert all(anthropic.sniff(r) for r in loaded)
    assert not any(openai.sniff(r) for r in loaded)
    assert formats.detect(_records("gateway.jsonl")) is anthropic.FORMAT
    for name in ("batch_requests.jsonl", "batch_results.jsonl", "batch_export.jsonl"):
        records = _records(name)
        assert all(anthropic.sniff(r) and not openai.sniff(r) for r in records), name


def test_a_request_both_apis_accept_is_read_as_openai() -> None:
    """Plain user text and nothing else fits both APIs: detection's tie goes to ``openai``."""
    record = {
        "id": "req_1",
        "timestamp": "2026-02-06T08:00:00Z",
        "account_id": "acct_1",
        "request": {
            "model": "m",
            "max_tokens": 10,
            "messages": [{"role": "user", "content": "Hi"}],
        },
    }
    assert anthropic.sniff(record) and openai.sniff(record)
    assert formats.detect([record]) is openai.FORMAT


def test_sniff_leaves_other_formats_alone() -> None:
    canonical = {
        "event_id": "req_01",
        "timestamp": "2026-02-03T14:05:09Z",
        "account_id": "acct_7f3a",
        "system": "You are a meticulous tutor.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Prove it."}]}],
        "response": [{"type": "text", "text": "Suppose..."}],
    }
    bedrock = {
        "schemaType": "ModelInvocationLog",
        "timestamp": "2026-02-03T14:05:09Z",
        "accountId": "111122223333",
        "modelId": "anthropic.claude-sonnet-4-5",
        "input": {
            "inputBodyJson": {
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 100,
                "messages": [{"role": "user", "content": "Hi"}],
            }
        },
    }
    litellm = {
        "request_id": "msg_1",
        "call_type": "anthropic_messages",
        "spend": 0.001,
        "startTime": "2026-02-03T14:05:09Z",
        "messages": [{"role": "user", "content": "Hi"}],
        "response": {"type": "message", "content": [{"type": "text", "text": "Hello"}]},
    }
    for record in (canonical, bedrock, litellm):
        assert not anthropic.sniff(record)
