"""The renderer: stored samples → charts, exports and HTML → a folder or the site bucket.

    entry.py        render_site(): one run, from the overview and the changed days to
                    the written overview
    drawing.py      each due source folded, drawn and published, a source that cannot
                    be drawn kept to its own error card; the listings, index.html last
    fanned.py       a render past one instance: shards drawn on instances of their own,
                    the listings published once every shard is in
    plan.py         what is redrawn when: config hash, detail interval, day- and
                    week-closing charts, the rotation a run's budget (budget.py) cuts
    state.py        the overview document (every source's card, the change mark)
    history.py      each source's aggregates of closed days, folded once, and the
                    render documents' blobs, all through Store so every read is counted
    group_state.py  the groups' render documents: the aggregates of a group's sources
                    in one (cut into documents under 1 MiB), read once a run a group
    rows.py         the typed rows: Row (a sample), DailyRow, HourlyRow
    stats.py        value at a time, change, uptime, status: pure functions over rows
    view.py         one source in one render (its rows, kind, time) and its card
    specs.py        the chart specifications of a source
    series.py       pure numpy: gaps, per-pixel reduction, candles, moving averages, bars
    charts.py       matplotlib (Agg) drawing of a specification into PNG bytes
    page.py         Jinja2 templates (site/templates) → HTML; exports, badges, formats
    site.py         the site's objects: index.html, status.json, incidents.json, and
                    each source's page, charts, exports and badge; each overview card
    objects.py      the objects' names (checked by tally/object_names.py when written)
    alerts_view.py  what the page shows of alerting, from the alert state
    publish.py      a folder or a GCS bucket; only changed bytes are written
    result.py       what a run did (RenderResult)

Nothing here is imported by the collect path: pandas and matplotlib load only when a
render runs.
"""
