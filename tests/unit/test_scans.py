"""Scans: who is a phone, a desktop or a bot; the redirect URL; the client hash."""

import pytest

from o2o.services.scans import UnsafeRedirect, client_hash, client_kind, redirect_url


@pytest.mark.parametrize("ua, kind", [
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.40", "phone"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Mobile Safari/537.36", "phone"),
    ("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 AlipayClient/10.5", "phone"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", "desktop"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15", "desktop"),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot"),
    ("Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)", "bot"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120 Safari/537.36", "bot"),
    ("curl/8.5.0", "bot"), ("python-requests/2.31.0", "bot"), ("", "bot"), (None, "bot"),
])
def test_client_kind(ua, kind):
    assert client_kind(ua) == kind


def test_client_hash_is_keyed_and_hides_the_address():
    a = client_hash("secret-1", "203.0.113.9", "ua")
    assert a == client_hash("secret-1", "203.0.113.9", "ua")
    assert a != client_hash("secret-2", "203.0.113.9", "ua") and a != client_hash("secret-1", "203.0.113.10", "ua")
    assert "203.0.113.9" not in a and len(a) == 32


def test_redirect_keeps_the_query_and_credits_the_store():
    url = redirect_url({"id": 7, "online_url": "https://shop.tmall.com/p?x=1&o2o_store=99"}, ["tmall.com"])
    assert url == "https://shop.tmall.com/p?x=1&o2o_store=7&utm_source=o2o&utm_medium=qr&utm_campaign=double11-2026"


@pytest.mark.parametrize("url", ["http://shop.tmall.com/", "https://evil.com/", "https://tmall.com.evil.com/",
                                 "javascript:alert(1)", "//evil.com", None, "https://a@shop.tmall.com/"])
def test_redirect_refuses_anything_off_the_domains(url):
    with pytest.raises(UnsafeRedirect):
        redirect_url({"id": 1, "online_url": url}, ["tmall.com"])


def test_client_windows_limit_and_reset():
    from o2o.web.limits import ClientWindows

    w = ClientWindows(limit=3, window_s=60, max_keys=100)
    assert [w.hit("a", now=0)[0] for _ in range(4)] == [True, True, True, False]
    assert w.hit("a", now=30) == (False, 30)
    assert w.hit("b", now=30)[0] is True
    assert w.hit("a", now=60.0)[0] is True  # a new window


def test_client_windows_stay_bounded():
    from o2o.web.limits import ClientWindows

    w = ClientWindows(limit=1, window_s=60, max_keys=1000)
    for i in range(50_000):
        w.hit(f"k{i}", now=0)
    assert len(w._counts) <= 1000
