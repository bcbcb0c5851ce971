"""Formatters: the report model (:mod:`distillscan.report`) as text.

:mod:`.terminal` (Rich), :mod:`.markdown`, :mod:`.html` and :mod:`.json_report` render a whole
report and are registered in :mod:`.formats`; :mod:`.drilldown` prints ``distillscan show``'s
documents; :mod:`.console` the ingest summary, verify's checks and eval's tables; :mod:`.tabular`
``distillscan sql``'s results; :mod:`.escape` keeps log text inert in each format. They read no
case and never print: the CLI does.
"""
