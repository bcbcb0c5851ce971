"""``anthropic``: request logs wrapping Anthropic Messages bodies, and Message Batches lines.

The envelope (where the request and response bodies sit, and the account, time, key, client IP,
user agent and status around them) is shared with ``openai`` and described in :mod:`.envelope`.
This module reads the bodies:

* request: ``system`` (a string or text blocks), ``messages`` whose content is a string or
  blocks (``text``, ``image`` with a base64 or URL source, ``document``, ``tool_use``,
  ``tool_result`` with string or block content, ``thinking``/``redacted_thinking`` in assistant
  turns), ``tools``, ``thinking`` (``{"type": "enabled", "budget_tokens": N}`` or
  ``{"type": "adaptive"}``), ``output_config.effort``, ``max_tokens``, ``temperature``,
  ``metadata.user_id``;
* response: a ``message`` (``content`` blocks, ``usage``, ``stop_reason``), the list of events of
  a logged stream, or an error ``{"type": "error", "error": {...}}``.

Message Batches lines (``{"custom_id", "params"}`` requests, ``{"custom_id", "result"}`` results)
carry no account or time; as for OpenAI Batch files, an export must add them to each line.
"""

from __future__ import annotations

from distillscan.ingest.formats.base import LogFormat, Record
from distillscan.ingest.formats.envelope import (
    ENVELOPE_IDENTITY,
    ENVELOPE_KEYS,
    Spec,
    envelope_ctes,
    has_openai_markers,
    is_array,
    looks_like_envelope,
    transform,
)

#: Fields of the request body the mapping reads.
REQUEST_SPEC: Spec = {
    "model": "JSON",
    "messages": "JSON",
    "system": "JSON",
    "tools": "JSON",
    "max_tokens": "JSON",
    "temperature": "JSON",
    "thinking": {"type": "VARCHAR", "budget_tokens": "JSON"},
    "output_config": {"effort": "JSON"},
    "metadata": {"user_id": "JSON"},
}
_USAGE_PARTS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
_USAGE: Spec = dict.fromkeys((*_USAGE_PARTS, "output_tokens"), "JSON")
#: Fields of a ``message`` (or an error) the mapping reads.
RESPONSE_SPEC: Spec = {
    "type": "VARCHAR",
    "model": "JSON",
    "content": "JSON",
    "stop_reason": "VARCHAR",
    "usage": _USAGE,
}
#: Fields of the events of a logged stream.
EVENT_SPEC: Spec = {
    "type": "VARCHAR",
    "message": {"model": "JSON", "usage": _USAGE},
    "delta": {"type": "VARCHAR", "text": "VARCHAR", "stop_reason": "VARCHAR"},
    "usage": {"output_tokens": "JSON"},
}

_NUMERIC = "('BIGINT', 'UBIGINT', 'DOUBLE')"

# Anthropic counts cached input apart from ``input_tokens``; the prompt's size is their sum (as
# OpenAI's ``prompt_tokens``, which includes cached tokens). When a part is not a number, the
# value is handed over as it is, for validation to name it.
_PROMPT_TOKENS = (
    "CASE WHEN "
    + " AND ".join(
        f"coalesce(ds_type(usage.{part}) IN {_NUMERIC}, true)" for part in _USAGE_PARTS[1:]
    )
    + f" AND ds_type(usage.input_tokens) IN {_NUMERIC} THEN to_json(("
    + " + ".join(
        f"coalesce(json_extract_string(usage.{part}, '$')::DOUBLE, 0)" for part in _USAGE_PARTS
    )
    + ")::BIGINT) ELSE usage.input_tokens END"
)


def sql_for(supplied: frozenset[str] = frozenset()) -> str:
    """The mapping, for rows whose ``supplied`` columns the investigator gives."""
    return f"""
WITH {envelope_ctes("Anthropic", REQUEST_SPEC, RESPONSE_SPEC, supplied)},
fields AS (
    SELECT *,
        ds_unwrap(q.messages) AS messages,
        CASE WHEN {is_array("resp")} THEN {transform("resp", [EVENT_SPEC])} END AS events
    FROM bodies
),
shaped AS (
    SELECT *,
        ds_messages(messages) AS msgs,
        -- A logged stream: message_start holds the model and the input usage, the last
        -- message_delta the stop reason and the final output usage, content_block_delta the text.
        list_first([e.message FOR e IN events IF e.type = 'message_start']) AS stream_start,
        list_last([e FOR e IN events IF e.type = 'message_delta']) AS stream_end
    FROM fields
),
usages AS (
    SELECT *,
        CASE WHEN r.usage IS NOT NULL THEN r.usage ELSE stream_start.usage END AS usage
    FROM shaped
)
SELECT source_line, raw,
    coalesce(envelope_error,
        CASE WHEN has_req AND messages IS NOT NULL AND NOT {is_array("messages")}
             THEN printf('request.messages: expected a list of {{role, content}}, got %s',
                         left(messages::VARCHAR, 60))
             WHEN has_req AND messages IS NULL
             THEN 'request body: no messages (not a Messages API request)'
        END) AS format_error,
    {ENVELOPE_IDENTITY},
    coalesce(q.metadata.user_id, env_end_user_id) AS end_user_id,
    env_source_ip AS source_ip,
    env_user_agent AS user_agent,
    coalesce(q.model, env_model, r.model, stream_start.model) AS model,
    coalesce(env_operation,
             CASE WHEN is_batch THEN to_json(CASE WHEN has_req THEN 'batch' ELSE 'batch_output' END)
             END,
             to_json('messages')) AS operation,
    CASE WHEN has_req
         THEN coalesce(ds_content_text(ds_unwrap(q.system)), ds_chat_system(msgs)) END
        AS system_prompt,
    CASE WHEN has_req THEN ds_chat_prompt(msgs) END AS prompt,
    CASE WHEN has_req THEN ds_chat_turns(msgs) END AS n_turns,
    CASE WHEN has_req THEN ds_chat_history(msgs) END AS has_history,
    -- Images in the turns, plus those returned inside tool results (agent screenshots).
    CASE WHEN has_req THEN ds_chat_images(msgs) + coalesce(list_sum(
        [ds_content_images(json_extract(b, '$.content'))
         FOR b IN flatten([ds_items(m.content) FOR m IN msgs])
         IF json_extract_string(b, '$.type') = 'tool_result']), 0) END AS n_images,
    CASE WHEN has_req THEN ds_count(ds_unwrap(q.tools)) END AS n_tools,
    q.max_tokens AS max_tokens,
    q.temperature AS temperature,
    NULL::JSON AS n_choices,
    NULL::JSON AS logprobs,
    q.output_config.effort AS reasoning_effort,
    q.thinking.budget_tokens AS thinking_budget,
    CASE WHEN has_req THEN coalesce(
        CASE WHEN lower(q.thinking.type) = 'disabled' THEN false
             ELSE lower(q.thinking.type) IN ('enabled', 'adaptive')
                  OR try_cast(json_extract_string(q.thinking.budget_tokens, '$') AS DOUBLE) > 0
        END, false) END AS reasoning_requested,
    CASE
        WHEN r.type IS NOT NULL OR r.content IS NOT NULL THEN ds_content_text(r.content)
        WHEN events IS NOT NULL THEN nullif(array_to_string(
            [e.delta.text FOR e IN events
             IF e.type = 'content_block_delta' AND e.delta.type = 'text_delta'], ''), '')
        WHEN starts_with(resp::VARCHAR, '"') THEN nullif(json_extract_string(resp, '$'), '')
    END AS response_text,
    coalesce(env_prompt_tokens, {_PROMPT_TOKENS}) AS prompt_tokens,
    coalesce(env_completion_tokens, stream_end.usage.output_tokens, usage.output_tokens)
        AS completion_tokens,
    coalesce(
        env_error_status,
        CASE WHEN coalesce(r.stop_reason, stream_end.delta.stop_reason) = 'refusal'
             THEN to_json('refusal') END,
        env_given_status,
        CASE WHEN r.type = 'message' OR stream_start IS NOT NULL THEN to_json('ok') END
    ) AS status,
    coalesce(has_req AND {is_array("messages")}, false) AS text_available
FROM usages
"""


SQL = sql_for()


def sniff(record: Record) -> bool:
    """A request log wrapping a chat body (or a Message Batches line) with no OpenAI-only part."""
    return looks_like_envelope(record) and not has_openai_markers(record)


FORMAT = LogFormat(
    name="anthropic",
    title="request logs wrapping Anthropic Messages bodies; Message Batches request/result lines",
    keys=ENVELOPE_KEYS,
    sql=SQL,
    sniff=sniff,
    sql_for=sql_for,
)
