"""``bedrock``: AWS Bedrock model invocation logs (Converse), plus the matching CloudTrail files.

Bedrock authenticates IAM principals, so an account is an IAM user ARN and its organisation an
AWS account id; there are no API keys. The invocation log holds no client address or user agent:
those arrive in CloudTrail records (one ``{"Records": [...]}`` file per day), joined on the
request id, with user agents as the AWS SDKs write them (mapped one-to-one from the client the
account runs, so shared agents stay shared).
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import polars as pl

from distillscan.simulate.content import ToolCall
from distillscan.simulate.dialects.base import (
    Dialect,
    dumps,
    lit,
    lookup,
    optional,
    quoted,
    table,
)

#: Bedrock's error codes for each simulated failure.
ERROR_CODES: dict[int, str] = {
    429: "ThrottlingException",
    500: "InternalServerException",
    529: "ServiceUnavailableException",
}
EFFORT_BUDGETS: dict[str, int] = {"medium": 4096, "high": 16000, "xhigh": 32000}
REGION = "us-east-1"


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def aws_account(org_id: str) -> str:
    """A 12-digit AWS account id standing for an organisation."""
    return f"{_digest(org_id) % 10**12:012d}"


def sdk_agent(agent: str) -> str:
    """The AWS SDK user agent of a client that would send ``agent`` to another API.

    The version numbers come from a hash of ``agent``, so one client keeps one agent and
    different clients almost never share one (tens of thousands of combinations per SDK).
    """
    if agent.startswith("Mozilla/"):
        return agent  # the console playground
    h = _digest(agent)
    a, b, c = h % 97, (h >> 16) % 89, (h >> 32) % 23
    lower = agent.lower()
    if "node" in lower or "typescript" in lower or "axios" in lower or "vercel" in lower:
        return (
            f"aws-sdk-js/3.{650 + a}.{c} ua/2.1 os/linux#5.10 lang/js md/nodejs#{18 + c % 5}.{b} "
            f"api/bedrock-runtime#3.{650 + a}.{c} m/E"
        )
    if "java" in lower or "okhttp" in lower or "spring" in lower:
        return (
            f"aws-sdk-java/2.{20 + c}.{a} Linux/5.10 OpenJDK_64-Bit_Server_VM/17.0.{b}+7-LTS "
            "Java/17 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/standard"
        )
    if "go-http" in lower or "curl" in lower:
        return (
            f"aws-cli/2.{10 + c}.{a} md/awscrt#0.{20 + b % 5}.{b} ua/2.0 os/linux#6.8 "
            "md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard "
            "md/command#bedrock-runtime.converse"
        )
    return (
        f"Boto3/1.{30 + c}.{a} md/Botocore#1.{30 + c}.{a} ua/2.0 os/linux#5.10 "
        f"md/arch#x86_64 lang/python#3.{10 + b % 3}.{b % 13} md/pyimpl#CPython "
        f"cfg/retry-mode#legacy Botocore/1.{30 + c}.{a}"
    )


class Bedrock(Dialect):
    """Converse invocation logs; CloudTrail companions carry addresses and agents."""

    name = "bedrock"
    tool_id_prefix = "tooluse_"
    companion_head = '{"Records":['
    companion_separator = ","
    companion_tail = "]}\n"

    def __init__(self, content: Any, image_data: list[str]) -> None:
        super().__init__(content, image_data)
        self.inner = {
            name: table([self._inner_param(name, v) or "" for v in content.param_values[name]])
            for name in ("max_tokens", "temperature", "reasoning")
        }

    # identities
    def account_identity(self, account_id: str, org_id: str) -> str:
        return f"arn:aws:iam::{aws_account(org_id)}:user/{account_id}"

    def org_identity(self, org_id: str) -> str:
        return aws_account(org_id)

    def agent_identity(self, agent: str) -> str:
        return sdk_agent(agent)

    def file_name(self, day: date) -> str:
        return f"logs/bedrock-invocations-{day.isoformat()}.jsonl"

    def companion_file_name(self, day: date) -> str | None:
        return f"logs/cloudtrail-{day.isoformat()}.json"

    # bodies
    def tools_json(self, tools: list[dict[str, Any]]) -> str:
        specs = [
            {
                "toolSpec": {
                    "name": t["name"],
                    "description": t["description"],
                    "inputSchema": {"json": t["parameters"]},
                }
            }
            for t in tools
        ]
        return dumps({"tools": specs})

    def tool_call_tail(self, call: ToolCall) -> str:
        return f'","name":{dumps(call.name)},"input":{dumps(call.input)}}}}}'

    def param_fragment(self, name: str, value: str | None) -> str:
        return ""  # assembled in request_body from the inner pieces

    @staticmethod
    def _inner_param(name: str, value: str | None) -> str | None:
        if value is None:
            return None
        if name == "max_tokens":
            return f'"maxTokens":{value}'
        if name == "temperature":
            return f'"temperature":{value}'
        if name == "reasoning":
            if value == "low":
                return None
            budget = (
                int(value.split(":")[1]) if value.startswith("budget:") else EFFORT_BUDGETS[value]
            )
            return f'"thinking":{{"type":"enabled","budget_tokens":{budget}}}'
        return None

    def _inner(self, name: str) -> pl.Expr:
        piece = pl.lit(self.inner[name]).gather(pl.col(f"p_{name}"))
        return pl.when(piece == "").then(None).otherwise(piece)

    def _image_block(self) -> pl.Expr:
        return pl.concat_str(
            [lit('{"image":{"format":"png","source":{"bytes":"'), self.image_column(), lit('"}}}')]
        )

    def user_message(self) -> pl.Expr:
        text = pl.concat_str([lit('{"text":'), quoted("user_text"), lit("}")])
        # a computer-use screenshot travels next to the tool result it illustrates
        screenshot = (
            pl.when(pl.col("screenshot"))
            .then(pl.concat_str([lit(","), self._image_block()]))
            .otherwise(lit(""))
        )
        tool_result = pl.concat_str(
            [
                lit('{"role":"user","content":[{"toolResult":{"toolUseId":"'),
                self.tool_use_id(1),
                lit('","content":['),
                text,
                lit('],"status":"success"}}'),
                screenshot,
                lit("]}"),
            ]
        )
        with_image = pl.concat_str(
            [lit('{"role":"user","content":['), self._image_block(), lit(","), text, lit("]}")]
        )
        plain = pl.concat_str([lit('{"role":"user","content":['), text, lit("]}")])
        return (
            pl.when(pl.col("tool_result"))
            .then(tool_result)
            .when(pl.col("images") > 0)
            .then(with_image)
            .otherwise(plain)
        )

    def _assistant_content(self) -> pl.Expr:
        tool_use = pl.concat_str(
            [lit(',{"toolUse":{"toolUseId":"'), self.tool_use_id(), self.tool_call_column()]
        )
        return pl.concat_str(
            [
                lit('[{"text":'),
                quoted("response"),
                lit("}"),
                pl.when(pl.col("agentic")).then(tool_use).otherwise(lit("")),
                lit("]"),
            ]
        )

    def assistant_message(self) -> pl.Expr:
        return pl.concat_str(
            [lit('{"role":"assistant","content":'), self._assistant_content(), lit("}")]
        )

    def request_body(self) -> pl.Expr:
        """The Converse request as ``inputBodyJson``."""
        inference = pl.concat_str(
            [self._inner("max_tokens"), self._inner("temperature")],
            separator=",",
            ignore_nulls=True,
        )
        thinking = self._inner("reasoning")
        return pl.concat_str(
            [
                lit('{"messages":'),
                pl.col("messages"),
                optional(
                    "system",
                    pl.concat_str([lit('[{"text":'), quoted("system"), lit("}]")]),
                    pl.col("has_system"),
                ),
                optional(
                    "inferenceConfig",
                    pl.concat_str([lit("{"), inference, lit("}")]),
                    inference != "",
                ),
                optional("toolConfig", self.tools_column(), pl.col("tools_set") >= 0),
                optional(
                    "additionalModelRequestFields",
                    pl.concat_str([lit("{"), thinking, lit("}")]),
                    thinking.is_not_null(),
                ),
                lit("}"),
            ]
        )

    def output(self) -> pl.Expr:
        """The ``output`` object of a successful call."""
        stop = pl.when(pl.col("agentic")).then(lit("tool_use")).otherwise(lit("end_turn"))
        total = (pl.col("prompt_tokens") + pl.col("completion_tokens")).cast(pl.String)
        return pl.concat_str(
            [
                lit('{"outputContentType":"application/json","outputTokenCount":'),
                self.number("completion_tokens"),
                lit(',"outputBodyJson":{"output":{"message":{"role":"assistant","content":'),
                self._assistant_content(),
                lit('}},"stopReason":"'),
                stop,
                lit('","usage":{"inputTokens":'),
                self.number("prompt_tokens"),
                lit(',"outputTokens":'),
                self.number("completion_tokens"),
                lit(',"totalTokens":'),
                total,
                lit("}}}"),
            ]
        )

    def _error_code(self) -> pl.Expr:
        return lookup(pl.col("status"), ERROR_CODES, ERROR_CODES[429])

    def line(self) -> pl.Expr:
        return pl.concat_str(
            [
                lit('{"schemaType":"ModelInvocationLog","schemaVersion":"1.0","timestamp":"'),
                self.iso_time(),
                lit('","accountId":"'),
                pl.col("org_id"),
                lit('","identity":{"arn":"'),
                pl.col("account_id"),
                lit('"},"region":"' + REGION + '","requestId":"'),
                self.uuid(),
                lit('","operation":"Converse","modelId":"'),
                pl.col("model"),
                lit('","input":{"inputContentType":"application/json"'),
                optional("inputTokenCount", self.number("prompt_tokens"), ~pl.col("error")),
                lit(',"inputBodyJson":'),
                self.request_body(),
                lit("}"),
                pl.when(pl.col("error"))
                .then(pl.concat_str([lit(',"errorCode":"'), self._error_code(), lit('"')]))
                .otherwise(pl.concat_str([lit(',"output":'), self.output()])),
                optional(
                    "requestMetadata",
                    pl.concat_str([lit('{"end_user_id":'), quoted("end_user_id"), lit("}")]),
                    pl.col("end_user_id").is_not_null(),
                ),
                lit("}"),
            ]
        )

    def companion_line(self) -> pl.Expr:
        """The CloudTrail data event recording the same call."""
        event_id = pl.concat_str(
            [pl.col("event_hex").str.slice(16, 16), pl.col("event_hex").str.slice(0, 16)]
        )
        eid = pl.concat_str(
            [
                event_id.str.slice(0, 8),
                lit("-"),
                event_id.str.slice(8, 4),
                lit("-"),
                event_id.str.slice(12, 4),
                lit("-"),
                event_id.str.slice(16, 4),
                lit("-"),
                event_id.str.slice(20, 12),
            ]
        )
        return pl.concat_str(
            [
                lit('{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"'),
                pl.col("account_id"),
                lit('","accountId":"'),
                pl.col("org_id"),
                lit('"},"eventTime":"'),
                self.iso_time(fmt="%Y-%m-%dT%H:%M:%SZ"),
                lit('","eventSource":"bedrock.amazonaws.com","eventName":"Converse","awsRegion":"'),
                lit(REGION),
                lit('","sourceIPAddress":"'),
                pl.col("source_ip"),
                lit('","userAgent":"'),
                pl.col("user_agent"),
                lit('","requestParameters":{"modelId":"'),
                pl.col("model"),
                lit('"},"responseElements":null'),
                pl.when(pl.col("error"))
                .then(pl.concat_str([lit(',"errorCode":"'), self._error_code(), lit('"')]))
                .otherwise(lit("")),
                lit(',"requestID":"'),
                self.uuid(),
                lit('","eventID":"'),
                eid,
                lit('","readOnly":true,"eventType":"AwsApiCall","managementEvent":false,'),
                lit('"recipientAccountId":"'),
                pl.col("org_id"),
                lit('","eventCategory":"Data"}'),
            ]
        )
