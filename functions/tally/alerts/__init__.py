"""Alerts: tally tells people itself, exactly once per incident, through Apprise.

    state.py     the one alert-state document: per-source facts, open incidents, outbox
    rules.py     which rules hold for a source at a tick (pure)
    messages.py  what a person reads, per firing / reminder / resolved
    channels.py  Apprise: a channel's URL resolved, checked, sent to within a deadline
    engine.py    one tick: evaluate in a transaction, open and resolve incidents
    delivery.py  the outbox: queue, claim, send, record, retry within bounds

Why not Cloud Monitoring's alert policies: they are billed per condition (a policy per
source breaks the free tier at a handful of sources), an absence condition never fires
for a series never written, their Slack channel needs an OAuth token where people hold
a webhook URL, and no emulator exists, so no alert could be tested or seen locally.
Cloud Monitoring keeps one watchdog for what tally cannot report itself (Terraform).
"""
