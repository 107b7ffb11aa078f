"""Alerts: tally tells people itself, exactly once per incident, through Apprise, and
in a way people can live with: damped, grouped, silenced on request, and truthful.

    rules.py     whether each rule's condition holds for a source now (pure), and the
                 words for what happened and what holds now
    damping.py   pending and recovery periods, flap detection: when a condition opens
                 or resolves an incident
    judge.py     one tick's decisions per rule: open, resolve, remind, flap, a changed or
                 removed rule, silences
    documents.py the incident documents a tick writes, within a commit's budget
    silences.py  maintenance windows (tally.yaml), `tally silence`, `tally alerts ack`
    state.py     what is kept: facts, streaks, open incidents, the outbox, silences
    shards.py    the state in Firestore: shard documents, one transaction, a size guard
    messages.py  what a person reads, inert whatever the channel renders; digests
    channels.py  Apprise: a channel's URL resolved, checked, rendered in the channel's
                 format, sent within a deadline its socket timeouts agree with
    delivery.py  the outbox: digests, claims, each channel's messages in order, retries
    entries.py   new entries of a list: the seen set, told once through the outbox
    engine.py    one tick: the evaluating transaction, sending, recording

Why not Cloud Monitoring's alert policies: they are billed per condition (a policy per
source breaks the free tier at a handful of sources), an absence condition never fires
for a series never written, their Slack channel needs an OAuth token where people hold
a webhook URL, and no emulator exists, so no alert could be tested or seen locally.
Cloud Monitoring keeps one watchdog for what tally cannot report itself (Terraform).
"""
