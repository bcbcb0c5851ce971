"""The canonical event table: one row per API exchange, whatever export it came from.

Every input format maps onto these columns (see ``docs/formats.md``); every pass reads only these.
The tuple below is the single source of truth for the Parquet schema, the ingest validation and
the documentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

Kind = Literal["string", "integer", "number", "boolean", "timestamp"]

#: DuckDB and Arrow types for each kind of column.
DUCKDB_TYPES: dict[Kind, str] = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
}
ARROW_TYPES: dict[Kind, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("us"),
}


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the events table.

    ``source`` says how a format supplies it: ``raw`` columns come straight from a log field (as
    JSON) and are type-checked and cast by the shared validation step; ``derived`` columns are
    computed by the format's SQL (for example the final user turn's text from a message list).
    """

    name: str
    kind: Kind
    source: Literal["raw", "derived", "provenance"]
    doc: str

    @property
    def duckdb_type(self) -> str:
        """The DuckDB type of the column."""
        return DUCKDB_TYPES[self.kind]


EVENT_COLUMNS: tuple[Column, ...] = (
    Column(
        "event_id",
        "string",
        "raw",
        "Request id from the log; derived from file and line if absent.",
    ),
    Column("ts", "timestamp", "raw", "When the request was made, in UTC."),
    Column("account_id", "string", "raw", "The customer account (required)."),
    Column("api_key_id", "string", "raw", "API key or key hash that made the call."),
    Column("org_id", "string", "raw", "Organisation, team or workspace."),
    Column(
        "end_user_id", "string", "raw", "The reseller's or app's own end user, when passed along."
    ),
    Column("source_ip", "string", "raw", "Client IP address."),
    Column("user_agent", "string", "raw", "Client user agent / SDK string."),
    Column("model", "string", "raw", "Model requested."),
    Column("operation", "string", "raw", "API operation (chat, messages, converse, batch, ...)."),
    Column(
        "system_prompt", "string", "derived", "System prompt text (all system/developer turns)."
    ),
    Column("prompt", "string", "derived", "Text of the final user turn."),
    Column(
        "n_turns", "integer", "derived", "Number of user and assistant messages in the request."
    ),
    Column(
        "has_history", "boolean", "derived", "Earlier assistant turns are present (a conversation)."
    ),
    Column("n_images", "integer", "derived", "Image inputs in the request."),
    Column("n_tools", "integer", "derived", "Tool definitions offered to the model."),
    Column("max_tokens", "integer", "raw", "Requested output token limit."),
    Column("temperature", "number", "raw", "Sampling temperature."),
    Column("n_choices", "integer", "raw", "Completions requested per prompt (OpenAI n)."),
    Column("logprobs", "boolean", "raw", "Token log-probabilities requested."),
    Column("reasoning_effort", "string", "raw", "Requested reasoning effort (low/medium/high)."),
    Column("thinking_budget", "integer", "raw", "Requested extended-thinking token budget."),
    Column(
        "reasoning_requested",
        "boolean",
        "derived",
        "Any reasoning or thinking output was explicitly requested.",
    ),
    Column("response_text", "string", "derived", "Text of the model's response, when logged."),
    Column("prompt_tokens", "integer", "raw", "Input tokens billed."),
    Column("completion_tokens", "integer", "raw", "Output tokens billed."),
    Column("status", "string", "raw", "Outcome (ok, error, HTTP status or error type)."),
    Column(
        "text_available",
        "boolean",
        "derived",
        "Prompt text was in the log (false for metadata-only exports and offloaded bodies).",
    ),
    Column("source_format", "string", "provenance", "Input format the row was read as."),
    Column("source_file", "string", "provenance", "Input file, as named on the command line."),
    Column("source_line", "integer", "provenance", "Line (or record number) in that file."),
    Column("source_sha256", "string", "provenance", "SHA-256 of the input file."),
)

EVENT_COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in EVENT_COLUMNS)
RAW_COLUMNS: tuple[Column, ...] = tuple(c for c in EVENT_COLUMNS if c.source == "raw")
DERIVED_COLUMNS: tuple[Column, ...] = tuple(c for c in EVENT_COLUMNS if c.source == "derived")

#: Arrow schema of ``events.parquet``.
EVENTS_ARROW_SCHEMA = pa.schema([pa.field(c.name, ARROW_TYPES[c.kind]) for c in EVENT_COLUMNS])

#: Arrow schema of ``quarantine.parquet``: rows that could not be loaded, and why.
QUARANTINE_ARROW_SCHEMA = pa.schema(
    [
        pa.field("source_file", pa.string()),
        pa.field("source_line", pa.int64()),
        pa.field("source_sha256", pa.string()),
        pa.field("source_format", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("raw", pa.string()),
    ]
)

#: Columns of account metadata (``--accounts FILE``); ``account_id`` is required.
ACCOUNT_META_COLUMNS: tuple[Column, ...] = (
    Column("account_id", "string", "raw", "The customer account (required)."),
    Column("created_at", "timestamp", "raw", "When the account was created."),
    Column("email_domain", "string", "raw", "Domain of the sign-up email."),
    Column("payment_fingerprint", "string", "raw", "Hash of the payment instrument."),
    Column("country", "string", "raw", "Billing or sign-up country."),
)

ACCOUNT_META_ARROW_SCHEMA = pa.schema(
    [pa.field(c.name, ARROW_TYPES[c.kind]) for c in ACCOUNT_META_COLUMNS]
    + [pa.field("source_file", pa.string()), pa.field("source_line", pa.int64())]
)

#: The raw record kept in quarantine is cut to this many characters.
QUARANTINE_RAW_LIMIT = 4096

#: Columns of CloudTrail records kept to enrich Bedrock invocation logs (joined on request id).
CLOUDTRAIL_COLUMNS: tuple[Column, ...] = (
    Column("request_id", "string", "raw", "CloudTrail requestID (= Bedrock requestId)."),
    Column("event_time", "timestamp", "raw", "CloudTrail eventTime."),
    Column("source_ip", "string", "raw", "sourceIPAddress."),
    Column("user_agent", "string", "raw", "userAgent."),
    Column("principal_arn", "string", "raw", "userIdentity.arn."),
)


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A table ingest writes: its columns, required fields, and the case folder part directory."""

    name: str
    columns: tuple[Column, ...]
    required: frozenset[str]
    part_dir: str

    @property
    def arrow_schema(self) -> pa.Schema:
        """Arrow schema of the parts, with provenance columns."""
        fields = [pa.field(c.name, ARROW_TYPES[c.kind]) for c in self.columns]
        names = {c.name for c in self.columns}
        for extra, kind in (("source_file", "string"), ("source_line", "integer")):
            if extra not in names:
                fields.append(pa.field(extra, ARROW_TYPES[kind]))  # type: ignore[index]
        return pa.schema(fields)


TABLES: dict[str, TableSpec] = {
    "events": TableSpec("events", EVENT_COLUMNS, frozenset({"account_id", "ts"}), "events.parquet"),
    "accounts": TableSpec(
        "accounts", ACCOUNT_META_COLUMNS, frozenset({"account_id"}), "account_inputs.parquet"
    ),
    "cloudtrail": TableSpec(
        "cloudtrail", CLOUDTRAIL_COLUMNS, frozenset({"request_id"}), "cloudtrail.parquet"
    ),
}
