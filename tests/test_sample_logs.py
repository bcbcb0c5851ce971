"""End to end on the shipped ``sample_logs/``: goldens per output format, and order invariance.

The goldens are what ``distillscan report CASE --format F --output FILE`` writes after
``distillscan investigate sample_logs/``, run through the command line (the terminal format to a
file: 100 columns, no colour). When a change to detection or rendering is intended, regenerate
them with ``DISTILLSCAN_UPDATE_GOLDEN=1 pytest tests/test_sample_logs.py`` and review the diff.
"""

from __future__ import annotations

import gzip
import json
import random
import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from distillscan.case import RESULT_FILES
from distillscan.cli import app
from distillscan.investigate import investigate
from distillscan.render.formats import RENDERERS as FORMATS
from distillscan.report.loader import load_investigation
from distillscan.report.model import Report, build_report
from tests.cases import working_directory
from tests.render.test_golden import _matches_golden, cli_report

SAMPLE_LOGS = Path(__file__).resolve().parents[1] / "sample_logs"

#: The golden of every registered output format.
GOLDENS = sorted(f"sample_logs.{r.suffix}" for r in FORMATS.values())


def _investigate(root: Path, logs: str) -> Path:
    case = root / "case"
    with working_directory(root):
        investigate([Path(logs)], case)
    return case


@pytest.fixture(scope="module")
def sample_case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sample")
    shutil.copytree(SAMPLE_LOGS, root / "sample_logs")
    return _investigate(root, "sample_logs")


@pytest.fixture(scope="module")
def sample_report(sample_case: Path) -> Report:
    return build_report(load_investigation(sample_case))


@pytest.mark.parametrize("name", GOLDENS)
def test_sample_logs_report_matches_golden(name: str, sample_case: Path) -> None:
    _matches_golden(name, cli_report(sample_case, name))


def test_sample_logs_name_every_planted_campaign(sample_case: Path) -> None:
    campaigns = pl.read_parquet(sample_case / "campaigns.parquet")
    truth = pl.read_csv(SAMPLE_LOGS / "truth" / "accounts.csv", infer_schema_length=0)
    planted = truth.filter(pl.col("label") == "campaign").group_by("campaign_id").agg("account_id")
    reported = {row["campaign_id"]: set(row["members"]) for row in campaigns.iter_rows(named=True)}
    for row in planted.iter_rows(named=True):
        members = set(row["account_id"])
        matches = [rid for rid, found in reported.items() if found & members]
        assert len(matches) == 1, (row["campaign_id"], matches)
        assert reported[matches[0]] == members, row["campaign_id"]


def _shuffled_copy(source: Path, target: Path, seed: int) -> None:
    """The same logs with every file's lines shuffled and the files renamed into reverse order."""
    rng = random.Random(seed)
    files = sorted(source.rglob("*.jsonl.gz"))
    for position, path in enumerate(reversed(files)):
        lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
        rng.shuffle(lines)
        out = target / "logs" / f"{position:02d}-{path.name}"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(gzip.compress(b"".join(lines), mtime=0))
    shutil.copy(source / "accounts.csv", target / "accounts.csv")


def _findings(case: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    accounts = pl.read_parquet(case / "accounts.parquet").select(
        "account_id", pl.col("score").round(9), "severity", "campaign_id", "is_mixed"
    )
    campaigns = pl.read_parquet(case / "campaigns.parquet").select(
        "campaign_id", "name", "severity", pl.col("score").round(9), "members", "n_events"
    )
    return accounts, campaigns


def test_shuffled_rows_and_files_give_the_same_findings(sample_case: Path, tmp_path: Path) -> None:
    _shuffled_copy(SAMPLE_LOGS, tmp_path / "shuffled", seed=7)
    shuffled = _investigate(tmp_path, "shuffled")
    for original, again in zip(_findings(sample_case), _findings(shuffled), strict=True):
        assert original.equals(again)


def test_prompt_fingerprint_artefacts_point_at_a_request_carrying_them(sample_case: Path) -> None:
    """A system prompt or a prompt skeleton is named by fingerprint; its evidence row points at
    the member's first request that carries it, whose prompt the investigator reads there."""
    evidence = pl.read_parquet(sample_case / "evidence.parquet").filter(
        pl.col("kind") == "link:artefact"
    )
    by_prompt = evidence.filter(
        pl.col("detail").str.contains(r"^uses (system prompt|prompt skeleton) #")
    )
    assert not by_prompt.is_empty()
    assert (
        by_prompt.select("event_id", "source_file", "source_line").null_count().sum_horizontal()[0]
        == 0
    )
    events = pl.read_parquet(sample_case / "events.parquet", columns=["event_id", "account_id"])
    pointed = by_prompt.join(events, on=["event_id", "account_id"], how="semi")
    assert pointed.height == by_prompt.height  # each request is the member's own
    others = evidence.filter(
        ~pl.col("detail").str.contains(r"^uses (system prompt|prompt skeleton) #")
    )
    assert others["event_id"].null_count() == others.height  # addresses and cards name no request


def test_redaction_hides_every_sign_up_detail(sample_case: Path, sample_report: Report) -> None:
    """Payment fingerprints and e-mail domains identify customers as surely as their ids: the
    ones campaigns share, and the ones evidence sentences name (``uses payment fingerprint``)."""
    from distillscan.report.redact import redact, sign_up_details

    accounts = load_investigation(sample_case).accounts
    details = {value for _, value in sign_up_details(accounts)}
    text = "\n".join(r.render(sample_report, "CASE") for r in FORMATS.values())
    named = {value for value in details if value in text}
    assert any(v.startswith("pf_") for v in named), "the sample's evidence names fingerprints"
    redacted = redact(sample_report, sign_up_details(accounts))
    for renderer in FORMATS.values():
        text = renderer.render(redacted, "CASE")
        assert not [value for value in named if value in text], renderer.name


def test_replayed_day_by_day_every_campaign_is_named_early_under_one_id(sample_case: Path) -> None:
    """``eval --by-day``: the daily path names each planted campaign within three days of its
    first request, keeps one id for it, raises no false campaign, and writes nothing."""
    kept = [*RESULT_FILES, "manifest.json"]
    before = {name: (sample_case / name).read_bytes() for name in kept}
    result = CliRunner().invoke(
        app,
        ["eval", str(sample_case), "--truth", str(SAMPLE_LOGS / "truth"), "--by-day", "--json"],
    )
    assert result.exit_code == 0, result.stderr
    timing = json.loads(result.stdout)
    assert len(timing["days"]) >= 14
    assert all(day["false_campaigns"] == 0 for day in timing["days"])
    for campaign in timing["campaigns"]:
        assert campaign["named_on"] is not None, campaign["id"]
        assert campaign["delay_hours"] <= 72, campaign
        named_by = [i for i in campaign["campaign_ids"] if i.startswith("camp-")]
        assert len(named_by) <= 1, campaign  # a tenant is named by its mixed accounts instead
    assert {name: (sample_case / name).read_bytes() for name in kept} == before
