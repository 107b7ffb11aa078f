from datetime import UTC, datetime

from tally.sample import Sample


def test_a_sample_written_twice_is_stored_once(store):
    tick = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    for _ in range(2):
        store.write_sample(Sample(source_id="a", tick=tick, ok=True, value=3.0))
    assert [s.value for s in store.samples("a")] == [3.0]
