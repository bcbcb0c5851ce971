"""The request-log envelope shared by the ``openai`` and ``anthropic`` formats.

API gateways, observability tools and providers' own exports wrap a chat API's request and
response bodies in one record with request metadata (id, time, account, key, client IP, user
agent, status). Helicone, Portkey, LangSmith, generic gateway logs and the two providers' batch
files all use the same few shapes, whatever the body inside is. This module finds the pieces of
that envelope, in SQL for the mapping and in Python for sniffing, so both formats read the
envelope identically and differ only in how they read the bodies.

Where the bodies are (first present key wins):

* request: ``request``, ``request_body``, ``body`` (OpenAI Batch input lines), ``inputs``
  (LangSmith runs), ``params`` (Anthropic Message Batches requests). When that value is an HTTP
  wrapper or a whole batch line (an object with ``body`` or ``params`` and no ``messages``), the
  body is taken from inside it.
* response: ``response``, ``response_body``, ``outputs``, ``result`` (Anthropic batch results).
  Inside it, a batch output line's ``response`` or ``result``, then an HTTP wrapper's or batch
  line's ``body``, or a succeeded batch result's ``message``, are unwrapped in that order.

Values may be JSON text instead of JSON (CSV exports, bodies logged as strings): they are parsed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

from distillscan.ingest.formats.base import Record, has_any

#: Keys that hold the request body or a wrapper around it, in the order they are tried.
REQUEST_KEYS = ("request", "request_body", "body", "inputs", "params")
#: Keys that hold the response body or a wrapper around it, in the order they are tried.
RESPONSE_KEYS = ("response", "response_body", "outputs", "result")
#: Objects of free-form request metadata that may carry ids (gateway metadata, Helicone custom
#: properties, LangSmith's ``extra.metadata``). The first one that is an object is used.
META_KEYS = ("metadata", "request_properties", "properties")

#: Envelope fields, each a list of names tried in order at the top level, then in the metadata.
EVENT_ID_KEYS = ("event_id", "request_id", "id")
TIMESTAMP_KEYS = ("timestamp", "created_at", "created", "start_time", "request_created_at")
ACCOUNT_KEYS = ("account_id", "customer_id", "organization_id", "org_id", "organization")
#: Tried for the account after ``ACCOUNT_KEYS``, at the top level only: a gateway's own user.
ACCOUNT_FALLBACK_KEYS = ("user_id",)
ORG_KEYS = (
    "organization_id",
    "org_id",
    "organization",
    "organisation_id",
    "project_id",
    "workspace_id",
    "team_id",
)
API_KEY_KEYS = ("api_key_id", "key_id", "api_key_hash", "hashed_api_key")
END_USER_KEYS = ("end_user_id", "end_user", "request_user_id")
SOURCE_IP_KEYS = ("source_ip", "client_ip", "ip", "ip_address", "remote_addr")
USER_AGENT_KEYS = ("user_agent",)
HEADER_KEYS = ("headers", "request_headers")
MODEL_KEYS = ("model", "request_model")
STATUS_KEYS = ("status", "status_code", "response_status", "response_status_code")
PROMPT_TOKEN_KEYS = ("prompt_tokens", "input_tokens")
COMPLETION_TOKEN_KEYS = ("completion_tokens", "output_tokens")
#: Where the API path is logged (used only to tell the two APIs apart when sniffing).
PATH_KEYS = ("url", "request_path", "path", "endpoint")

#: Keys of the other formats' records: a record with any of these is never an envelope record.
#: Bedrock invocation logs carry ``schemaType``; LiteLLM SpendLogs ``startTime``/``spend``/
#: ``call_type``.
FOREIGN_KEYS = ("schemaType", "startTime", "spend", "call_type")


def _unique(*groups: Sequence[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for group in groups:
        for key in group:
            seen.setdefault(key, None)
    return tuple(seen)


#: Every top-level key the envelope SQL reads (each becomes ``d.<key>``).
ENVELOPE_KEYS: tuple[str, ...] = _unique(
    REQUEST_KEYS,
    RESPONSE_KEYS,
    META_KEYS,
    ("extra",),
    EVENT_ID_KEYS,
    ("batch_id", "custom_id", "error", "operation"),
    TIMESTAMP_KEYS,
    ACCOUNT_KEYS,
    ACCOUNT_FALLBACK_KEYS,
    ORG_KEYS,
    API_KEY_KEYS,
    END_USER_KEYS,
    SOURCE_IP_KEYS,
    USER_AGENT_KEYS,
    HEADER_KEYS,
    MODEL_KEYS,
    STATUS_KEYS,
    PROMPT_TOKEN_KEYS,
    COMPLETION_TOKEN_KEYS,
)


# --- SQL ------------------------------------------------------------------------------------
#
# JSON values are text in DuckDB: every ``json_extract`` or ``json_type`` parses the whole value
# again. Bodies are the bulk of a record, so each one is parsed once, by ``json_transform`` into
# a struct holding every field the mapping reads (``Spec``); the type of a value is read from its
# first character (DuckDB writes JSON values minified).

#: A ``json_transform`` structure: field name to a DuckDB type name, a nested structure, or a
#: one-element list holding the structure of a list's elements.
Spec: TypeAlias = Mapping[str, "str | Spec | list[Spec]"]

#: Spellings of the user agent header looked for in logged HTTP headers. (Struct field names are
#: case-insensitive in DuckDB, so headers are read with ``json_extract``, not a transform: they
#: are small.)
_USER_AGENT_HEADERS = ("user-agent", "User-Agent")
_REQUEST_WRAPPER_SPEC: Spec = {
    "messages": "JSON",
    "body": "JSON",
    "params": "JSON",
    "custom_id": "JSON",
    "headers": "JSON",
}
_RESPONSE_WRAPPER_SPEC: Spec = {
    "response": "JSON",
    "result": "JSON",
    "custom_id": "JSON",
    "error": "JSON",
}
_RESPONSE_OUTER_SPEC: Spec = {
    "body": "JSON",
    "type": "VARCHAR",
    "message": "JSON",
    "request_id": "JSON",
    "status_code": "JSON",
    "status": "JSON",
    "error": "JSON",
}
#: Fields of the response body the envelope itself reads (merged into the format's spec).
_RESPONSE_ENVELOPE_SPEC: Spec = {"id": "JSON", "created": "JSON", "error": "JSON"}


def transform(value: str, spec: Spec | list[Spec]) -> str:
    """SQL: ``json_transform`` of the JSON ``value`` into a struct shaped by ``spec``.

    Fields that are missing, JSON ``null`` or of another shape come out as SQL NULL.
    """
    text = json.dumps(spec, separators=(",", ":"))
    if "'" in text:  # pragma: no cover - specs are constants of this package
        raise ValueError("a transform spec must not contain quotes")
    return f"json_transform({value}, '{text}')"


def is_object(value: str) -> str:
    """SQL: the JSON ``value`` is an object (NULL when ``value`` is NULL)."""
    return f"starts_with(ltrim({value}::VARCHAR), '{{')"


def is_array(value: str) -> str:
    """SQL: the JSON ``value`` is an array (NULL when ``value`` is NULL)."""
    return f"starts_with(ltrim({value}::VARCHAR), '[')"


def items(value: str) -> str:
    """SQL: the elements of a JSON array as a list (empty for anything else), as ``ds_items``."""
    return f"CASE WHEN {is_array(value)} THEN json_extract({value}, '$[*]') ELSE []::JSON[] END"


def _first(candidates: Sequence[str]) -> str:
    return "coalesce(" + ", ".join(candidates) + ")"


def _lookup(keys: Sequence[str], in_meta: bool = True) -> list[str]:
    """Candidates for a field: each key at the top level, then each in the metadata object."""
    return [f"d.{key}" for key in keys] + ([f'meta."{key}"' for key in keys] if in_meta else [])


def _merge(base: Spec, extra: Spec) -> dict[str, Any]:
    merged: dict[str, Any] = dict(base)
    for key, value in extra.items():
        old = merged.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            merged[key] = _merge(old, value)
        else:
            merged[key] = value
    return merged


_META_FIELDS = _unique(
    ACCOUNT_KEYS, ORG_KEYS, API_KEY_KEYS, END_USER_KEYS, SOURCE_IP_KEYS, USER_AGENT_KEYS
)


#: The canonical identity columns every envelope format takes from the envelope as they are.
ENVELOPE_IDENTITY = (
    "env_event_id AS event_id, env_ts AS ts, env_account_id AS account_id, "
    "env_api_key_id AS api_key_id, env_org_id AS org_id"
)


def _batch_lacks(supplied: frozenset[str]) -> str:
    """SQL: the batch line lacks an account or a time that the investigator did not supply."""
    lacks = [
        f"{column} IS NULL"
        for column, given in (("env_account_id", "account_id"), ("env_ts", "ts"))
        if given not in supplied
    ]
    return " OR ".join(lacks) or "false"


def envelope_ctes(
    api: str, request_spec: Spec, response_spec: Spec, supplied: frozenset[str] = frozenset()
) -> str:
    """SQL CTEs over ``parsed`` ending in ``bodies`` (the text continues a ``WITH`` clause).

    ``supplied``: the columns the investigator gives for rows without them (``account_id``,
    ``ts``); a batch line lacking only those is not an error.

    ``bodies`` holds ``source_line``, ``raw``, ``d`` and:

    * ``req`` and ``resp``: the request and response bodies (JSON, NULL when absent); ``q`` and
      ``r``: the same parsed into structs by ``request_spec`` and ``response_spec``; ``has_req``:
      a request body object is present;
    * ``env_*``: the envelope's fields as JSON values, ready for the raw canonical columns
      (``env_event_id``, ``env_ts``, ``env_account_id``, ``env_org_id``, ``env_api_key_id``,
      ``env_end_user_id``, ``env_source_ip``, ``env_user_agent``, ``env_model``,
      ``env_operation``, ``env_prompt_tokens``, ``env_completion_tokens``);
    * ``env_error_status``: the error's type (or code) when the response or the record holds an
      error, or a failed batch result's type; ``env_given_status``: the status the log states
      (an HTTP code, ``success``...). A format puts its own outcomes (a refusal) between them;
    * ``is_batch`` (a provider batch-file line: it has a ``custom_id``) and ``envelope_error``
      (why the record cannot be read as an envelope, or NULL).

    ``api`` names the API in reasons (``"OpenAI"``, ``"Anthropic"``).
    """
    request = _first([f"d.{key}" for key in REQUEST_KEYS])
    response = _first([f"d.{key}" for key in RESPONSE_KEYS])
    meta_sources = [f"ds_unwrap(d.{key})" for key in META_KEYS] + [
        "json_extract(d.extra, '$.metadata')"
    ]
    meta = "CASE " + " ".join(f"WHEN {is_object(m)} THEN {m}" for m in meta_sources) + " END"
    response_fields = _merge(response_spec, _RESPONSE_ENVELOPE_SPEC)
    # A batch request has no id of its own: ``<batch_id>:<custom_id>`` names it when the export
    # names the batch. A result-only line keeps its own ids (the output line's ``id``, the
    # response's ``request_id`` or message id): one event id must not name two rows of a case.
    batch_event_id = (
        "CASE WHEN has_req AND d.batch_id IS NOT NULL AND custom_id IS NOT NULL "
        "THEN to_json(printf('%s:%s', json_extract_string(d.batch_id, '$'), "
        "json_extract_string(custom_id, '$'))) END"
    )
    event_id = ["d.event_id", "d.request_id", batch_event_id, "d.id", "so.request_id", "r.id"]
    timestamp = [*(f"d.{k}" for k in TIMESTAMP_KEYS), "r.created"]
    account = _lookup(ACCOUNT_KEYS) + _lookup(ACCOUNT_FALLBACK_KEYS, in_meta=False)
    user_agent = [
        *_lookup(USER_AGENT_KEYS),
        *(
            f"""json_extract({h}, '$."{name}"')"""
            for h in ("rw.headers", *(f"d.{key}" for key in HEADER_KEYS))
            for name in _USER_AGENT_HEADERS
        ),
    ]
    # An error object (OpenAI's ``{"error": {...}}``, Anthropic's ``{"type": "error", "error":
    # {...}}``, a batch line's ``error``) or an error message: its most specific name.
    error_status = f"""CASE WHEN ({is_object("err")} AND err::VARCHAR <> '{{}}')
            OR (starts_with(err::VARCHAR, '"') AND err::VARCHAR <> '""')
        THEN to_json(coalesce(json_extract_string(err, '$.error.type'),
            json_extract_string(err, '$.code'), json_extract_string(err, '$.type'), 'error'))
        END"""
    batch_status = (
        "CASE WHEN so.type IN ('errored', 'canceled', 'expired') THEN to_json(so.type) END"
    )
    given_status = [*_lookup(STATUS_KEYS, in_meta=False), "so.status_code", "so.status"]
    wrapper_keys = ", ".join(REQUEST_KEYS + RESPONSE_KEYS)
    return f"""
envelope AS (
    SELECT source_line, raw, d,
        ds_unwrap({request}) AS req_wrapper,
        ds_unwrap({response}) AS resp_wrapper,
        {meta} AS meta_json
    FROM parsed
),
wrappers AS (
    SELECT *,
        {transform("req_wrapper", _REQUEST_WRAPPER_SPEC)} AS rw,
        {transform("resp_wrapper", _RESPONSE_WRAPPER_SPEC)} AS sw,
        {transform("meta_json", dict.fromkeys(_META_FIELDS, "JSON"))} AS meta
    FROM envelope
),
unwrapped AS (
    SELECT *,
        CASE WHEN {is_object("req_wrapper")} AND rw.messages IS NULL AND rw.body IS NOT NULL
             THEN ds_unwrap(rw.body)
             WHEN {is_object("req_wrapper")} AND rw.messages IS NULL AND rw.params IS NOT NULL
             THEN ds_unwrap(rw.params)
             ELSE req_wrapper END AS req,
        CASE WHEN {is_object("sw.response")} THEN sw.response
             WHEN {is_object("sw.result")} THEN sw.result
             ELSE resp_wrapper END AS resp_outer,
        coalesce(d.custom_id, rw.custom_id, sw.custom_id) AS custom_id
    FROM wrappers
),
outer_parsed AS (
    SELECT *, {transform("resp_outer", _RESPONSE_OUTER_SPEC)} AS so
    FROM unwrapped
),
located AS (
    SELECT *,
        CASE WHEN so.body IS NOT NULL THEN ds_unwrap(so.body)
             WHEN so.type = 'succeeded' THEN so.message
             ELSE resp_outer END AS resp
    FROM outer_parsed
),
parsed_bodies AS (
    SELECT *,
        coalesce({is_object("req")}, false) AS has_req,
        {transform("req", request_spec)} AS q,
        {transform("resp", response_fields)} AS r
    FROM located
),
enveloped AS (
    SELECT *,
        {_first(event_id)} AS env_event_id,
        {_first(timestamp)} AS env_ts,
        {_first(account)} AS env_account_id,
        {_first(_lookup(ORG_KEYS))} AS env_org_id,
        {_first(_lookup(API_KEY_KEYS))} AS env_api_key_id,
        {_first(_lookup(END_USER_KEYS))} AS env_end_user_id,
        {_first(_lookup(SOURCE_IP_KEYS))} AS env_source_ip,
        {_first(user_agent)} AS env_user_agent,
        {_first([f"d.{k}" for k in MODEL_KEYS])} AS env_model,
        d.operation AS env_operation,
        {_first([f"d.{k}" for k in PROMPT_TOKEN_KEYS])} AS env_prompt_tokens,
        {_first([f"d.{k}" for k in COMPLETION_TOKEN_KEYS])} AS env_completion_tokens,
        custom_id IS NOT NULL AS is_batch,
        {_first(["r.error", "so.error", "sw.error", "d.error"])} AS err
    FROM parsed_bodies
),
bodies AS (
    SELECT *,
        {_first([error_status, batch_status])} AS env_error_status,
        {_first(given_status)} AS env_given_status,
        CASE
            -- A failed call may be logged with its error and no bodies: it loads, with its status.
            WHEN req_wrapper IS NULL AND resp_wrapper IS NULL AND {error_status} IS NULL
            THEN 'no request or response body: expected one of {wrapper_keys}'
            WHEN req_wrapper IS NOT NULL AND NOT has_req
            THEN printf('request body: expected a JSON object ({api} request), got %s',
                        left(req::VARCHAR, 60))
            WHEN is_batch AND ({_batch_lacks(supplied)})
            THEN printf('{api} batch line %s carries no %s of its own: batch files must be '
                        'exported with account_id and created_at added to each line, or '
                        'loaded with --account and --time (see docs/formats.md)',
                        coalesce(json_extract_string(custom_id, '$'), '?'),
                        CASE WHEN env_account_id IS NOT NULL OR {"account_id" in supplied}
                             THEN 'request time'
                             WHEN env_ts IS NOT NULL OR {"ts" in supplied} THEN 'account'
                             ELSE 'account or request time' END)
        END AS envelope_error
    FROM enveloped
)"""


# --- sniffing -------------------------------------------------------------------------------


def parse_if_text(value: object) -> object:
    """``value``, or the JSON it holds when it is text of a JSON object or array."""
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            parsed: object = json.loads(value)
        except (ValueError, RecursionError):
            return value
        return parsed
    return value


def _first_key(record: Record, keys: Sequence[str]) -> str | None:
    """The first of ``keys`` that ``record`` holds a non-null value for (as SQL's coalesce)."""
    if not isinstance(record, Mapping):
        return None
    return next((key for key in keys if record.get(key) is not None), None)


def _first_value(record: Record, keys: Sequence[str]) -> object:
    key = _first_key(record, keys)
    return None if key is None else parse_if_text(record[key])


def request_wrapper(record: Record) -> object:
    """The value the request body is read from (as the SQL picks it), or None."""
    return _first_value(record, REQUEST_KEYS)


def request_body(record: Record) -> Mapping[str, Any] | None:
    """The request body, unwrapped as the SQL does, when it is an object."""
    wrapper = request_wrapper(record)
    if isinstance(wrapper, Mapping) and wrapper.get("messages") is None:
        for inner in ("body", "params"):
            if wrapper.get(inner) is not None:
                wrapper = parse_if_text(wrapper[inner])
                break
    return wrapper if isinstance(wrapper, Mapping) else None


def response_body(record: Record) -> object:
    """The response body (an object, a list of stream events, ...) unwrapped as the SQL does."""
    value = _first_value(record, RESPONSE_KEYS)
    if isinstance(value, Mapping):
        for outer in ("response", "result"):
            if isinstance(value.get(outer), Mapping):
                value = value[outer]
                break
    if isinstance(value, Mapping):
        if value.get("body") is not None:
            return parse_if_text(value["body"])
        if value.get("type") == "succeeded":
            return value.get("message")
    return value


def api_path(record: Record) -> str:
    """The API path or URL the record names (top level or in the request wrapper), or ``""``."""
    wrapper = request_wrapper(record)
    places: list[Mapping[str, Any]] = [record]
    if isinstance(wrapper, Mapping):
        places.append(wrapper)
    for place in places:
        for key in PATH_KEYS:
            value = place.get(key)
            if isinstance(value, str):
                return value
    return ""


def looks_like_envelope(record: Record) -> bool:
    """Is ``record`` a request log of this kind: a request wrapper, or a structured response?

    A record of the other formats is excluded: Bedrock and LiteLLM records carry
    ``FOREIGN_KEYS``; canonical records have flat ``messages``, at most a text ``response`` and
    no ``error`` (a failed call logged without bodies is an envelope record).
    The body's content is not required here: a gateway log also holds calls that are not chat
    (embeddings, a body offloaded elsewhere), and such records must count for this format in
    detection, to be quarantined by its mapping with a reason, not make the file look canonical.
    """
    if not isinstance(record, Mapping) or has_any(record, *FOREIGN_KEYS):
        return False
    if _first_key(record, REQUEST_KEYS) is not None:
        return True
    if isinstance(record.get("error"), (Mapping, str)) and record["error"]:
        return True  # a failed call or batch line: an error and no bodies
    response = _first_value(record, RESPONSE_KEYS)
    if isinstance(response, Mapping):
        return True
    first = _first_item(response)
    return isinstance(first, Mapping) and (
        "choices" in first
        or first.get("object") in _OPENAI_OBJECTS
        or first.get("type") in _ANTHROPIC_EVENTS
    )


def messages_of(body: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The message objects of a request body (empty when there are none)."""
    if body is None:
        return []
    messages = parse_if_text(body.get("messages"))
    if not isinstance(messages, list):
        return []
    return [m for m in messages if isinstance(m, Mapping)]


def content_blocks(messages: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Every content block (part) of the messages, one level deep."""
    blocks: list[Mapping[str, Any]] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            blocks.extend(b for b in content if isinstance(b, Mapping))
    return blocks


# --- telling the two APIs apart ------------------------------------------------------------
#
# Gateways log both APIs in the same envelope, so a record's API shows only in its bodies. Each
# list below holds what one API has and the other rejects. A request with nothing but user and
# assistant text turns fits both APIs; it maps the same either way.

_OPENAI_BODY_KEYS = frozenset(
    {
        "n",
        "logprobs",
        "top_logprobs",
        "max_completion_tokens",
        "reasoning_effort",
        "response_format",
        "frequency_penalty",
        "presence_penalty",
        "seed",
        "stop",
        "functions",
        "function_call",
        "stream_options",
        "safety_identifier",
        "user",
        "logit_bias",
        "modalities",
        "audio",
        "prediction",
        "parallel_tool_calls",
    }
)
_OPENAI_ROLES = frozenset({"system", "developer", "tool", "function"})
_OPENAI_PARTS = frozenset({"image_url", "input_audio", "file", "refusal"})
_OPENAI_OBJECTS = frozenset({"chat.completion", "chat.completion.chunk", "text_completion"})

_ANTHROPIC_BODY_KEYS = frozenset(
    {"system", "anthropic_version", "anthropic_beta", "thinking", "stop_sequences", "top_k"}
)
_ANTHROPIC_BLOCKS = frozenset(
    {
        "image",
        "document",
        "tool_use",
        "tool_result",
        "thinking",
        "redacted_thinking",
        "server_tool_use",
        "web_search_tool_result",
        "search_result",
    }
)
_ANTHROPIC_EVENTS = frozenset(
    {"message_start", "content_block_start", "content_block_delta", "message_delta", "ping"}
)


def _first_item(value: object) -> object:
    return value[0] if isinstance(value, list) and value else None


def has_openai_markers(record: Record) -> bool:
    """``record`` holds something only the OpenAI Chat Completions API has."""
    if (
        isinstance(record, Mapping)
        and "custom_id" in record
        and has_any(record, "body", "response")
    ):
        return True  # Batch lines: {"custom_id", "body"} / {"custom_id", "response", "error"}
    body = request_body(record)
    if body is not None:
        messages = messages_of(body)
        if _OPENAI_BODY_KEYS.intersection(body):
            return True
        if any(m.get("role") in _OPENAI_ROLES or "tool_calls" in m for m in messages):
            return True
        if any(b.get("type") in _OPENAI_PARTS for b in content_blocks(messages)):
            return True
        tool = _first_item(parse_if_text(body.get("tools")))
        if isinstance(tool, Mapping) and tool.get("type") == "function" and "function" in tool:
            return True
    response = response_body(record)
    first = _first_item(response)
    for candidate in (response, first):
        if isinstance(candidate, Mapping) and (
            "choices" in candidate or candidate.get("object") in _OPENAI_OBJECTS
        ):
            return True
    return "/completions" in api_path(record)


def has_anthropic_markers(record: Record) -> bool:
    """``record`` holds something only the Anthropic Messages API has."""
    if (
        _first_key(record, REQUEST_KEYS) == "params"
        or _first_key(record, RESPONSE_KEYS) == "result"
    ):
        return True  # Message Batches lines: {"custom_id", "params"} / {"custom_id", "result"}
    body = request_body(record)
    if body is not None:
        if _ANTHROPIC_BODY_KEYS.intersection(body):
            return True
        blocks = content_blocks(messages_of(body))
        if any(b.get("type") in _ANTHROPIC_BLOCKS or "cache_control" in b for b in blocks):
            return True
        tool = _first_item(parse_if_text(body.get("tools")))
        if isinstance(tool, Mapping) and "input_schema" in tool:
            return True
    response = response_body(record)
    if isinstance(response, Mapping) and response.get("type") in ("message", "error"):
        return True
    first = _first_item(response)
    if isinstance(first, Mapping) and first.get("type") in _ANTHROPIC_EVENTS:
        return True
    path = api_path(record)
    return "/v1/messages" in path or path.rstrip("/").endswith("/messages")
