"""The demo's scans of products (issue 15): about a third of the scans, each of a product the scanned
store has in stock or limited, the same for the same seed."""

from __future__ import annotations

from collections import Counter

from o2o.seed.scans import PRODUCT_SCAN_SHARE, generate_product_scans

STOCK = [(1, 10, "in_stock", 5, None, "t"), (1, 11, "limited", 1, None, "t"), (1, 12, "out_of_stock", 0, None, "t"),
         (2, 20, "in_stock", 9, None, "t"), (2, 21, "in_stock", 9, None, "t"), (2, 22, "in_stock", 9, None, "t")]
SCANS = [(i, 1 + i % 3) for i in range(1, 6001)]   # stores 1, 2 and 3 (3 has no stock)


def test_product_scans_are_of_products_the_store_has():
    pairs = generate_product_scans(SCANS, STOCK, 7)
    store_of = dict(SCANS)
    has = {(s, p) for s, p, availability, *_ in STOCK if availability != "out_of_stock"}
    assert pairs and all((store_of[scan], product) in has for scan, product in pairs)
    assert len({scan for scan, _ in pairs}) == len(pairs)           # at most one product a scan
    share = len(pairs) / sum(1 for _, s in SCANS if s in (1, 2))
    assert abs(share - PRODUCT_SCAN_SHARE) < 0.05
    by_product = Counter(p for _, p in pairs)
    assert by_product[20] > by_product[22] > 0                      # a store's first lines scanned more


def test_the_same_seed_gives_the_same_product_scans():
    assert generate_product_scans(SCANS, STOCK, 7) == generate_product_scans(SCANS, list(reversed(STOCK)), 7)
    assert generate_product_scans(SCANS, STOCK, 7) != generate_product_scans(SCANS, STOCK, 8)
    assert generate_product_scans([], STOCK, 7) == [] == generate_product_scans(SCANS, [], 7)
