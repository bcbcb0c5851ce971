"""Every output format ingests with zero quarantined rows and the same canonical values.

Each format is generated with the same settings and seed as a canonical export; both are
ingested and their events matched on the request id. Columns must agree except where the format
cannot express the value or the reader defines it differently (listed per format below, with
the reason).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from distillscan.case import Case
from distillscan.ingest import ingest
from distillscan.simulate import SimulationConfig, simulate

ROUND_TRIP = SimulationConfig(events=2500, days=3, seed=5)

COMPARED = (
    "ts",
    "account_id",
    "org_id",
    "api_key_id",
    "end_user_id",
    "source_ip",
    "user_agent",
    "model",
    "system_prompt",
    "prompt",
    "n_turns",
    "has_history",
    "n_images",
    "n_tools",
    "max_tokens",
    "temperature",
    "n_choices",
    "logprobs",
    "reasoning_effort",
    "thinking_budget",
    "reasoning_requested",
    "response_text",
    "prompt_tokens",
    "completion_tokens",
    "text_available",
)

#: Columns a format names or shapes differently, and why.
EXPECTED_DIFFERENCES: dict[str, dict[str, str]] = {
    "canonical": {},
    "openai": {
        "reasoning_effort": "thinking budgets become the nearest effort",
        "thinking_budget": "no budgets in Chat Completions",
    },
    "anthropic": {
        "max_tokens": "required by the Messages API: a default is sent when the client has none",
        "n_choices": "no n in the Messages API",
        "logprobs": "no logprobs in the Messages API",
        "reasoning_effort": "efforts become thinking budgets",
        "thinking_budget": "efforts become thinking budgets",
    },
    "bedrock": {
        "account_id": "the IAM principal's ARN (checked below)",
        "org_id": "the AWS account id",
        "api_key_id": "IAM, no API keys",
        "user_agent": "AWS SDK agents (checked below)",
        "n_choices": "no n in Converse",
        "logprobs": "no logprobs in Converse",
        "reasoning_effort": "efforts become thinking budgets",
        "thinking_budget": "efforts become thinking budgets",
    },
    "litellm": {
        "api_key_id": "LiteLLM logs the key's SHA-256",
        "prompt_tokens": "failed calls are logged with zero tokens",
        "completion_tokens": "failed calls are logged with zero tokens",
    },
}
#: Formats whose agent turns end in ``tool`` messages: the prompt is then the last user message.
TOOL_MESSAGES = {"openai", "litellm"}

KEY = "left(regexp_replace(regexp_replace(event_id, '^(req_|chatcmpl-)', ''), '-', '', 'g'), 24)"


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each format generated with the same settings and ingested into its own case."""
    root = tmp_path_factory.mktemp("roundtrip")
    result = {}
    for name in EXPECTED_DIFFERENCES:
        export = root / name
        config = SimulationConfig(
            events=ROUND_TRIP.events,
            days=ROUND_TRIP.days,
            seed=ROUND_TRIP.seed,
            output_format=name,
        )
        simulate(export, config)
        report = ingest([export], root / f"case-{name}")
        assert report.errors == []
        assert report.rows_quarantined == 0, report.examples
        assert {r["format"] for r in report.loaded} <= {name, "accounts", "cloudtrail"}
        result[name] = root / f"case-{name}"
    return result


def _events(con: duckdb.DuckDBPyConnection, case: Path, alias: str) -> None:
    case_con = Case(case).connect()  # refreshes the views (CloudTrail enrichment included)
    frame = case_con.sql(f"SELECT {KEY} AS k, * FROM events").to_arrow_table()
    case_con.close()
    con.register(alias, frame)


@pytest.mark.parametrize("name", sorted(EXPECTED_DIFFERENCES))
def test_format_round_trips(name: str, cases: dict[str, Path]) -> None:
    con = duckdb.connect()
    _events(con, cases["canonical"], "base")
    _events(con, cases[name], "other")
    [(matched, total)] = con.sql(
        "SELECT count(b.k), (SELECT count(*) FROM other) FROM other o JOIN base b USING (k)"
    ).fetchall()
    assert matched == total == ROUND_TRIP.events
    skipped = EXPECTED_DIFFERENCES[name]
    for column in COMPARED:
        if column in skipped:
            continue
        condition = f"o.{column} IS DISTINCT FROM b.{column}"
        if name in TOOL_MESSAGES and column in ("prompt", "n_turns"):
            condition += " AND NOT (b.n_tools > 0 AND b.has_history)"
        [(differ,)] = con.sql(
            f"SELECT count(*) FROM other o JOIN base b USING (k) WHERE {condition}"
        ).fetchall()
        assert differ == 0, f"{name}: {column} differs in {differ} events"
    [(bad_status,)] = con.sql(
        "SELECT count(*) FROM other o JOIN base b USING (k) "
        "WHERE (o.status = 'ok') IS DISTINCT FROM (b.status = 'ok')"
    ).fetchall()
    assert bad_status == 0


def test_bedrock_names_principals_and_sdk_agents(cases: dict[str, Path]) -> None:
    con = duckdb.connect()
    _events(con, cases["canonical"], "base")
    _events(con, cases["bedrock"], "other")
    [(mismatched, agents, pairs)] = con.sql(
        """SELECT count(*) FILTER (
                      WHERE NOT o.account_id LIKE 'arn:aws:iam::%:user/' || b.account_id),
                  count(DISTINCT o.user_agent),
                  count(DISTINCT (o.user_agent, b.user_agent))
           FROM other o JOIN base b USING (k)"""
    ).fetchall()
    assert mismatched == 0
    assert agents == pairs  # one SDK agent per client agent: shared agents stay shared


def test_truth_names_accounts_as_the_logs_do(cases: dict[str, Path]) -> None:
    export = cases["bedrock"].parent / "bedrock"
    con = duckdb.connect()
    truth = con.sql(f"SELECT account_id FROM read_csv('{export / 'truth' / 'accounts.csv'}')")
    meta = con.sql(f"SELECT account_id FROM read_csv('{export / 'accounts.csv'}')")
    case_con = Case(cases["bedrock"]).connect()
    logged = {row[0] for row in case_con.sql("SELECT DISTINCT account_id FROM events").fetchall()}
    case_con.close()
    assert {row[0] for row in truth.fetchall()} == logged == {row[0] for row in meta.fetchall()}
