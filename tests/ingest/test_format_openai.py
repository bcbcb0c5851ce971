"""The ``openai`` format: request logs wrapping Chat Completions bodies, and OpenAI Batch files.

Fixtures under ``tests/data/ingest/openai/``:

* ``gateway.jsonl`` (and its ``.gz`` copy): a generic gateway log. Lines 1-8 load: a support bot
  with tools (1), a multi-turn conversation with images, ``n`` and ``logprobs`` (2), an agent turn
  with a developer message, a tool call and high reasoning effort (3), a logged stream (4),
  legacy function calling (5), a refusal (6), a rate-limit error (7) and an HTTP wrapper around a
  JSON-text body with ids in the gateway's metadata (8). Lines 9-15 are broken, one way each;
* ``helicone.csv``: Helicone's request export, bodies as JSON text in CSV cells (read by the
  ``helicone`` format: the account is its custom property, the user its end user);
* ``langsmith_runs.jsonl``: LangSmith runs traced with ``wrap_openai``;
* ``batch_input.jsonl``/``batch_output.jsonl``: Batch API files as OpenAI takes and returns them
  (no account, no request time); ``batch_export.jsonl``: the same lines as a provider exports them,
  with the account and time added, one line merging request and result.
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

DATA = Path(__file__).parent.parent / "data" / "ingest" / "openai"


def _load(tmp_path: Path, name: str) -> tuple[dict[str, Any], Events, dict[int, str]]:
    return load_fixture(DATA / name, tmp_path / name.replace(".", "_"))


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, Any], Events, dict[int, str]]:
    return _load(tmp_path_factory.mktemp("openai"), "gateway.jsonl")


def _row(source_file: str, source_line: int, **values: Any) -> dict[str, Any]:
    return expected_row("openai", source_file, source_line, **values)


def _chat(line: int, **values: Any) -> dict[str, Any]:
    """An expected gateway row: a chat request whose text was logged, no images, no tools."""
    base: dict[str, Any] = {
        "operation": "chat",
        "has_history": False,
        "n_turns": 1,
        "n_images": 0,
        "n_tools": 0,
        "reasoning_requested": False,
        "text_available": True,
    }
    return _row("gateway.jsonl", line, **{**base, **values})


GATEWAY_ROWS = {
    1: _chat(
        1,
        event_id="req_7c1e0a9f3b2d4e5f",
        ts=datetime(2026, 2, 3, 14, 5, 9, 250000),  # 16:05:09.250+02:00
        account_id="acct_4f9a21",
        api_key_id="key_3fA9",
        org_id="org-Qm3x8RtZ",
        end_user_id="sid_5e1f0c77d2",  # safety_identifier
        source_ip="198.51.100.23",
        user_agent="OpenAI/Python 1.59.7",
        model="gpt-4o-2024-08-06",
        system_prompt="You are a support assistant for Acme Router. Answer in two sentences.",
        prompt="My router blinks orange after the firmware update. What should I do?",
        n_tools=2,
        max_tokens=300,
        temperature=0.2,
        response_text="An orange blink means the update is still being applied. "
        "Wait five minutes, then power-cycle the router.",
        prompt_tokens=142,
        completion_tokens=38,
        status="200",
    ),
    2: _chat(
        2,
        event_id="req_0b8e44c2a1f34d11",
        ts=datetime(2026, 2, 3, 15, 5, 11),  # created: 1770131111
        account_id="acct_9d02be",
        api_key_id="key_77Qe",
        org_id="org-Hh21kPqa",
        end_user_id="user_8812",
        source_ip="203.0.113.77",
        user_agent="OpenAI/NodeJS 4.77.0",
        model="gpt-4.1-mini",
        prompt="Compare it with these two.\nWhich quarter grew faster?",
        n_turns=3,
        has_history=True,
        n_images=3,
        max_tokens=1024,  # max_completion_tokens
        n_choices=3,
        logprobs=True,
        response_text="Q3 grew faster: 14% against 9% in Q2.",
        prompt_tokens=2210,
        completion_tokens=61,
        status="200",
    ),
    3: _chat(
        3,
        event_id="req_5a90d3e7c4b24f08",
        ts=datetime(2026, 2, 3, 14, 20),
        account_id="acct_4f9a21",
        api_key_id="key_3fA9",
        org_id="org-Qm3x8RtZ",
        source_ip="198.51.100.23",
        user_agent="OpenAI/Python 1.59.7",
        model="o4-mini",
        system_prompt="You are a travel agent.\nAlways check live prices.",
        # The final user turn, not the tool message that follows the assistant's tool call.
        prompt="Find the cheapest flight from SIN to NRT on 12 March.",
        n_turns=2,
        has_history=True,
        n_tools=3,
        max_tokens=25000,
        reasoning_effort="high",
        reasoning_requested=True,
        response_text="The cheapest is Scoot TR808 at SGD 212.",
        prompt_tokens=388,
        completion_tokens=1290,
        status="200",
    ),
    4: _chat(
        4,
        event_id="req_d1c0ffee00000004",
        ts=datetime(2026, 2, 3, 16, 0, 0, 123000),  # epoch milliseconds
        account_id="acct_51c7aa",
        api_key_id="key_Zx81",
        source_ip="192.0.2.10",
        user_agent="openai-go/1.3.0",
        model="gpt-4o-mini",
        prompt="Translate 'hello world' into French.",
        response_text="Bonjour le monde",  # the chunks' deltas, joined
        prompt_tokens=19,  # from the final chunk
        completion_tokens=4,
        status="200",
    ),
    5: _chat(
        5,
        event_id="req_3e3e3e3e3e3e0005",
        ts=datetime(2026, 2, 3, 14, 40),
        account_id="acct_51c7aa",
        api_key_id="key_Zx81",
        source_ip="192.0.2.10",
        user_agent="openai-python/0.28.1",
        model="gpt-3.5-turbo-0125",
        prompt="What's the weather in Oslo?",
        n_tools=1,  # functions
        temperature=1.0,
        prompt_tokens=61,
        completion_tokens=17,
        status="200",
    ),
    6: _chat(
        6,
        event_id="req_3e3e3e3e3e3e0006",
        ts=datetime(2026, 2, 3, 14, 41),
        account_id="acct_9d02be",
        api_key_id="key_77Qe",
        end_user_id="user_8812",
        source_ip="203.0.113.77",
        user_agent="OpenAI/NodeJS 4.77.0",
        model="gpt-4o",
        prompt="Write step-by-step synthesis instructions for a nerve agent.",
        response_text="I can't help with that.",
        prompt_tokens=18,
        completion_tokens=7,
        status="refusal",
    ),
    7: _chat(
        7,
        event_id="req_3e3e3e3e3e3e0007",
        ts=datetime(2026, 2, 3, 14, 42),
        account_id="acct_9d02be",
        api_key_id="key_77Qe",
        source_ip="203.0.113.77",
        user_agent="OpenAI/NodeJS 4.77.0",
        model="gpt-4o",
        system_prompt="Grade the answer against the rubric.",
        prompt="Rubric: ...\nAnswer: ...",
        status="rate_limit_exceeded",
    ),
    8: _chat(
        8,
        event_id="gw-000000008",
        ts=datetime(2026, 2, 3, 14, 30),  # no offset: UTC
        account_id="acct_c0ffee",
        api_key_id="key_M1x0",
        org_id="team_growth",
        source_ip="198.51.100.99",
        user_agent="AsyncOpenAI/Python 1.61.0",  # from the logged request headers
        model="gpt-4o-mini",
        system_prompt="Reply in JSON.",
        prompt="List three prime numbers.",
        response_text='{"primes": [2, 3, 5]}',
        prompt_tokens=27,
        completion_tokens=12,
        status="200",
    ),
}

GATEWAY_REASONS = {
    9: "invalid JSON at column 164: Unterminated string starting",
    10: "account_id: missing",
    11: 'request.messages: expected a list of {role, content}, got "Summarise this article."',
    12: "request body: no messages (not a Chat Completions request)",
    13: 'max_tokens: expected an integer, got "lots"',
    14: 'ts: expected a timestamp between 2000-01-01 and 2100-01-01, got "yesterday"',
    15: "no request or response body: expected one of request, request_body, body, inputs, "
    "params, response, response_body, outputs, result",
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
    assert entry["format"] == "openai"
    assert (entry["rows_read"], entry["rows_loaded"], entry["rows_quarantined"]) == (15, 8, 7)
    assert entry["rows_read"] == entry["rows_loaded"] + entry["rows_quarantined"]
    assert sorted(events) + sorted(reasons) == list(range(1, 16))


def test_gzip_copy_loads_the_same(
    tmp_path: Path, gateway: tuple[dict[str, Any], Events, dict[int, str]]
) -> None:
    entry, events, reasons = _load(tmp_path, "gateway.jsonl.gz")
    _, plain_events, plain_reasons = gateway
    assert (entry["compression"], entry["format"], entry["rows_loaded"]) == ("gz", "openai", 8)
    assert {line: {**e, "source_file": "gateway.jsonl"} for line, e in events.items()} == (
        plain_events
    )
    assert reasons == plain_reasons


def test_helicone_csv_with_json_text_bodies(tmp_path: Path) -> None:
    entry, events, reasons = _load(tmp_path, "helicone.csv")
    assert (entry["format"], entry["rows_read"], entry["rows_loaded"], reasons) == (
        "helicone",
        2,
        2,
        {},
    )
    assert events[2] == expected_row(
        "helicone",
        "helicone.csv",
        2,  # line 1 is the header
        event_id="5e0f3c1a-8b7d-4c55-9e2a-0d9f1b2c3a41",
        ts=datetime(2026, 2, 4, 9, 12, 44, 512000),
        account_id="acct_lab_03",  # from request_properties
        end_user_id="student-118",  # request_user_id
        model="gpt-4o-mini",
        system_prompt="You are a patient chemistry tutor.",
        prompt="Why is water polar?",
        n_turns=1,
        has_history=False,
        n_images=0,
        n_tools=0,
        temperature=0.7,
        reasoning_requested=False,
        response_text="Because oxygen pulls the shared electrons closer than hydrogen does.",
        prompt_tokens=31,
        completion_tokens=14,
        status="200",
        text_available=True,
    )
    assert events[3]["prompt"] == "What is a mole?"


def test_langsmith_runs(tmp_path: Path) -> None:
    entry, events, _ = _load(tmp_path, "langsmith_runs.jsonl")
    assert (entry["format"], entry["rows_loaded"]) == ("openai", 2)
    common = {
        "account_id": "acct_eval_team",  # extra.metadata
        "model": "gpt-4o",
        "operation": "chat",
        "n_turns": 1,
        "has_history": False,
        "n_images": 0,
        "n_tools": 0,
        "temperature": 0.0,
        "reasoning_requested": False,
        "text_available": True,
    }
    assert events[1] == _row(
        "langsmith_runs.jsonl",
        1,
        **common,
        event_id="1f0e5a3c-6d2b-4a8e-9c3f-7b1d2e4f6a80",
        ts=datetime(2026, 2, 4, 10, 0, 1, 123456),
        system_prompt="Think step by step and show your reasoning before the answer.",
        prompt="Is 1001 prime?",
        response_text="1001 = 7 x 11 x 13, so it is not prime.",
        prompt_tokens=40,
        completion_tokens=410,
        status="success",
    )
    # A failed run: its error is a message string, and it has no outputs.
    assert events[2] == _row(
        "langsmith_runs.jsonl",
        2,
        **common,
        event_id="1f0e5a3c-6d2b-4a8e-9c3f-7b1d2e4f6a81",
        ts=datetime(2026, 2, 4, 10, 0, 10, 1),
        end_user_id="eval-runner",
        prompt="Is 1003 prime?",
        status="error",
    )


def test_bare_batch_files_fail_for_want_of_an_account(tmp_path: Path) -> None:
    """A batch file names no account: it fails as a file, with its first row's reason and the
    mapping that would load it, and nothing of it is committed."""
    tail = (
        " of its own: batch files must be exported with account_id and created_at added to "
        "each line, or loaded with --account and --time (see docs/formats.md)"
    )
    for name, what, reason in (
        ("batch_input.jsonl", "account", "carries no account or request time"),
        ("batch_output.jsonl", "account", "carries no account" + tail),
    ):
        report = ingest([DATA / name], tmp_path / name.replace(".", "_"))
        (error,) = report.errors
        assert f"{name}: no row says which {what} it belongs to (3 row(s) read as openai" in error
        assert reason in error and "nothing of it was loaded" in error
        assert report.loaded == [] and report.failed[0]["path"] == name
        manifest = Case(tmp_path / name.replace(".", "_")).load_manifest()
        assert manifest["inputs"] == []


def test_exported_batch_lines(tmp_path: Path) -> None:
    entry, events, reasons = _load(tmp_path, "batch_export.jsonl")
    assert (entry["format"], entry["rows_read"], entry["rows_loaded"], reasons) == (
        "openai",
        4,
        4,
        {},
    )
    request: dict[str, Any] = {
        "account_id": "acct_7e11d0",
        "org_id": "org-Bt55wq",
        "ts": datetime(2026, 2, 5, 1, 0),
        "model": "gpt-4o-mini",
        "operation": "batch",
        "system_prompt": "Answer in under 100 words.",
        "n_turns": 1,
        "has_history": False,
        "n_images": 0,
        "n_tools": 0,
        "max_tokens": 200,
        "reasoning_requested": False,
        "text_available": True,
    }
    assert events[1] == _row(
        "batch_export.jsonl",
        1,
        **request,
        event_id="batch_6790a1b2c3d4e5f6:q-00017",
        prompt="Explain photosynthesis to a ten-year-old.",
    )
    # A result line alone: no prompt, its own id, the completion's time.
    assert events[2] == _row(
        "batch_export.jsonl",
        2,
        event_id="batch_req_6790a1b2c3d4e5f6a7b8c917",
        ts=datetime(2026, 2, 5, 1, 1, 17),
        account_id="acct_7e11d0",
        org_id="org-Bt55wq",
        model="gpt-4o-mini-2024-07-18",
        operation="batch_output",
        response_text="Plants use sunlight to turn water and air into food.",
        prompt_tokens=30,
        completion_tokens=24,
        status="200",
        text_available=False,
    )
    # Request and result merged into one line.
    assert events[3] == _row(
        "batch_export.jsonl",
        3,
        **request,
        event_id="batch_6790a1b2c3d4e5f6:q-00018",
        prompt="Explain plate tectonics to a ten-year-old.",
        response_text="The ground is made of giant plates that slowly move.",
        prompt_tokens=30,
        completion_tokens=24,
        status="200",
    )
    assert events[4] == _row(
        "batch_export.jsonl",
        4,
        **request,
        event_id="batch_6790a1b2c3d4e5f6:q-00019",
        prompt="Explain inflation to a ten-year-old.",
        status="batch_expired",  # the line's error code
    )


def test_failed_call_without_bodies_loads_with_its_error(tmp_path: Path) -> None:
    """A gateway logs a call that never reached the API: no bodies, an error. It is an event."""
    log = tmp_path / "failed.jsonl"
    lines = [
        {**json.loads((DATA / "gateway.jsonl").read_text("utf-8").splitlines()[0])},
        {
            "id": "req_timeout_01",
            "timestamp": "2026-02-03T14:06:00Z",
            "account_id": "acct_4f9a21",
            "client_ip": "198.51.100.23",
            "error": {"type": "upstream_timeout", "message": "no response after 600 s"},
        },
    ]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    case_dir = tmp_path / "case"
    ingest([log], case_dir)
    con = Case(case_dir).connect(read_only=True)
    row = con.sql(
        "SELECT event_id, account_id, source_ip, status, prompt, n_turns, text_available "
        "FROM events WHERE source_line = 2"
    ).fetchall()
    con.close()
    assert row == [
        ("req_timeout_01", "acct_4f9a21", "198.51.100.23", "upstream_timeout", None, None, False)
    ]


# --- detection --------------------------------------------------------------------------------

#: Helicone's export has a format of its own (``helicone``), whose record holds an OpenAI body.
FIXTURES = sorted(
    p.name for p in DATA.iterdir() if not p.name.endswith(".gz") and p.name != "helicone.csv"
)


@pytest.mark.parametrize("name", FIXTURES)
def test_each_fixture_is_detected_as_openai(tmp_path: Path, name: str) -> None:
    report = ingest([DATA / name], tmp_path / "case")
    if report.errors:  # a bare batch file: detected, then refused for want of an account
        assert "read as openai;" in report.errors[0], report.errors
        return
    (entry,) = Case(tmp_path / "case").load_manifest()["inputs"]
    assert entry["format"] == "openai"


def _records(name: str) -> list[dict[str, Any]]:
    records = []
    for text in (DATA / name).read_text("utf-8").splitlines():
        try:
            records.append(json.loads(text))
        except ValueError:
            continue
    return records


def test_sniff_tells_openai_records_from_anthropic_ones() -> None:
    loaded = _records("gateway.jsonl")[:8]
    assert all(openai.sniff(r) for r in loaded)
    assert not any(anthropic.sniff(r) for r in loaded)
    assert formats.detect(_records("gateway.jsonl")) is openai.FORMAT
    for name in ("batch_input.jsonl", "batch_output.jsonl", "batch_export.jsonl"):
        records = _records(name)
        assert all(openai.sniff(r) and not anthropic.sniff(r) for r in records), name


FOREIGN = {
    "canonical": {
        "event_id": "req_01",
        "timestamp": "2026-02-03T14:05:09Z",
        "account_id": "acct_7f3a",
        "model": "frontier-2",
        "messages": [{"role": "user", "content": "Prove that sqrt(2) is irrational."}],
        "response": "Suppose sqrt(2) = p/q in lowest terms...",
    },
    "bedrock": {
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": "2026-02-03T14:05:09Z",
        "accountId": "111122223333",
        "identity": {"arn": "arn:aws:sts::111122223333:assumed-role/app/session"},
        "requestId": "b1c2",
        "operation": "Converse",
        "modelId": "anthropic.claude-sonnet-4-5",
        "input": {"inputBodyJson": {"messages": [{"role": "user", "content": [{"text": "Hi"}]}]}},
        "output": {"outputBodyJson": {"output": {"message": {"content": [{"text": "Hello"}]}}}},
    },
    "litellm": {
        "request_id": "chatcmpl-1",
        "call_type": "acompletion",
        "api_key": "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
        "spend": 0.00012,
        "startTime": "2026-02-03T14:05:09Z",
        "endTime": "2026-02-03T14:05:10Z",
        "model": "gpt-4o",
        "user": "team-a",
        "messages": [{"role": "user", "content": "Hi"}],
        "response": {"choices": [{"message": {"role": "assistant", "content": "Hello"}}]},
        "proxy_server_request": {
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": "Hi"}],
        },
    },
    "newapi": {
        "id": 88123,
        "user_id": 7,
        "username": "reseller-7",
        "created_at": 1770127509,
        "type": 2,
        "content": "model ratio 2.5, completion ratio 4",
        "model_name": "gpt-4o",
        "token_name": "default",
        "quota": 1250,
        "prompt_tokens": 120,
        "completion_tokens": 300,
    },
}


@pytest.mark.parametrize("name", sorted(FOREIGN))
def test_sniff_leaves_other_formats_alone(name: str) -> None:
    assert not openai.sniff(FOREIGN[name])
