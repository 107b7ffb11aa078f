"""New entries, told exactly once, on the Firestore emulator with real receivers (a JSON
webhook on loopback, aiosmtpd): the first read seeds silently, each new entry goes to
each channel once under duplicate, concurrent and out-of-order ticks, a burst is one
digest, an entry that leaves and comes back is not new, silences hold, and a tick with
nothing new costs what a tick costs without entries."""

from __future__ import annotations

import threading
from datetime import timedelta

from google.cloud import firestore as gcf
from tally.alerts import entries as alert_entries
from tally.alerts import silences
from tally.collector import collect_tick

from tests.alerts.conftest import START, make_config
from tests.support.emulators import PROJECT
from tests.support.hostile import Page


def rss(*items: tuple[str, str]) -> bytes:
    """A feed of (guid, title) items, newest first, as feeds list them."""
    body = "".join(
        f"<item><title>{title}</title><guid isPermaLink='false'>{guid}</guid>"
        f"<link>https://uploads.example.test/watch/{guid}</link>"
        f"<pubDate>Sat, 05 Dec 2026 06:00:00 +0900</pubDate></item>"
        for guid, title in items
    )
    return f"<rss version='2.0'><channel><title>u</title>{body}</channel></rss>".encode()


def serve(hostile, *items: tuple[str, str]) -> None:
    hostile.pages["/uploads.rss"] = Page(rss(*items), "application/rss+xml")


def config(hostile, receiver, smtp=None, **source):
    notify = {"hook": receiver.url("json")}
    if smtp is not None:
        notify["mail"] = smtp.url()
    fields = {
        "id": "uploads",
        "name": "Kanade's uploads",
        "kind": "rss",
        "url": f"{hostile.url}/uploads.rss",
        "every": "1m",
        "announce": True,
        **source,
    }
    return make_config([fields], notify)


def document(source_id: str = "uploads") -> dict | None:
    snapshot = gcf.Client(project=PROJECT).document(alert_entries.entries_path(source_id)).get()
    return snapshot.to_dict() if snapshot.exists else None


OLD = [("sm3", "Third"), ("sm2", "Second"), ("sm1", "First")]


def test_the_first_read_seeds_silently_then_each_new_entry_is_told_once_per_channel(
    hostile, receiver, smtp, tick_runner
):
    serve(hostile, *OLD)
    conf = config(hostile, receiver, smtp)
    result = tick_runner(conf, 0)
    assert result.samples[0].value == 3
    assert result.alerts.entries.seeded == ["uploads"]
    assert receiver.take() == [] and smtp.messages == []
    assert [item["title"] for item in document()["latest"]] == ["Third", "Second", "First"]

    serve(hostile, ("sm4", "Piano cover"), *OLD)
    tick_runner(conf, 1)
    [hook] = receiver.take()
    assert hook.title == "New in Kanade's uploads (uploads): Piano cover"
    assert hook.message == (
        "Kanade's uploads (uploads): Piano cover (published 2026-12-05 06:00 JST)"
        " — 2026-11-25 17:01 JST — https://uploads.example.test/watch/sm4"
    )
    [mail] = smtp.messages
    assert mail["Subject"] == "New in Kanade's uploads (uploads): Piano cover"
    assert [item["title"] for item in document()["latest"]][:2] == ["Piano cover", "Third"]
    told = document()["told"][alert_entries.key_of({"key": "id:sm4"})]
    assert {channel: item["status"] for channel, item in told.items()} == {
        "hook": "delivered",
        "mail": "delivered",
    }
    for minute in (2, 3):  # nothing new: nothing sent
        tick_runner(conf, minute)
    assert receiver.take() == [] and len(smtp.messages) == 1


def test_a_tick_with_nothing_new_costs_what_a_tick_without_entries_costs(
    hostile, receiver, knob, store, tick_runner
):
    """The exact reads and writes, as docs/alerts.md states them."""
    serve(hostile, *OLD)
    knob.set("plain", 5)
    listing = config(hostile, receiver)
    plain = make_config([knob.source("plain", every="1m")], {"hook": receiver.url("json")})

    def cost(conf, minute):
        reads, writes = store.counter.reads, store.counter.writes
        tick_runner(conf, minute)
        return store.counter.reads - reads, store.counter.writes - writes

    tick_runner(plain, 0)
    # a steady tick: the alert state read (1) and written (1), the sample written (1)
    assert cost(plain, 1) == (1, 2)
    tick_runner(listing, 2)  # the first read of the list: seeds
    assert cost(listing, 3) == (1, 2)  # the same list: the same cost
    serve(hostile, ("sm3", "Third"), ("sm2", "Second"))  # one left the list: nothing new
    assert cost(listing, 4) == (2, 2)  # the entries document read, nothing written
    assert cost(listing, 5) == (1, 2)  # the mark moved: back to a steady tick
    assert receiver.take() == []
    serve(hostile, ("sm5", "Five"), ("sm4", "Four"), *OLD)  # two new entries
    # evaluating: state + entries document read, both written; recording the deliveries:
    # the state's head read and written, the entries document's `told` merged (no read)
    assert cost(listing, 6) == (1 + 1 + 1, 1 + 1 + 1 + 1 + 1)
    assert [item.title for item in receiver.take()] == [
        "New in Kanade's uploads (uploads): Four",
        "New in Kanade's uploads (uploads): Five",
    ]
    burst = [(f"b{n}", f"Burst {n}") for n in range(4)]
    serve(hostile, *burst, ("sm5", "Five"), ("sm4", "Four"), *OLD)
    assert cost(listing, 7) == (3, 4)  # one digest: no per-entry deliveries to merge
    assert [item.title for item in receiver.take()] == ["tally: 4 new entries"]
    assert cost(listing, 8) == (1, 2)  # and steady again


def test_duplicate_deliveries_of_a_tick_tell_once(hostile, receiver, tick_runner):
    serve(hostile, *OLD)
    conf = config(hostile, receiver)
    tick_runner(conf, 0)
    serve(hostile, ("sm4", "Four"), *OLD)
    for _ in range(5):
        tick_runner(conf, 1)
    assert [item.title for item in receiver.take()] == ["New in Kanade's uploads (uploads): Four"]


def test_two_instances_running_the_same_tick_at_once_tell_once(
    hostile, receiver, store, tick_runner
):
    serve(hostile, *OLD)
    conf = config(hostile, receiver)
    tick_runner(conf, 0)
    serve(hostile, ("sm4", "Four"), *OLD)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    at = START + timedelta(minutes=1)

    def run() -> None:
        barrier.wait()
        try:
            collect_tick(conf, at, store, None, now=at + timedelta(seconds=20))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert [item.title for item in receiver.take()] == ["New in Kanade's uploads (uploads): Four"]


def test_a_late_tick_neither_repeats_nor_loses_an_entry(hostile, receiver, tick_runner):
    serve(hostile, *OLD)
    conf = config(hostile, receiver)
    tick_runner(conf, 0)
    serve(hostile, ("sm5", "Five"), ("sm4", "Four"), *OLD)
    tick_runner(conf, 2)  # the newer tick first
    serve(hostile, ("sm4", "Four"), *OLD)
    tick_runner(conf, 1)  # then the one the platform delivered late
    serve(hostile, ("sm5", "Five"), ("sm4", "Four"), *OLD)
    tick_runner(conf, 3)
    assert sorted(item.title for item in receiver.take()) == [
        "New in Kanade's uploads (uploads): Five",
        "New in Kanade's uploads (uploads): Four",
    ]


def test_more_than_three_new_entries_in_a_tick_are_one_digest(hostile, receiver, tick_runner):
    serve(hostile, *OLD)
    conf = config(hostile, receiver)
    tick_runner(conf, 0)
    burst = [(f"n{n}", f"New {n}") for n in range(7, 0, -1)]
    serve(hostile, *burst, *OLD)
    tick_runner(conf, 1)
    [digest] = receiver.take()
    assert digest.title == "tally: 7 new entries"
    assert digest.message.startswith(
        "7 new entries: uploads 7 (New 1, New 2, New 3, New 4, New 5 and 2 more)"
    )
    serve(hostile, ("n8", "New 8"), *burst, *OLD)
    tick_runner(conf, 2)
    assert [item.title for item in receiver.take()] == ["New in Kanade's uploads (uploads): New 8"]


def test_an_entry_that_leaves_the_list_and_comes_back_is_not_new(hostile, receiver, tick_runner):
    serve(hostile, *OLD)
    conf = config(hostile, receiver)
    tick_runner(conf, 0)
    serve(hostile, ("sm3", "Third"), ("sm1", "First"))  # sm2 unpublished
    tick_runner(conf, 1)
    serve(hostile, *OLD)  # and back
    tick_runner(conf, 2)
    assert receiver.take() == []


def test_a_silenced_source_tells_nothing_and_its_entries_stay_seen(
    hostile, receiver, store, tick_runner
):
    serve(hostile, *OLD)
    conf = config(hostile, receiver)
    tick_runner(conf, 0)
    silences.add_silence(store, conf, "uploads", timedelta(minutes=5), "moving", START)
    serve(hostile, ("sm4", "Four"), *OLD)
    tick_runner(conf, 1)
    assert receiver.take() == []
    assert document()["latest"][0]["title"] == "Four"  # the page still shows it
    tick_runner(conf, 10)  # the silence is over: what was seen then is not news now
    assert receiver.take() == []


def test_a_channel_that_is_down_gets_the_entry_once_it_is_back(hostile, receiver, tick_runner):
    serve(hostile, *OLD)
    conf = config(hostile, receiver)
    tick_runner(conf, 0)
    receiver.down()
    serve(hostile, ("sm4", "Four"), *OLD)
    tick_runner(conf, 1)
    receiver.up()
    for minute in (2, 3, 4):  # retried a minute after the failed try, then never again
        tick_runner(conf, minute)
    assert [item.title for item in receiver.take()] == ["New in Kanade's uploads (uploads): Four"]


def test_without_announce_entries_are_kept_for_the_page_and_nothing_is_sent(
    hostile, receiver, store, tick_runner
):
    serve(hostile, *OLD)
    conf = config(hostile, receiver, announce=False)
    tick_runner(conf, 0)
    serve(hostile, ("sm4", "Four"), *OLD)
    reads, writes = store.counter.reads, store.counter.writes
    result = tick_runner(conf, 1)
    # the entries document read and written, beside the tick's 1 read and 2 writes
    assert (store.counter.reads - reads, store.counter.writes - writes) == (2, 3)
    assert result.alerts.entries.new == {"uploads": 1}
    assert receiver.take() == []
    assert document()["latest"][0]["title"] == "Four"


def test_the_seen_set_is_bounded_and_never_forgets_the_list_it_just_read():
    def listing(numbers):
        return [{"key": f"id:{n}", "title": str(n)} for n in numbers]

    _, document = alert_entries.fold(None, listing(range(500)), 0)
    for tick in range(1, 4):  # 3 × 500 new entries: the set holds its 1,000 newest
        start = tick * 500
        new, document = alert_entries.fold(document, listing(range(start, start + 500)), tick)
        assert len(new) == 500
    assert len(document["seen"]) == alert_entries.SEEN_LIMIT == 1000
    assert len(document["latest"]) == alert_entries.LATEST == 50
    new, _ = alert_entries.fold(document, listing(range(1000, 2000)), 4)  # the last 1,000
    assert new == []
    new, _ = alert_entries.fold(document, listing(range(999, 1000)), 5)  # forgotten
    assert [entry["title"] for entry in new] == ["999"]


def test_tally_entries_lists_them_and_tell_again_sends_the_latest_once_more(
    hostile, receiver, tick_runner, capsys, tmp_path
):
    import yaml
    from tally.cli import main

    serve(hostile, *OLD)
    data = {
        "timezone": "Asia/Tokyo",
        "notify": {"hook": receiver.url("json")},
        "sources": [
            {
                "id": "uploads",
                "kind": "rss",
                "url": f"{hostile.url}/uploads.rss",
                "every": "1m",
                "announce": ["hook"],
            }
        ],
    }
    path = tmp_path / "tally.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    conf = make_config(data["sources"], data["notify"])
    assert main(["entries", "uploads", "--config", str(path)]) == 0
    assert capsys.readouterr().out == "uploads: no entries seen yet (the first read records them)\n"
    tick_runner(conf, 0)
    assert main(["entries", "uploads", "--config", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"2026-11-25 17:00 JST  {title}  https://uploads.example.test/watch/{guid}"
        for guid, title in OLD
    ]
    assert main(["entries", "uploads", "--tell-again", "1", "--config", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "forgot Third",
        "the next tick of uploads tells them to: hook",
    ]
    for minute in (1, 1, 2):
        tick_runner(conf, minute)
    assert [item.title for item in receiver.take()] == ["New in uploads: Third"]


def test_an_entry_s_title_is_inert_and_its_link_is_the_one_link(hostile, receiver, tick_runner):
    """A title from the web becomes no link or mention in a chat app; the entry's own
    (checked, http) link is the message's link."""
    serve(hostile, *OLD)
    conf = config(hostile, receiver)
    tick_runner(conf, 0)
    serve(hostile, ("sm9", "@everyone free gift at https://ev.il/x now"), *OLD)
    tick_runner(conf, 1)
    [hook] = receiver.take()
    assert (
        hook.title
        == "New in Kanade's uploads (uploads): @\u2024everyone free gift at hxxps[:]//ev[.]il/x now"
    )
    assert hook.message.endswith(" — https://uploads.example.test/watch/sm9")
    assert "https://ev.il" not in hook.message and "@everyone" not in hook.message


def test_a_document_with_only_deliveries_in_it_is_a_first_read():
    """A delivery recorded (a merge) for a source removed meanwhile leaves a document
    without a seen set: the next read seeds it rather than telling the whole list."""
    entries = [{"key": "id:a", "title": "A"}, {"key": "id:b", "title": "B"}]
    new, document = alert_entries.fold({"told": {"x": {"hook": {}}}}, entries, 60)
    assert new == []
    assert sorted(document["seen"]) == sorted(alert_entries.key_of(e) for e in entries)


def test_the_entries_document_at_its_worst_stays_under_200_kb():
    import json

    def worst(start: int) -> list[dict]:
        link = "https://x.test/" + "a" * 2000
        return [
            {"key": f"id:{n}", "title": "字" * 300, "link": f"{link}{n}", "time": None}
            for n in range(start, start + 500)
        ]

    _, document = alert_entries.fold(None, worst(0), 0)
    for tick in range(1, 4):
        _, document = alert_entries.fold(document, worst(tick * 500), tick)
    document["told"] = {
        item["key"]: {"hook": {"status": "delivered", "attempts": 10}}
        for item in document["latest"]
    }
    size = len(json.dumps(document, ensure_ascii=False).encode("utf-8"))
    assert len(document["seen"]) == 1000 and len(document["latest"]) == 50
    assert size < 200_000, size
