"""The report, between the case and the renderers.

:mod:`.loader` reads an investigation's results from a case folder; :mod:`.facts` queries the
case's events for what the report shows (timelines, templates, infrastructure, examples);
:mod:`.model` holds the report's types and :func:`~.model.build_report`, the one builder every
format starts from; :mod:`.drilldown` builds ``distillscan show``'s documents; :mod:`.redact`
turns a report into one that can leave the team. Nothing here formats or prints: the
renderers in :mod:`distillscan.render` do.
"""
