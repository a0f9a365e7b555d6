"""The search log (issue 17): never blocks a search, drops the oldest when full, writes in batches,
keeps cells and never points."""

from __future__ import annotations

from o2o.services.search_log import SearchLog, word_table
from o2o.storage.memory import MemoryRepository


def _log(repo, **kw):
    return SearchLog(lambda: repo, **kw)


def test_noted_searches_are_written_as_cells_with_what_the_words_name():
    repo = MemoryRepository()
    repo.migrate()
    log = _log(repo, interval_s=0.05)
    log.note("nearby", 121.4712345, 31.2345678, "优衣库 南京路", None, None, None, {"radius_km": 3}, 4, 812.34)
    log.note("products", None, None, "超市", None, None, None, None, 2, None)
    assert log.flush()
    (rows,) = list(repo.search_batches())
    first, second = rows
    assert isinstance(first[2], int) and first[2] > 0                 # a cell id, not a point
    assert (first[3], first[4], first[5], first[8], first[9], first[10]) == \
        ("nearby", "优衣库 南京路", "Uniqlo", '{"radius_km": 3}', 4, 812.3)
    assert second[2] is None and second[6] == "Supermarket"
    assert not any("31.234" in repr(v) or "121.471" in repr(v) for v in first)


def test_a_full_buffer_drops_the_oldest_and_counts_them():
    repo = MemoryRepository()
    repo.migrate()
    log = _log(repo, capacity=3, batch=10**6, interval_s=3600)
    for i in range(5):
        log.note("places", None, None, f"w{i}", results=i)
    assert log.dropped == 2
    assert log.flush()
    assert [r[4] for r in list(repo.search_batches())[0]] == ["w2", "w3", "w4"]


def test_retention_zero_keeps_nothing_and_starts_no_thread():
    repo = MemoryRepository()
    repo.migrate()
    log = _log(repo, retention_days=0)
    log.note("nearby", 121.47, 31.23, "优衣库")
    assert log._pid is None and not log._buffer and log.flush()


def test_pinyin_and_english_name_the_brand():
    table = word_table()
    assert ("brand", "Uniqlo") in table["youyiku"] and ("brand", "Uniqlo") in table["uniqlo"]
