"""``bedrock``: AWS Bedrock model invocation logs (S3 or CloudWatch Logs delivery, JSON lines).

One ``ModelInvocationLog`` record per call of ``InvokeModel``, ``InvokeModelWithResponseStream``,
``Converse`` or ``ConverseStream``. The request and response bodies are the model provider's own
shapes, logged as JSON:

* Anthropic Messages (``anthropic_version``, ``system``, ``messages``, ``tools``, ``thinking``);
* Converse and Amazon Nova (``messages[].content[].text|image|toolUse|toolResult``,
  ``system: [{"text": ..}]``, ``inferenceConfig``, ``toolConfig.tools``,
  ``additionalModelRequestFields``);
* single-string prompts: Meta Llama (``prompt``, ``max_gen_len``; the Llama 3 chat template is
  split into turns), Mistral (``[INST]`` blocks), Claude text completions; Amazon Titan
  (``inputText``, ``textGenerationConfig``); Cohere (``message``, ``chat_history``, ``preamble``);
  OpenAI-compatible bodies (``messages`` with string content, ``reasoning_effort``).

Streaming operations log the response as an array of chunk objects; the text deltas of every
provider's chunk shape are concatenated in order. Bodies over 100 KB are offloaded to S3
(``inputBodyS3Path``): the prompt is then not in the log, so ``text_available`` is false and the
text columns are NULL (never an empty prompt).

Who is the account: one AWS account hosts many applications and people, so ``account_id`` is the
calling IAM principal (``identity.arn``, trimmed, kept whole here) and ``org_id`` is the AWS account
id. An assumed role's session name (``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``) is either
a person or workload behind a shared role (IAM Identity Center names the session after the user, a
Lambda after the function) or one process's credentials (``botocore-session-1767225600``). Which
of the two a role's sessions are can only be told across the whole case, so it is decided there
(:func:`distillscan.case.role_sessions_sql`): a role whose sessions are per-process credentials is
one account with the session names as end users. ``end_user_id`` here is the one ``requestMetadata``
names. Bedrock logs carry no client IP or user agent: those come from CloudTrail (see
:mod:`.cloudtrail`), joined by request id in the case's ``events`` view.
"""

from __future__ import annotations

from distillscan.ingest.formats.base import LogFormat, Record, has_any, has_keys
from distillscan.ingest.formats.sqlexpr import (
    first_present,
    joined_texts,
    present,
    strip,
    text_of,
)


def _string(json_expr: str) -> str:
    """SQL for a JSON string value as text, untrimmed, NULL when absent, empty or not a string."""
    return (
        f"(CASE WHEN ds_type({json_expr}) = 'VARCHAR' "
        f"THEN nullif(json_extract_string({json_expr}, '$'), '') END)"
    )


_NUMERIC = "('BIGINT', 'UBIGINT', 'DOUBLE')"


def _token_sum(paths: list[tuple[str, str]]) -> str:
    """SQL: the sum of the counts at ``(json, path)`` that are numbers (NULL if none is)."""
    parts = [f"json_extract({json_expr}, '{path}')" for json_expr, path in paths]
    numbers = [
        f"CASE WHEN ds_type({part}) IN {_NUMERIC} THEN json_extract_string({part}, '$')::DOUBLE END"
        for part in parts
    ]
    return (
        f"CASE WHEN {' OR '.join(f'ds_type({part}) IN {_NUMERIC}' for part in parts)} "
        f"THEN {' + '.join(f'coalesce({n}, 0)' for n in numbers)} END"
    )


# Cached prompt tokens are counted apart from ``inputTokenCount``: in the log's own cache
# counts where it has them, else in the model's answer (Anthropic models' usage, the Converse
# API's). The prompt's size is their sum, as OpenAI's prompt_tokens includes cached tokens.
# A count that is not a number is handed over as it is, for validation to name it.
_CACHED_TOKENS = f"""coalesce(
    {
    _token_sum(
        [("d.input", "$.cacheReadInputTokenCount"), ("d.input", "$.cacheWriteInputTokenCount")]
    )
},
    CASE WHEN ds_type(out) = 'OBJECT' THEN {
    _token_sum(
        [
            ("out", "$.usage.cache_read_input_tokens"),
            ("out", "$.usage.cache_creation_input_tokens"),
            ("out", "$.usage.cacheReadInputTokens"),
            ("out", "$.usage.cacheWriteInputTokens"),
        ]
    )
} END)"""
_INPUT_TOKENS = "json_extract(d.input, '$.inputTokenCount')"
_PROMPT_TOKENS = f"""CASE WHEN ds_type({_INPUT_TOKENS}) IN {_NUMERIC} THEN to_json((
        json_extract_string({_INPUT_TOKENS}, '$')::DOUBLE + coalesce({_CACHED_TOKENS}, 0))::BIGINT)
    ELSE {_INPUT_TOKENS} END"""


def _at(json_expr: str, path: str) -> str:
    return f"json_extract({json_expr}, '{path}')"


# Llama 3 chat template: <|start_header_id|>ROLE<|end_header_id|> TEXT <|eot_id|>. The last
# header (the assistant turn the model is asked to write) has no text and no end marker.
_LLAMA3_TURN = r"(?s)<\|start_header_id\|>(.*?)<\|end_header_id\|>(.*?)(?:<\|eot_id\|>|$)"
# Llama 2 / Mistral instruction template: [INST] user text [/INST] answer </s><s>[INST] ...
_INST_TURN = r"(?s)\[INST\](.*?)\[/INST\]"
_INST_ANSWER = r"(?s)\[/INST\](.*?)\[INST\]"
_INST_SYSTEM = r"(?s)<<SYS>>(.*?)<</SYS>>"

# Text carried by one chunk of a streamed response, whichever provider's shape it has.
_CHUNK_TEXT = """coalesce(
    CASE WHEN json_extract_string(c, '$.type') = 'content_block_delta'
         THEN json_extract_string(c, '$.delta.text') END,
    json_extract_string(c, '$.contentBlockDelta.delta.text'),
    json_extract_string(c, '$.generation'),
    json_extract_string(c, '$.outputText'),
    json_extract_string(c, '$.completion'),
    json_extract_string(c, '$.choices[0].delta.content'),
    json_extract_string(c, '$.choices[0].text'),
    json_extract_string(c, '$.outputs[0].text'),
    CASE WHEN json_extract_string(c, '$.event_type') = 'text-generation'
         THEN json_extract_string(c, '$.text') END)"""


def _each(list_path: str, item_text: str) -> str:
    """SQL joining ``item_text`` (over ``x``) for every element of the response list at a path."""
    return joined_texts(f"[{item_text} FOR x IN ds_items(json_extract(out, '{list_path}'))]")


# Text of a complete (non-streamed) response body.
_RESPONSE_TEXT = f"""coalesce(
    ds_content_text({_at("out", "$.content")}),
    ds_content_text({_at("out", "$.output.message.content")}),
    {_each("$.choices", "ds_content_text(json_extract(x, '$.message.content'))")},
    {_each("$.choices", "json_extract_string(x, '$.text')")},
    {_string(_at("out", "$.generation"))},
    {_each("$.results", "json_extract_string(x, '$.outputText')")},
    {_each("$.outputs", "json_extract_string(x, '$.text')")},
    {_string(_at("out", "$.completion"))},
    {_string(_at("out", "$.text"))},
    {_each("$.generations", "json_extract_string(x, '$.text')")})"""

_EFFORT = first_present(
    _at("body", "$.reasoning_effort"),
    _at("extra", "$.reasoning_effort"),
    _at("extra", "$.reasoningConfig.maxReasoningEffort"),
    _at("body", "$.reasoningConfig.maxReasoningEffort"),
)
_BUDGET = first_present(
    _at("body", "$.thinking.budget_tokens"),
    _at("extra", "$.thinking.budget_tokens"),
    _at("extra", "$.reasoning_config.budget_tokens"),
)
_MAX_TOKENS = first_present(
    _at("body", "$.max_tokens"),
    _at("body", "$.max_completion_tokens"),
    _at("body", "$.inferenceConfig.maxTokens"),
    _at("body", "$.inferenceConfig.max_new_tokens"),
    _at("body", "$.max_gen_len"),
    _at("body", "$.textGenerationConfig.maxTokenCount"),
    _at("body", "$.max_tokens_to_sample"),
)
_TEMPERATURE = first_present(
    _at("body", "$.temperature"),
    _at("body", "$.inferenceConfig.temperature"),
    _at("body", "$.textGenerationConfig.temperature"),
)
#: ``requestMetadata`` keys apps commonly use to pass their own end user along. The caller writes
#: requestMetadata, so it says who the app claims the user is, nothing more.
END_USER_KEYS = ("end_user_id", "endUserId", "end_user", "user_id", "userId")
# Cohere embedding requests send a list of ``texts``.
_COHERE_TEXTS = joined_texts(
    "[json_extract_string(t, '$') FOR t IN ds_items(json_extract(body, '$.texts'))]"
)
_END_USER = first_present(*(_at("meta", f"$.{key}") for key in END_USER_KEYS))
_ARN_TEXT = strip("json_extract_string(arn, '$')")

SQL = f"""
WITH records AS (
    SELECT source_line, raw, d,
        json_extract(d.identity, '$.arn') AS arn,
        json_extract(d.input, '$.inputBodyJson') AS body_logged,
        ds_unwrap(json_extract(d.input, '$.inputBodyJson')) AS body,
        ds_unwrap(json_extract(d.output, '$.outputBodyJson')) AS out,
        ds_unwrap(d.requestMetadata) AS meta
    FROM parsed
),
bodies AS (
    SELECT *,
        ds_messages(json_extract(body, '$.messages')) AS msgs,
        json_extract(body, '$.additionalModelRequestFields') AS extra,
        {_string(_at("body", "$.prompt"))} AS prompt_string
    FROM records
),
templates AS (
    SELECT *,
        list_zip(regexp_extract_all(prompt_string, '{_LLAMA3_TURN}', 1),
                 [{strip("t")} FOR t IN regexp_extract_all(prompt_string, '{_LLAMA3_TURN}', 2)])
            AS llama_turns,
        regexp_extract_all(prompt_string, '{_INST_TURN}', 1) AS inst_turns,
        [a FOR a IN regexp_extract_all(prompt_string, '{_INST_ANSWER}', 1)
         IF {strip("replace(replace(a, '</s>', ''), '<s>', '')")} <> ''] AS inst_answers,
        ds_type(body) = 'OBJECT' AND (
            len(msgs) > 0
            OR {present(_at("body", "$.prompt"))}
            OR {present(_at("body", "$.inputText"))}
            OR {present(_at("body", "$.message"))}
            OR {present(_at("body", "$.texts"))}) AS text_available
    FROM bodies
)
SELECT source_line, raw,
    nullif(concat_ws('; ',
        CASE WHEN NOT {present("arn")}
             THEN 'identity.arn: missing (the calling IAM principal is the account)' END,
        CASE WHEN {present("body_logged")} AND coalesce(ds_type(body) <> 'OBJECT', true)
             THEN printf('input.inputBodyJson: expected a JSON object, got %s',
                         left(body_logged::VARCHAR, 60)) END,
        CASE WHEN {present(_at("body", "$.messages"))}
                  AND ds_type(json_extract(body, '$.messages')) <> 'ARRAY'
             THEN 'input.inputBodyJson.messages: expected a list of {{role, content}}' END
    ), '') AS format_error,
    d.requestId AS event_id,
    d.timestamp AS ts,
    CASE WHEN ds_type(arn) = 'VARCHAR' THEN to_json({_ARN_TEXT}) ELSE arn END AS account_id,
    NULL::JSON AS api_key_id,
    d.accountId AS org_id,
    {_END_USER} AS end_user_id,
    NULL::JSON AS source_ip,
    NULL::JSON AS user_agent,
    d.modelId AS model,
    d.operation AS operation,
    CASE WHEN text_available THEN coalesce(
        ds_content_text({_at("body", "$.system")}),
        ds_chat_system(msgs),
        {joined_texts("[p[2] FOR p IN llama_turns IF lower(p[1]) = 'system']")},
        nullif({strip(f"regexp_extract(inst_turns[1], '{_INST_SYSTEM}', 1)")}, ''),
        {_string(_at("body", "$.preamble"))}) END AS system_prompt,
    CASE WHEN text_available THEN coalesce(
        ds_chat_prompt(msgs),
        nullif(list_last([p[2] FOR p IN llama_turns IF lower(p[1]) = 'user']), ''),
        nullif({strip(f"regexp_replace(list_last(inst_turns), '{_INST_SYSTEM}', '')")}, ''),
        prompt_string,
        {_string(_at("body", "$.inputText"))},
        {_string(_at("body", "$.message"))},
        {_COHERE_TEXTS}
    ) END AS prompt,
    CASE WHEN NOT text_available THEN NULL
         WHEN len(msgs) > 0 THEN ds_chat_turns(msgs)
         WHEN len(llama_turns) > 0
             THEN len([p FOR p IN llama_turns IF lower(p[1]) = 'user'
                       OR (lower(p[1]) = 'assistant' AND p[2] <> '')])
         WHEN len(inst_turns) > 0 THEN len(inst_turns) + len(inst_answers)
         ELSE 1 + ds_count({_at("body", "$.chat_history")}) END AS n_turns,
    CASE WHEN NOT text_available THEN NULL
         WHEN len(msgs) > 0 THEN ds_chat_history(msgs)
         WHEN len(llama_turns) > 0
             THEN len([p FOR p IN llama_turns
                       IF lower(p[1]) = 'assistant' AND p[2] <> '']) > 0
         WHEN len(inst_turns) > 0 THEN len(inst_answers) > 0
         ELSE len([m FOR m IN ds_items({_at("body", "$.chat_history")})
                   IF upper(json_extract_string(m, '$.role')) = 'CHATBOT']) > 0
    END AS has_history,
    CASE WHEN text_available THEN ds_chat_images(msgs) END AS n_images,
    CASE WHEN ds_type(body) = 'OBJECT'
         THEN ds_count({_at("body", "$.tools")}) + ds_count({_at("body", "$.toolConfig.tools")})
    END AS n_tools,
    {_MAX_TOKENS} AS max_tokens,
    {_TEMPERATURE} AS temperature,
    {_at("body", "$.n")} AS n_choices,
    CASE WHEN ds_type({_at("body", "$.logprobs")}) IN ('BIGINT', 'UBIGINT')
         THEN to_json(try_cast(json_extract_string(body, '$.logprobs') AS DOUBLE) > 0)
         ELSE {_at("body", "$.logprobs")} END AS logprobs,
    {_EFFORT} AS reasoning_effort,
    {_BUDGET} AS thinking_budget,
    CASE WHEN ds_type(body) = 'OBJECT' THEN coalesce(
        lower(json_extract_string(body, '$.thinking.type')) IN ('enabled', 'adaptive')
        OR lower(json_extract_string(extra, '$.thinking.type')) IN ('enabled', 'adaptive')
        OR lower(json_extract_string(extra, '$.reasoning_config.type')) = 'enabled'
        OR lower(json_extract_string(extra, '$.reasoningConfig.type')) = 'enabled'
        OR lower(json_extract_string(body, '$.reasoningConfig.type')) = 'enabled'
        OR lower({text_of(_EFFORT)}) IN ('medium', 'high', 'xhigh', 'max')
        OR try_cast({text_of(_BUDGET)} AS DOUBLE) > 0,
        false) END AS reasoning_requested,
    CASE WHEN ds_type(out) = 'ARRAY'
         THEN nullif(array_to_string([{_CHUNK_TEXT} FOR c IN ds_items(out)], ''), '')
         WHEN ds_type(out) = 'OBJECT' THEN {_RESPONSE_TEXT} END AS response_text,
    {_PROMPT_TOKENS} AS prompt_tokens,
    json_extract(d.output, '$.outputTokenCount') AS completion_tokens,
    coalesce({first_present("d.errorCode")}, to_json('ok')) AS status,
    text_available
FROM templates
"""


def sniff(record: Record) -> bool:
    """Bedrock invocation logs say ``schemaType: ModelInvocationLog``; older exports may not."""
    if has_keys(record, "schemaType"):
        return bool(record["schemaType"] == "ModelInvocationLog")
    return has_keys(record, "requestId", "modelId", "operation", "identity") and has_any(
        record, "input", "output"
    )


FORMAT = LogFormat(
    name="bedrock",
    title="AWS Bedrock model invocation logs (InvokeModel, Converse and their streaming forms)",
    keys=(
        "schemaType",
        "timestamp",
        "accountId",
        "identity",
        "requestId",
        "operation",
        "modelId",
        "requestMetadata",
        "input",
        "output",
        "errorCode",
    ),
    sql=SQL,
    sniff=sniff,
)
