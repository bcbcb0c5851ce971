"""``--redact``: a report that can leave the trust-and-safety team.

Account ids, end-user ids, IP addresses (and network prefixes), email addresses, and the payment
fingerprints and e-mail domains campaigns share become pseudonyms (``acct-…``, ``user-…``,
``ip-…``, ``net-…``, ``email-…``, ``pay-…``, ``domain-…``: 12 hex digits of a salted
SHA-256); prompt text and prompt skeletons become their fingerprint (``[prompt sha256:… , N
chars]``). The salt is derived from the SHA-256 of the case's inputs, so one account keeps one
pseudonym across every format of the same case (a Markdown writeup and its JSON agree), while
the pseudonyms cannot be matched against a list of candidate ids without the input files.

Fields known to hold ids or prompts are replaced whole; every other string from the logs
(evidence details, user agents, notes, file names) is scrubbed: known account and end-user ids
inside it are replaced (longest first, in one pass), then anything shaped like an IPv4 or IPv6
address or an email address.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import re
from collections.abc import Iterable

import polars as pl

from distillscan.investigate import Investigation
from distillscan.report.drilldown import AccountDetail, CampaignDetail, EndUserDetail
from distillscan.report.model import (
    Campaign,
    Entity,
    Evidence,
    Example,
    MixedAccount,
    Report,
    Template,
    TriageEntry,
)

#: An e-mail address, internationalised ones included (``josé@exämple.com``, ``ω@пример.рф``).
_EMAIL = re.compile(r"[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?(?![\d.])")
#: Anything shaped like an IPv6 address (compressed ``::1``, a zone ``%eth0``, an embedded IPv4
#: tail, a prefix length); :func:`_is_ipv6` then keeps the real ones, so a time such as
#: ``12:30:45`` is left alone.
_IPV6_SHAPE = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4})"
    r"(?:%[\w.\-]+)?(?:/\d{1,3})?(?![\w:])"
)


def _is_ipv6(candidate: str) -> bool:
    """Whether ``candidate`` (possibly with a zone and a prefix length) is an IPv6 address."""
    address = candidate.split("/", 1)[0].split("%", 1)[0]
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return False
    return True


#: Pseudonym prefixes of the sign-up details a report can show (infrastructure entity kinds).
SIGN_UP_PREFIX = {"payment": "pay", "email_domain": "domain"}


class Redactor:
    """Pseudonyms and fingerprints under one salt."""

    def __init__(
        self,
        salt: str,
        account_ids: Iterable[str],
        end_user_ids: Iterable[str],
        sign_up: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.salt = salt
        names = {a: self.pseudonym("acct", a) for a in account_ids}
        names.update({u: self.pseudonym("user", u) for u in end_user_ids if u not in names})
        # Sign-up details the campaigns share (payment fingerprints, e-mail domains): replaced
        # wherever they appear, as the ids are.
        for kind, value in sign_up:
            names.setdefault(value, self.pseudonym(SIGN_UP_PREFIX[kind], value))
        self.names = names
        ordered = sorted((n for n in names if n), key=lambda n: (-len(n), n))
        self._ids = re.compile("|".join(re.escape(n) for n in ordered)) if ordered else None

    def pseudonym(self, kind: str, value: str) -> str:
        """``kind-`` and 12 hex digits of the salted SHA-256 of ``value``."""
        digest = hashlib.sha256(f"{self.salt}\0{kind}\0{value}".encode()).hexdigest()
        return f"{kind}-{digest[:12]}"

    def account(self, value: str | None) -> str | None:
        """An account (or end-user) id's pseudonym."""
        if value is None:
            return None
        return self.names.get(value) or self.pseudonym("acct", value)

    def end_user(self, value: str) -> str:
        """An end-user id's pseudonym."""
        return self.names.get(value) or self.pseudonym("user", value)

    def prompt(self, value: str | None, chars: int | None = None) -> str | None:
        """A prompt replaced by its fingerprint (and length)."""
        if value is None:
            return None
        digest = hashlib.sha256(f"{self.salt}\0prompt\0{value}".encode()).hexdigest()
        length = chars if chars is not None else len(value)
        return f"[prompt sha256:{digest[:16]}, {length} chars]"

    def address(self, value: str) -> str:
        """An IP address or network prefix's pseudonym."""
        return self.pseudonym("net" if "/" in value else "ip", value)

    def scrub(self, text: str | None) -> str | None:
        """Free text with ids, addresses and emails inside it replaced."""
        if text is None:
            return None
        if self._ids is not None:
            text = self._ids.sub(lambda m: self.names[m.group()], text)
        text = _EMAIL.sub(lambda m: self.pseudonym("email", m.group().lower()), text)
        text = _IPV6_SHAPE.sub(
            lambda m: self.address(m.group()) if _is_ipv6(m.group()) else m.group(), text
        )
        return _IPV4.sub(lambda m: self.address(m.group()), text)


def salt_of(report: Report) -> str:
    """The case's salt: a digest of its inputs' SHA-256 (stable for the same inputs)."""
    hashes = sorted(i["sha256"] for i in report["manifest"]["inputs"])
    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()


def redact(report: Report, sign_up: Iterable[tuple[str, str]] = ()) -> Report:
    """A copy of ``report`` with ids, addresses, emails and prompt text replaced; ``sign_up``
    the accounts' sign-up details (:func:`sign_up_details`), replaced wherever they appear."""
    out = copy.deepcopy(report)
    end_users = {u for m in out["mixed_accounts"] for u in m["implicated_end_users"]}
    r = Redactor(
        salt_of(out),
        (a["account_id"] for a in out["accounts"]),
        end_users,
        _campaign_sign_up(out["campaigns"]) | set(sign_up),
    )
    scrub = r.scrub
    out["run"]["redacted"] = True
    for entry in out["manifest"]["inputs"]:
        entry["path"] = scrub(entry["path"]) or ""
        entry["warnings"] = [scrub(w) or "" for w in entry["warnings"]]
    for skipped in out["manifest"]["skipped"]:
        skipped["path"] = scrub(skipped["path"]) or ""
        skipped["reason"] = scrub(skipped["reason"]) or ""
    for p in out["passes"]:
        p["notes"] = [scrub(n) or "" for n in p["notes"]]
        p["skipped_reason"] = scrub(p["skipped_reason"])
    for c in out["campaigns"]:
        _campaign(c, r)
    for decision in out["triage"]:
        _decision(decision, r)
    out["triage"].sort(key=lambda t: (t["kind"], t["target"]))
    if out["changes"] is not None:
        for change in out["changes"]["campaigns"]:
            change["added_members"] = sorted(_acct(r, a) for a in change["added_members"])
            change["removed_members"] = sorted(_acct(r, a) for a in change["removed_members"])
        out["changes"]["new_mixed_accounts"] = sorted(
            _acct(r, a) for a in out["changes"]["new_mixed_accounts"]
        )
    for mixed in out["mixed_accounts"]:
        _mixed(mixed, r)
    out["mixed_accounts"].sort(key=lambda m: m["account_id"])
    for a in out["accounts"]:
        a["account_id"] = _acct(r, a["account_id"])
    out["accounts"].sort(key=lambda a: (-a["score"], a["account_id"]))
    return out


def redact_campaign_detail(detail: CampaignDetail, investigation: Investigation) -> CampaignDetail:
    """``show CASE campaign ID --redact``: the campaign under the report's pseudonyms."""
    out = copy.deepcopy(detail)
    r = detail_redactor(investigation, _campaign_sign_up([out["campaign"]]))
    _campaign(out["campaign"], r)
    for mixed in out["mixed_accounts"]:
        _mixed(mixed, r)
    return out


def redact_account_detail(detail: AccountDetail, investigation: Investigation) -> AccountDetail:
    """``show CASE account ID --redact``: the account under the report's pseudonyms; its sign-up
    details (e-mail domain, payment fingerprint) become pseudonyms too."""
    out = copy.deepcopy(detail)
    own = {
        (kind, str(out["metadata"].get(column)))
        for kind, column in (("payment", "payment_fingerprint"), ("email_domain", "email_domain"))
        if out["metadata"].get(column)
    }
    r = detail_redactor(investigation, own)
    out["account"]["account_id"] = _acct(r, out["account"]["account_id"])
    if out["triage"] is not None:
        _decision(out["triage"], r)
    out["figures"] = {k: r.scrub(v) if isinstance(v, str) else v for k, v in out["figures"].items()}
    out["metadata"] = {
        k: (r.names.get(v, v) if k in ("email_domain", "payment_fingerprint") else r.scrub(v))
        if v is not None
        else None
        for k, v in out["metadata"].items()
    }
    for t in out["templates"]:
        _template(t, r)
    for e in out["infrastructure"]:
        _entity(e, r)
    for u in out["end_users"]:
        u["end_user_id"] = r.end_user(u["end_user_id"])
    out["end_users"].sort(key=lambda u: (-u["events"], u["end_user_id"]))
    for x in out["first_events"]:
        _example(x, r)
    for ev in out["evidence"]:
        _evidence(ev, r)
    return out


def redact_end_user_detail(detail: EndUserDetail, investigation: Investigation) -> EndUserDetail:
    """``show CASE end-user ID --redact``: the end user and its accounts under pseudonyms."""
    out = copy.deepcopy(detail)
    r = detail_redactor(investigation, set())
    out["end_user_id"] = r.end_user(out["end_user_id"])
    for a in out["accounts"]:
        a["account_id"] = _acct(r, a["account_id"])
    for x in out["first_events"]:
        _example(x, r)
    return out


def detail_redactor(investigation: Investigation, sign_up: set[tuple[str, str]]) -> Redactor:
    """The report's redactor for a drill-down: the same salt (the case's inputs), so the same
    pseudonyms as ``report --redact`` of the same case."""
    hashes = sorted(str(e.get("sha256")) for e in investigation.manifest.get("inputs") or [])
    salt = hashlib.sha256("\n".join(hashes).encode()).hexdigest()
    accounts = investigation.accounts
    end_users: set[str] = set()
    if "implicated_end_users" in accounts.columns:
        end_users = set(accounts["implicated_end_users"].explode().drop_nulls().to_list())
    return Redactor(
        salt, accounts["account_id"].to_list(), end_users, sign_up | sign_up_details(accounts)
    )


def sign_up_details(accounts: pl.DataFrame) -> set[tuple[str, str]]:
    """Every account's sign-up details (payment fingerprint, e-mail domain) from the account
    metadata: evidence sentences name the ones members share (``uses payment fingerprint …``),
    and a redacted report must not."""
    found: set[tuple[str, str]] = set()
    for kind, column in (("payment", "payment_fingerprint"), ("email_domain", "email_domain")):
        if column in accounts.columns:
            found.update((kind, str(v)) for v in accounts[column].drop_nulls().unique().to_list())
    return found


def _campaign_sign_up(campaigns: list[Campaign]) -> set[tuple[str, str]]:
    """The sign-up details campaigns share (payment fingerprints, e-mail domains)."""
    return {
        (e["kind"], e["value"])
        for c in campaigns
        for e in c["infrastructure"]
        if e["kind"] in SIGN_UP_PREFIX and e["value"]
    }


def _acct(r: Redactor, value: str) -> str:
    return r.account(value) or ""


def _campaign(c: Campaign, r: Redactor) -> None:
    """Redact one campaign in place."""
    c["accounts"] = sorted(_acct(r, a) for a in c["accounts"])
    c["mixed_accounts"] = sorted(_acct(r, a) for a in c["mixed_accounts"])
    for m in c["members"]:
        m["account_id"] = _acct(r, m["account_id"])
    for link in c["links"]:
        link["account_a"], link["account_b"] = sorted(
            (_acct(r, link["account_a"]), _acct(r, link["account_b"]))
        )
    c["links"].sort(key=lambda x: (x["account_a"], x["account_b"], x["kind"]))
    for t in c["templates"]:
        _template(t, r)
    for e in c["infrastructure"]:
        _entity(e, r)
    for ev in c["evidence"]:
        _evidence(ev, r)
    if c["triage"] is not None:
        _decision(c["triage"], r)


def _mixed(m: MixedAccount, r: Redactor) -> None:
    m["account_id"] = _acct(r, m["account_id"])
    m["implicated_end_users"] = sorted(r.end_user(u) for u in m["implicated_end_users"])
    m["allowlisted_end_users"] = sorted(r.end_user(u) for u in m["allowlisted_end_users"])


def _decision(decision: TriageEntry, r: Redactor) -> None:
    if decision["kind"] == "account":
        decision["target"] = _acct(r, decision["target"])
    decision["note"] = r.scrub(decision["note"]) or ""
    decision["by"] = r.scrub(decision["by"]) or ""


def _template(t: Template, r: Redactor) -> None:
    t["skeleton"] = r.prompt(t["skeleton"]) or ""
    for x in t["examples"]:
        _example(x, r)


def _example(x: Example, r: Redactor) -> None:
    x["account_id"] = _acct(r, x["account_id"])
    x["prompt"] = r.prompt(x["prompt"], x["prompt_chars"])
    x["source_file"] = r.scrub(x["source_file"])
    x["event_id"] = r.scrub(x["event_id"]) or ""


def _entity(e: Entity, r: Redactor) -> None:
    e["value"] = (
        r.address(e["value"]) if e["kind"] in ("ip", "prefix") else r.scrub(e["value"]) or ""
    )


def _evidence(ev: Evidence, r: Redactor) -> None:
    ev["account_id"] = _acct(r, ev["account_id"])
    ev["partner_id"] = r.account(ev["partner_id"])
    ev["detail"] = r.scrub(ev["detail"])
    ev["prompt"] = r.prompt(ev["prompt"], ev["prompt_chars"])
    ev["source_file"] = r.scrub(ev["source_file"])
    ev["event_id"] = r.scrub(ev["event_id"])
