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

What real exports need beyond a path is said with an inline table::

    account_id = { paths = ["consumer.username", "consumer.id"] }   # the first one present
    messages = { path = "ai.proxy.payload.request", json = "messages" }  # JSON text, then a path
    account_id = { path = "identity.arn", pattern = "assumed-role/([^/]+)" }  # a regex's group
    account_id = { value = "batch-2026-01" }                        # a constant
    timestamp = { path = "when", format = "%d.%m.%Y %H:%M:%S" }     # a strptime format

``json`` says the value at the path may be JSON written as text (a body logged as a string, a
CSV cell) and gives the path to read inside it once parsed (``""`` for the whole value; a list
of paths: the first one present). A value that is already JSON is read the same way, and one
that is neither an object nor a list (a plain name) is taken as it is, so ``paths`` may mix a
plain column with a body (``{ paths = ["model", "body"], json = "model" }``).
``pattern`` is an RE2 regular expression with one capture group, applied to the value's text;
no match leaves the field empty. Message lists may be chat messages (``role``/``content``) or
Gemini ``contents`` (``role``/``parts``, ``model`` for the assistant).

The same language describes the gateway exports distillscan reads out of the box
(:mod:`.gateways`): each is a TOML file in ``distillscan/data/formats`` with a ``title`` and a
``[detect]`` table naming the top-level keys that tell its records apart.

Every mistake is a :class:`~distillscan.errors.ConfigError` naming the file (and the line when it
can be found): a TOML syntax error, an unknown canonical field, an empty mapping, a missing
``account_id`` or ``timestamp``, a malformed path, pattern or format.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from distillscan.db import sql_string
from distillscan.errors import ConfigError
from distillscan.ingest.formats.base import LogFormat, Record
from distillscan.ingest.formats.sqlexpr import first_present, present, text_of
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
#: Keys of a field written as an inline table.
_SPEC_KEYS = ("path", "paths", "json", "pattern", "value", "format")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_FORBIDDEN_IN_KEY = re.compile(r'[\x00-\x1f\x7f"\\]')
_EFFORTFUL = "('medium', 'high', 'xhigh', 'max')"


Keys = tuple[str, ...]


def pointer(keys: Keys) -> str:
    """The JSON Pointer (RFC 6901) to the value at ``keys`` ('' for the value itself)."""
    return "".join("/" + key.replace("~", "~0").replace("/", "~1") for key in keys)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """Where one canonical field is found in a record, and how its value is read.

    Attributes:
        field: The canonical field.
        paths: Where the value may be, in order: the first one present is used.
        inner: For a value that is JSON text: the paths inside it once parsed, the first one
            present is used (``((),)`` for the whole parsed value); None when the value is read
            as it is.
        pattern: A regular expression whose first group is the value (None: the whole value),
            applied in each place: the first place where it matches is used.
        constant: A constant value instead of a path (``paths`` is then empty).
        time_format: A strptime format for a timestamp string.
    """

    field: str
    paths: tuple[Keys, ...]
    inner: tuple[Keys, ...] | None = None
    pattern: str | None = None
    constant: str | int | float | bool | None = None
    time_format: str | None = None

    @property
    def display(self) -> str:
        """The (first) path as written in the mapping, for messages."""
        return ".".join(self.paths[0]) if self.paths else "a constant"


def load(path: Path) -> LogFormat:
    """Read the TOML mapping at ``path`` and return the format it describes.

    Raises:
        ConfigError: the file cannot be read, is not valid TOML, or does not describe a usable
            mapping (the message names the file, the line where known, and the problem).
    """
    text, document = read_toml(path)
    name, specs = build(path, text, document, top_level=_TOP_LEVEL)
    account = next(s for s in specs if s.field == "account_id")
    return LogFormat(
        name=f"mapping:{name}",
        title=f"TOML mapping {path.name}",
        keys=top_level_keys(specs),
        sql=mapping_sql(specs),
        sniff=_sniffer(account),
        # Pointers are read from the record's text: two top-level keys that differ only in
        # case are two keys there, one in ``d``.
        reads_raw=True,
    )


def read_toml(path: Path) -> tuple[str, dict[str, object]]:
    """The text and the parsed document of a TOML mapping file.

    Raises:
        ConfigError: the file cannot be read or is not valid TOML.
    """
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{path}: cannot read the mapping ({reason})") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"at line (\d+)", str(exc))
        where = f"{path}:{line.group(1)}" if line else str(path)
        raise ConfigError(
            f"{where}: invalid TOML: {exc}", hint="see docs/formats.md, section --mapping"
        ) from None


def build(
    path: Path, text: str, document: Mapping[str, object], top_level: Sequence[str]
) -> tuple[str, list[FieldSpec]]:
    """The name and the field specs of a parsed mapping document.

    Raises:
        ConfigError: a setting is unknown or malformed, or a required field is missing.
    """

    def fail(message: str, key: str | None = None, hint: str | None = None) -> ConfigError:
        line = _line_of(text, key) if key else None
        where = f"{path}:{line}" if line else str(path)
        return ConfigError(f"{where}: {message}", hint=hint)

    for key in document:
        if key not in top_level:
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
    specs: list[FieldSpec] = []
    for field, written in fields.items():
        if field not in known:
            close = [_SPELLED_AS[field]] if field in _SPELLED_AS else []
            close = close or difflib.get_close_matches(field, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
            raise fail(f"unknown canonical field {field!r}", field, hint=hint)
        try:
            specs.append(_spec(field, written))
        except ValueError as exc:
            raise fail(f"{field}: {exc}", field) from None
    for required in REQUIRED_FIELDS:
        if required not in fields:
            raise fail(
                f"the mapping has no {required!r} field; it is required",
                hint=f'add `{required} = "..."` under [fields]',
            )
    return name, specs


_PATH_HELP = (
    'expected a path such as "customer.id" or a list of keys, got {!r}; keys must be '
    "non-empty and hold no control characters, double quotes or backslashes"
)


def _path(written: object) -> Keys:
    keys = _keys(written)
    if keys is None:
        raise ValueError(_PATH_HELP.format(written))
    return keys


def _spec(field: str, written: object) -> FieldSpec:
    """One field's spec from what the mapping says (raises ValueError with the reason)."""
    if not isinstance(written, dict):
        return FieldSpec(field, (_path(written),))
    unknown = [key for key in written if key not in _SPEC_KEYS]
    if unknown:
        raise ValueError(f"unknown setting {unknown[0]!r} (known: {', '.join(_SPEC_KEYS)})")
    sources = [key for key in ("path", "paths", "value") if key in written]
    if len(sources) != 1:
        raise ValueError("give exactly one of `path`, `paths` or `value`")
    if "value" in written:
        constant = written["value"]
        if not isinstance(constant, str | int | float | bool) or len(written) > 1:
            raise ValueError("`value` is a constant string, number or boolean, on its own")
        if isinstance(constant, float) and not math.isfinite(constant):
            raise ValueError(f"`value` must be a finite number, got {constant}")
        return FieldSpec(field, (), constant=constant)
    if "path" in written:
        paths: tuple[Keys, ...] = (_path(written["path"]),)
    else:
        listed = written["paths"]
        if not isinstance(listed, list) or not listed:
            raise ValueError("`paths` is a list of paths, the first one present is used")
        paths = tuple(_path(p) for p in listed)
    inner: tuple[Keys, ...] | None = None
    if "json" in written:
        inside = written["json"]
        listed_inside = inside if isinstance(inside, list) and inside else [inside]
        if all(isinstance(i, str) for i in listed_inside):
            inner = tuple(_path(i) if i else () for i in listed_inside)
        else:
            raise ValueError(
                "`json` is the path inside the parsed text, or a list of them (the first one "
                'present is used; "" for all of it)'
            )
    pattern = written.get("pattern")
    if pattern is not None:
        _check_pattern(pattern)
    time_format = written.get("format")
    if time_format is not None and (
        field != "timestamp" or not isinstance(time_format, str) or "%" not in time_format
    ):
        raise ValueError(
            '`format` is a strptime format such as "%d.%m.%Y %H:%M:%S", for timestamp only'
        )
    return FieldSpec(field, paths, inner, pattern, None, time_format)


def _check_pattern(pattern: object) -> None:
    """A pattern is RE2 (DuckDB's dialect) with exactly one capture group."""
    if not isinstance(pattern, str) or not pattern:
        raise ValueError("`pattern` is a regular expression with one capture group")
    con = duckdb.connect()
    try:
        groups = con.execute("SELECT regexp_extract('', $p, 1) IS NOT NULL", {"p": pattern})
        groups.fetchall()
    except duckdb.Error as exc:
        reason = str(exc).splitlines()[0]
        raise ValueError(
            f"`pattern` {pattern!r} is not a regular expression DuckDB reads ({reason})"
        ) from None
    finally:
        con.close()
    if re.compile(pattern).groups != 1:
        raise ValueError(f"`pattern` {pattern!r} needs exactly one capture group (...)")


def _keys(spec: object) -> Keys | None:
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


def top_level_keys(specs: list[FieldSpec]) -> tuple[str, ...]:
    """The distinct top-level keys read (DuckDB's key extraction is case-insensitive)."""
    seen: dict[str, str] = {}
    for spec in specs:
        for keys in spec.paths:
            seen.setdefault(keys[0].lower(), keys[0])
    return tuple(seen.values())


def _sniffer(account: FieldSpec) -> Callable[[Record], bool]:
    def sniff(record: Record) -> bool:
        """A mapped record has the top-level key of its account path (or a constant account)."""
        return isinstance(record, Mapping) and (
            not account.paths or any(keys[0] in record for keys in account.paths)
        )

    return sniff


def _constant_sql(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "to_json(true)" if value else "to_json(false)"
    if isinstance(value, int | float):
        return f"to_json({value!r}::DOUBLE)" if isinstance(value, float) else f"to_json({value})"
    return f"to_json({sql_string(value)}::VARCHAR)"


class _Steps:
    """The derived values of a mapping as named columns of successive CTEs.

    A field read from several places, each holding JSON text to read inside, refers to every
    intermediate value several times (is it present? what type? its value). Written as one
    expression those references nest, and the text DuckDB plans grows with the product of the
    places and inner paths (Kong's three places times two inner paths took 23 s to plan for
    one record); as columns of the previous step each is one name.
    """

    def __init__(self) -> None:
        self.steps: list[list[str]] = []
        self.named: dict[tuple[int, str], str] = {}

    def add(self, step: int, name: str, sql: str, *, final: bool = False) -> str:
        """Compute ``sql`` as column ``name`` in CTE number ``step`` and return the name. An
        intermediate value the step already computes (the same body parsed for two fields) is
        not computed again: its first name is returned. A ``final`` column always gets its own
        name (two fields may read the same place)."""
        if not final and (step, sql) in self.named:
            return self.named[step, sql]
        while len(self.steps) <= step:
            self.steps.append([])
        self.steps[step].append(f"{sql} AS {name}")
        self.named.setdefault((step, sql), name)
        return name

    def ctes(self, source: str) -> tuple[str, str]:
        """The CTE text (``step_1 AS (...), ...``, ending in a comma) and the last CTE's name."""
        text, last = "", source
        for number, columns in enumerate(self.steps):
            if not columns:
                continue
            name = f"step_{number}"
            listed = ",\n        ".join(columns)
            text += f"{name} AS (\n    SELECT *,\n        {listed}\n    FROM {last}\n),\n"
            last = name
        return text, last


def _read_inside(steps: _Steps, value: str, spec: FieldSpec, place: str) -> str:
    """The column reading ``spec.inner`` inside one value that may be JSON text (see the module
    doc); ``place`` names its intermediate columns.

    A value that is neither an object nor a list once parsed (a plain name, a number) is taken
    as it is; a message list read this way that turns out not to be a list is left out (the
    ``prompt`` field may read the same value as text).
    """
    assert spec.inner is not None
    parsed = steps.add(0, f"{place}_parsed", f"ds_unwrap({value})")
    inside = [
        steps.add(1, f"{place}_in{n}", f"json_extract({parsed}, {sql_string(pointer(keys))})")
        if keys
        else parsed
        for n, keys in enumerate(spec.inner)
    ]
    found = (
        inside[0] if len(inside) == 1 else steps.add(2, f"{place}_found", first_present(*inside))
    )
    if spec.field == "messages":
        chosen = f"CASE WHEN ds_type({found}) = 'ARRAY' THEN {found} END"
    else:
        chosen = f"CASE WHEN ds_type({parsed}) IN ('OBJECT', 'ARRAY') THEN {found} ELSE {value} END"
    return steps.add(3, f"{place}_inside", chosen)


def _value_sql(steps: _Steps, spec: FieldSpec, slot: Callable[[Keys], str]) -> str:
    """The column holding the JSON value of one field, ``slot`` giving the SQL of each path's
    value (its intermediate values computed in ``steps``)."""
    name = f"values_{spec.field}"
    if spec.constant is not None:
        return steps.add(6, name, _constant_sql(spec.constant), final=True)
    candidates = [slot(keys) for keys in spec.paths]
    if spec.inner is not None:
        candidates = [
            _read_inside(steps, c, spec, f"{spec.field}_{n}") for n, c in enumerate(candidates)
        ]
    if spec.pattern is not None:
        # Each place separately: the first one that matches is used ("-" for a missing header
        # in one place does not hide the address in the next).
        candidates = [
            steps.add(
                4,
                f"{spec.field}_{n}_matched",
                f"to_json(nullif(regexp_extract({text_of(c)}, {sql_string(spec.pattern)}, 1), ''))",
            )
            for n, c in enumerate(candidates)
        ]
    value = candidates[0] if len(candidates) == 1 else first_present(*candidates)
    if spec.time_format is None:
        return steps.add(6, name, value, final=True)
    read = steps.add(5, f"{spec.field}_read", value)
    parsed = f"try_strptime({text_of(read)}, {sql_string(spec.time_format)})::TIMESTAMP"
    return steps.add(6, name, f"to_json(strftime({parsed}, '%Y-%m-%dT%H:%M:%S.%f'))", final=True)


def mapping_sql(specs: list[FieldSpec]) -> str:
    """The format query for ``specs``: every value is read by JSON Pointer from the raw record.

    One ``json_extract`` with the list of pointers parses each record once. Unmapped fields are
    NULL columns (not NULL constants: the shared macros cannot be bound on a constant NULL).
    """
    slots: dict[Keys, int] = {}
    for spec in specs:
        for keys in spec.paths:
            slots.setdefault(keys, len(slots) + 1)
    pointers = ", ".join(sql_string(pointer(keys)) for keys in slots) or "'/'"
    by_field = {s.field: s for s in specs}

    def value(field: str) -> str:
        spec = by_field.get(field)
        if spec is None:
            return "NULL::JSON"
        return f"values_{field}"

    steps = _Steps()
    for spec in specs:
        _value_sql(steps, spec, lambda keys: f"v[{slots[keys]}]")
    derived, fields = steps.ctes("mapped")
    values = ",\n    ".join(f"{value(field)} AS {column}" for field, column in VALUE_FIELDS.items())
    texts = ",\n        ".join(f"ds_unwrap({value(f)}) AS {f}_value" for f in TEXT_FIELDS)
    messages_error = "NULL"
    if "messages" in by_field:
        shown = sql_string(f"messages ({by_field['messages'].display}): expected a list of ")
        messages_error = (
            f"CASE WHEN {present('messages_value')} AND ds_type(messages_value) <> 'ARRAY' "
            f"THEN {shown} || '{{role, content}}' END"
        )
    n_tools = "ds_count(tools_value)" if "tools" in by_field else "NULL::BIGINT"
    reasoning = "NULL::BOOLEAN"
    if "reasoning_effort" in by_field or "thinking_budget" in by_field:
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
{derived}texts AS (
    SELECT *,
        {texts}
    FROM {fields}
),
lists AS (
    SELECT *,
        ds_any_messages(messages_value) AS msgs,
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
