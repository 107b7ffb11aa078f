"""`tally collect [--config F] [--at ISO-8601] [--source ID ...]`: one tick, by hand.

The same code path as the deployed function. Exit status: 0 when every sample is ok,
1 when any source failed (its failed sample is stored all the same), 2 when `--at` is in
the future (nothing is collected).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta

from tally import runtime
from tally.collector import collect_tick, due_sources
from tally.commands import add_config_option, config_from, store_for
from tally.events import parse_time
from tally.sample import format_value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("collect", help="collect one tick now (or --at a time)")
    add_config_option(parser)
    parser.add_argument(
        "--at",
        metavar="ISO-8601",
        type=parse_time,
        help="the tick's time (default: now), e.g. 2026-11-22T09:30:00Z",
    )
    parser.add_argument(
        "--source",
        metavar="ID",
        nargs="+",
        action="extend",
        default=[],
        help="collect these sources whatever their schedule",
    )
    parser.add_argument(
        "--no-metrics", action="store_true", help="do not write Cloud Monitoring metrics"
    )
    parser.set_defaults(func=run)


def _describe(value: float | None, unit: str) -> str:
    if value is None:
        return "ok"
    return f"{format_value(value)} {unit}".rstrip()


def _report_alerts(result) -> None:  # type: ignore[no-untyped-def]
    """Incidents that opened or resolved at this tick, and undelivered messages (stderr:
    stdout stays one `id<TAB>value` line per source)."""
    run = result.alerts
    if run is None:
        return
    for incident in run.opened:
        print(
            f"alert: {incident.source}: {incident.summary} (rule: {incident.rule_text})",
            file=sys.stderr,
        )
    for incident in run.resolved:
        print(f"resolved: {incident.source}: {incident.rule}", file=sys.stderr)
    listed = run.entries
    for source_id in listed.seeded if listed else []:
        print(f"entries: {source_id}: first read, recorded (nothing told)", file=sys.stderr)
    for source_id, count in (listed.new if listed else {}).items():
        noun = "entry" if count == 1 else "entries"
        print(f"entries: {source_id}: {count} new {noun}", file=sys.stderr)
    for message, outcome in run.outcomes:
        if not outcome.delivered:
            print(
                f"warning: {message.kind} of {message.incident} not delivered to channel "
                f"{message.channel!r} ({outcome.service}): {outcome.error}; retried later",
                file=sys.stderr,
            )


# `--at` may be up to this far ahead of the clock (a clock a little behind is fine).
FUTURE_SLACK = timedelta(minutes=1)


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    now = datetime.now(UTC)
    tick = args.at or now
    if tick > now + FUTURE_SLACK:
        # stored, it would stand for a minute that has not come, and alerting (judging
        # at the newest tick seen) would take it for the present: every stale_after would
        # fire, and nothing could resolve until then
        print(
            f"error: --at {tick.isoformat()} is in the future (now: "
            f"{now.replace(microsecond=0).isoformat()}); nothing collected",
            file=sys.stderr,
        )
        return 2
    due_sources(config, tick, only=args.source)  # an unknown id is said before anything
    store = store_for(config)  # first: it chooses the backend the metrics follow
    metrics = None if args.no_metrics else runtime.metric_writer()
    result = collect_tick(config, tick, store, metrics, only=args.source)
    units = {source.id: source.unit for source in config.sources}
    if not result.samples:
        print(
            f"{result.tick.isoformat()}: no source is due at this minute "
            "(use --source ID to force one)"
        )
    for sample in result.samples:
        if sample.ok:
            line = _describe(sample.value, units[sample.source_id])
            if sample.degraded and sample.error:
                line += f" (degraded: {sample.error})"
        else:
            line = f"FAILED: {sample.error}"
        print(f"{sample.source_id}\t{line}")
    _report_alerts(result)
    return 0 if all(sample.ok for sample in result.samples) else 1
