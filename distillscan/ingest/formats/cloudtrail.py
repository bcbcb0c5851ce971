"""``cloudtrail``: AWS CloudTrail records, kept to give Bedrock invocations their IP and user agent.

Bedrock invocation logs name the IAM principal but not where the call came from. CloudTrail
records the same call (a data event of ``eventSource: bedrock.amazonaws.com``) with
``sourceIPAddress`` and ``userAgent``, under the same request id (``requestID`` here,
``requestId`` in the invocation log). These records go to the case's ``cloudtrail`` table, not to
``events``; the ``events`` view fills ``source_ip`` and ``user_agent`` from it (see
:meth:`distillscan.case.Case.refresh_views`), so CloudTrail can be ingested before or after the
invocation logs.

CloudTrail files are ``{"Records": [...]}`` documents (the JSON reader streams the wrapped array)
or JSON lines of records. A trail holds every service's calls; a record of another service is
quarantined with a reason naming its ``eventSource``, so the manifest still accounts for every
record read and an investigator can see how much of the file was not about Bedrock.
"""

from __future__ import annotations

from distillscan.ingest.formats.base import LogFormat, Record, has_any, has_keys
from distillscan.ingest.formats.sqlexpr import text_of

#: ``eventSource`` values of Bedrock calls (the runtime endpoint logs under either name).
BEDROCK_EVENT_SOURCES = ("bedrock.amazonaws.com", "bedrock-runtime.amazonaws.com")

_SOURCES = ", ".join(f"'{source}'" for source in BEDROCK_EVENT_SOURCES)

SQL = f"""
SELECT source_line, raw,
    CASE
        WHEN d.eventSource IS NULL OR ds_type(d.eventSource) = 'NULL'
            THEN 'eventSource: missing (not a CloudTrail record)'
        WHEN lower({text_of("d.eventSource")}) NOT IN ({_SOURCES})
            THEN printf('eventSource: %s is not Bedrock; only Bedrock records enrich events',
                        coalesce({text_of("d.eventSource")}, left(d.eventSource::VARCHAR, 80)))
    END AS format_error,
    d.requestID AS request_id,
    d.eventTime AS event_time,
    d.sourceIPAddress AS source_ip,
    d.userAgent AS user_agent,
    json_extract(d.userIdentity, '$.arn') AS principal_arn
FROM parsed
"""


def sniff(record: Record) -> bool:
    """CloudTrail records have ``eventSource`` and ``eventTime`` plus ``eventVersion``/identity."""
    return has_keys(record, "eventSource", "eventTime") and has_any(
        record, "eventVersion", "userIdentity", "requestID"
    )


FORMAT = LogFormat(
    name="cloudtrail",
    title="AWS CloudTrail records (Bedrock data events: source IP and user agent by request id)",
    keys=("eventSource", "requestID", "eventTime", "sourceIPAddress", "userAgent", "userIdentity"),
    sql=SQL,
    sniff=sniff,
    target="cloudtrail",
)
