-- Shared DuckDB macros for format mappings (created on every ingest connection).
-- They read JSON values as the big chat APIs shape them: OpenAI Chat Completions, Anthropic
-- Messages, Bedrock Converse and distillscan's canonical schema share one message model.

-- The JSON type of a value, as json_type() names it. JSON values here are written by DuckDB's
-- parser (no leading whitespace), so the first byte tells a string, an array or an object
-- without parsing a long value again; anything else is asked of json_type().
CREATE OR REPLACE TEMP MACRO ds_type(j) AS
    CASE left(j::VARCHAR, 1)
        WHEN '"' THEN 'VARCHAR' WHEN '[' THEN 'ARRAY' WHEN '{' THEN 'OBJECT'
        ELSE json_type(j)
    END;

-- A text that is empty or nothing but blanks, tabs and line breaks. The first character settles
-- almost every text without trimming a copy of it. (CASE, not AND/OR: in a projection DuckDB
-- evaluates every operand of AND and OR on every row.)
-- Text that is only invisible (no-break and other Unicode spaces, zero-width and other format
-- characters such as U+200B or a byte-order mark) is blank too: an id made of it names nobody.
CREATE OR REPLACE TEMP MACRO ds_blank(s) AS
    CASE WHEN s = '' THEN true
         WHEN ascii(s) IN (9, 10, 13, 32) THEN trim(s, chr(32) || chr(9) || chr(10) || chr(13)) = ''
              OR regexp_full_match(s, '[\s\p{Z}\p{Cf}]*')
         WHEN ascii(s) > 127 THEN regexp_full_match(s, '[\s\p{Z}\p{Cf}]*')
         ELSE false END;

-- The keys a JSON object's text gives more than once (top level), sorted.
CREATE OR REPLACE TEMP MACRO ds_duplicate_keys(raw) AS
    list_sort(list_distinct(list_filter(json_keys(raw),
        lambda k, i: list_position(json_keys(raw), k) <> i)));

-- A value that may hold JSON inside a string (CSV cells, double-encoded exports). The first
-- test settles the common case, a plain string or no string at all, without a parse: only a
-- string whose text starts (after spaces) with a bracket or an escape can hold JSON.
CREATE OR REPLACE TEMP MACRO ds_unwrap(j) AS
    CASE
        WHEN NOT regexp_matches(j::VARCHAR, '^\s*"[ ]*[\[{\\]') THEN j
        WHEN json_type(j) = 'VARCHAR'
             AND left(ltrim(json_extract_string(j, '$')), 1) IN ('[', '{')
             AND json_valid(json_extract_string(j, '$'))
        THEN json_extract_string(j, '$')::JSON
        ELSE j
    END;

-- The texts of a list joined by newlines, NULLs skipped; NULL when none is left. (Not
-- array_to_string: it names its list twice, and DuckDB then computes the list, lambdas and all,
-- once for every row ahead of any CASE or coalesce that was meant to spare most rows of it.)
CREATE OR REPLACE TEMP MACRO ds_lines(texts) AS list_aggr(texts, 'string_agg', chr(10));

-- The elements of a JSON array (empty for anything else).
CREATE OR REPLACE TEMP MACRO ds_items(j) AS
    CASE WHEN ds_type(j) = 'ARRAY' THEN json_extract(j, '$[*]') ELSE []::JSON[] END;

-- Text of one content block: OpenAI text parts, Anthropic/Converse text blocks, bare strings.
CREATE OR REPLACE TEMP MACRO ds_block_text(b) AS
    CASE
        WHEN ds_type(b) = 'VARCHAR' THEN json_extract_string(b, '$')
        WHEN json_extract_string(b, '$.type') IN ('text', 'input_text', 'output_text')
            THEN json_extract_string(b, '$.text')
        -- Converse blocks carry no type: {"text": "..."}
        WHEN json_extract_string(b, '$.type') IS NULL THEN json_extract_string(b, '$.text')
    END;

-- Text of a message's content: a string, or its text blocks joined by newlines.
-- (nullif outside the CASE: inside a branch, DuckDB evaluates its argument twice.)
CREATE OR REPLACE TEMP MACRO ds_content_text(c) AS
    nullif(CASE ds_type(c)
        WHEN 'VARCHAR' THEN json_extract_string(c, '$')
        WHEN 'ARRAY' THEN ds_lines([ds_block_text(b) FOR b IN ds_items(c)])
    END, '');

-- A text column of a typed (Parquet) export, as ds_content_text(ds_unwrap(to_json(s))) reads it:
-- text that is a JSON list or object holds content blocks. (Nested CASEs: an AND would validate
-- every text as JSON.)
CREATE OR REPLACE TEMP MACRO ds_text_value(s) AS
    CASE WHEN left(ltrim(s), 1) NOT IN ('[', '{') THEN nullif(s, '')
         WHEN json_valid(s) THEN ds_content_text(s::JSON)
         ELSE nullif(s, '') END;

-- Text carried by tool results in a content list (agentic turns often have nothing else).
CREATE OR REPLACE TEMP MACRO ds_tool_result_text(c) AS
    ds_lines(
        [coalesce(ds_content_text(json_extract(b, '$.content')),
                  ds_content_text(json_extract(b, '$.toolResult.content')))
         FOR b IN ds_items(c)
         IF json_extract_string(b, '$.type') = 'tool_result' OR json_type(b, '$.toolResult') = 'OBJECT']);

-- Image inputs in a content list.
CREATE OR REPLACE TEMP MACRO ds_content_images(c) AS
    len([b FOR b IN ds_items(c)
         IF json_extract_string(b, '$.type') IN ('image', 'image_url', 'input_image')
            OR json_type(b, '$.image') = 'OBJECT']);

-- A message list as typed structs, each element's role and content parsed once: the chat
-- macros below read m.role and m.content instead of re-parsing every message for every field.
CREATE OR REPLACE TEMP MACRO ds_messages(j) AS
    CASE WHEN ds_type(j) = 'ARRAY'
         THEN from_json(j, '[{"role": "VARCHAR", "content": "JSON"}]')
         ELSE []::STRUCT(role VARCHAR, content JSON)[] END;

-- System/developer turns inside a message list (from ds_messages), joined. (No nullif: the
-- texts are never empty, and a nullif would have DuckDB build the list on every row, also where
-- a coalesce had found the system prompt elsewhere.)
CREATE OR REPLACE TEMP MACRO ds_chat_system(msgs) AS
    ds_lines([ds_content_text(m.content) FOR m IN msgs IF lower(m.role) IN ('system', 'developer')]);

-- The final user turn of a message list (NULL when there is none).
-- (Found by position: a filtered list would copy every user turn's content.)
CREATE OR REPLACE TEMP MACRO ds_last_user(msgs) AS
    msgs[list_max(list_transform(msgs, lambda m, i: CASE WHEN lower(m.role) = 'user' THEN i END))];

-- Prompt text of the final user turn: its text, else the text of its tool results (NULL when
-- it has neither). The coalesce reads the tool results only where the turn has no text.
CREATE OR REPLACE TEMP MACRO ds_chat_prompt(msgs) AS
    nullif(coalesce(ds_content_text(ds_last_user(msgs).content),
                    ds_tool_result_text(ds_last_user(msgs).content)), '');

-- User and assistant turns. (Summed, not counted from a filtered list: building that list only
-- to count it was three times slower.)
CREATE OR REPLACE TEMP MACRO ds_chat_turns(msgs) AS
    coalesce(list_sum([(lower(m.role) IN ('user', 'assistant'))::INTEGER FOR m IN msgs]), 0);

CREATE OR REPLACE TEMP MACRO ds_chat_history(msgs) AS
    len([m FOR m IN msgs IF lower(m.role) = 'assistant']) > 0;

CREATE OR REPLACE TEMP MACRO ds_chat_images(msgs) AS
    coalesce(list_sum([ds_content_images(m.content) FOR m IN msgs]), 0);

-- Tool definitions offered (a list of tools or functions).
CREATE OR REPLACE TEMP MACRO ds_count(j) AS
    CASE WHEN ds_type(j) = 'ARRAY' THEN json_array_length(j)::BIGINT ELSE 0 END;

-- A JSON value only when it is a non-empty scalar (for fields that must not be objects).
CREATE OR REPLACE TEMP MACRO ds_json_str(s) AS to_json(s::VARCHAR);

-- Epoch numbers in seconds, milliseconds, microseconds or nanoseconds, told apart by magnitude
-- (any plausible log time in seconds is below 1e11).
CREATE OR REPLACE TEMP MACRO ds_epoch_ts(x) AS
    CASE
        WHEN abs(x) < 1e11 THEN make_timestamp((x * 1e6)::BIGINT)
        WHEN abs(x) < 1e14 THEN make_timestamp((x * 1e3)::BIGINT)
        WHEN abs(x) < 1e17 THEN make_timestamp(x::BIGINT)
        ELSE make_timestamp((x / 1e3)::BIGINT)
    END;

-- A timestamp string in any common shape, as UTC. Strings without an offset are taken as UTC.
-- A UTC offset at the end of a time that no clock uses (beyond +/-14 hours, or 60 minutes or
-- more): the time is refused, not shifted by days.
CREATE OR REPLACE TEMP MACRO ds_impossible_offset(s) AS
    CASE WHEN substr(s, -6, 1) IN ('+', '-') AND substr(s, -3, 1) = ':'
              THEN coalesce(try_cast(substr(s, -5, 2) AS INTEGER) > 14
                            OR try_cast(substr(s, -2, 2) AS INTEGER) > 59, false)
         WHEN substr(s, -5, 1) IN ('+', '-') AND regexp_full_match(substr(s, -4), '[0-9]{4}')
              AND regexp_matches(s, '[0-9]:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)? ?[+-][0-9]{4}$')
              THEN try_cast(substr(s, -4, 2) AS INTEGER) > 14
                   OR try_cast(substr(s, -2, 2) AS INTEGER) > 59
         ELSE false END;

CREATE OR REPLACE TEMP MACRO ds_text_ts(s) AS
    CASE WHEN ds_impossible_offset(s) THEN NULL ELSE coalesce(
        try_cast(s AS TIMESTAMPTZ)::TIMESTAMP,
        try(ds_epoch_ts(try_cast(s AS DOUBLE))),
        try_strptime(s, '%a, %d %b %Y %H:%M:%S %z')::TIMESTAMP,      -- RFC 2822
        try_strptime(s, '%a, %d %b %Y %H:%M:%S %Z')::TIMESTAMP,      -- RFC 2822 with GMT
        try_strptime(s, '%d %b %Y %H:%M:%S %z')::TIMESTAMP,
        try_strptime(s, '%d/%b/%Y:%H:%M:%S %z')::TIMESTAMP,          -- web server logs
        try_strptime(s, '%Y/%m/%d %H:%M:%S')::TIMESTAMP,
        try_strptime(s, '%m/%d/%Y %H:%M:%S')::TIMESTAMP
    ) END;

CREATE OR REPLACE TEMP MACRO ds_parse_ts(j) AS
    CASE ds_type(j)
        WHEN 'BIGINT' THEN try(ds_epoch_ts(json_extract_string(j, '$')::DOUBLE))
        WHEN 'UBIGINT' THEN try(ds_epoch_ts(json_extract_string(j, '$')::DOUBLE))
        WHEN 'DOUBLE' THEN try(ds_epoch_ts(json_extract_string(j, '$')::DOUBLE))
        WHEN 'VARCHAR' THEN ds_text_ts(trim(json_extract_string(j, '$')))
    END;

-- A message list of any common shape as ds_messages gives it: chat messages (role, content) or
-- Gemini contents (role, parts; the assistant's role is "model"). Used by mappings, where a
-- file may hold either.
CREATE OR REPLACE TEMP MACRO ds_any_messages(j) AS
    CASE WHEN ds_type(j) = 'ARRAY'
         THEN [{'role': CASE WHEN lower(m.role) = 'model' THEN 'assistant' ELSE m.role END,
                'content': coalesce(m.content, m.parts)}
               FOR m IN from_json(j, '[{"role": "VARCHAR", "content": "JSON", "parts": "JSON"}]')]
         ELSE []::STRUCT(role VARCHAR, content JSON)[] END;
