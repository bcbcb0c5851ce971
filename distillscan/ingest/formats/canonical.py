"""``canonical``: distillscan's own documented event schema, in JSON lines, CSV or Parquet.

One record per exchange with flat fields (see ``docs/formats.md``). ``messages`` is a list of
``{role, content}`` with content a string or a list of ``text``/``image`` blocks; ``prompt`` (a
single string) may stand instead. ``reasoning`` is an effort string (``"high"``), a thinking
budget (a number) or an object ``{"effort": ..., "budget_tokens": ...}``.

Parquet exports whose columns have the plain types (strings, timestamps, integers, a list of
``{role, content}`` structs) are mapped by ``TYPED_SQL`` straight from the typed columns; any
other Parquet file, and every JSON or CSV file, by ``SQL`` over JSON values. The bulk path reads
a JSON lines file's ``messages`` as a typed list and maps it with ``TYPED_JSON_SQL`` (a file
where one is not a list is read again with ``SQL``). The mappings share their expressions where
they can, and the bulk path tests load the same rows through each.
"""

from __future__ import annotations

from collections.abc import Mapping

from distillscan.db import sql_identifier
from distillscan.ingest.formats.base import (
    LogFormat,
    Record,
    TypedJson,
    TypedParquet,
    has_any,
    has_keys,
)

KEYS = (
    "event_id", "timestamp", "account_id", "api_key_id", "org_id", "end_user_id", "source_ip",
    "user_agent", "model", "operation", "system", "messages", "prompt", "tools", "max_tokens",
    "temperature", "n", "logprobs", "reasoning", "response", "prompt_tokens",
    "completion_tokens", "status",
)  # fmt: skip

#: A message list as ``ds_messages`` types it (and a Parquet export may hold it).
_MESSAGES_JSON = 'STRUCT("role" VARCHAR, "content" JSON)[]'

#: Columns read from the message list ``msgs`` (see ``ds_messages``), shared by both mappings.
_FROM_MESSAGES = """
    CASE WHEN len(msgs) > 0 THEN ds_chat_turns(msgs) ELSE 1 END AS n_turns,
    ds_chat_history(msgs) AS has_history,
    ds_chat_images(msgs) AS n_images"""

#: Columns read from the JSON value ``reasoning``, shared by both mappings.
_FROM_REASONING = """
    CASE WHEN ds_type(reasoning) = 'VARCHAR' THEN reasoning
         ELSE json_extract(reasoning, '$.effort') END AS reasoning_effort,
    CASE WHEN ds_type(reasoning) IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN reasoning
         ELSE json_extract(reasoning, '$.budget_tokens') END AS thinking_budget,
    coalesce(
        lower(json_extract_string(reasoning, '$')) IN ('medium', 'high', 'xhigh', 'max', 'true')
        OR lower(json_extract_string(reasoning, '$.effort')) IN ('medium', 'high', 'xhigh', 'max')
        OR try_cast(json_extract_string(reasoning, '$') AS DOUBLE) > 0
        OR try_cast(json_extract_string(reasoning, '$.budget_tokens') AS DOUBLE) > 0,
        false) AS reasoning_requested"""


def _json_mapping(messages: str, format_error: str) -> str:
    """The mapping over JSON values, given SQL for the message list (as ``ds_messages`` types
    it) and for the reason its column cannot be read."""
    return f"""
WITH fields AS (
    SELECT source_line, raw, d,
        {messages} AS msgs,
        ds_unwrap(d.reasoning) AS reasoning
    FROM parsed
)
SELECT source_line, raw,
    {format_error} AS format_error,
    d.event_id AS event_id,
    d.timestamp AS ts,
    d.account_id, d.api_key_id, d.org_id, d.end_user_id, d.source_ip, d.user_agent, d.model,
    coalesce(d.operation, to_json('chat')) AS operation,
    coalesce(ds_content_text(ds_unwrap(d.system)), ds_chat_system(msgs)) AS system_prompt,
    coalesce(ds_chat_prompt(msgs), ds_content_text(d.prompt)) AS prompt,{_FROM_MESSAGES},
    ds_count(ds_unwrap(d.tools)) AS n_tools,
    d.max_tokens, d.temperature,
    d.n AS n_choices,
    d.logprobs,{_FROM_REASONING},
    ds_content_text(ds_unwrap(d.response)) AS response_text,
    d.prompt_tokens, d.completion_tokens, d.status,
    (d.messages IS NOT NULL OR d.prompt IS NOT NULL) AS text_available
FROM fields
"""


SQL = _json_mapping(
    messages="ds_messages(ds_unwrap(d.messages))",
    format_error="""CASE WHEN d.messages IS NOT NULL
              AND ds_type(ds_unwrap(d.messages)) NOT IN ('ARRAY', 'NULL')
         THEN 'messages: expected a list of {role, content}' END""",
)
#: The bulk path's read of a JSON lines file takes ``messages`` as a typed list (see
#: ``TypedJson``); ``{role, content}`` as ``ds_messages`` types it, NULL when absent or null.
TYPED_JSON_COLUMNS = {"messages": _MESSAGES_JSON}
TYPED_JSON_SQL = _json_mapping(messages="coalesce(d.messages, [])", format_error="NULL::VARCHAR")

#: The same mapping over typed Parquet columns (see ``_typed_columns``): each expression gives
#: what the JSON mapping gives for the column read as JSON. ``reasoning`` is read as JSON.
TYPED_SQL = f"""
WITH fields AS (
    SELECT source_line, raw, t,
        coalesce(t.messages, []) AS msgs,
        ds_unwrap(to_json(t.reasoning)) AS reasoning
    FROM parsed
)
SELECT source_line, raw,
    NULL::VARCHAR AS format_error,
    t.event_id AS event_id,
    t.timestamp AS ts,
    t.account_id, t.api_key_id, t.org_id, t.end_user_id, t.source_ip, t.user_agent, t.model,
    coalesce(t.operation, 'chat') AS operation,
    coalesce(ds_text_value(t.system), ds_chat_system(msgs)) AS system_prompt,
    coalesce(ds_chat_prompt(msgs), nullif(t.prompt, '')) AS prompt,{_FROM_MESSAGES},
    coalesce(len(t.tools), 0) AS n_tools,
    t.max_tokens, t.temperature,
    t.n AS n_choices,
    t.logprobs,{_FROM_REASONING},
    ds_text_value(t.response) AS response_text,
    t.prompt_tokens, t.completion_tokens, t.status,
    (t.messages IS NOT NULL OR t.prompt IS NOT NULL) AS text_available
FROM fields
"""

_STRING_KEYS = (
    "event_id", "account_id", "api_key_id", "org_id", "end_user_id", "source_ip", "user_agent",
    "model", "operation", "status", "system", "prompt", "response",
)  # fmt: skip
_INTEGER_KEYS = ("max_tokens", "n", "prompt_tokens", "completion_tokens")
#: Integer types that fit a BIGINT (an UBIGINT may not: the JSON mapping rejects those).
_INTEGER_TYPES = frozenset(
    {"BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UINTEGER", "USMALLINT", "UTINYINT"}
)
_MESSAGES_TEXT = 'STRUCT("role" VARCHAR, "content" VARCHAR)[]'


#: The raw columns ``TYPED_SQL`` hands over in their final type (the reasoning ones stay JSON).
_TYPED_COLUMNS = frozenset({
    "event_id", "ts", "account_id", "api_key_id", "org_id", "end_user_id", "source_ip",
    "user_agent", "model", "operation", "max_tokens", "temperature", "n_choices", "logprobs",
    "prompt_tokens", "completion_tokens", "status",
})  # fmt: skip


def _typed_column(key: str, kind: str | None) -> str | None:
    """SQL for ``key`` in ``TYPED_SQL``'s ``t`` from a column of DuckDB type ``kind`` (None:
    the file lacks it), or None when the typed mapping does not take that type."""
    column = f"row.{sql_identifier(key)}"
    if key in _STRING_KEYS:
        return {None: "NULL::VARCHAR", "VARCHAR": column}.get(kind)
    if key in _INTEGER_KEYS:
        if kind is None:
            return "NULL::BIGINT"
        return f"{column}::BIGINT" if kind in _INTEGER_TYPES else None
    if key == "temperature":
        if kind is None:
            return "NULL::DOUBLE"
        # A FLOAT is left to the JSON mapping: its text is not the DOUBLE it widens to.
        return f"{column}::DOUBLE" if kind == "DOUBLE" or kind in _INTEGER_TYPES else None
    if key == "logprobs":
        return {None: "NULL::BOOLEAN", "BOOLEAN": column}.get(kind)
    if key == "timestamp":
        # Naive times mean UTC (the connection's time zone), as in the JSON mapping.
        return {
            None: "NULL::TIMESTAMP",
            "TIMESTAMP": column,
            "TIMESTAMP WITH TIME ZONE": f"{column}::TIMESTAMP",
        }.get(kind)
    if key == "messages":
        return {
            None: f"NULL::{_MESSAGES_JSON}",
            _MESSAGES_JSON: column,
            # Plain text content is a JSON string, as the JSON mapping reads it.
            _MESSAGES_TEXT: f"list_transform({column}, "
            "lambda m: {'role': m.role, 'content': to_json(m.content)})",
        }.get(kind)
    if key == "tools":  # only counted
        return "NULL::JSON[]" if kind is None else column if kind.endswith("[]") else None
    if key == "reasoning":  # read as JSON, as the JSON mapping reads it
        return "NULL::JSON" if kind is None else column
    raise ValueError(key)


def _typed_columns(types: Mapping[str, str]) -> dict[str, str] | None:
    """SQL for every key in ``TYPED_SQL``'s ``t``, or None when a column's type is not taken."""
    columns = {key: _typed_column(key, types.get(key)) for key in KEYS}
    if any(sql is None for sql in columns.values()):
        return None
    return {key: sql for key, sql in columns.items() if sql is not None}


#: Keys of request-log wrappers (openai/anthropic gateways): such a record is not canonical even
#: when it also carries ``account_id`` and ``timestamp``.
_WRAPPER_KEYS = ("request", "request_body", "body", "req", "response_body")


def sniff(record: Record) -> bool:
    """Canonical records carry ``account_id`` and ``timestamp`` at the top level, unwrapped."""
    return has_keys(record, "account_id", "timestamp") and not has_any(record, *_WRAPPER_KEYS)


FORMAT = LogFormat(
    name="canonical",
    title="distillscan canonical schema (JSON lines, CSV or Parquet)",
    keys=KEYS,
    sql=SQL,
    sniff=sniff,
    typed_parquet=TypedParquet(
        columns=_typed_columns,
        sql=TYPED_SQL,
        typed=_TYPED_COLUMNS,
    ),
    typed_json=TypedJson(columns=TYPED_JSON_COLUMNS, sql=TYPED_JSON_SQL),
)
