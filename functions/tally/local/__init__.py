"""The local stack (`tally local`): the real emulators, the real entry points, a scheduler.

stack.py        `tally local`: the parts in order, the tick loop, Ctrl-C
ports.py        which loopback port is whose (one base, an offset per part)
parts.py        each part's command line and environment (emulators, functions, demo)
supervisor.py   start parts in their own process groups, wait until ready, stop them
wiring.py       buckets and the config object (google-cloud-storage), topics and push
                subscriptions (pubsub.py), the stack's own Firestore client
pubsub.py       the Pub/Sub emulator's REST API: topics, push subscriptions, publish
scheduler.py    what the two Cloud Scheduler jobs would publish, on a real or fast clock
seeding.py      the demo's 120 days of history, through the importer
reporter.py     one line per tick with the values stored
sink.py         the notification sink: every channel's messages, printed
demo.py         the demo upstream: a counter, a shop page, a health check, a GitHub API
"""
