"""The ``bedrock`` format: AWS Bedrock model invocation logs onto canonical events.

The fixture ``tests/data/ingest/bedrock/invocations.jsonl`` holds one record per body shape:
Anthropic Messages (line 1), Converse (2), Llama 3 (3), Titan streamed (4), Anthropic streamed
(5), an S3-offloaded ConverseStream (6), a throttled call (7), a record without identity (8),
Mistral with a JSON-text body (9), Cohere chat (10) and a truncated body (11).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from distillscan.case import Case
from distillscan.ingest import ingest

FIXTURE = Path(__file__).parent.parent / "data" / "ingest" / "bedrock" / "invocations.jsonl"
UNCOMPARED = ("source_sha256",)


def _events(case_dir: Path) -> dict[int, dict[str, Any]]:
    """Every loaded event keyed by source line, without the file hash."""
    con = Case(case_dir).connect(read_only=True)
    relation = con.sql("SELECT * FROM events ORDER BY source_line")
    rows = {
        row[relation.columns.index("source_line")]: {
            name: value
            for name, value in zip(relation.columns, row, strict=True)
            if name not in UNCOMPARED
        }
        for row in relation.fetchall()
    }
    con.close()
    return rows


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, dict[str, Any]]]:
    case_dir = tmp_path_factory.mktemp("bedrock") / "case"
    report = ingest([FIXTURE], case_dir)
    assert report.errors == []
    return case_dir, _events(case_dir)


def _row(**values: Any) -> dict[str, Any]:
    """A full expected event: the columns a Bedrock record never fills default to None."""
    base: dict[str, Any] = dict.fromkeys(
        (
            "api_key_id",
            "end_user_id",
            "source_ip",
            "user_agent",
            "system_prompt",
            "n_choices",
            "logprobs",
            "reasoning_effort",
            "thinking_budget",
            "temperature",
        )
    )
    base.update(org_id="111122223333", source_format="bedrock", source_file="invocations.jsonl")
    base.update(values)
    return base


def test_manifest_counts_reconcile(loaded: tuple[Path, dict[int, dict[str, Any]]]) -> None:
    case_dir, events = loaded
    manifest = Case(case_dir).load_manifest()
    (entry,) = manifest["inputs"]
    assert (entry["format"], entry["rows_read"], entry["rows_loaded"]) == ("bedrock", 11, 9)
    assert entry["rows_quarantined"] == 2
    assert manifest["totals"] == {"rows_read": 11, "rows_loaded": 9, "rows_quarantined": 2}
    assert sorted(events) == [1, 2, 3, 4, 5, 6, 7, 9, 10]


def test_quarantine_names_the_field(loaded: tuple[Path, dict[int, dict[str, Any]]]) -> None:
    case_dir, _ = loaded
    con = Case(case_dir).connect(read_only=True)
    reasons = con.sql("SELECT source_line, reason FROM quarantine ORDER BY source_line").fetchall()
    con.close()
    assert reasons == [
        (
            8,
            "identity.arn: missing (the calling IAM principal is the account); account_id: missing",
        ),
        (11, 'input.inputBodyJson: expected a JSON object, got "{\\"message\\": \\"truncated"'),
    ]


def test_anthropic_messages_body(loaded: tuple[Path, dict[int, dict[str, Any]]]) -> None:
    assert loaded[1][1] == _row(
        event_id="7c1f5a3e-2b8d-4e61-9a0f-3d2c1b4a5e60",
        ts=datetime(2026, 2, 3, 14, 5, 9),
        # The role is the account; requestMetadata's end user wins over the session name.
        account_id="arn:aws:sts::111122223333:assumed-role/DataTeamRole",
        end_user_id="u-4471",
        model="anthropic.claude-sonnet-4-20250514-v1:0",
        operation="InvokeModel",
        system_prompt="You are a meticulous tutor. Show all reasoning.",
        prompt="Now explain the working shown in this photo, step by step.",
        n_turns=3,
        has_history=True,
        n_images=1,
        n_tools=1,
        max_tokens=8192,
        temperature=1.0,
        thinking_budget=4096,
        reasoning_requested=True,
        response_text="The photo multiplies 17 by 3, then 17 by 20, and adds 51 + 340 = 391.",
        prompt_tokens=1240,
        completion_tokens=310,
        status="ok",
        text_available=True,
        source_line=1,
    )


def test_converse_body(loaded: tuple[Path, dict[int, dict[str, Any]]]) -> None:
    assert loaded[1][2] == _row(
        event_id="0b9e3d2a-6f41-4c7e-8a55-1e2f3a4b5c6d",
        ts=datetime(2026, 2, 3, 14, 5, 11, 250000),
        account_id="arn:aws:iam::111122223333:user/ci-eval-runner",
        model="us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        operation="Converse",
        system_prompt="Answer as a database textbook.\nBe exhaustive.",
        prompt="List three failure modes of a B-tree under concurrent writes.",
        n_turns=1,
        has_history=False,
        n_images=0,
        n_tools=2,
        max_tokens=4000,
        temperature=0.2,
        thinking_budget=2000,
        reasoning_requested=True,
        # the reasoningContent block is not part of the answer text
        response_text=(
            "1. Lost updates during node splits.\n"
            "2. Deadlocks from latch ordering.\n3. Phantom reads in range scans."
        ),
        prompt_tokens=96,
        completion_tokens=402,
        status="ok",
        text_available=True,
        source_line=2,
    )


def test_llama3_template_is_split_into_turns(
    loaded: tuple[Path, dict[int, dict[str, Any]]],
) -> None:
    event = loaded[1][3]
    assert {k: event[k] for k in ("system_prompt", "prompt", "n_turns", "has_history")} == {
        "system_prompt": "You are a helpful assistant.",
        "prompt": "And its population?",
        "n_turns": 3,
        "has_history": True,
    }
    assert (event["max_tokens"], event["temperature"]) == (512, 0.5)
    assert event["response_text"] == "About 6.3 million people live in greater Khartoum."
    # One role for every instance of the workload: the session (an instance id) is its user.
    assert event["account_id"] == "arn:aws:sts::111122223333:assumed-role/AppRunnerRole"
    assert event["end_user_id"] == "i-0abc123def4567890"


def test_titan_stream_chunks_are_concatenated(
    loaded: tuple[Path, dict[int, dict[str, Any]]],
) -> None:
    event = loaded[1][4]
    assert event["prompt"] == (
        "User: Summarise ticket #4471: printer offline after firmware update.\nBot:"
    )
    assert event["response_text"] == (
        "The printer went offline after a firmware update; a rollback fixed it."
    )
    assert (event["operation"], event["max_tokens"], event["temperature"]) == (
        "InvokeModelWithResponseStream",
        512,
        0.0,
    )
    assert (event["n_turns"], event["has_history"], event["text_available"]) == (1, False, True)


def test_anthropic_stream_text_deltas(loaded: tuple[Path, dict[int, dict[str, Any]]]) -> None:
    event = loaded[1][5]
    assert event["response_text"] == "Thesis: 4/5. Evidence: 3/5."
    assert event["prompt"] == "Grade this essay against the rubric and explain each score."
    assert (event["prompt_tokens"], event["completion_tokens"]) == (412, 9)


def test_s3_offloaded_body_has_no_text(loaded: tuple[Path, dict[int, dict[str, Any]]]) -> None:
    assert loaded[1][6] == _row(
        event_id="e5d4c3b2-a190-4876-8543-210fedcba987",
        ts=datetime(2026, 2, 3, 14, 8, 45),
        account_id="arn:aws:sts::111122223333:assumed-role/DataTeamRole",
        end_user_id="harvester-07",
        model="us.anthropic.claude-sonnet-4-20250514-v1:0",
        operation="ConverseStream",
        prompt=None,
        n_turns=None,
        has_history=None,
        n_images=None,
        n_tools=None,
        max_tokens=None,
        reasoning_requested=None,
        response_text="Here is the refactored module with the tests updated.",
        prompt_tokens=48211,
        completion_tokens=6,
        status="ok",
        text_available=False,
        source_line=6,
    )


def test_error_code_is_the_status(loaded: tuple[Path, dict[int, dict[str, Any]]]) -> None:
    event = loaded[1][7]
    assert (event["status"], event["response_text"], event["max_tokens"]) == (
        "ThrottlingException",
        None,
        2048,
    )


def test_mistral_instruction_template_in_a_json_text_body(
    loaded: tuple[Path, dict[int, dict[str, Any]]],
) -> None:
    event = loaded[1][9]
    assert {
        k: event[k] for k in ("system_prompt", "prompt", "n_turns", "has_history", "response_text")
    } == {
        "system_prompt": "Reply in French.",
        "prompt": "Translate: the cat sleeps.",
        "n_turns": 3,
        "has_history": True,
        "response_text": "Le chat dort.",
    }
    assert (event["max_tokens"], event["temperature"]) == (200, 0.7)


def test_cohere_chat_history(loaded: tuple[Path, dict[int, dict[str, Any]]]) -> None:
    event = loaded[1][10]
    assert {
        k: event[k] for k in ("system_prompt", "prompt", "n_turns", "has_history", "response_text")
    } == {
        "system_prompt": "You are a translator.",
        "prompt": "And in Spanish?",
        "n_turns": 3,
        "has_history": True,
        "response_text": "Buenos días.",
    }


def test_cached_prompt_tokens_are_counted(tmp_path: Path) -> None:
    """``inputTokenCount`` leaves out cached prompt tokens: they are added from the log's own
    cache counts, else from the answer's usage (Anthropic models, the Converse API)."""
    first = FIXTURE.read_text("utf-8").splitlines()[0]
    lines = []
    for usage, log_counts in (
        ({"cache_read_input_tokens": 900, "cache_creation_input_tokens": 100}, {}),
        ({"cacheReadInputTokens": 40, "cacheWriteInputTokens": 2}, {}),
        (
            {"cache_read_input_tokens": 900},
            {"cacheReadInputTokenCount": 7, "cacheWriteInputTokenCount": 3},
        ),
        ({}, {}),
    ):
        record = json.loads(first)
        record["requestId"] = f"{record['requestId']}-{len(lines)}"
        record["input"].update({"inputTokenCount": 12, **log_counts})
        record["output"]["outputBodyJson"]["usage"] = usage
        lines.append(json.dumps(record))
    path = tmp_path / "cached.jsonl"
    path.write_text("\n".join(lines) + "\n")
    ingest([path], tmp_path / "case")
    events = _events(tmp_path / "case")
    assert [events[line]["prompt_tokens"] for line in (1, 2, 3, 4)] == [1012, 54, 22, 12]


def _calls(
    role: str, sessions: dict[str, list[str]], metadata: dict[str, str] | None = None
) -> list[str]:
    """Bedrock records of ``role``'s sessions, one call at each of the given times."""
    first = json.loads(FIXTURE.read_text("utf-8").splitlines()[0])
    lines = []
    for session, times in sessions.items():
        for time in times:
            record = json.loads(json.dumps(first))
            record["requestId"] = f"{role}-{session}-{time}"
            record["timestamp"] = time
            record["identity"]["arn"] = f"arn:aws:sts::111122223333:assumed-role/{role}/{session}"
            record["requestMetadata"] = metadata or {}
            lines.append(json.dumps(record))
    return lines


def test_a_role_is_one_account_when_its_sessions_are_processes_and_many_when_people(
    tmp_path: Path,
) -> None:
    """No STS credential lasts 12 hours: names seen over longer are people or workloads that keep
    their name (Identity Center users), and stay accounts; per-process sessions fold into the
    role, whose session names become end users unless the request names its own."""
    people = _calls(
        "AWSReservedSSO_Analysts",
        {
            "alice@example.com": ["2026-02-03T09:00:00Z", "2026-02-04T10:00:00Z"],
            "bob@example.com": ["2026-02-03T11:00:00Z", "2026-02-05T08:30:00Z"],
            # a person seen once is still a person: the role's sessions are mostly names
            "carol@example.com": ["2026-02-04T15:00:00Z"],
        },
    )
    processes = _calls(
        "BatchRole",
        {
            f"botocore-session-{n}": [
                f"2026-02-0{3 + n % 3}T0{n}:00:00Z",
                f"2026-02-0{3 + n % 3}T0{n}:20:00Z",
            ]
            for n in range(1, 6)
        },
    )
    labelled = _calls(
        "AppRole", {"botocore-session-9": ["2026-02-03T12:00:00Z"]}, {"user_id": "u-7"}
    )
    path = tmp_path / "invocations.jsonl"
    path.write_text("\n".join(people + processes + labelled) + "\n")
    ingest([path], tmp_path / "case")
    con = Case(tmp_path / "case").connect(read_only=True)
    accounts = con.sql(
        "SELECT account_id, list(DISTINCT end_user_id ORDER BY end_user_id), count(*) "
        "FROM events GROUP BY account_id ORDER BY account_id"
    ).fetchall()
    con.close()
    role = "arn:aws:sts::111122223333:assumed-role/"
    assert accounts == [
        (f"{role}AWSReservedSSO_Analysts/alice@example.com", [None], 2),
        (f"{role}AWSReservedSSO_Analysts/bob@example.com", [None], 2),
        (f"{role}AWSReservedSSO_Analysts/carol@example.com", [None], 1),
        (f"{role}AppRole", ["u-7"], 1),
        (f"{role}BatchRole", [f"botocore-session-{n}" for n in range(1, 6)], 10),
    ]
