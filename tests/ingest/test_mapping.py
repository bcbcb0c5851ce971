"""``--mapping FILE``: TOML descriptions of log shapes no built-in format knows."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from distillscan.case import Case
from distillscan.cli import app
from distillscan.errors import ConfigError
from distillscan.ingest import ingest
from distillscan.ingest.formats import mapping

DATA = Path(__file__).parent.parent / "data" / "ingest" / "mapping"


def _events(case_dir: Path) -> list[dict[str, Any]]:
    con = Case(case_dir).connect()
    relation = con.sql("SELECT * EXCLUDE (source_sha256) FROM events ORDER BY source_line")
    events = [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
    con.close()
    return events


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.toml"
    path.write_text(text, "utf-8")
    return path


def test_gateway_log_through_the_example_mapping(tmp_path: Path) -> None:
    report = ingest([DATA / "gateway.jsonl"], tmp_path / "case", mapping=DATA / "acme-gateway.toml")
    assert report.errors == []
    (entry,) = Case(tmp_path / "case").load_manifest()["inputs"]
    assert (
        entry["format"],
        entry["rows_read"],
        entry["rows_loaded"],
        entry["rows_quarantined"],
    ) == (
        "mapping:acme-gateway",
        4,
        2,
        2,
    )
    first, second = _events(tmp_path / "case")
    assert first == {
        "event_id": "gw-000001",
        "ts": datetime(2026, 2, 3, 13, 5, 9, 120000),  # +01:00 in the log
        "account_id": "cust-88",
        "api_key_id": "fp:5a1c",
        "org_id": None,
        "end_user_id": None,
        "source_ip": "203.0.113.45",  # a top-level key with a dot, given as ["client.ip"]
        "user_agent": "acme-sdk/2.3.1 python/3.12",
        "model": "frontier-2",
        "operation": None,
        "system_prompt": "Grade with the rubric.",
        "prompt": "Essay: The French Revolution...",
        "n_turns": 1,
        "has_history": False,
        "n_images": 0,
        "n_tools": 1,
        "max_tokens": 4096,
        "temperature": None,
        "n_choices": None,
        "logprobs": None,
        "reasoning_effort": "high",
        "thinking_budget": None,
        "reasoning_requested": True,
        "response_text": "Thesis 4/5, evidence 3/5.",  # resp.choices.0.message.content
        "prompt_tokens": 812,
        "completion_tokens": 96,
        "status": "200",
        "text_available": True,
        "source_format": "mapping:acme-gateway",
        "source_file": "gateway.jsonl",
        "source_line": 1,
    }
    assert {
        k: second[k] for k in ("ts", "prompt", "n_turns", "n_tools", "reasoning_requested")
    } == {
        "ts": datetime(2026, 2, 3, 14, 6, 40),  # epoch seconds
        "prompt": "Translate 'it's raining' into Spanish.",
        "n_turns": 1,
        "n_tools": 0,
        "reasoning_requested": False,
    }
    con = Case(tmp_path / "case").connect()
    reasons = con.sql("SELECT source_line, reason FROM quarantine ORDER BY source_line").fetchall()
    con.close()
    assert reasons == [
        (3, "messages (req.messages): expected a list of {role, content}"),
        (4, "account_id: missing"),
    ]


def test_csv_columns_with_spaces_and_json_text(tmp_path: Path) -> None:
    logs = tmp_path / "logs" / "export.csv"
    logs.parent.mkdir()
    messages = json.dumps(
        [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": 'and now, "quoted" text'},
        ]
    )
    logs.write_text(
        "Customer ID,Request Time,Chat,Client IP\n"
        f'c-1,2026-02-03 14:05:09,"{messages.replace(chr(34), chr(34) * 2)}",192.0.2.10\n',
        "utf-8",
    )
    toml = _write(
        tmp_path,
        'name = "csv-export"\n[fields]\naccount_id = "Customer ID"\ntimestamp = "Request Time"\n'
        'messages = "Chat"\nsource_ip = "Client IP"\n',
    )
    ingest([logs], tmp_path / "case", mapping=toml)
    (event,) = _events(tmp_path / "case")
    assert {
        k: event[k]
        for k in ("account_id", "ts", "prompt", "n_turns", "has_history", "source_ip", "n_tools")
    } == {
        "account_id": "c-1",
        "ts": datetime(2026, 2, 3, 14, 5, 9),
        "prompt": 'and now, "quoted" text',
        "n_turns": 3,
        "has_history": True,
        "source_ip": "192.0.2.10",
        "n_tools": None,  # tools not mapped: unknown
    }


def test_paths_are_data_not_sql(tmp_path: Path) -> None:
    """Quotes, slashes and tildes in keys are read literally; nothing reaches the SQL text."""
    key = "it's/a~key'); DROP TABLE batch; --"
    logs = tmp_path / "logs" / "odd.jsonl"
    logs.parent.mkdir()
    logs.write_text(
        json.dumps({key: {"id": "acct-9"}, "t": "2026-02-03T00:00:00Z"}) + "\n", "utf-8"
    )
    toml = _write(
        tmp_path,
        f'name = "odd"\n[fields]\naccount_id = {json.dumps([key, "id"])}\ntimestamp = "t"\n',
    )
    fmt = mapping.load(toml)
    # the key appears in the query only inside one escaped string literal (a JSON Pointer)
    assert fmt.sql.count("DROP") == 1
    assert "'/it''s~1a~0key''); DROP TABLE batch; --/id'" in fmt.sql
    ingest([logs], tmp_path / "case", mapping=toml)
    assert [e["account_id"] for e in _events(tmp_path / "case")] == ["acct-9"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'name = "x"\n[fields]\naccount_id = "a"\ntimestamp = "t"\nprompt_text = "p"\n',
            "mapping.toml:5: unknown canonical field 'prompt_text'",
        ),
        (
            'name = "x"\n[fields]\n',
            "mapping.toml: the mapping has no [fields] table, or it is empty",
        ),
        (
            'name = "x"\n[fields]\ntimestamp = "t"\n',
            "mapping.toml: the mapping has no 'account_id' field; it is required",
        ),
        (
            'name = "x"\n[fields]\naccount_id = "a"\n',
            "mapping.toml: the mapping has no 'timestamp' field; it is required",
        ),
        (
            'name = "x"\n[fields]\naccount_id = "a.b\n',
            "mapping.toml:3: invalid TOML: ",
        ),
        (
            '[fields]\naccount_id = "a"\ntimestamp = "t"\n',
            "mapping.toml: the mapping has no `name`",
        ),
        (
            'name = "x y"\n[fields]\naccount_id = "a"\ntimestamp = "t"\n',
            "mapping.toml:1: `name` must be a short identifier",
        ),
        (
            'name = "x"\n[field]\naccount_id = "a"\n',
            "mapping.toml:2: unknown setting 'field'",
        ),
        (
            'name = "x"\n[fields]\naccount_id = "customer..id"\ntimestamp = "t"\n',
            "mapping.toml:3: account_id: expected a path",
        ),
        (
            'name = "x"\n[fields]\naccount_id = \'say"hi\'\ntimestamp = "t"\n',
            "mapping.toml:3: account_id: expected a path",
        ),
        (
            'name = "x"\n[fields]\naccount_id = 7\ntimestamp = "t"\n',
            "mapping.toml:3: account_id: expected a path",
        ),
    ],
    ids=[
        "unknown field",
        "empty fields",
        "no account_id",
        "no timestamp",
        "syntax error",
        "no name",
        "bad name",
        "unknown table",
        "empty key",
        "double quote in key",
        "not a path",
    ],
)
def test_mistakes_are_config_errors_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        mapping.load(path)
    assert caught.value.message.startswith(f"{tmp_path}/{message}")


@pytest.mark.parametrize(
    ("field", "suggestion"),
    [("ts", "timestamp"), ("system", "system_prompt"), ("prompt_token", "prompt_tokens")],
)
def test_unknown_field_suggests_the_right_name(tmp_path: Path, field: str, suggestion: str) -> None:
    path = _write(tmp_path, f'name = "x"\n[fields]\naccount_id = "a"\n{field} = "t"\n')
    with pytest.raises(ConfigError) as caught:
        mapping.load(path)
    assert caught.value.message == f"{path}:4: unknown canonical field {field!r}"
    assert caught.value.hint == f"did you mean {suggestion!r}?"


def test_cli_reports_a_bad_mapping_and_exits_2(tmp_path: Path) -> None:
    path = _write(tmp_path, 'name = "x"\n[fields]\naccount_id = "a"\n')
    result = CliRunner().invoke(
        app,
        [
            "ingest",
            str(DATA / "gateway.jsonl"),
            "--case",
            str(tmp_path / "case"),
            "--mapping",
            str(path),
        ],
    )
    assert result.exit_code == 2
    assert "the mapping has no 'timestamp' field; it is required" in result.output
    assert not (tmp_path / "case" / "manifest.json").exists()


def test_alternatives_json_text_patterns_constants_and_formats(tmp_path: Path) -> None:
    """What real exports need beyond a path: a field in one of several places, a body logged
    as JSON text, a value cut from an ARN, a constant, and a day-first timestamp."""
    records = [
        {
            "when": "03.02.2026 14:05:09",
            "who": {"arn": "arn:aws:sts::1:assumed-role/harvester/session-9"},
            "body": json.dumps({"messages": [{"role": "user", "content": "hi"}], "model": "m1"}),
        },
        {
            "when": "04.02.2026 08:00:00",
            "caller": "arn:aws:sts::1:assumed-role/svc-2/run-1",
            "who": {"arn": "not an arn"},
            "model": "m2",
            "body": {"contents": [{"role": "user", "parts": [{"text": "hello"}]}]},
        },
    ]
    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    path = _write(
        tmp_path,
        """name = "x"
[fields]
timestamp = { path = "when", format = "%d.%m.%Y %H:%M:%S" }
account_id = { paths = ["who.arn", "caller"], pattern = "assumed-role/([^/]+)/" }
org_id = { value = "acme" }
model = { paths = ["model", "body"], json = "model" }
messages = { path = "body", json = ["messages", "contents"] }
""",
    )
    ingest([log], tmp_path / "case", mapping=path)
    rows = [
        (e["ts"], e["account_id"], e["org_id"], e["model"], e["prompt"])
        for e in _events(tmp_path / "case")
    ]
    assert rows == [
        (datetime(2026, 2, 3, 14, 5, 9), "harvester", "acme", "m1", "hi"),
        # The pattern does not match the first place: the next place that matches is used.
        (datetime(2026, 2, 4, 8, 0), "svc-2", "acme", "m2", "hello"),
    ]


def test_two_fields_may_read_the_same_place(tmp_path: Path) -> None:
    # One id that is both the account and its end user, one body read for two fields.
    log = tmp_path / "log.jsonl"
    record = {"user": "u-1", "t": "2026-02-03T10:00:00Z", "body": '{"model": "m", "n": 2}'}
    log.write_text(json.dumps(record) + "\n", "utf-8")
    path = _write(
        tmp_path,
        """name = "same-place"
[fields]
account_id = "user"
end_user_id = "user"
timestamp = "t"
model = { path = "body", json = "model" }
api_key_id = { path = "body", json = "model" }
""",
    )
    report = ingest([log], tmp_path / "case", mapping=path)
    assert report.errors == []
    (event,) = _events(tmp_path / "case")
    assert (event["account_id"], event["end_user_id"]) == ("u-1", "u-1")
    assert (event["model"], event["api_key_id"]) == ("m", "m")


def test_a_batch_file_loads_as_one_account_at_one_time(tmp_path: Path) -> None:
    """OpenAI Batch input lines carry no account and no time: the mapping says them."""
    line = {
        "custom_id": "req-1",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o", "messages": [{"role": "user", "content": "Prove it"}]},
    }
    log = tmp_path / "batch.jsonl"
    log.write_text(json.dumps(line) + "\n", "utf-8")
    path = _write(
        tmp_path,
        """name = "batch"
[fields]
event_id = "custom_id"
account_id = { value = "batch-2026-01" }
timestamp = { value = "2026-01-12T00:00:00Z" }
model = "body.model"
messages = "body.messages"
""",
    )
    ingest([log], tmp_path / "case", mapping=path)
    (event,) = _events(tmp_path / "case")
    assert (event["account_id"], event["ts"], event["prompt"]) == (
        "batch-2026-01",
        datetime(2026, 1, 12),
        "Prove it",
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ('{ path = "a", pattern = "(" }', "is not a regular expression DuckDB reads"),
        ('{ path = "a", pattern = "(a)(b)" }', "needs exactly one capture group"),
        ('{ path = "a", paths = ["b"] }', "give exactly one of `path`, `paths` or `value`"),
        ('{ path = "a", colour = "red" }', "unknown setting 'colour'"),
        ('{ value = ["a"] }', "`value` is a constant string, number or boolean"),
        ("{ value = nan }", "`value` must be a finite number"),
        ('{ path = "a", format = "%Y" }', "for timestamp only"),
        ('{ path = "a", json = 3 }', "`json` is the path inside the parsed text"),
    ],
)
def test_field_settings_are_checked(tmp_path: Path, spec: str, message: str) -> None:
    path = _write(tmp_path, f'name = "x"\n[fields]\naccount_id = {spec}\ntimestamp = "t"\n')
    with pytest.raises(ConfigError) as caught:
        mapping.load(path)
    assert str(caught.value).startswith(f"{path}:3: account_id: ")
    assert message in str(caught.value)
