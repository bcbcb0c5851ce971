"""``gemini``: request logs wrapping Gemini ``generateContent`` bodies (Gemini API, Vertex AI).

Gateways and SDK wrappers that log Google's native API keep its bodies as they are. The envelope
(where the bodies sit, and the account, time, key, client IP, user agent and status around them)
is shared with ``openai`` and ``anthropic`` (:mod:`.envelope`); this module reads the bodies, in
the REST API's camelCase or the Python SDK's snake_case:

* request: ``contents`` (``role`` ``user``/``model``, ``parts`` with ``text``),
  ``systemInstruction`` (its ``parts``), ``tools`` (``functionDeclarations``), ``generationConfig``
  (``maxOutputTokens``, ``temperature``, ``candidateCount``, ``responseLogprobs``,
  ``thinkingConfig``: ``thinkingBudget``, ``thinkingLevel``, ``includeThoughts``);
* response: a ``GenerateContentResponse`` (``candidates[0].content.parts``, ``usageMetadata``,
  ``promptFeedback.blockReason``, ``finishReason``), or the list of them a logged stream gives.

The answer is the first candidate's text parts, without its thought summaries (``thought:
true``): a thought is the model's reasoning, not the answer a copycat is trained on.
``completion_tokens`` counts the thinking tokens too (``candidatesTokenCount`` +
``thoughtsTokenCount``), as OpenAI's count includes reasoning tokens.

Why it matters: without this module a Gemini body in an envelope was read as OpenAI's and every
row quarantined ("no messages"), so a Gemini-fronted campaign was invisible.
"""

from __future__ import annotations

from collections.abc import Mapping

from distillscan.ingest.formats.base import LogFormat, Record
from distillscan.ingest.formats.envelope import (
    ENVELOPE_IDENTITY,
    ENVELOPE_KEYS,
    Spec,
    envelope_ctes,
    is_array,
    looks_like_envelope,
    request_body,
    response_body,
)

_CONFIG: Spec = {
    "maxOutputTokens": "JSON",
    "max_output_tokens": "JSON",
    "temperature": "JSON",
    "candidateCount": "JSON",
    "candidate_count": "JSON",
    "responseLogprobs": "JSON",
    "response_logprobs": "JSON",
    "thinkingConfig": {
        "thinkingBudget": "JSON",
        "thinkingLevel": "VARCHAR",
        "includeThoughts": "JSON",
    },
    "thinking_config": {
        "thinking_budget": "JSON",
        "thinking_level": "VARCHAR",
        "include_thoughts": "JSON",
    },
}
#: Fields of the request body the mapping reads.
REQUEST_SPEC: Spec = {
    "model": "JSON",
    "contents": "JSON",
    "systemInstruction": "JSON",
    "system_instruction": "JSON",
    "tools": "JSON",
    "generationConfig": _CONFIG,
    "generation_config": _CONFIG,
}
#: Fields of a ``GenerateContentResponse`` read as a struct (the rest by JSON path, as a stream's
#: chunks are read the same way).
RESPONSE_SPEC: Spec = {"modelVersion": "JSON", "model_version": "JSON"}


def _config(camel: str, snake: str) -> str:
    return f"coalesce(q.generationConfig.{camel}, q.generation_config.{snake})"


def _thinking(camel: str, snake: str) -> str:
    return (
        f"coalesce(q.generationConfig.thinkingConfig.{camel}, "
        f"q.generation_config.thinking_config.{snake})"
    )


_BUDGET = _thinking("thinkingBudget", "thinking_budget")
_LEVEL = _thinking("thinkingLevel", "thinking_level")
_INCLUDE_THOUGHTS = _thinking("includeThoughts", "include_thoughts")
_USAGE = ("promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount")


def _usage(field: str) -> str:
    """SQL: a usage count of the response, by its camelCase or snake_case name."""
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in field)
    return f"coalesce(json_extract(usage, '$.{field}'), json_extract(usage, '$.{snake}'))"


def _number(json_expr: str) -> str:
    return (
        f"CASE WHEN ds_type({json_expr}) IN ('BIGINT', 'UBIGINT', 'DOUBLE') "
        f"THEN json_extract_string({json_expr}, '$')::DOUBLE END"
    )


def sql_for(supplied: frozenset[str] = frozenset()) -> str:
    """The mapping, for rows whose ``supplied`` columns the investigator gives."""
    return f"""
WITH {envelope_ctes("Gemini", REQUEST_SPEC, RESPONSE_SPEC, supplied)},
fields AS (
    SELECT *,
        ds_unwrap(q.contents) AS contents,
        coalesce(ds_unwrap(q.systemInstruction), ds_unwrap(q.system_instruction)) AS instruction,
        -- One response, or a logged stream's chunks: each holds its candidates.
        CASE WHEN {is_array("resp")} THEN ds_items(resp)
             WHEN resp IS NOT NULL THEN [resp] END AS answers
    FROM bodies
),
answered AS (
    SELECT *,
        [json_extract(a, '$.candidates[0]') FOR a IN answers] AS firsts,
        list_last([coalesce(json_extract(a, '$.usageMetadata'), json_extract(a, '$.usage_metadata'))
                   FOR a IN answers
                   IF coalesce(json_extract(a, '$.usageMetadata'),
                               json_extract(a, '$.usage_metadata')) IS NOT NULL]) AS usage,
        list_last([coalesce(json_extract_string(a, '$.promptFeedback.blockReason'),
                            json_extract_string(a, '$.prompt_feedback.block_reason'))
                   FOR a IN answers]) AS block_reason
    FROM fields
),
shaped AS (
    SELECT *,
        ds_any_messages(contents) AS msgs,
        -- The answer's text parts, in order, without thought summaries.
        nullif(array_to_string(flatten([
            [json_extract_string(p, '$.text') FOR p IN ds_items(json_extract(c, '$.content.parts'))
             IF json_extract_string(p, '$.text') IS NOT NULL
                AND coalesce(json_extract_string(p, '$.thought'), 'false') <> 'true']
            FOR c IN firsts IF c IS NOT NULL]), ''), '') AS answer,
        list_last([coalesce(json_extract_string(c, '$.finishReason'),
                            json_extract_string(c, '$.finish_reason'))
                   FOR c IN firsts IF c IS NOT NULL]) AS finish_reason
    FROM answered
)
SELECT source_line, raw,
    coalesce(envelope_error,
        CASE WHEN has_req AND contents IS NOT NULL AND NOT {is_array("contents")}
             THEN printf('request.contents: expected a list of {{role, parts}}, got %s',
                         left(contents::VARCHAR, 60))
             WHEN has_req AND contents IS NULL
             THEN 'request body: no contents (not a Gemini generateContent request)'
        END) AS format_error,
    {ENVELOPE_IDENTITY},
    env_end_user_id AS end_user_id,
    env_source_ip AS source_ip,
    env_user_agent AS user_agent,
    coalesce(q.model, env_model, r.modelVersion, r.model_version) AS model,
    coalesce(env_operation, to_json('generate_content')) AS operation,
    CASE WHEN has_req
         THEN ds_content_text(coalesce(json_extract(instruction, '$.parts'), instruction)) END
        AS system_prompt,
    CASE WHEN has_req THEN ds_chat_prompt(msgs) END AS prompt,
    CASE WHEN {is_array("contents")} THEN ds_chat_turns(msgs) END AS n_turns,
    CASE WHEN has_req THEN ds_chat_history(msgs) END AS has_history,
    CASE WHEN has_req THEN ds_chat_images(msgs) END AS n_images,
    CASE WHEN has_req THEN coalesce(list_sum([
        greatest(ds_count(json_extract(t, '$.functionDeclarations'))
                 + ds_count(json_extract(t, '$.function_declarations')), 1)
        FOR t IN ds_items(ds_unwrap(q.tools))]), 0) END AS n_tools,
    {_config("maxOutputTokens", "max_output_tokens")} AS max_tokens,
    q.generationConfig.temperature AS temperature,
    {_config("candidateCount", "candidate_count")} AS n_choices,
    {_config("responseLogprobs", "response_logprobs")} AS logprobs,
    CASE WHEN {_LEVEL} IS NOT NULL THEN to_json(lower({_LEVEL})) END AS reasoning_effort,
    {_BUDGET} AS thinking_budget,
    CASE WHEN has_req THEN coalesce(
        {_number(_BUDGET)} > 0
        OR lower({_LEVEL}) IN ('medium', 'high')
        OR json_extract_string({_INCLUDE_THOUGHTS}, '$') = 'true',
        false) END AS reasoning_requested,
    answer AS response_text,
    {_usage("promptTokenCount")} AS prompt_tokens,
    CASE WHEN {_number(_usage("candidatesTokenCount"))} IS NOT NULL
         THEN to_json(({_number(_usage("candidatesTokenCount"))}
                       + coalesce({_number(_usage("thoughtsTokenCount"))}, 0))::BIGINT)
         ELSE {_usage("candidatesTokenCount")} END AS completion_tokens,
    coalesce(
        env_error_status,
        CASE WHEN block_reason IS NOT NULL THEN to_json('blocked')
             WHEN finish_reason IN ('SAFETY', 'PROHIBITED_CONTENT', 'BLOCKLIST', 'SPII')
             THEN to_json('content_filter') END,
        env_given_status,
        CASE WHEN len(firsts) > 0 THEN to_json('ok') END
    ) AS status,
    coalesce(has_req AND {is_array("contents")}, false) AS text_available
FROM shaped
"""


SQL = sql_for()


def _has_candidates(value: object) -> bool:
    first = value[0] if isinstance(value, list) and value else value
    return isinstance(first, Mapping) and "candidates" in first


def sniff(record: Record) -> bool:
    """A request log whose request holds Gemini ``contents`` or whose response holds
    ``candidates``: no OpenAI or Anthropic body has either."""
    if not looks_like_envelope(record):
        return False
    body = request_body(record)
    if body is not None and isinstance(body.get("contents"), list):
        return True
    return _has_candidates(response_body(record))


FORMAT = LogFormat(
    name="gemini",
    title="request logs wrapping Gemini generateContent bodies (Gemini API, Vertex AI)",
    keys=ENVELOPE_KEYS,
    sql=SQL,
    sniff=sniff,
    sql_for=sql_for,
)
