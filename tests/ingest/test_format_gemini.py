"""The ``gemini`` format: request logs wrapping Gemini ``generateContent`` bodies.

``gateway.jsonl`` (built from the Gemini API's published request and response shapes, values
made up): the REST API's camelCase with thinking, tools and a thought summary (1), the Python
SDK's snake_case with a history (2), a logged stream (3) and a blocked prompt (4).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from distillscan.case import Case
from distillscan.ingest import formats, ingest
from distillscan.ingest.formats import gemini, openai

FIXTURE = Path(__file__).parent.parent / "data" / "ingest" / "gemini" / "gateway.jsonl"


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, Any]]:
    case_dir = tmp_path_factory.mktemp("gemini") / "case"
    report = ingest([FIXTURE], case_dir)
    assert report.errors == [] and report.rows_quarantined == 0
    con = Case(case_dir).connect()
    relation = con.sql("SELECT * FROM events ORDER BY source_line")
    rows = {
        row[relation.columns.index("source_line")]: dict(zip(relation.columns, row, strict=True))
        for row in relation.fetchall()
    }
    con.close()
    return rows


def test_detected_as_gemini_not_openai() -> None:
    records = [json.loads(line) for line in FIXTURE.read_text("utf-8").splitlines()]
    assert all(gemini.sniff(r) for r in records)
    assert formats.detect(records) is gemini.FORMAT
    chat = {"request_id": "x", "request": {"messages": [{"role": "user", "content": "hi"}]}}
    assert not gemini.sniff(chat) and formats.detect([chat]) is openai.FORMAT


def test_rest_body_with_thinking_and_tools(events: dict[int, dict[str, Any]]) -> None:
    first = events[1]
    assert {
        key: first[key]
        for key in (
            "event_id",
            "ts",
            "account_id",
            "api_key_id",
            "source_ip",
            "model",
            "operation",
            "system_prompt",
            "prompt",
            "response_text",
            "n_turns",
            "n_tools",
            "max_tokens",
            "temperature",
            "thinking_budget",
            "reasoning_requested",
            "prompt_tokens",
            "completion_tokens",
            "status",
            "text_available",
            "source_format",
        )
    } == {
        "event_id": "gw-0001",
        "ts": datetime(2026, 2, 3, 9, 0, 1),
        "account_id": "acct_gem_1",
        "api_key_id": "key-17",
        "source_ip": "203.0.113.9",
        "model": "gemini-2.5-pro",
        "operation": "generate_content",
        "system_prompt": "Show every step of your reasoning.",
        "prompt": "Prove that the square root of 2 is irrational.",
        # The thought summary is the model's reasoning, not its answer.
        "response_text": "Suppose sqrt(2) = p/q in lowest terms.",
        "n_turns": 1,
        "n_tools": 2,
        "max_tokens": 8192,
        "temperature": 0.2,
        "thinking_budget": 4096,
        "reasoning_requested": True,
        "prompt_tokens": 20,
        "completion_tokens": 1000,
        "status": "ok",
        "text_available": True,
        "source_format": "gemini",
    }


def test_sdk_snake_case_and_history(events: dict[int, dict[str, Any]]) -> None:
    second = events[2]
    assert (second["model"], second["system_prompt"], second["prompt"]) == (
        "gemini-2.5-flash",
        "Be brief.",
        "Another one.",
    )
    assert (second["n_turns"], second["has_history"], second["response_text"]) == (3, True, "11")
    assert (second["max_tokens"], second["n_choices"], second["reasoning_requested"]) == (
        64,
        1,
        False,
    )
    assert (second["prompt_tokens"], second["completion_tokens"]) == (12, 1)


def test_stream_and_blocked_prompt(events: dict[int, dict[str, Any]]) -> None:
    stream, blocked = events[3], events[4]
    assert stream["response_text"] == "One, two, three."
    assert (stream["reasoning_effort"], stream["reasoning_requested"]) == ("high", True)
    assert (stream["prompt_tokens"], stream["completion_tokens"]) == (5, 4)
    assert (blocked["status"], blocked["response_text"], blocked["prompt"]) == (
        "blocked",
        None,
        "Something disallowed.",
    )
