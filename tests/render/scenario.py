"""A small, realistic investigation scenario in canonical JSON lines, generated deterministically.

Three days of API traffic (2026-02-02 to 2026-02-04, UTC) with one planted campaign and the hard
negatives the methodology names, so that every part of a report has something to show:

* a six-account harvesting campaign: synchronized shifts round the clock, shared prompt
  templates across many capabilities that demand step-by-step reasoning, one /24 and one user
  agent, long outputs, and a pivot to ``frontier-2`` within hours of its release;
* an enterprise helpdesk integration (24/7, one template, narrow content);
* an evaluation lab ("let's think step by step" in short bursts, tries the new model);
* conversational people, four of them behind one university NAT;
* a reseller passing its end users' ids, one tenant of which harvests (a mixed account).

With ``hostile=True`` the campaign's prompts, one member's account id, its user agent, one end
user id and a model name carry Rich markup, ANSI/OSC escape sequences, Markdown, HTML and CSV
formula prefixes: every renderer must show them inert.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

START = datetime(2026, 2, 2)
DAYS = 3
RELEASE = START + timedelta(days=1, hours=12, minutes=7)  # frontier-2 first appears

#: Text planted by the hostile variant; tests assert these never reach an output live.
HOSTILE_PROMPTS = (
    "[bold red]ALERT[/bold red] [link=https://evil.example/rich]open me[/link]",
    "\x1b[31mred\x1b[0m\x1b[2J\x1b[Hscreen cleared",
    "\x1b]8;;https://evil.example/osc8\x1b\\hyperlink\x1b]8;;\x1b\\ and \x1b]0;pwned title\x07",
    "</details></td><script>alert(1)</script><img src=x onerror=alert(2)>",
    "```\n# Injected heading\n| col | umn |\n![img](https://evil.example/x.png) "
    "[click](javascript:alert(1)) <https://evil.example/auto>",
    '=HYPERLINK("https://evil.example/csv","x")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
)
HOSTILE_ACCOUNT = "acct-[bold]h4x[/bold]|<b>`x`</b>\x1b[2J"
HOSTILE_AGENT = "hydra-runner/2.3 \x1b]0;owned\x07[red]ua[/red] <script>ua()</script>"
HOSTILE_END_USER = "tenant-[link=https://evil.example]93[/link]|`eu`"

CAMPAIGN_ACCOUNTS = tuple(f"acct-7f3a{n:02d}" for n in range(1, 7))

TEMPLATES = (
    "Solve the following problem step by step and show your full reasoning before the final "
    "answer: {x}",
    "You are an expert engineer. Implement the function below in Python, explain your "
    "reasoning for each line, and write unit tests: {x}",
    "Break this task into subtasks, plan the workflow for an agent with tools, and justify "
    "each step: {x}",
    "Answer the sensitive question below. Instead of refusing, give a censorship-safe "
    "alternative answer and explain your reasoning: {x}",
    "Grade the response below on a scale of 1 to 10 using the rubric, and give a rationale "
    "for each criterion: {x}",
    "Translate the passage into French, then explain step by step why each choice was made: {x}",
    "Write a short story about {x}. Before answering, think out loud and show your thought "
    "process in detail.",
    "Which of the following statements is true? Deduce the answer with a full chain of "
    "thought: {x}",
)
SLOTS = (
    "a train leaves at 3pm at 80 km/h; how many km by 7pm",
    "def merge_intervals(items): ...",
    "migrate a billing service to a new database",
    "how surveillance systems are evaded",
    "an essay on renewable energy policy",
    "the committee postponed its decision",
    "a lighthouse keeper",
    "if all birds fly and penguins are birds",
    "compute the integral of x^2 from 0 to 3",
    "a regex for ISO dates in javascript",
)

HUMAN_TOPICS = (
    "Can you help me write an email to my landlord about the heating?",
    "What's a good recipe for a vegetarian lasagna?",
    "Why does my sourdough not rise?",
    "Can you suggest a name for a hiking club?",
    "How do I politely decline a meeting invitation?",
    "What should I pack for a weekend in Lisbon?",
    "Explain what a mortgage offset account is.",
    "How do I fix a squeaky door hinge?",
)
FOLLOW_UPS = ("Thanks! Could you make it shorter?", "And what about the second part?")


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Writer:
    """Collects records and numbers their event ids per account."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def add(self, account: str, moment: datetime, **fields: Any) -> None:
        record = {
            "event_id": f"req-{len(self.records):06d}",
            "timestamp": _ts(moment),
            "account_id": account,
            "model": "frontier-1",
            **fields,
        }
        self.records.append({k: v for k, v in record.items() if v is not None})


def _campaign_shifts(rng: random.Random) -> list[tuple[datetime, datetime]]:
    """The operator's scheduler: 2-5 hour shifts separated by 30-100 minute pauses."""
    shifts, moment = [], START + timedelta(minutes=11)
    end = START + timedelta(days=DAYS)
    while moment < end:
        stop = min(moment + timedelta(minutes=rng.randint(120, 300)), end)
        shifts.append((moment, stop))
        moment = stop + timedelta(minutes=rng.randint(30, 100))
    return shifts


def _campaign(writer: _Writer, rng: random.Random, hostile: bool) -> None:
    accounts = list(CAMPAIGN_ACCOUNTS)
    if hostile:
        accounts[2] = HOSTILE_ACCOUNT
    agent = HOSTILE_AGENT if hostile else "python-httpx/0.27.0 hydra-runner/2.3"
    for start, stop in _campaign_shifts(rng):
        moment = start
        while moment < stop:
            for index, account in enumerate(accounts):
                at = moment + timedelta(seconds=rng.randint(0, 600))
                template = TEMPLATES[rng.randrange(len(TEMPLATES))]
                slot = SLOTS[rng.randrange(len(SLOTS))]
                if hostile and rng.random() < 0.3:
                    slot = HOSTILE_PROMPTS[rng.randrange(len(HOSTILE_PROMPTS))]
                after_release = at >= RELEASE
                model = "frontier-2" if after_release and rng.random() < 0.85 else "frontier-1"
                tools = (
                    [{"type": "function", "function": {"name": "run_shell"}}]
                    if "agent with tools" in template
                    else None
                )
                writer.add(
                    account,
                    at,
                    model=model,
                    source_ip=f"203.0.113.{10 + index}",
                    user_agent=agent,
                    messages=[{"role": "user", "content": template.format(x=slot)}],
                    tools=tools,
                    max_tokens=32000,
                    n=4 if rng.random() < 0.4 else None,
                )
            moment += timedelta(minutes=12)


def _helpdesk(writer: _Writer, rng: random.Random) -> None:
    moment = START
    while moment < START + timedelta(days=DAYS):
        ticket = rng.randint(10000, 99999)
        writer.add(
            "acct-helpdesk-co",
            moment,
            source_ip="198.51.100.10",
            user_agent="helpdesk-bot/5.1",
            system="You summarise customer support tickets for the triage queue.",
            messages=[
                {
                    "role": "user",
                    "content": f"Summarise ticket #{ticket}: customer reports that the "
                    "invoice PDF does not download from the portal.",
                }
            ],
            max_tokens=300,
        )
        moment += timedelta(minutes=rng.randint(15, 25))


def _eval_lab(writer: _Writer, rng: random.Random) -> None:
    for day in range(DAYS):
        for hour in (10, 15):
            base = START + timedelta(days=day, hours=hour)
            for i in range(25):
                at = base + timedelta(minutes=2 * i)
                model = "frontier-2" if at >= RELEASE and i < 4 else "frontier-1"
                a, b = rng.randint(2, 99), rng.randint(2, 99)
                writer.add(
                    "acct-evallab",
                    at,
                    model=model,
                    source_ip="198.51.100.77",
                    user_agent="lm-eval-harness/0.4",
                    messages=[
                        {
                            "role": "user",
                            "content": f"Q: What is {a} times {b}? A: Let's think step by step.",
                        }
                    ],
                    max_tokens=512,
                )


def _people(writer: _Writer, rng: random.Random) -> None:
    people = {
        "acct-dana": "192.0.2.44",
        "acct-li.wei": "192.0.2.45",  # a university NAT: these four share one /24
        "acct-priya": "192.0.2.46",
        "acct-tomasz": "192.0.2.47",
        "marta.k@example.org": "198.51.100.201",  # some exports key accounts by email
        "acct-oskar": "100.64.3.9",
        "acct-yuki": "100.64.7.21",
        "acct-amara": "172.16.4.2",
        "acct-jonas": "172.16.9.80",
        "acct-sofia": "10.20.30.40",
    }
    for account, ip in people.items():
        for day in range(DAYS):
            for _ in range(rng.randint(4, 7)):
                at = START + timedelta(
                    days=day, hours=rng.randint(8, 19), minutes=rng.randint(0, 59)
                )
                topic = HUMAN_TOPICS[rng.randrange(len(HUMAN_TOPICS))]
                writer.add(
                    account,
                    at,
                    source_ip=ip,
                    user_agent="Mozilla/5.0 (Macintosh) chat-web/3.2",
                    messages=[{"role": "user", "content": topic}],
                    max_tokens=1024,
                )
                writer.add(
                    account,
                    at + timedelta(minutes=3),
                    source_ip=ip,
                    user_agent="Mozilla/5.0 (Macintosh) chat-web/3.2",
                    messages=[
                        {"role": "user", "content": topic},
                        {"role": "assistant", "content": "Here is a first answer."},
                        {"role": "user", "content": FOLLOW_UPS[rng.randrange(2)]},
                    ],
                    max_tokens=1024,
                )


def _reseller(writer: _Writer, rng: random.Random, hostile: bool) -> None:
    # The tenant is a group of end users (one implicated end user is one customer).
    tenants = [HOSTILE_END_USER if hostile else "tenant-93", "tenant-94"]
    users = [f"cust-{n:03d}" for n in range(12)]
    moment = START + timedelta(minutes=3)
    while moment < START + timedelta(days=DAYS):
        if rng.random() < 0.15:
            template = TEMPLATES[rng.randrange(len(TEMPLATES))]
            writer.add(
                "acct-reseller-nova",
                moment,
                end_user_id=tenants[moment.minute % 2],
                source_ip="100.64.20.5",
                user_agent="nova-gateway/1.8",
                messages=[{"role": "user", "content": template.format(x=SLOTS[rng.randrange(10)])}],
                max_tokens=32000,
            )
        else:
            topic = HUMAN_TOPICS[rng.randrange(len(HUMAN_TOPICS))]
            writer.add(
                "acct-reseller-nova",
                moment,
                end_user_id=users[rng.randrange(len(users))],
                source_ip="100.64.20.5",
                user_agent="nova-gateway/1.8",
                messages=[
                    {"role": "user", "content": topic},
                    {"role": "assistant", "content": "Sure, here you go."},
                    {"role": "user", "content": FOLLOW_UPS[rng.randrange(2)]},
                ],
                max_tokens=1024,
            )
        moment += timedelta(minutes=rng.randint(10, 30))


def write_scenario(
    folder: Path, *, hostile: bool = False, campaign: bool = True, seed: int = 7
) -> Path:
    """Write the scenario's log export into ``folder`` (sorted by time) and return its path.

    ``campaign=False`` leaves the campaign out (only legitimate traffic, one mixed reseller).
    """
    rng = random.Random(seed)
    writer = _Writer()
    if campaign:
        _campaign(writer, rng, hostile)
    _helpdesk(writer, rng)
    _eval_lab(writer, rng)
    _people(writer, rng)
    _reseller(writer, rng, hostile)
    records = sorted(writer.records, key=lambda r: (r["timestamp"], r["event_id"]))
    folder.mkdir(parents=True, exist_ok=True)
    name = "hostile-export" if hostile else "api-export" if campaign else "benign-export"
    path = folder / f"{name}.jsonl"
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path
