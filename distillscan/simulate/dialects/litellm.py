"""``litellm``: LiteLLM proxy SpendLogs rows (``docs/formats.md``), as a JSON lines export.

The proxy's customer is the virtual key's ``user`` (the account), its ``team_id`` the
organisation, ``end_user`` the application's own user. Keys appear as their SHA-256 hash, the
client's address and user agent in ``metadata``, the messages in OpenAI's shape (LiteLLM
normalises every provider to it) and the request settings in ``proxy_server_request``.
"""

from __future__ import annotations

import hashlib
from datetime import date

import polars as pl

from distillscan.simulate.dialects.base import dumps, lit, lookup, optional, quoted
from distillscan.simulate.dialects.openai import OpenAI

#: LiteLLM's error classes for each simulated failure.
ERROR_CLASSES: dict[int, str] = {
    429: "RateLimitError",
    500: "InternalServerError",
    529: "ServiceUnavailableError",
}


class LiteLLM(OpenAI):
    """SpendLogs rows; messages in OpenAI's shape."""

    name = "litellm"

    def key_identity(self, key: str) -> str:
        return hashlib.sha256(key.encode("utf-8")).hexdigest()

    def file_name(self, day: date) -> str:
        return f"logs/litellm-spendlogs-{day.isoformat()}.jsonl"

    def param_fragment(self, name: str, value: str | None) -> str:
        if value is None:
            return ""
        if name == "reasoning":
            if value.startswith("budget:"):
                budget = int(value.split(":")[1])
                return f',"thinking":{{"type":"enabled","budget_tokens":{budget}}}'
            return f',"reasoning_effort":{dumps(value)}'
        return f',"{name}":{value}'

    def _error_information(self) -> pl.Expr:
        return pl.concat_str(
            [
                lit(',"error_information":{"error_code":"'),
                pl.col("status").cast(pl.String),
                lit('","error_class":"'),
                lookup(pl.col("status"), ERROR_CLASSES, "APIError"),
                lit('"}'),
            ]
        )

    def line(self) -> pl.Expr:
        request_id = pl.concat_str([lit("chatcmpl-"), self.uuid()])
        status = pl.when(pl.col("error")).then(lit("failure")).otherwise(lit("success"))
        latency_us = (400_000 + pl.col("completion_tokens") * 12_000).clip(upper_bound=120_000_000)
        end = (pl.col("ts") + latency_us).alias("end")
        fmt = "%Y-%m-%dT%H:%M:%S%.6f+00:00"
        # a failed call is logged with zero tokens and zero spend
        prompt_tokens = pl.when(pl.col("error")).then(0).otherwise(pl.col("prompt_tokens"))
        spend = ((prompt_tokens * 3 + pl.col("completion_tokens") * 15) / 1_000_000).round(7)
        total = (prompt_tokens + pl.col("completion_tokens")).cast(pl.String)
        completion = pl.concat_str(
            [
                lit('{"id":"'),
                request_id,
                lit('","object":"chat.completion","model":"'),
                pl.col("model"),
                lit('","choices":[{"index":0,"message":{"role":"assistant","content":'),
                quoted("response"),
                lit('},"finish_reason":"stop"}]}'),
            ]
        )
        proxy_request = pl.concat_str(
            [
                lit('{"model":"'),
                pl.col("model"),
                lit('"'),
                *self.param_columns(),
                optional("tools", self.tools_column(), pl.col("tools_set") >= 0),
                optional("user", quoted("end_user_id"), pl.col("end_user_id").is_not_null()),
                lit("}"),
            ]
        )
        metadata = pl.concat_str(
            [
                lit('{"user_api_key_user_id":"'),
                pl.col("account_id"),
                lit('","user_api_key_team_id":"'),
                pl.col("org_id"),
                lit('","requester_ip_address":"'),
                pl.col("source_ip"),
                lit('","headers":{"user-agent":"'),
                pl.col("user_agent"),
                lit('"},"status":"'),
                status,
                lit('"'),
                pl.when(pl.col("error")).then(self._error_information()).otherwise(lit("")),
                lit("}"),
            ]
        )
        return pl.concat_str(
            [
                lit('{"request_id":"'),
                request_id,
                lit('","call_type":"acompletion","api_key":"'),
                pl.col("api_key_id"),
                lit('","spend":'),
                spend.cast(pl.String),
                lit(',"total_tokens":'),
                total,
                lit(',"prompt_tokens":'),
                prompt_tokens.cast(pl.String),
                lit(',"completion_tokens":'),
                self.number("completion_tokens"),
                lit(',"startTime":"'),
                self.iso_time(fmt=fmt),
                lit('","endTime":"'),
                end.cast(pl.Datetime("us")).dt.strftime(fmt),
                lit('","model":"'),
                pl.col("model"),
                lit('-20260115","model_group":"'),
                pl.col("model"),
                lit('","user":"'),
                pl.col("account_id"),
                lit('","end_user":'),
                pl.when(pl.col("end_user_id").is_not_null())
                .then(quoted("end_user_id"))
                .otherwise(lit('""')),
                lit(',"team_id":"'),
                pl.col("org_id"),
                lit('","organization_id":null,"metadata":'),
                metadata,
                lit(',"cache_hit":"False","request_tags":[],"requester_ip_address":"'),
                pl.col("source_ip"),
                lit('","messages":'),
                pl.col("messages"),
                lit(',"response":'),
                pl.when(pl.col("error")).then(lit("{}")).otherwise(completion),
                lit(',"status":"'),
                status,
                lit('","proxy_server_request":'),
                proxy_request,
                lit("}"),
            ]
        )
