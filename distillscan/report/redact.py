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

from distillscan.report.model import Report

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


def redact(report: Report) -> Report:
    """A copy of ``report`` with ids, addresses, emails and prompt text replaced."""
    out = copy.deepcopy(report)
    end_users = {u for m in out["mixed_accounts"] for u in m["implicated_end_users"]}
    sign_up = {
        (e["kind"], e["value"])
        for c in out["campaigns"]
        for e in c["infrastructure"]
        if e["kind"] in SIGN_UP_PREFIX and e["value"]
    }
    r = Redactor(salt_of(out), (a["account_id"] for a in out["accounts"]), end_users, sign_up)
    scrub = r.scrub

    def acct(value: str) -> str:
        return r.account(value) or ""

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
        c["accounts"] = sorted(acct(a) for a in c["accounts"])
        c["mixed_accounts"] = sorted(acct(a) for a in c["mixed_accounts"])
        for m in c["members"]:
            m["account_id"] = acct(m["account_id"])
        for link in c["links"]:
            link["account_a"], link["account_b"] = sorted(
                (acct(link["account_a"]), acct(link["account_b"]))
            )
        c["links"].sort(key=lambda x: (x["account_a"], x["account_b"], x["kind"]))
        for t in c["templates"]:
            t["skeleton"] = r.prompt(t["skeleton"]) or ""
            for x in t["examples"]:
                x["account_id"] = acct(x["account_id"])
                x["prompt"] = r.prompt(x["prompt"], x["prompt_chars"])
                x["source_file"] = scrub(x["source_file"])
                x["event_id"] = scrub(x["event_id"]) or ""
        for e in c["infrastructure"]:
            if e["kind"] in ("ip", "prefix"):
                e["value"] = r.address(e["value"])
            else:
                e["value"] = scrub(e["value"]) or ""
        for ev in c["evidence"]:
            ev["account_id"] = acct(ev["account_id"])
            ev["partner_id"] = r.account(ev["partner_id"])
            ev["detail"] = scrub(ev["detail"])
            ev["prompt"] = r.prompt(ev["prompt"], ev["prompt_chars"])
            ev["source_file"] = scrub(ev["source_file"])
            ev["event_id"] = scrub(ev["event_id"])
    for decision in out["triage"]:
        if decision["kind"] == "account":
            decision["target"] = acct(decision["target"])
        decision["note"] = scrub(decision["note"]) or ""
        decision["by"] = scrub(decision["by"]) or ""
    out["triage"].sort(key=lambda t: (t["kind"], t["target"]))
    for c in out["campaigns"]:
        if c["triage"] is not None:
            c["triage"]["note"] = scrub(c["triage"]["note"]) or ""
            c["triage"]["by"] = scrub(c["triage"]["by"]) or ""
    if out["changes"] is not None:
        for change in out["changes"]["campaigns"]:
            change["added_members"] = sorted(acct(a) for a in change["added_members"])
            change["removed_members"] = sorted(acct(a) for a in change["removed_members"])
    for mixed in out["mixed_accounts"]:
        mixed["account_id"] = acct(mixed["account_id"])
        mixed["implicated_end_users"] = sorted(r.end_user(u) for u in mixed["implicated_end_users"])
        mixed["allowlisted_end_users"] = sorted(
            r.end_user(u) for u in mixed["allowlisted_end_users"]
        )
    out["mixed_accounts"].sort(key=lambda m: m["account_id"])
    for a in out["accounts"]:
        a["account_id"] = acct(a["account_id"])
    out["accounts"].sort(key=lambda a: (-a["score"], a["account_id"]))
    return out
