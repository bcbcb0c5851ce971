"""``litellm``: LiteLLM proxy SpendLogs exports (JSON lines, a JSON array, or CSV).

One row per request through the proxy (the ``LiteLLM_SpendLogs`` table). JSON-valued columns
(``metadata``, ``messages``, ``response``, ``proxy_server_request``, ``request_tags``) are objects
in JSON exports and JSON text in CSV exports; both are read the same way.

Who is the account: the proxy's customer is whoever holds the virtual key. ``account_id`` is the
key's user (``user``, which LiteLLM fills from ``metadata.user_api_key_user_id``); a key without a
user falls back to its team (``team:<team_id>``), then to the key itself (``key:<api_key>``), the
prefixes keeping the three id spaces apart. ``api_key_id`` is the hashed key, ``org_id`` the
organisation (else the team), ``end_user_id`` the app's own user passed in the request
(``end_user``).

Text: ``messages`` holds the request messages only when the proxy stores prompts
(``store_prompts_in_spend_logs``); otherwise it is ``{}`` and ``text_available`` is false. The
raw request body (``proxy_server_request``, or its copy in ``metadata``) supplies tools, ``n``,
``max_tokens``, reasoning settings, and the messages when the ``messages`` column is empty.
Prompts LiteLLM redacted (``redacted-by-litellm``) count as not available.
"""

from __future__ import annotations

from distillscan.ingest.formats.base import LogFormat, Record, has_any, has_keys
from distillscan.ingest.formats.sqlexpr import first_present, joined_texts, present, text_of

#: What LiteLLM writes in place of message text when message logging is turned off.
REDACTED = "redacted-by-litellm"


def _at(json_expr: str, path: str) -> str:
    return f"json_extract({json_expr}, '{path}')"


def _string(json_expr: str) -> str:
    return (
        f"(CASE WHEN json_type({json_expr}) = 'VARCHAR' "
        f"THEN nullif(json_extract_string({json_expr}, '$'), '') END)"
    )


def _non_empty_object(json_expr: str) -> str:
    return f"(json_type({json_expr}) = 'OBJECT' AND {json_expr}::VARCHAR NOT IN ('{{}}'))"


def _each(list_expr: str, item_text: str, condition: str = "true") -> str:
    return joined_texts(f"[{item_text} FOR x IN ds_items({list_expr}) IF {condition}]")


_TEAM = first_present("d.team_id", _at("meta", "$.user_api_key_team_id"))
_API_KEY = first_present("d.api_key", _at("meta", "$.user_api_key"))
_STATUS = first_present("d.status", _at("meta", "$.status"))
_EFFORT = first_present(_at("req", "$.reasoning_effort"), _at("req", "$.reasoning.effort"))
_BUDGET = _at("req", "$.thinking.budget_tokens")

_ORG = first_present(
    "d.organization_id",
    _at("meta", "$.user_api_key_org_id"),
    "d.team_id",
    _at("meta", "$.user_api_key_team_id"),
)
# Request headers are in the metadata only when the proxy was configured to log them.
_USER_AGENT = first_present(
    "json_extract(meta, '/headers/user-agent')",
    "json_extract(meta, '/headers/User-Agent')",
    _at("meta", "$.user_agent"),
)
_MAX_TOKENS = first_present(
    _at("req", "$.max_tokens"),
    _at("req", "$.max_completion_tokens"),
    _at("req", "$.max_output_tokens"),
)
# Embedding requests log their input as a list of strings.
_STRING_INPUTS = joined_texts(
    "[json_extract_string(m, '$') FOR m IN ds_items(message_list) IF json_type(m) = 'VARCHAR']"
)
_RESPONSES_OUTPUT = _each(
    _at("resp", "$.output"),
    "ds_content_text(json_extract(x, '$.content'))",
    "json_extract_string(x, '$.type') = 'message'",
)

# The response body: OpenAI chat or text completions, Anthropic messages, OpenAI Responses.
_RESPONSE_TEXT = f"""coalesce(
    {_each(_at("resp", "$.choices"), "ds_content_text(json_extract(x, '$.message.content'))")},
    {_each(_at("resp", "$.choices"), "json_extract_string(x, '$.text')")},
    ds_content_text({_at("resp", "$.content")}),
    {_RESPONSES_OUTPUT},
    {_string("resp")})"""

SQL = f"""
WITH fields AS (
    SELECT source_line, raw, d,
        ds_unwrap(d.metadata) AS meta,
        ds_unwrap(d.messages) AS logged,
        ds_unwrap(d.response) AS resp,
        ds_unwrap(d.proxy_server_request) AS req_column
    FROM parsed
),
requests AS (
    SELECT *,
        CASE WHEN {_non_empty_object("req_column")} THEN req_column
             ELSE ds_unwrap({_at("meta", "$.proxy_server_request")}) END AS req
    FROM fields
),
conversations AS (
    SELECT *,
        CASE WHEN json_type(logged) = 'ARRAY' THEN logged
             WHEN json_type({_at("logged", "$.messages")}) = 'ARRAY'
                 THEN {_at("logged", "$.messages")}
             WHEN json_type({_at("req", "$.messages")}) = 'ARRAY' THEN {_at("req", "$.messages")}
             WHEN json_type({_at("req", "$.input")}) = 'ARRAY' THEN {_at("req", "$.input")}
        END AS message_list,
        coalesce({_string("logged")}, {_string(_at("logged", "$.input"))},
                 {_string(_at("req", "$.input"))}, {_string(_at("req", "$.prompt"))})
            AS single_prompt
    FROM requests
),
texts AS (
    SELECT *,
        ds_messages(message_list) AS msgs,
        coalesce(
            ds_chat_prompt(msgs),
            {_STRING_INPUTS},
            single_prompt) AS prompt_found
    FROM conversations
),
judged AS (
    SELECT *,
        (len(msgs) > 0 OR single_prompt IS NOT NULL)
            AND coalesce(prompt_found <> '{REDACTED}', true) AS text_available
    FROM texts
)
SELECT source_line, raw,
    CASE WHEN ({present("logged")}
              AND json_type(logged) NOT IN ('ARRAY', 'VARCHAR', 'OBJECT'))
              OR ({_non_empty_object("logged")}
                  AND {_at("logged", "$.messages")} IS NULL
                  AND {_at("logged", "$.input")} IS NULL)
         THEN printf('messages: expected a list of {{role, content}} ({{}} when not stored), '
                     || 'got %s', left(logged::VARCHAR, 60))
    END AS format_error,
    d.request_id AS event_id,
    d.startTime AS ts,
    coalesce(
        {first_present("d.user", _at("meta", "$.user_api_key_user_id"))},
        CASE WHEN {present(_TEAM)} THEN to_json('team:' || {text_of(_TEAM)}) END,
        CASE WHEN {present(_API_KEY)} THEN to_json('key:' || {text_of(_API_KEY)}) END
    ) AS account_id,
    {_API_KEY} AS api_key_id,
    {_ORG} AS org_id,
    d.end_user AS end_user_id,
    {first_present("d.requester_ip_address", _at("meta", "$.requester_ip_address"))} AS source_ip,
    {_USER_AGENT} AS user_agent,
    {first_present("d.model_group", "d.model")} AS model,
    d.call_type AS operation,
    CASE WHEN text_available THEN coalesce(
        ds_content_text({_at("req", "$.system")}),
        ds_chat_system(msgs),
        {_string(_at("req", "$.instructions"))}) END AS system_prompt,
    CASE WHEN text_available THEN prompt_found END AS prompt,
    CASE WHEN NOT text_available THEN NULL
         WHEN ds_chat_turns(msgs) > 0 THEN ds_chat_turns(msgs) ELSE 1 END AS n_turns,
    CASE WHEN text_available THEN ds_chat_history(msgs) END AS has_history,
    CASE WHEN text_available THEN ds_chat_images(msgs) END AS n_images,
    CASE WHEN json_type(req) = 'OBJECT'
         THEN ds_count({_at("req", "$.tools")}) + ds_count({_at("req", "$.functions")}) END
        AS n_tools,
    {_MAX_TOKENS} AS max_tokens,
    {_at("req", "$.temperature")} AS temperature,
    {_at("req", "$.n")} AS n_choices,
    {_at("req", "$.logprobs")} AS logprobs,
    {_EFFORT} AS reasoning_effort,
    {_BUDGET} AS thinking_budget,
    CASE WHEN json_type(req) = 'OBJECT' THEN coalesce(
        lower({text_of(_EFFORT)}) IN ('medium', 'high', 'xhigh', 'max')
        OR lower(json_extract_string(req, '$.thinking.type')) IN ('enabled', 'adaptive')
        OR try_cast({text_of(_BUDGET)} AS DOUBLE) > 0,
        false) END AS reasoning_requested,
    CASE WHEN coalesce({_string("resp")} <> '{REDACTED}', true)
         THEN {_RESPONSE_TEXT} END AS response_text,
    d.prompt_tokens, d.completion_tokens,
    CASE lower({text_of(_STATUS)})
        WHEN 'success' THEN to_json('ok')
        WHEN 'failure' THEN coalesce(
            {first_present(_at("meta", "$.error_information.error_code"))}, to_json('error'))
        ELSE {_STATUS} END AS status,
    text_available
FROM judged
"""


def sniff(record: Record) -> bool:
    """SpendLogs rows have ``request_id`` and ``startTime`` plus spend or key columns."""
    return has_keys(record, "request_id", "startTime") and has_any(
        record, "call_type", "spend", "api_key", "model_group"
    )


FORMAT = LogFormat(
    name="litellm",
    title="LiteLLM proxy SpendLogs exports (JSON or CSV)",
    keys=(
        "request_id",
        "call_type",
        "api_key",
        "startTime",
        "model",
        "model_group",
        "user",
        "end_user",
        "team_id",
        "organization_id",
        "metadata",
        "requester_ip_address",
        "messages",
        "response",
        "status",
        "proxy_server_request",
        "prompt_tokens",
        "completion_tokens",
    ),
    sql=SQL,
    sniff=sniff,
)
