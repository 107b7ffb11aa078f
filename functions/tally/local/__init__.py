"""The local stack (`tally local`): the real emulators, the real entry points, a scheduler.

supervisor.py   start parts in their own process groups, wait until ready, stop them
stack.py        which parts, on which ports, in which order; the page's address
pubsub.py       the Pub/Sub emulator's REST API: topics, push subscriptions, publish
scheduler.py    what the two Cloud Scheduler jobs would publish, on a real or fast clock
demo.py         the demo upstream: a counter, a shop page, a health check, a GitHub API
"""
