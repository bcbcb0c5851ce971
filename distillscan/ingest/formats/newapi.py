"""``newapi``: one-api / new-api reseller logs (the ``logs`` table), metadata only.

These gateways resell model access; their log table records who called which model when, with
token counts, the API token used and the client IP, but never the prompt or the answer
(``content`` is a billing note such as "model ratio 2.5, group ratio 1"). So ``prompt``,
``system_prompt`` and ``response_text`` are NULL, the message-shape columns are NULL (unknown,
not zero), and ``text_available`` is false: passes that read prompt text skip these events, and
only the timing, volume, model and infrastructure passes can use them.

Who is the account: the reseller's customer, ``user_id`` (stable; ``username`` can be missing in
older rows, so it is not used as the id). ``api_key_id`` is the API token (``token_id``, else
``token_name``), ``source_ip`` is ``ip``. ``group`` (a pricing tier) and ``channel`` (the upstream
provider account) are not customer attributes and are not mapped.

The table also holds top-ups, admin actions, system notices and refunds. Only consume (type 2)
and error (type 5) records are API calls; every other type is quarantined with a reason naming
it, so the manifest still accounts for every row. A row without ``type`` is taken as a call.
"""

from __future__ import annotations

from distillscan.ingest.formats.base import LogFormat, Record, has_any, has_keys
from distillscan.ingest.formats.sqlexpr import first_present, present, text_of

#: Log types of one-api / new-api (``model/log.go``) and whether each is an API call.
LOG_TYPES: dict[int, tuple[str, bool]] = {
    0: ("unknown", False),
    1: ("top-up", False),
    2: ("consume", True),
    3: ("manage", False),
    4: ("system", False),
    5: ("error", True),
    6: ("refund", False),
}

_TYPE = text_of("d.type")
_TYPE_NAMES = ", ".join(f"'{code}': '{name}'" for code, (name, _) in LOG_TYPES.items())
_CALL_TYPES = ", ".join(f"'{code}'" for code, (_, is_call) in LOG_TYPES.items() if is_call)
_TOKEN_ID = f"(CASE WHEN coalesce({text_of('d.token_id')} <> '0', false) THEN d.token_id END)"

SQL = f"""
SELECT source_line, raw,
    CASE WHEN {present("d.type")} AND coalesce({_TYPE} NOT IN ({_CALL_TYPES}), true)
         THEN printf('type: %s (%s) is not an API call; only consume (2) and error (5) '
                     || 'records are events',
                     coalesce({_TYPE}, left(d.type::VARCHAR, 40)),
                     coalesce(MAP {{{_TYPE_NAMES}}}[{_TYPE}], 'not a known log type'))
    END AS format_error,
    {first_present("d.request_id", "d.id")} AS event_id,
    d.created_at AS ts,
    d.user_id AS account_id,
    {first_present(_TOKEN_ID, "d.token_name")} AS api_key_id,
    NULL::JSON AS org_id,
    NULL::JSON AS end_user_id,
    d.ip AS source_ip,
    NULL::JSON AS user_agent,
    d.model_name AS model,
    NULL::JSON AS operation,
    NULL::VARCHAR AS system_prompt,
    NULL::VARCHAR AS prompt,
    NULL::BIGINT AS n_turns,
    NULL::BOOLEAN AS has_history,
    NULL::BIGINT AS n_images,
    NULL::BIGINT AS n_tools,
    NULL::JSON AS max_tokens,
    NULL::JSON AS temperature,
    NULL::JSON AS n_choices,
    NULL::JSON AS logprobs,
    NULL::JSON AS reasoning_effort,
    NULL::JSON AS thinking_budget,
    NULL::BOOLEAN AS reasoning_requested,
    NULL::VARCHAR AS response_text,
    d.prompt_tokens, d.completion_tokens,
    CASE {_TYPE} WHEN '5' THEN to_json('error') ELSE to_json('ok') END AS status,
    false AS text_available
FROM parsed
"""


def sniff(record: Record) -> bool:
    """new-api log rows have ``user_id``, ``created_at``, ``model_name`` and quota/token fields."""
    return has_keys(record, "user_id", "created_at", "model_name") and has_any(
        record, "quota", "token_name", "token_id", "channel", "channel_id", "use_time"
    )


FORMAT = LogFormat(
    name="newapi",
    title="one-api / new-api reseller logs (metadata only: no prompt text)",
    keys=(
        "id",
        "request_id",
        "user_id",
        "created_at",
        "type",
        "model_name",
        "token_name",
        "token_id",
        "prompt_tokens",
        "completion_tokens",
        "ip",
    ),
    sql=SQL,
    sniff=sniff,
)
