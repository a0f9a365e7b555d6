"""In-app browsers of WeChat and QQ, where a link cannot open another app.

Links to Amap's navigation (``uri.amap.com/navigation?…&callnative=1``) open the Amap app from a
phone's own browser, but WeChat's and QQ's built-in browsers block the hand-over to other apps:
the link only shows Amap's web page. Pages shown there offer what works instead: a hint to open
the page in the system browser (the ··· menu, top right), "copy address", and a ``geo:`` link.

A plain pattern rather than the ``user-agents`` parser: that parser names WeChat but not QQ's
in-app browser, and it costs far more per request than one regular expression.
"""

from __future__ import annotations

import re

# WeChat (and WeCom, whose agent has "wxwork/" beside it) on every platform: "MicroMessenger/8.0.47".
_WECHAT = re.compile(r"MicroMessenger/", re.IGNORECASE)
# QQ's in-app browser adds "QQ/<version>" (on Android beside "MQQBrowser/…", its engine). The
# QQ Browser app on its own says "MQQBrowser/…" without "QQ/": it opens other apps, so it is left alone.
_QQ = re.compile(r"(?:^|[\s;(])QQ/\d")


def in_app_browser(user_agent: str | None) -> str | None:
    """``"wechat"``, ``"qq"`` or None for a ``User-Agent``.

    >>> in_app_browser("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    ...                "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN")
    'wechat'
    >>> in_app_browser("Mozilla/5.0 (Linux; Android 12) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
    ...                "Chrome/98.0 MQQBrowser/6.2 TBS/046247 Mobile Safari/537.36 V1_AND_SQ_8.9.38_4256_YYB_D QQ/8.9.38.10545")
    'qq'
    >>> in_app_browser("Mozilla/5.0 (Linux; U; Android 12; zh-cn) AppleWebKit/537.36 (KHTML, like Gecko) "
    ...                "Version/4.0 MQQBrowser/13.6 Mobile Safari/537.36") is None
    True
    """
    if not user_agent:
        return None
    if _WECHAT.search(user_agent):
        return "wechat"
    if _QQ.search(user_agent):
        return "qq"
    return None
