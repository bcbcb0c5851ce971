"""``accounts``: account metadata (``--accounts FILE``, or recognised in an input folder).

Columns: ``account_id`` (required), ``created_at``, ``email_domain``, ``payment_fingerprint``,
``country``. An ``email`` column is reduced to its domain: the address itself is personal data
the analysis does not need.
"""

from __future__ import annotations

from distillscan.ingest.formats.base import LogFormat, Record, has_any, has_keys

SQL = """
SELECT source_line, raw, NULL::VARCHAR AS format_error,
    d.account_id,
    d.created_at,
    coalesce(d.email_domain,
             to_json(nullif(lower(split_part(json_extract_string(d.email, '$'), '@', -1)), ''))
    ) AS email_domain,
    d.payment_fingerprint,
    d.country
FROM parsed
"""

_EVENT_KEYS = ("timestamp", "messages", "prompt", "model", "startTime", "created_at_unix")


def sniff(record: Record) -> bool:
    """Account rows have an ``account_id``, sign-up details and no request fields."""
    return (
        has_keys(record, "account_id")
        and has_any(record, "created_at", "email_domain", "email", "payment_fingerprint", "country")
        and not has_any(record, *_EVENT_KEYS)
    )


FORMAT = LogFormat(
    name="accounts",
    title="account metadata: account_id, created_at, email_domain, payment_fingerprint, country",
    keys=("account_id", "created_at", "email_domain", "email", "payment_fingerprint", "country"),
    sql=SQL,
    sniff=sniff,
    target="accounts",
)
