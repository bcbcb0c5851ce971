"""Triage: what investigators decided about campaigns and accounts, kept with the case.

A daily job that fails on every known campaign is soon ignored. ``distillscan triage CASE
TARGET --status confirmed|benign|suppressed --note TEXT`` records a decision about a campaign
or an account in ``triage.json`` (every decision is kept, with who made it and when; the latest
per target counts). Campaign ids survive later runs (:mod:`distillscan.tracking`), so a
decision follows its campaign as it grows.

An allowlist (a TOML file a team shares between cases, given to ``investigate --allowlist``)
names known customers up front, each with a reason::

    [[accounts]]
    id = "acct_1234"
    reason = "QA team's load tests"

    [[orgs]]
    id = "org_university"
    reason = "research partnership, ticket T-12"

    [[networks]]
    cidr = "198.51.100.0/24"
    reason = "our own evaluation cluster"

    [[end_users]]
    account = "acct_reseller"
    id = "tenant-42"
    reason = "the reseller's customer is a known evaluation lab"

An account is allowlisted when it is listed, when every one of its requests carries a listed
organisation, or when every one of them comes from a listed network. (Every request, not some:
an organisation or network a harvester used once proves nothing about the rest of its traffic.)
A reseller's end users are listed with the account whose ids they are: a mixed account shows
which of its implicated end users are allowlisted, and is covered itself when all of them are.

Nothing is deleted or hidden: a benign or suppressed account or campaign is still analysed,
scored and listed in every report, marked with its decision. Decisions change only what fails a
CI run (``--fail-on``, ``--fail-on-new``): a campaign marked benign or suppressed, or whose
members all are, no longer fails it.
"""

from __future__ import annotations

import ipaddress
import json
import tomllib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import duckdb
import polars as pl

from distillscan.case import TRIAGE_FILE, Case, write_atomic
from distillscan.errors import CaseError, ConfigError


class Status(StrEnum):
    """A decision's status (``distillscan triage --status``)."""

    confirmed = "confirmed"
    benign = "benign"
    suppressed = "suppressed"


#: The statuses that keep a finding from failing a run.
DISMISSED: tuple[str, ...] = (Status.benign, Status.suppressed)
#: The allowlist's tables and the key naming each entry.
ALLOWLIST_TABLES = {"accounts": "id", "orgs": "id", "networks": "cidr", "end_users": "id"}


@dataclass(frozen=True)
class Decision:
    """One decision: about a ``campaign`` or an ``account``, by whom, when, and why."""

    kind: str
    target: str
    status: str
    note: str
    by: str
    at: str
    source: str = "triage"


def decisions(case_dir: Path) -> list[Decision]:
    """Every decision recorded in the case, oldest first (none when it holds no file).

    Raises:
        CaseError: ``triage.json`` cannot be read.
    """
    path = case_dir / TRIAGE_FILE
    if not path.is_file():
        return []
    try:
        entries = json.loads(path.read_text("utf-8"))["decisions"]
        return [Decision(**entry) for entry in entries]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CaseError(
            f"{path}: cannot read the triage decisions ({exc})",
            hint="it is JSON written by `distillscan triage`; restore it from a copy",
        ) from None


def latest(entries: list[Decision]) -> dict[tuple[str, str], Decision]:
    """The decision that counts for each ``(kind, target)``: the last one made."""
    current: dict[tuple[str, str], Decision] = {}
    for entry in entries:
        current[(entry.kind, entry.target)] = entry
    return current


def record(case_dir: Path, decision: Decision) -> None:
    """Append ``decision`` to the case's ``triage.json`` (written whole, atomically; the
    caller holds the case's write lock)."""
    entries = [*decisions(case_dir), decision]
    document = {"decisions": [asdict(e) for e in entries]}
    write_atomic(case_dir / TRIAGE_FILE, json.dumps(document, indent=2, sort_keys=True) + "\n")


def decide(case_dir: Path, wanted: str, status: str, note: str, by: str, at: datetime) -> Decision:
    """Record a decision about the campaign or account ``wanted`` names, under the case's
    write lock, and return it.

    Raises:
        CaseError: not an investigated case, or ``wanted`` names nothing, or several things.
    """
    case = Case(case_dir)
    if not case.exists():
        raise CaseError(f"{case_dir}: not a case folder (no manifest.json)")
    with case.lock():
        try:
            campaigns = pl.read_parquet(case_dir / "campaigns.parquet", columns=["campaign_id"])
            accounts = pl.read_parquet(case_dir / "accounts.parquet", columns=["account_id"])
        except (OSError, pl.exceptions.PolarsError):
            raise CaseError(
                f"{case_dir}: no investigation results to triage",
                hint=f"run: distillscan investigate --case {case_dir}",
            ) from None
        kind, target = resolve(campaigns, accounts, wanted)
        moment = at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
        decision = Decision(kind, target, status, note, by, moment)
        record(case_dir, decision)
    return decision


def resolve(campaigns: pl.DataFrame, accounts: pl.DataFrame, wanted: str) -> tuple[str, str]:
    """``(kind, id)`` of the campaign or account ``wanted`` names (its id or a unique start).

    Raises:
        CaseError: nothing, or more than one thing, matches.
    """
    found: list[tuple[str, str]] = []
    for kind, ids in (
        ("campaign", campaigns["campaign_id"].to_list()),
        ("account", accounts["account_id"].to_list()),
    ):
        exact = [i for i in ids if i == wanted]
        found += [(kind, i) for i in exact or [i for i in ids if i.startswith(wanted)]]
    if len(found) != 1:
        problem = (
            "matches several campaigns or accounts"
            if found
            else "is not a campaign or an account of this case"
        )
        listed = ", ".join(i for _, i in found[:5])
        raise CaseError(
            f"{wanted!r} {problem}", hint=f"candidates: {listed}" if found else "see the report"
        )
    return found[0]


@dataclass(frozen=True)
class Allowlist:
    """Known customers: account ids, organisations, networks, and a reseller's end users
    (``(account, end user)``), each with its reason."""

    accounts: dict[str, str]
    orgs: dict[str, str]
    networks: dict[str, str]
    end_users: dict[tuple[str, str], str]

    def as_record(self) -> dict[str, list[dict[str, str]]]:
        """The allowlist as ``investigation.json`` keeps it."""
        record = {
            table: [{key: k, "reason": v} for k, v in sorted(getattr(self, table).items())]
            for table, key in ALLOWLIST_TABLES.items()
            if table != "end_users"
        }
        record["end_users"] = [
            {"account": account, "id": end_user, "reason": reason}
            for (account, end_user), reason in sorted(self.end_users.items())
        ]
        return record


def load_allowlist(path: Path) -> Allowlist:
    """Read and check an allowlist file (see the module docstring).

    Raises:
        ConfigError: unreadable, not TOML, an unknown table, or an entry without its id or
            reason, or a network that is not one.
    """
    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the allowlist ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    unknown = sorted(set(document) - set(ALLOWLIST_TABLES))
    if unknown:
        raise ConfigError(
            f"{path}: unknown allowlist table(s) {', '.join(unknown)}",
            hint="tables: [[accounts]] (id, reason), [[orgs]] (id, reason), "
            "[[networks]] (cidr, reason)",
        )
    tables: dict[str, dict[str, str]] = {}
    end_users: dict[tuple[str, str], str] = {}
    for table, key in ALLOWLIST_TABLES.items():
        entries = document.get(table, [])
        if not isinstance(entries, list):
            raise ConfigError(f"{path}: [{table}] must be an array of tables ([[{table}]])")
        tables[table] = {}
        for i, entry in enumerate(entries):
            value = entry.get(key) if isinstance(entry, dict) else None
            reason = entry.get("reason") if isinstance(entry, dict) else None
            if not isinstance(value, str) or not value.strip() or not isinstance(reason, str):
                raise ConfigError(
                    f"{path}: [[{table}]] entry {i + 1} needs {key} and reason (text)"
                )
            if table == "end_users":
                account = entry.get("account")
                if not isinstance(account, str) or not account.strip():
                    raise ConfigError(
                        f"{path}: [[end_users]] entry {i + 1} needs account (the reseller's "
                        "account id: end-user ids are its own)"
                    )
                end_users[(account, value)] = reason
                continue
            if table == "networks":
                try:
                    value = str(ipaddress.ip_network(value.strip(), strict=False))
                except ValueError:
                    raise ConfigError(
                        f"{path}: [[networks]] entry {i + 1}: {value!r} is not a network"
                    ) from None
            tables[table][value] = reason
    return Allowlist(tables["accounts"], tables["orgs"], tables["networks"], end_users)


def allowlisted(con: duckdb.DuckDBPyConnection, allowlist: Allowlist) -> pl.DataFrame:
    """The accounts of ``events`` an allowlist covers: ``account_id`` and ``reason``.

    Organisations and networks cover an account only when every one of its requests carries
    them. Networks are tested on each distinct address (never per event).
    """
    orgs = pl.DataFrame(
        {"org_id": list(allowlist.orgs), "reason": list(allowlist.orgs.values())},
        schema={"org_id": pl.String, "reason": pl.String},
    )
    con.register("allowed_orgs", orgs.to_arrow())
    by_org = con.sql(
        """WITH per_account AS (
            SELECT account_id, count(*) AS n, count(a.org_id) AS n_listed,
                   min(a.reason) AS reason
            FROM events e LEFT JOIN allowed_orgs a ON e.org_id = a.org_id
            GROUP BY account_id
        )
        SELECT account_id, 'allowlisted organisation: ' || reason AS reason
        FROM per_account WHERE n = n_listed ORDER BY account_id"""
    ).pl()
    con.unregister("allowed_orgs")
    addresses = con.sql(
        "SELECT DISTINCT account_id, source_ip FROM events ORDER BY account_id, source_ip"
    ).pl()
    networks = [(ipaddress.ip_network(c), r) for c, r in sorted(allowlist.networks.items())]
    reasons = {
        ip: _network_reason(ip, networks) for ip in addresses["source_ip"].unique().to_list()
    }
    by_network = (
        addresses.with_columns(
            pl.col("source_ip")
            .replace_strict(reasons, default=None, return_dtype=pl.String)
            .alias("reason")
        )
        .group_by("account_id")
        .agg(pl.col("reason").null_count().alias("outside"), pl.col("reason").min())
        .filter(pl.col("outside") == 0)
        .select("account_id", ("allowlisted network: " + pl.col("reason")).alias("reason"))
    )
    listed = pl.DataFrame(
        {
            "account_id": list(allowlist.accounts),
            "reason": ["allowlisted: " + r for r in allowlist.accounts.values()],
        },
        schema={"account_id": pl.String, "reason": pl.String},
    )
    known = con.sql("SELECT DISTINCT account_id FROM events").pl()
    covered: pl.DataFrame = (
        pl.concat([listed.join(known, on="account_id", how="semi"), by_org, by_network])
        .sort("account_id", "reason")
        .unique("account_id", keep="first", maintain_order=True)
    )
    return covered


def allowlisted_end_users(accounts: pl.DataFrame, allowlist: Allowlist) -> pl.DataFrame:
    """For each account whose implicated end users (a harvesting tenant) include allowlisted
    ones: ``account_id`` and ``allowlisted_end_users`` (sorted), and ``reason`` when all of
    them are (then the tenant is a known customer: the account is covered too)."""
    if "implicated_end_users" not in accounts.columns or not allowlist.end_users:
        return pl.DataFrame(
            schema={
                "account_id": pl.String(),
                "allowlisted_end_users": pl.List(pl.String()),
                "reason": pl.String(),
            }
        )
    listed = pl.DataFrame(
        [(a, u, r) for (a, u), r in sorted(allowlist.end_users.items())],
        schema={"account_id": pl.String, "end_user_id": pl.String, "reason": pl.String},
        orient="row",
    )
    implicated = (
        accounts.select("account_id", pl.col("implicated_end_users").alias("end_user_id"))
        .explode("end_user_id")
        .drop_nulls()
    )
    return (
        implicated.join(listed, on=["account_id", "end_user_id"], how="left")
        .group_by("account_id")
        .agg(
            pl.col("end_user_id")
            .filter(pl.col("reason").is_not_null())
            .sort()
            .alias("allowlisted_end_users"),
            pl.col("reason").null_count().alias("not_listed"),
            pl.col("reason").drop_nulls().unique().sort().str.join("; ").alias("reasons"),
        )
        .filter(pl.col("allowlisted_end_users").list.len() > 0)
        .select(
            "account_id",
            "allowlisted_end_users",
            pl.when(pl.col("not_listed") == 0)
            .then("all implicated end users allowlisted: " + pl.col("reasons"))
            .alias("reason"),
        )
        .sort("account_id")
    )


def _network_reason(
    address: str | None,
    networks: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]],
) -> str | None:
    if not address or not networks:
        return None
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    return next((reason for network, reason in networks if ip in network), None)
