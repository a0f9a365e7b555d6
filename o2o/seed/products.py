"""The demo festival's products and stock: each brand a catalogue, each store a deterministic stock.

A brand's catalogue follows its category: clothing and shoes come in sizes, each size its own sku
(as retailers' systems have them: ``UQ012-M``), so a brand has a few dozen to a few hundred skus;
appliances, electronics, beauty and groceries have models without sizes. Titles are Chinese as on
Tmall (``优衣库 轻型羽绒服 黑色 M码``), prices plausible for the kind, links on the brand's Tmall shop,
barcodes valid EAN-13 with China's 69 prefix.

Each store carries a share of its brand's catalogue (about :data:`CARRIED_LINES` skus); a line is in stock, limited or out of stock
with a quantity to match, sometimes at a store price below the list price, updated within the last
two days. Everything follows from ``random_seed`` (numpy's PCG64, one stream per brand): the same
seed and the same stores give the same products and the same stock; only ``updated_at`` is counted
back from the moment of seeding.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from .catalogue import (APPAREL, APPLIANCES, BEAUTY, DEPARTMENT, ELECTRONICS, FOOTWEAR, HOME, JEWELLERY, KIDS,
                        SPORTS, SUPERMARKET, Brand)

# Items per category: (Chinese name, list price range in CNY). Clothing is sized below.
ITEMS = {
    APPAREL: [("轻型羽绒服", 399, 799), ("连帽羽绒服", 599, 1299), ("摇粒绒外套", 149, 299), ("纯棉T恤", 59, 129),
              ("牛仔裤", 199, 399), ("休闲衬衫", 149, 299), ("针织衫", 199, 399), ("羊毛大衣", 799, 1999),
              ("卫衣", 149, 299), ("运动短裤", 79, 149), ("保暖内衣", 79, 199), ("连衣裙", 199, 499),
              ("风衣", 499, 999), ("休闲裤", 149, 299), ("羊绒衫", 499, 1299), ("棉服", 299, 699)],
    SPORTS: [("跑步鞋", 399, 999), ("篮球鞋", 499, 1299), ("运动外套", 299, 599), ("速干T恤", 99, 199),
             ("运动长裤", 199, 399), ("羽绒服", 599, 1299), ("训练短裤", 99, 199), ("板鞋", 299, 599),
             ("卫衣", 249, 499), ("双肩包", 149, 399)],
    KIDS: [("儿童羽绒服", 299, 599), ("儿童卫衣", 99, 199), ("儿童运动鞋", 199, 399), ("儿童内衣套装", 79, 159),
           ("儿童牛仔裤", 129, 249), ("婴儿连体衣", 99, 199)],
    FOOTWEAR: [("运动休闲鞋", 399, 799), ("高跟鞋", 499, 999), ("短靴", 599, 1299), ("乐福鞋", 399, 799),
               ("老爹鞋", 399, 699), ("雪地靴", 499, 999)],
    APPLIANCES: [("对开门冰箱", 3999, 8999), ("滚筒洗衣机", 2499, 5999), ("变频空调", 2999, 6999),
                 ("燃气热水器", 1499, 3499), ("电热水器", 999, 2499), ("洗碗机", 2999, 6999),
                 ("烟灶套装", 2999, 5999), ("干衣机", 2999, 5999), ("冷柜", 1299, 2999)],
    ELECTRONICS: [("智能手机", 1999, 6999), ("笔记本电脑", 3999, 9999), ("平板电脑", 1999, 4999),
                  ("蓝牙耳机", 199, 1299), ("智能手表", 599, 2999), ("电视机", 2999, 9999),
                  ("扫地机器人", 1499, 3999), ("空气净化器", 999, 2999), ("移动电源", 99, 299)],
    DEPARTMENT: [("羊绒围巾", 399, 999), ("真丝睡衣", 599, 1299), ("皮具手袋", 999, 3999), ("香水", 499, 1299),
                 ("护肤套装", 699, 1999), ("男士皮鞋", 799, 1999), ("床品四件套", 599, 1599)],
    SUPERMARKET: [("五常大米 5kg", 49, 99), ("纯牛奶 250ml×12", 39, 69), ("食用油 5L", 59, 129),
                  ("坚果礼盒", 99, 199), ("洗衣液 3kg", 39, 79), ("抽纸 24包", 39, 69), ("进口车厘子 2kg", 159, 299),
                  ("速冻水饺", 19, 39), ("矿泉水 550ml×24", 29, 49), ("咖啡豆 500g", 79, 159)],
    BEAUTY: [("精华液", 299, 1299), ("面霜", 199, 999), ("口红", 99, 399), ("粉底液", 199, 599),
             ("防晒霜", 99, 299), ("面膜 10片", 79, 299), ("眼影盘", 99, 499), ("洁面乳", 59, 199)],
    JEWELLERY: [("足金手链", 1999, 6999), ("足金项链", 2999, 9999), ("钻石戒指", 3999, 19999),
                ("铂金耳钉", 999, 2999), ("黄金转运珠", 499, 1499), ("玉石手镯", 999, 4999)],
    HOME: [("布艺沙发", 2999, 9999), ("实木餐桌", 1999, 5999), ("乳胶床垫", 1999, 6999), ("衣柜", 2999, 7999),
           ("电视柜", 999, 2999), ("书桌", 699, 1999), ("办公椅", 499, 1999)],
}
COLOURS = ("黑色", "白色", "藏青色", "灰色", "米色", "红色", "卡其色", "浅蓝色")
SIZES = {APPAREL: ("S", "M", "L", "XL", "XXL"), SPORTS: ("S", "M", "L", "XL"), KIDS: ("110", "120", "130", "140"),
         FOOTWEAR: ("36", "37", "38", "39", "40", "41", "42", "43")}
SHOES = ("鞋", "靴")
SHOE_SIZES = ("38", "39", "40", "41", "42", "43", "44")
# How many of its brand's skus a store carries (about; at most a share of them), and how its lines
# stand. ~24 lines a store keep the 30,000-store seed near 600,000 stock lines (docs/benchmarks.md).
CARRIED_LINES = 24
CARRIED_MAX = 0.6
AVAILABILITY_P = (0.7, 0.2, 0.1)   # in_stock, limited, out_of_stock
STORE_PRICE_P = 0.15               # lines sold at a store price below the list price
UPDATED_WITHIN_H = 48


def _ean13(n: int) -> str:
    """A valid EAN-13 with China's 69 prefix."""
    body = f"69{n % 10**10:010d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def catalogue(brand: Brand, brand_index: int, random_seed: int) -> list[dict]:
    """The brand's products (contract fields), the same for the same seed."""
    rng = np.random.default_rng([random_seed, 15, brand_index])
    items = ITEMS.get(brand.category, ITEMS[DEPARTMENT])
    sized = brand.category in SIZES
    n_colours = 3 if sized else 1
    out = []
    for i, (name, low, high) in enumerate(items):
        price = float(round(rng.uniform(low, high) / 10) * 10 - 1)   # 499, 1299: as shops price
        sizes = ((SHOE_SIZES if name.endswith(SHOES) else SIZES[brand.category]) if sized else (None,))
        colours = rng.choice(COLOURS, size=n_colours, replace=False) if sized else (None,)
        for c, colour in enumerate(colours):
            item_no = i * 10 + c + 1
            for size in sizes:
                sku = f"{brand.code}{item_no:03d}" + (f"-{size}" if size else "")
                title = " ".join(x for x in (brand.name_zh, name, colour, f"{size}码" if size else None) if x)
                out.append({"sku": sku, "title": title, "brand": brand.name, "category": brand.category,
                            "price": price, "online_url": f"https://{brand.domain}/item.htm?id={brand_index:02d}{item_no:03d}",
                            "gtin": _ean13(brand_index * 10**6 + len(out) + 1), "image_url": None})
    return out


def stock(store_ids: np.ndarray, product_ids: np.ndarray, prices: np.ndarray, brand_index: int, random_seed: int,
          now: datetime | None = None) -> list[tuple]:
    """Stock lines ``(store_id, product_id, availability, quantity, price, updated_at)`` of one brand's
    stores (in the order given: sort them first) and products, the same for the same seed."""
    if not len(store_ids) or not len(product_ids):
        return []
    rng = np.random.default_rng([random_seed, 16, brand_index])
    carried = rng.random((len(store_ids), len(product_ids))) < min(CARRIED_MAX, CARRIED_LINES / len(product_ids))
    s, p = np.nonzero(carried)
    n = len(s)
    state = rng.choice(3, size=n, p=AVAILABILITY_P)
    quantity = np.where(state == 0, rng.integers(5, 40, size=n), np.where(state == 1, rng.integers(1, 5, size=n), 0))
    discounted = rng.random(n) < STORE_PRICE_P
    price = np.where(discounted, np.round(prices[p] * rng.choice((0.8, 0.85, 0.9), size=n)), np.nan)
    ago_s = rng.integers(0, UPDATED_WITHIN_H * 3600, size=n)
    now = (now or datetime.now(timezone.utc)).replace(second=0, microsecond=0)
    stamps = [(now - timedelta(minutes=m)).strftime("%Y-%m-%dT%H:%M:%SZ") for m in range(UPDATED_WITHIN_H * 60)]
    words = ("in_stock", "limited", "out_of_stock")
    return [(si, pi, words[st], q, None if pr != pr else pr, stamps[ago])
            for si, pi, st, q, pr, ago in zip(store_ids[s].tolist(), product_ids[p].tolist(), state.tolist(),
                                              quantity.tolist(), price.tolist(), (ago_s // 60).tolist())]
