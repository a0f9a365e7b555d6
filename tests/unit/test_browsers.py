"""Which browsers are WeChat's and QQ's in-app ones (o2o/web/browsers.py)."""

import pytest

from o2o.web.browsers import in_app_browser


@pytest.mark.parametrize("ua, expected", [
    # WeChat on iOS, Android (XWEB), Windows, and WeCom
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN", "wechat"),
    ("Mozilla/5.0 (Linux; Android 13; Pixel 7; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
     "Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 MicroMessenger/8.0.47.2560(0x28002F30)", "wechat"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0.4044.138 "
     "Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) WindowsWechat(0x6309001c)", "wechat"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Mobile/15E148 wxwork/4.1.10 MicroMessenger/7.0.1 Language/zh", "wechat"),
    # QQ's in-app browser on Android (X5 engine: MQQBrowser beside QQ/) and on iOS
    ("Mozilla/5.0 (Linux; Android 12; V2148A) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
     "Chrome/98.0.4758.102 MQQBrowser/6.2 TBS/046247 Mobile Safari/537.36 V1_AND_SQ_8.9.38_4256_YYB_D "
     "QQ/8.9.38.10545 NetType/WIFI", "qq"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Mobile/15E148 QQ/8.9.80.614 V1_IPH_SQ_8.9.80_1_APP_A Pixel/1170 Core/WKWebView NetType/WIFI", "qq"),
    # Browsers that hand a link to another app: left alone
    ("Mozilla/5.0 (Linux; U; Android 12; zh-cn; V2148A) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Version/4.0 MQQBrowser/13.6 Mobile Safari/537.36", None),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.1 Mobile/15E148 Safari/604.1", None),
    ("Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36", None),
    ("", None),
    (None, None),
])
def test_in_app_browser_is_recognised_from_the_user_agent(ua, expected):
    assert in_app_browser(ua) == expected
