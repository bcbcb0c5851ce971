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

LiteLLM's loggers (S3, GCS, a custom callback) write the ``StandardLoggingPayload`` instead, one
request per object (S3 and GCS: one file per request, see :mod:`distillscan.ingest.bundle`): the
same fields but ``id`` for ``request_id``, ``startTime`` in epoch seconds, the key's hash in
``metadata.user_api_key_hash``, the request's parameters in ``model_parameters`` (read as the
request body when there is none) and ``error_information`` at the top. It is read by the same
mapping.

The bulk path reads a JSON lines export's ``metadata``, ``messages`` and ``response`` typed
(:data:`TYPED_COLUMNS`, see :class:`~distillscan.ingest.formats.base.TypedJson`) rather than as
JSON text that every field would parse again; :data:`TYPED_SQL` is the same mapping over those
structs. A file where one of them has another shape (``messages`` stored as ``{}``, a response
that is a string) is read again with :data:`SQL`.
"""

from __future__ import annotations

from dataclasses import dataclass

from distillscan.ingest.formats.base import LogFormat, Record, TypedJson, has_any, has_keys
from distillscan.ingest.formats.sqlexpr import first_present, joined_texts, present, text_of

#: What LiteLLM writes in place of message text when message logging is turned off.
REDACTED = "redacted-by-litellm"


def _at(json_expr: str, path: str) -> str:
    return f"json_extract({json_expr}, '{path}')"


def _string(json_expr: str) -> str:
    return (
        f"(CASE WHEN ds_type({json_expr}) = 'VARCHAR' "
        f"THEN nullif(json_extract_string({json_expr}, '$'), '') END)"
    )


def _non_empty_object(json_expr: str) -> str:
    return f"(ds_type({json_expr}) = 'OBJECT' AND {json_expr}::VARCHAR NOT IN ('{{}}'))"


def _each(list_expr: str, item_text: str, condition: str = "true") -> str:
    return joined_texts(f"[{item_text} FOR x IN ds_items({list_expr}) IF {condition}]")


#: Metadata fields read, parsed out of the metadata object in one pass (``meta_fields``): it is
#: often kilobytes of headers and key settings, and a JSON path per field would parse it again.
_META_PATHS = (
    "$.user_api_key_team_id",
    "$.user_api_key",
    "$.user_api_key_hash",
    "$.status",
    "$.user_api_key_org_id",
    "/headers/user-agent",
    "/headers/User-Agent",
    "$.user_agent",
    "$.user_api_key_user_id",
    "$.requester_ip_address",
    "$.proxy_server_request",
    "$.error_information.error_code",
)


def _typed_meta_field(path: str) -> tuple[str, str]:
    """The top-level metadata key of ``path`` (one of ``_META_PATHS``), and SQL for the field
    in the typed metadata (:data:`TYPED_COLUMNS`), as JSON."""
    if path.startswith("/"):  # a JSON pointer
        key, _, rest = path[1:].partition("/")
        inner = f"/{rest}" if rest else ""
    else:
        key, _, rest = path.removeprefix("$.").partition(".")
        inner = f"$.{rest}" if rest else ""
    return key, f"json_extract(meta.{key}, '{inner}')" if inner else f"meta.{key}"


_TYPED_META_FIELDS = [_typed_meta_field(path) for path in _META_PATHS]

#: The types the bulk path reads these columns of a JSON lines file in. Every leaf is JSON (or
#: VARCHAR where the JSON reading converts to VARCHAR too: a message's role, as ds_messages
#: does), so nothing is converted silently; a value of another shape fails the read.
_METADATA_TYPE = (
    "STRUCT("
    + ", ".join(f"{key} JSON" for key in dict.fromkeys(k for k, _ in _TYPED_META_FIELDS))
    + ")"
)
TYPED_COLUMNS = {
    "metadata": _METADATA_TYPE,
    "messages": "STRUCT(role VARCHAR, content JSON)[]",
    "response": "STRUCT(choices STRUCT(message STRUCT(content JSON), text JSON)[], "
    "content JSON, output JSON)",
}


def _meta(path: str) -> str:
    """SQL for the metadata field at ``path`` (one of ``_META_PATHS``), as JSON."""
    return f"meta_fields[{_META_PATHS.index(path) + 1}]"


@dataclass(frozen=True, slots=True)
class _Reading:
    """How the mapping reaches into ``metadata``, ``messages`` and ``response``: as JSON values
    (``SQL``) or as the structs of :data:`TYPED_COLUMNS` (``TYPED_SQL``). Each field is SQL
    giving the same value either way, where the typed read lets the file through at all."""

    #: ``meta``, ``logged`` (the messages column) and ``resp``, from ``d``.
    columns: str
    #: JSON[], the values of ``_META_PATHS`` in order (NULL without a metadata object).
    meta_fields: str
    #: The JSON list of messages or string inputs found outside a typed ``logged``.
    message_list: str
    #: One prompt string logged instead of a message list.
    single_prompt: str
    #: The messages as ds_messages types them.
    msgs: str
    #: JSON[]: the content of each chat choice of the response.
    choice_contents: str
    #: VARCHAR[]: the text of each (text completion) choice.
    choice_texts: str
    #: JSON: the response's ``content`` (Anthropic) and ``output`` (OpenAI Responses).
    response_content: str
    response_output: str
    #: The response when it is a non-empty string.
    response_string: str
    #: Why the messages column cannot be read, or NULL.
    format_error: str


# What the raw request body holds, for the messages column's gaps: one prompt string, or a list
# of messages (or of string inputs), as CASE branches.
_STRING_PROMPTS = f"{_string(_at('req', '$.input'))}, {_string(_at('req', '$.prompt'))}"
_REQUEST_LISTS = " ".join(
    f"WHEN ds_type({_at('req', path)}) = 'ARRAY' THEN {_at('req', path)}"
    for path in ("$.messages", "$.input")
)

_JSON_READING = _Reading(
    columns="""ds_unwrap(d.metadata) AS meta,
        ds_unwrap(d.messages) AS logged,
        ds_unwrap(d.response) AS resp""",
    meta_fields=f"""CASE WHEN ds_type(meta) = 'OBJECT'
             THEN json_extract(meta, [{", ".join(f"'{path}'" for path in _META_PATHS)}]) END""",
    message_list=f"""CASE WHEN ds_type(logged) = 'ARRAY' THEN logged
             WHEN ds_type({_at("logged", "$.messages")}) = 'ARRAY'
                 THEN {_at("logged", "$.messages")}
             {_REQUEST_LISTS}
        END""",
    # (Only an object has an input: the coalesce would parse a list of messages too.)
    single_prompt=f"""coalesce({_string("logged")},
                 CASE WHEN ds_type(logged) = 'OBJECT' THEN {_string(_at("logged", "$.input"))} END,
                 {_STRING_PROMPTS})""",
    msgs="ds_messages(message_list)",
    choice_contents=_at("resp", "$.choices[*].message.content"),
    choice_texts=(
        f"list_transform({_at('resp', '$.choices[*].text')}, lambda t: json_extract_string(t, '$'))"
    ),
    response_content=_at("resp", "$.content"),
    response_output=_at("resp", "$.output"),
    response_string=_string("resp"),
    format_error=f"""CASE WHEN ({present("logged")}
              AND ds_type(logged) NOT IN ('ARRAY', 'VARCHAR', 'OBJECT'))
              OR ({_non_empty_object("logged")}
                  AND {_at("logged", "$.messages")} IS NULL
                  AND {_at("logged", "$.input")} IS NULL)
         THEN printf('messages: expected a list of {{role, content}} ({{}} when not stored), '
                     || 'got %s', left(logged::VARCHAR, 60))
    END""",
)

# Typed, ``logged`` is a list of messages or NULL (anything else failed the read), ``resp`` an
# object or NULL. A JSON null leaf reads as NULL, where the JSON reading has JSON null: every
# use below treats both as nothing.
_TYPED_READING = _Reading(
    columns="d.metadata AS meta, d.messages AS logged, d.response AS resp",
    meta_fields=(
        f"CASE WHEN meta IS NOT NULL THEN [{', '.join(sql for _, sql in _TYPED_META_FIELDS)}] END"
    ),
    message_list=f"CASE WHEN logged IS NOT NULL THEN NULL {_REQUEST_LISTS} END",
    single_prompt=f"coalesce({_STRING_PROMPTS})",
    msgs="CASE WHEN logged IS NOT NULL THEN logged ELSE ds_messages(message_list) END",
    # Choices without content are left out, as the JSON path leaves them out.
    choice_contents="[c.message.content FOR c IN resp.choices IF c.message.content IS NOT NULL]",
    choice_texts="[json_extract_string(c.text, '$') FOR c IN resp.choices]",
    response_content="resp.content",
    response_output="resp.output",
    response_string="NULL::VARCHAR",
    format_error="NULL::VARCHAR",
)


# Values used more than once are picked once, in the ``picked`` CTE below: the expressions
# nest, and DuckDB would evaluate a repeated one each time it appears.
_TEAM = first_present("d.team_id", _meta("$.user_api_key_team_id"))
_API_KEY = first_present("d.api_key", _meta("$.user_api_key"), _meta("$.user_api_key_hash"))
_STATUS = first_present("d.status", _meta("$.status"))
_EFFORT = first_present(_at("req", "$.reasoning_effort"), _at("req", "$.reasoning.effort"))
_BUDGET = _at("req", "$.thinking.budget_tokens")

_ORG = first_present(
    "d.organization_id",
    _meta("$.user_api_key_org_id"),
    "d.team_id",
    _meta("$.user_api_key_team_id"),
)
# Request headers are in the metadata only when the proxy was configured to log them.
_USER_AGENT = first_present(
    _meta("/headers/user-agent"),
    _meta("/headers/User-Agent"),
    _meta("$.user_agent"),
)
_MAX_TOKENS = first_present(
    _at("req", "$.max_tokens"),
    _at("req", "$.max_completion_tokens"),
    _at("req", "$.max_output_tokens"),
)
# Embedding requests log their input as a list of strings.
_STRING_INPUTS = joined_texts(
    "[json_extract_string(m, '$') FOR m IN ds_items(message_list) IF ds_type(m) = 'VARCHAR']"
)

# The response body: OpenAI chat or text completions, Anthropic messages, OpenAI Responses.
# Read as JSON, the choices' fields are reached with a wildcard path, not by extracting from each
# choice in a comprehension: ds_content_text holds a lambda, and DuckDB runs a lambda nested in
# another lambda element by element (measured: three times slower). (Typed, a comprehension
# only takes struct fields.)
# Most responses hold one choice whose content is a string: that is read without the lambda
# (which costs more than the rest of the response's reading together); the others take it, row
# by row as in any CASE branch.
_CHOICE_MESSAGES = f"""CASE
    WHEN choice_contents IS NULL OR len(choice_contents) = 0 THEN NULL
    WHEN len(choice_contents) = 1 AND ds_type(choice_contents[1]) = 'VARCHAR'
        THEN nullif(json_extract_string(choice_contents[1], '$'), '')
    ELSE {joined_texts("list_transform(choice_contents, lambda c: ds_content_text(c))")} END"""


def _response_text(reading: _Reading) -> str:
    """SQL for the response's text.

    LiteLLM logs most responses in the OpenAI chat shape, whatever the provider: the other
    shapes are read in a CASE branch, only where chat choices gave nothing (there, row by row:
    DuckDB runs a lambda inside a CASE branch several times slower than over a whole column).
    """
    responses_output = _each(
        reading.response_output,
        "ds_content_text(json_extract(x, '$.content'))",
        "json_extract_string(x, '$.type') = 'message'",
    )
    return f"""CASE WHEN choice_text IS NOT NULL THEN choice_text ELSE coalesce(
    {joined_texts(reading.choice_texts)},
    ds_content_text({reading.response_content}),
    {responses_output},
    {reading.response_string}) END"""


def _mapping(reading: _Reading) -> str:
    """The mapping query, reaching into metadata, messages and response as ``reading`` says."""
    return f"""
WITH fields AS (
    SELECT source_line, raw, d,
        {reading.columns},
        ds_unwrap(d.proxy_server_request) AS req_column
    FROM parsed
),
metadata AS (
    SELECT *,
        {reading.meta_fields} AS meta_fields
    FROM fields
),
meta_requests AS (
    SELECT *, ds_unwrap({_meta("$.proxy_server_request")}) AS meta_request FROM metadata
),
requests AS (
    SELECT *,
        CASE WHEN {_non_empty_object("req_column")} THEN req_column
             WHEN {_non_empty_object("meta_request")} THEN meta_request
             -- A logger's payload has the request's parameters, not its body.
             WHEN ds_type(d.model_parameters) = 'OBJECT' THEN ds_unwrap(d.model_parameters)
             ELSE meta_request END AS req
    FROM meta_requests
),
conversations AS (
    SELECT *,
        {reading.message_list} AS message_list,
        {reading.single_prompt} AS single_prompt
    FROM requests
),
chats AS (
    SELECT *, {reading.msgs} AS msgs FROM conversations
),
prompts AS (
    SELECT *, ds_chat_prompt(msgs) AS chat_prompt FROM chats
),
texts AS (
    -- The list of string inputs (embeddings) is read only where there is no chat prompt.
    SELECT *,
        CASE WHEN chat_prompt IS NOT NULL THEN chat_prompt
             ELSE coalesce({_STRING_INPUTS}, single_prompt) END AS prompt_found
    FROM prompts
),
judged AS (
    SELECT *,
        (len(msgs) > 0 OR single_prompt IS NOT NULL)
            AND coalesce(prompt_found <> '{REDACTED}', true) AS text_available
    FROM texts
),
choices AS (
    SELECT *, {reading.choice_contents} AS choice_contents FROM judged
),
picked AS (
    -- Computed outside the CASEs that use them: DuckDB runs a lambda inside a CASE branch row
    -- by row (measured: the response text took 4 times as long inside one).
    SELECT *,
        {_TEAM} AS team,
        {_API_KEY} AS api_key,
        {_STATUS} AS status_value,
        {_EFFORT} AS effort,
        {_CHOICE_MESSAGES} AS choice_text,
        coalesce(
            ds_content_text({_at("req", "$.system")}),
            ds_chat_system(msgs),
            {_string(_at("req", "$.instructions"))}) AS system_found,
        ds_chat_turns(msgs) AS turns
    FROM choices
),
responded AS (
    SELECT *, {_response_text(reading)} AS response_found FROM picked
)
SELECT source_line, raw,
    {reading.format_error} AS format_error,
    {first_present("d.request_id", "d.id")} AS event_id,
    d.startTime AS ts,
    coalesce(
        {first_present("d.user", _meta("$.user_api_key_user_id"))},
        CASE WHEN {present("team")} THEN to_json('team:' || {text_of("team")}) END,
        CASE WHEN {present("api_key")} THEN to_json('key:' || {text_of("api_key")}) END
    ) AS account_id,
    api_key AS api_key_id,
    {_ORG} AS org_id,
    d.end_user AS end_user_id,
    {first_present("d.requester_ip_address", _meta("$.requester_ip_address"))} AS source_ip,
    {_USER_AGENT} AS user_agent,
    {first_present("d.model_group", "d.model")} AS model,
    d.call_type AS operation,
    CASE WHEN text_available THEN system_found END AS system_prompt,
    CASE WHEN text_available THEN prompt_found END AS prompt,
    CASE WHEN NOT text_available THEN NULL WHEN turns > 0 THEN turns ELSE 1 END AS n_turns,
    CASE WHEN text_available THEN ds_chat_history(msgs) END AS has_history,
    CASE WHEN text_available THEN ds_chat_images(msgs) END AS n_images,
    CASE WHEN ds_type(req) = 'OBJECT'
         THEN ds_count({_at("req", "$.tools")}) + ds_count({_at("req", "$.functions")}) END
        AS n_tools,
    {_MAX_TOKENS} AS max_tokens,
    {_at("req", "$.temperature")} AS temperature,
    {_at("req", "$.n")} AS n_choices,
    {_at("req", "$.logprobs")} AS logprobs,
    effort AS reasoning_effort,
    {_BUDGET} AS thinking_budget,
    CASE WHEN ds_type(req) = 'OBJECT' THEN coalesce(
        lower({text_of("effort")}) IN ('medium', 'high', 'xhigh', 'max')
        OR lower(json_extract_string(req, '$.thinking.type')) IN ('enabled', 'adaptive')
        OR try_cast({text_of(_BUDGET)} AS DOUBLE) > 0,
        false) END AS reasoning_requested,
    CASE WHEN coalesce({reading.response_string} <> '{REDACTED}', true)
         THEN response_found END AS response_text,
    d.prompt_tokens, d.completion_tokens,
    CASE lower({text_of("status_value")})
        WHEN 'success' THEN to_json('ok')
        WHEN 'failure' THEN coalesce(
            {
        first_present(
            _meta("$.error_information.error_code"),
            _at("d.error_information", "$.error_code"),
        )
    },
            to_json('error'))
        ELSE status_value END AS status,
    text_available
FROM responded
"""


SQL = _mapping(_JSON_READING)
TYPED_SQL = _mapping(_TYPED_READING)


def sniff(record: Record) -> bool:
    """SpendLogs rows have ``request_id`` and ``startTime`` plus spend or key columns; a
    logger's payload has ``id``, ``startTime`` and ``metadata`` plus its own fields."""
    spend_log = has_keys(record, "request_id", "startTime") and has_any(
        record, "call_type", "spend", "api_key", "model_group"
    )
    payload = has_keys(record, "id", "startTime", "metadata") and has_any(
        record, "model_parameters", "hidden_params", "response_cost", "saved_cache_cost"
    )
    return spend_log or payload


FORMAT = LogFormat(
    name="litellm",
    title="LiteLLM proxy SpendLogs exports (JSON or CSV)",
    keys=(
        "request_id",
        "id",
        "model_parameters",
        "error_information",
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
    typed_json=TypedJson(columns=TYPED_COLUMNS, sql=TYPED_SQL),
)
