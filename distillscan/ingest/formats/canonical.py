"""``canonical``: distillscan's own documented event schema, in JSON lines, CSV or Parquet.

One record per exchange with flat fields (see ``docs/formats.md``). ``messages`` is a list of
``{role, content}`` with content a string or a list of ``text``/``image`` blocks; ``prompt`` (a
single string) may stand instead. ``reasoning`` is an effort string (``"high"``), a thinking
budget (a number) or an object ``{"effort": ..., "budget_tokens": ...}``.
"""

from __future__ import annotations

from distillscan.ingest.formats.base import LogFormat, Record, has_any, has_keys

SQL = """
WITH fields AS (
    SELECT source_line, raw, d,
        ds_messages(ds_unwrap(d.messages)) AS msgs,
        ds_unwrap(d.reasoning) AS reasoning
    FROM parsed
)
SELECT source_line, raw,
    CASE WHEN d.messages IS NOT NULL AND ds_type(ds_unwrap(d.messages)) NOT IN ('ARRAY', 'NULL')
         THEN 'messages: expected a list of {role, content}' END AS format_error,
    d.event_id AS event_id,
    d.timestamp AS ts,
    d.account_id, d.api_key_id, d.org_id, d.end_user_id, d.source_ip, d.user_agent, d.model,
    coalesce(d.operation, to_json('chat')) AS operation,
    coalesce(ds_content_text(ds_unwrap(d.system)), ds_chat_system(msgs)) AS system_prompt,
    coalesce(ds_chat_prompt(msgs), ds_content_text(d.prompt)) AS prompt,
    CASE WHEN len(msgs) > 0 THEN ds_chat_turns(msgs) ELSE 1 END AS n_turns,
    ds_chat_history(msgs) AS has_history,
    ds_chat_images(msgs) AS n_images,
    ds_count(ds_unwrap(d.tools)) AS n_tools,
    d.max_tokens, d.temperature,
    d.n AS n_choices,
    d.logprobs,
    CASE WHEN ds_type(reasoning) = 'VARCHAR' THEN reasoning
         ELSE json_extract(reasoning, '$.effort') END AS reasoning_effort,
    CASE WHEN ds_type(reasoning) IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN reasoning
         ELSE json_extract(reasoning, '$.budget_tokens') END AS thinking_budget,
    coalesce(
        lower(json_extract_string(reasoning, '$')) IN ('medium', 'high', 'xhigh', 'max', 'true')
        OR lower(json_extract_string(reasoning, '$.effort')) IN ('medium', 'high', 'xhigh', 'max')
        OR try_cast(json_extract_string(reasoning, '$') AS DOUBLE) > 0
        OR try_cast(json_extract_string(reasoning, '$.budget_tokens') AS DOUBLE) > 0,
        false) AS reasoning_requested,
    ds_content_text(ds_unwrap(d.response)) AS response_text,
    d.prompt_tokens, d.completion_tokens, d.status,
    (d.messages IS NOT NULL OR d.prompt IS NOT NULL) AS text_available
FROM fields
"""


#: Keys of request-log wrappers (openai/anthropic gateways): such a record is not canonical even
#: when it also carries ``account_id`` and ``timestamp``.
_WRAPPER_KEYS = ("request", "request_body", "body", "req", "response_body")


def sniff(record: Record) -> bool:
    """Canonical records carry ``account_id`` and ``timestamp`` at the top level, unwrapped."""
    return has_keys(record, "account_id", "timestamp") and not has_any(record, *_WRAPPER_KEYS)


FORMAT = LogFormat(
    name="canonical",
    title="distillscan canonical schema (JSON lines, CSV or Parquet)",
    keys=(
        "event_id",
        "timestamp",
        "account_id",
        "api_key_id",
        "org_id",
        "end_user_id",
        "source_ip",
        "user_agent",
        "model",
        "operation",
        "system",
        "messages",
        "prompt",
        "tools",
        "max_tokens",
        "temperature",
        "n",
        "logprobs",
        "reasoning",
        "response",
        "prompt_tokens",
        "completion_tokens",
        "status",
    ),
    sql=SQL,
    sniff=sniff,
)
