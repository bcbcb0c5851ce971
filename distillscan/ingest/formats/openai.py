"""``openai``: request logs wrapping OpenAI Chat Completions bodies, and OpenAI Batch files.

The envelope (where the request and response bodies sit, and the account, time, key, client IP,
user agent and status around them) is shared with ``anthropic`` and described in
:mod:`.envelope`. This module reads the bodies:

* request: a Chat Completions body, ``messages`` with string content or content parts (``text``,
  ``image_url``, ``input_audio``, ``file``), ``tools``/``functions``, ``n``, ``logprobs``/
  ``top_logprobs``, ``max_completion_tokens``/``max_tokens``, ``temperature``,
  ``reasoning_effort``, ``user``/``safety_identifier``. A legacy Completions body with a string
  ``prompt`` is read too;
* response: a ``chat.completion`` (``choices[0].message.content``, ``usage``), a list of
  ``chat.completion.chunk`` objects from a logged stream, an error body ``{"error": {...}}``.

OpenAI Batch input lines (``{"custom_id", "method", "url", "body"}``) and output lines
(``{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}``) carry no
account and (input lines) no time. An export that adds ``account_id`` and ``created_at`` to each
line loads; a bare line is quarantined saying so: distillscan does not guess whose batch it was.
"""

from __future__ import annotations

from distillscan.ingest.formats.base import LogFormat, Record
from distillscan.ingest.formats.envelope import (
    ENVELOPE_IDENTITY,
    ENVELOPE_KEYS,
    Spec,
    envelope_ctes,
    has_anthropic_markers,
    is_array,
    looks_like_envelope,
    transform,
)

#: Reasoning efforts that count as explicitly asking for reasoning (``low``/``minimal`` do not).
REASONING_EFFORTS = ("medium", "high", "xhigh", "max")

#: Fields of the request body the mapping reads. ``reasoning`` is the effort object that
#: OpenAI-compatible routers accept; ``thinking`` the budget Anthropic's OpenAI-compatible
#: endpoint accepts.
REQUEST_SPEC: Spec = {
    "model": "JSON",
    "messages": "JSON",
    "prompt": "JSON",
    "tools": "JSON",
    "functions": "JSON",
    "max_completion_tokens": "JSON",
    "max_tokens": "JSON",
    "temperature": "JSON",
    "n": "JSON",
    "logprobs": "JSON",
    "top_logprobs": "JSON",
    "reasoning_effort": "JSON",
    "reasoning": {"effort": "JSON", "max_tokens": "JSON"},
    "thinking": {"type": "VARCHAR", "budget_tokens": "JSON"},
    "safety_identifier": "JSON",
    "user": "JSON",
}
_USAGE: Spec = {"prompt_tokens": "JSON", "completion_tokens": "JSON"}
#: Fields of a ``chat.completion`` (and a legacy ``text_completion``) the mapping reads.
RESPONSE_SPEC: Spec = {
    "model": "JSON",
    "choices": [
        {
            "index": "VARCHAR",
            "message": {"content": "JSON", "refusal": "VARCHAR"},
            "text": "VARCHAR",
            "finish_reason": "VARCHAR",
        }
    ],
    "usage": _USAGE,
}
#: Fields of the ``chat.completion.chunk`` objects of a logged stream.
CHUNK_SPEC: Spec = {
    "model": "JSON",
    "choices": [{"index": "VARCHAR", "delta": {"content": "VARCHAR"}}],
    "usage": _USAGE,
}

_EFFORTS = ", ".join(f"'{e}'" for e in REASONING_EFFORTS)


def sql_for(supplied: frozenset[str] = frozenset()) -> str:
    """The mapping, for rows whose ``supplied`` columns the investigator gives."""
    return f"""
WITH {envelope_ctes("OpenAI", REQUEST_SPEC, RESPONSE_SPEC, supplied)},
fields AS (
    SELECT *,
        ds_unwrap(q.messages) AS messages,
        coalesce(q.reasoning_effort, q.reasoning.effort) AS effort,
        coalesce(q.thinking.budget_tokens, q.reasoning.max_tokens) AS budget,
        r.choices[1] AS choice,
        CASE WHEN {is_array("resp")} THEN {transform("resp", [CHUNK_SPEC])} END AS chunks
    FROM bodies
),
shaped AS (
    SELECT *,
        ds_messages(messages) AS msgs,
        starts_with(q.prompt::VARCHAR, '"') AS has_legacy_prompt,
        -- A stream's chunks for the first choice, and the usage the final chunk reports.
        [c FOR c IN chunks
         IF c.choices IS NOT NULL AND coalesce(c.choices[1].index, '0') = '0'] AS first_chunks,
        list_last([c.usage FOR c IN chunks
                   IF c.usage.prompt_tokens IS NOT NULL OR c.usage.completion_tokens IS NOT NULL])
            AS stream_usage
    FROM fields
)
SELECT source_line, raw,
    coalesce(envelope_error,
        CASE WHEN has_req AND messages IS NOT NULL AND NOT {is_array("messages")}
             THEN printf('request.messages: expected a list of {{role, content}}, got %s',
                         left(messages::VARCHAR, 60))
             WHEN has_req AND messages IS NULL AND NOT coalesce(has_legacy_prompt, false)
             THEN 'request body: no messages (not a Chat Completions request)'
        END) AS format_error,
    {ENVELOPE_IDENTITY},
    coalesce(q.safety_identifier, q.user, env_end_user_id) AS end_user_id,
    env_source_ip AS source_ip,
    env_user_agent AS user_agent,
    coalesce(q.model, env_model, r.model, chunks[1].model) AS model,
    coalesce(env_operation,
             CASE WHEN is_batch THEN to_json(CASE WHEN has_req THEN 'batch' ELSE 'batch_output' END)
             END,
             to_json('chat')) AS operation,
    CASE WHEN has_req THEN ds_chat_system(msgs) END AS system_prompt,
    CASE WHEN has_req THEN coalesce(ds_chat_prompt(msgs), ds_content_text(q.prompt)) END
        AS prompt,
    CASE WHEN {is_array("messages")} THEN ds_chat_turns(msgs)
         WHEN has_req AND has_legacy_prompt THEN 1 END AS n_turns,
    CASE WHEN has_req THEN ds_chat_history(msgs) END AS has_history,
    CASE WHEN has_req THEN ds_chat_images(msgs) END AS n_images,
    CASE WHEN has_req
         THEN ds_count(ds_unwrap(q.tools)) + ds_count(ds_unwrap(q.functions)) END AS n_tools,
    coalesce(q.max_completion_tokens, q.max_tokens) AS max_tokens,
    q.temperature AS temperature,
    q.n AS n_choices,
    -- Chat Completions takes a boolean; legacy Completions a count of top tokens (0 = none).
    CASE WHEN ds_type(q.logprobs) IN ('BIGINT', 'UBIGINT', 'DOUBLE')
         THEN to_json(json_extract_string(q.logprobs, '$')::DOUBLE > 0)
         WHEN q.logprobs IS NOT NULL THEN q.logprobs
         WHEN try_cast(json_extract_string(q.top_logprobs, '$') AS DOUBLE) > 0 THEN to_json(true)
    END AS logprobs,
    effort AS reasoning_effort,
    budget AS thinking_budget,
    CASE WHEN has_req THEN coalesce(
        lower(json_extract_string(effort, '$')) IN ({_EFFORTS})
        OR try_cast(json_extract_string(budget, '$') AS DOUBLE) > 0
        OR lower(q.thinking.type) IN ('enabled', 'adaptive'),
        false) END AS reasoning_requested,
    CASE
        WHEN choice IS NOT NULL THEN coalesce(
            ds_content_text(choice.message.content),
            nullif(choice.message.refusal, ''),
            nullif(choice.text, ''))
        WHEN chunks IS NOT NULL
        THEN nullif(array_to_string([c.choices[1].delta.content FOR c IN first_chunks], ''), '')
        WHEN starts_with(resp::VARCHAR, '"') THEN nullif(json_extract_string(resp, '$'), '')
    END AS response_text,
    coalesce(env_prompt_tokens, r.usage.prompt_tokens, stream_usage.prompt_tokens)
        AS prompt_tokens,
    coalesce(env_completion_tokens, r.usage.completion_tokens, stream_usage.completion_tokens)
        AS completion_tokens,
    coalesce(
        env_error_status,
        CASE WHEN coalesce(choice.message.refusal, '') <> '' THEN to_json('refusal')
             WHEN choice.finish_reason = 'content_filter' THEN to_json('content_filter') END,
        env_given_status,
        CASE WHEN choice IS NOT NULL OR len(first_chunks) > 0 THEN to_json('ok') END
    ) AS status,
    coalesce(has_req AND ({is_array("messages")} OR has_legacy_prompt), false) AS text_available
FROM shaped
"""


SQL = sql_for()


def sniff(record: Record) -> bool:
    """A request log wrapping a chat body (or an OpenAI Batch line) with no Anthropic-only part.

    A plain exchange of user and assistant text turns fits both APIs; it is claimed here (and by
    ``anthropic``), and the first registered of the two wins a tie in detection.
    """
    return looks_like_envelope(record) and not has_anthropic_markers(record)


FORMAT = LogFormat(
    name="openai",
    title="request logs wrapping OpenAI Chat Completions bodies; OpenAI Batch input/output lines",
    keys=ENVELOPE_KEYS,
    sql=SQL,
    sniff=sniff,
    sql_for=sql_for,
)
