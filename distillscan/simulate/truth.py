"""The account metadata file and the ground-truth folder.

``DIR/accounts.csv`` is what a provider's account export would hold (no labels). ``DIR/truth/``
holds the answers: each account's label, the planted campaigns with their members, the resellers'
end users, and the contamination share of mixed accounts. The truth folder carries a
``.distillscan-truth`` marker, so ``distillscan ingest`` and ``investigate`` leave it out.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distillscan.ingest.discover import TRUTH_MARKER
from distillscan.simulate.population import Population
from distillscan.simulate.traffic import Identities

TRUTH_DIR = "truth"


@dataclass(slots=True)
class Tally:
    """Events generated, counted per account and per (account, end user)."""

    account_events: dict[int, list[int]] = field(default_factory=dict)  # [benign, campaign]
    end_users: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)

    def add_account(self, account: int, is_campaign: bool, count: int) -> None:
        """Count events of one account."""
        slot = self.account_events.setdefault(account, [0, 0])
        slot[1 if is_campaign else 0] += count

    def add_end_user(self, account: int, end_user: str, is_campaign: bool, count: int) -> None:
        """Count events of one end user behind one account."""
        slot = self.end_users.setdefault((account, end_user), [0, 0])
        slot[1 if is_campaign else 0] += count

    def merge(self, other: Tally) -> None:
        """Add another tally's counts to this one."""
        for account, (benign, campaign) in other.account_events.items():
            slot = self.account_events.setdefault(account, [0, 0])
            slot[0] += benign
            slot[1] += campaign
        for key, (benign, campaign) in other.end_users.items():
            slot = self.end_users.setdefault(key, [0, 0])
            slot[0] += benign
            slot[1] += campaign
        for group, count in other.groups.items():
            self.groups[group] = self.groups.get(group, 0) + count


def _csv(rows: list[list[object]], header: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _time(value: Any) -> str:
    text: str = value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return text


def write_accounts(
    out_dir: Path, population: Population, tally: Tally, identities: Identities
) -> int:
    """Write ``DIR/accounts.csv`` (accounts that sent events); return how many."""
    rows: list[list[object]] = [
        [
            identities.account_identity(a.account_id, a.org_id),
            _time(a.created_at),
            a.email_domain,
            a.payment_fingerprint or "",
            a.country,
        ]
        for a in population.accounts
        if a.index in tally.account_events
    ]
    rows.sort(key=lambda r: str(r[0]))
    header = ["account_id", "created_at", "email_domain", "payment_fingerprint", "country"]
    (out_dir / "accounts.csv").write_text(_csv(rows, header), "utf-8")
    return len(rows)


def account_labels(
    population: Population, tally: Tally, identities: Identities
) -> list[dict[str, Any]]:
    """One truth row per account that sent events."""
    rows = []
    for account in population.accounts:
        counts = tally.account_events.get(account.index)
        if counts is None:
            continue
        benign, campaign = counts
        total = benign + campaign
        if campaign == 0:
            label, share = "benign", 0.0
        elif benign == 0:
            label, share = "campaign", 1.0
        else:
            label, share = "mixed", campaign / total
        rows.append(
            {
                "account_id": identities.account_identity(account.account_id, account.org_id),
                "kind": account.kind,
                "label": label,
                "campaign_id": account.campaign_id if campaign else None,
                "contamination_share": round(share, 6),
                "events": total,
                "campaign_events": campaign,
            }
        )
    return sorted(rows, key=lambda r: str(r["account_id"]))


def write_truth(
    out_dir: Path,
    population: Population,
    tally: Tally,
    settings: dict[str, Any],
    identities: Identities,
) -> dict[str, Any]:
    """Write the ``truth/`` folder; return the campaigns as written."""
    folder = out_dir / TRUTH_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (folder / TRUTH_MARKER).write_text(
        "Ground truth written by `distillscan simulate`: not events. "
        "Ingest and investigate skip this folder.\n",
        "utf-8",
    )
    labels = account_labels(population, tally, identities)
    header = [
        "account_id",
        "kind",
        "label",
        "campaign_id",
        "contamination_share",
        "events",
        "campaign_events",
    ]
    (folder / "accounts.csv").write_text(
        _csv([[r[h] if r[h] is not None else "" for h in header] for r in labels], header), "utf-8"
    )
    ids = {
        a.index: identities.account_identity(a.account_id, a.org_id) for a in population.accounts
    }
    end_rows = [
        [ids[account], end_user, str(counts[1] > 0).lower(), counts[0] + counts[1]]
        for (account, end_user), counts in tally.end_users.items()
    ]
    end_rows.sort(key=lambda r: (str(r[0]), str(r[1])))
    (folder / "end_users.csv").write_text(
        _csv(end_rows, ["account_id", "end_user_id", "is_campaign", "events"]), "utf-8"
    )
    campaigns = []
    for campaign in population.campaigns:
        members = sorted(
            ids[i] for i in campaign.accounts if tally.account_events.get(i, [0, 0])[1] > 0
        )
        if not members:
            continue
        end_users = sorted(
            end_user
            for (account, end_user), counts in tally.end_users.items()
            if counts[1] > 0 and account in set(campaign.accounts)
        )
        campaigns.append(
            {
                "id": campaign.campaign_id,
                "name": campaign.name,
                "kind": campaign.kind,
                "description": campaign.description,
                "capabilities": campaign.capabilities,
                "languages": campaign.languages,
                "members": members,
                "events": sum(
                    tally.account_events[ids_index][1]
                    for ids_index in campaign.accounts
                    if ids_index in tally.account_events
                ),
                "end_users": sorted(set(end_users)),
                "notes": {k: v for k, v in campaign.notes.items() if k != "end_users"},
            }
        )
    (folder / "campaigns.json").write_text(
        json.dumps(campaigns, indent=2, sort_keys=True, ensure_ascii=False) + "\n", "utf-8"
    )
    (folder / "simulation.json").write_text(
        json.dumps(settings, indent=2, sort_keys=True) + "\n", "utf-8"
    )
    (folder / "README.md").write_text(_readme(labels, campaigns, settings), "utf-8")
    return {"campaigns": campaigns, "labels": labels}


def _readme(
    labels: list[dict[str, Any]], campaigns: list[dict[str, Any]], settings: dict[str, Any]
) -> str:
    counts: dict[str, int] = {}
    for row in labels:
        counts[row["label"]] = counts.get(row["label"], 0) + 1
    files = [
        (
            "accounts.csv",
            "every account that sent events: kind, label (benign, campaign, mixed), campaign_id, "
            "contamination_share (campaign events / all events), event counts",
        ),
        (
            "campaigns.json",
            "each planted campaign: id, name, kind, members, capabilities, languages, "
            "description, campaign end users",
        ),
        ("end_users.csv", "every (account, end user) pair seen, and whether it is campaign"),
        ("simulation.json", "seed, scale, profile, evasion knobs, release time, events per group"),
    ]
    lines = [
        "# Ground truth",
        "",
        f"Written by `distillscan simulate` (seed {settings['seed']}, profile "
        f"`{settings['profile']}`; `simulation.json` has every setting). This folder is not",
        "read as events: its `.distillscan-truth` marker makes ingest skip it.",
        "",
        "| file | what it holds |",
        "| --- | --- |",
        *(f"| `{name}` | {what} |" for name, what in files),
        "",
        f"Accounts: {sum(counts.values())} ("
        + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        + ").",
        "",
        "## Planted campaigns",
        "",
    ]
    if not campaigns:
        lines.append("None: this run plants no campaigns.")
    for c in campaigns:
        lines.append(
            f"* **{c['id']}**, {c['name']}: {len(c['members'])} accounts, "
            f"{c['events']} events. {c['description']}"
        )
    lines.append("")
    return "\n".join(lines)
