"""Fan-out: one tick (or one render) split into shards, each a Pub/Sub message that a
function instance of its own handles, and the run completed once every shard is in.

    plan        which sources each shard holds (whole groups), its message, reading one
    pubsub      publishing the shard messages (the Pub/Sub REST API; the emulator locally)
    completion  the run's document: which shards are in, what each left for the end,
                and the runs a lost shard left open

A shard message is delivered at least once, maybe twice, maybe out of order, maybe
never (its retries dropped as stale): whatever runs per shard is idempotent, and what
runs once the shards are in runs in the shard whose mark is the latest (of two finishing
together, one), and again in a redelivered one, so it is idempotent too.
docs/how-it-works.md, "Past one instance", tells the whole account.
"""
