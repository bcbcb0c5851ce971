"""``--mapping FILE``: a log shape no built-in format knows, described in a small TOML file.

The file names the mapping and says where each canonical field is in a record::

    name = "acme-gateway"          # recorded as source_format "mapping:acme-gateway"
    [fields]
    account_id = "customer.id"     # a JSON path with dots, or a top-level CSV column name
    timestamp = "ts"
    prompt = "req.input"
    messages = "req.messages"      # a chat message list: derived columns as in canonical
    source_ip = "client_ip"

A path is a string of keys separated by dots (a number indexes a list: ``choices.0.text``), or a
TOML array of keys for names that contain dots (``["client.ip"]``). Values are read with JSON
Pointer expressions built from the keys, passed to DuckDB as escaped string literals: nothing in
the file becomes SQL. Keys must not contain control characters, double quotes or backslashes
(the record parser's key list cannot carry them; real log field names never do).

Every mistake is a :class:`~distillscan.errors.ConfigError` naming the file (and the line when it
can be found): a TOML syntax error, an unknown canonical field, an empty mapping, a missing
``account_id`` or ``timestamp``, a malformed path.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from distillscan.db import sql_string
from distillscan.errors import ConfigError
from distillscan.ingest.formats.base import LogFormat, Record
from distillscan.ingest.formats.sqlexpr import present, text_of
from distillscan.schema import RAW_COLUMNS

#: Fields whose value is handed to the shared validation as it is (``timestamp`` fills ``ts``).
VALUE_FIELDS: dict[str, str] = {
    ("timestamp" if c.name == "ts" else c.name): c.name for c in RAW_COLUMNS
}
#: Fields the derived columns are computed from, as the ``canonical`` format computes them:
#: ``messages`` (a chat message list: prompt, system prompt, turns, history, images), ``prompt``
#: (used when there is no list), ``system_prompt``, ``response_text``, ``tools`` (n_tools).
TEXT_FIELDS = ("messages", "prompt", "system_prompt", "response_text", "tools")
REQUIRED_FIELDS = ("account_id", "timestamp")
#: Names from the events table or the canonical input format that a mapping spells differently.
_SPELLED_AS = {
    "ts": "timestamp",
    "system": "system_prompt",
    "response": "response_text",
    "n": "n_choices",
}
_TOP_LEVEL = ("name", "fields")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_FORBIDDEN_IN_KEY = re.compile(r'[\x00-\x1f\x7f"\\]')
_EFFORTFUL = "('medium', 'high', 'xhigh', 'max')"


@dataclass(frozen=True, slots=True)
class FieldPath:
    """Where one canonical field is found in a record."""

    field: str
    keys: tuple[str, ...]

    @property
    def pointer(self) -> str:
        """The JSON Pointer (RFC 6901) to the value."""
        return "".join("/" + key.replace("~", "~0").replace("/", "~1") for key in self.keys)

    @property
    def display(self) -> str:
        """The path as written in the mapping, for messages."""
        return ".".join(self.keys)


def load(path: Path) -> LogFormat:
    """Read the TOML mapping at ``path`` and return the format it describes.

    Raises:
        ConfigError: the file cannot be read, is not valid TOML, or does not describe a usable
            mapping (the message names the file, the line where known, and the problem).
    """
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{path}: cannot read the mapping ({reason})") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"at line (\d+)", str(exc))
        where = f"{path}:{line.group(1)}" if line else str(path)
        raise ConfigError(
            f"{where}: invalid TOML: {exc}", hint="see docs/formats.md, section --mapping"
        ) from None
    return _build(path, text, document)


def _build(path: Path, text: str, document: Mapping[str, object]) -> LogFormat:
    def fail(message: str, key: str | None = None, hint: str | None = None) -> ConfigError:
        line = _line_of(text, key) if key else None
        where = f"{path}:{line}" if line else str(path)
        return ConfigError(f"{where}: {message}", hint=hint)

    for key in document:
        if key not in _TOP_LEVEL:
            raise fail(
                f"unknown setting {key!r}", key, hint="a mapping has `name` and a [fields] table"
            )
    name = document.get("name")
    if name is None:
        raise fail(
            "the mapping has no `name` (it is recorded as source_format mapping:NAME)",
            hint='add a line such as: name = "acme-gateway"',
        )
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise fail(
            "`name` must be a short identifier (letters, digits, '.', '_', '-')",
            "name",
            hint='for example: name = "acme-gateway"',
        )
    fields = document.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise fail(
            "the mapping has no [fields] table, or it is empty",
            hint='add a [fields] table, for example: account_id = "customer.id"',
        )
    known = [*VALUE_FIELDS, *TEXT_FIELDS]
    paths: list[FieldPath] = []
    for field, spec in fields.items():
        if field not in known:
            close = [_SPELLED_AS[field]] if field in _SPELLED_AS else []
            close = close or difflib.get_close_matches(field, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
            raise fail(f"unknown canonical field {field!r}", field, hint=hint)
        keys = _keys(spec)
        if keys is None:
            raise fail(
                f'{field}: expected a path such as "customer.id" or a list of keys, '
                f"got {spec!r}; keys must be non-empty and hold no control characters, "
                "double quotes or backslashes",
                field,
            )
        paths.append(FieldPath(field, keys))
    for required in REQUIRED_FIELDS:
        if required not in fields:
            raise fail(
                f"the mapping has no {required!r} field; it is required",
                hint=f'add `{required} = "..."` under [fields]',
            )
    return LogFormat(
        name=f"mapping:{name}",
        title=f"TOML mapping {path.name}",
        keys=_top_level_keys(paths),
        sql=mapping_sql(paths),
        sniff=_sniffer(next(p for p in paths if p.field == "account_id")),
        # Pointers are read from the record's text: two top-level keys that differ only in
        # case are two keys there, one in ``d``.
        reads_raw=True,
    )


def _keys(spec: object) -> tuple[str, ...] | None:
    """The keys of a path written as ``"a.b.c"`` (``"$."`` prefix allowed) or ``["a", "b.c"]``."""
    if isinstance(spec, str):
        spec = spec.removeprefix("$.")
        keys: Sequence[object] = spec.split(".")
    elif isinstance(spec, list) and spec:
        keys = spec
    else:
        return None
    if not all(isinstance(k, str) and k and not _FORBIDDEN_IN_KEY.search(k) for k in keys):
        return None
    return tuple(str(k) for k in keys)


def _line_of(text: str, key: str) -> int | None:
    """The first line that assigns ``key`` (bare or quoted) or opens it as a table."""
    name = rf"""(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')"""
    pattern = re.compile(rf"^\s*(?:{name}\s*=|\[\s*{name}\s*[.\]])")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def _top_level_keys(paths: list[FieldPath]) -> tuple[str, ...]:
    """The distinct top-level keys read (DuckDB's key extraction is case-insensitive)."""
    seen: dict[str, str] = {}
    for path in paths:
        seen.setdefault(path.keys[0].lower(), path.keys[0])
    return tuple(seen.values())


def _sniffer(account: FieldPath) -> Callable[[Record], bool]:
    def sniff(record: Record) -> bool:
        """A mapped record has the top-level key of its account path."""
        return isinstance(record, Mapping) and account.keys[0] in record

    return sniff


def mapping_sql(paths: list[FieldPath]) -> str:
    """The format query for ``paths``: every value is read by JSON Pointer from the raw record.

    One ``json_extract`` with the list of pointers parses each record once. Unmapped fields are
    NULL columns (not NULL constants: the shared macros cannot be bound on a constant NULL).
    """
    index = {p.field: i + 1 for i, p in enumerate(paths)}
    by_field = {p.field: p for p in paths}
    pointers = ", ".join(sql_string(p.pointer) for p in paths)

    def value(field: str) -> str:
        return f"v[{index[field]}]" if field in index else "NULL::JSON"

    values = ",\n    ".join(f"{value(field)} AS {column}" for field, column in VALUE_FIELDS.items())
    texts = ",\n        ".join(f"ds_unwrap({value(f)}) AS {f}_value" for f in TEXT_FIELDS)
    messages_error = "NULL"
    if "messages" in index:
        shown = sql_string(f"messages ({by_field['messages'].display}): expected a list of ")
        messages_error = (
            f"CASE WHEN {present('messages_value')} AND ds_type(messages_value) <> 'ARRAY' "
            f"THEN {shown} || '{{role, content}}' END"
        )
    n_tools = "ds_count(tools_value)" if "tools" in index else "NULL::BIGINT"
    reasoning = "NULL::BOOLEAN"
    if "reasoning_effort" in index or "thinking_budget" in index:
        effort, budget = value("reasoning_effort"), value("thinking_budget")
        reasoning = (
            f"coalesce(lower({text_of(effort)}) IN {_EFFORTFUL} "
            f"OR try_cast({text_of(budget)} AS DOUBLE) > 0, false)"
        )
    return f"""
WITH mapped AS (
    SELECT source_line, raw, json_extract(raw, [{pointers}]) AS v
    FROM parsed
),
texts AS (
    SELECT *,
        {texts}
    FROM mapped
),
lists AS (
    SELECT *,
        ds_messages(messages_value) AS msgs,
        {present("prompt_value")} AS has_prompt
    FROM texts
)
SELECT source_line, raw,
    {messages_error} AS format_error,
    {values},
    coalesce(ds_content_text(system_prompt_value), ds_chat_system(msgs)) AS system_prompt,
    coalesce(ds_chat_prompt(msgs), ds_content_text(prompt_value)) AS prompt,
    CASE WHEN len(msgs) > 0 THEN ds_chat_turns(msgs) WHEN has_prompt THEN 1 END AS n_turns,
    CASE WHEN len(msgs) > 0 THEN ds_chat_history(msgs) WHEN has_prompt THEN false END
        AS has_history,
    CASE WHEN len(msgs) > 0 THEN ds_chat_images(msgs) WHEN has_prompt THEN 0 END AS n_images,
    {n_tools} AS n_tools,
    {reasoning} AS reasoning_requested,
    ds_content_text(response_text_value) AS response_text,
    len(msgs) > 0 OR has_prompt AS text_available
FROM lists
"""
