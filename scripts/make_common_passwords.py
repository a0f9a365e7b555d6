"""Write o2o/data/common_passwords.txt: the passwords people choose most, which sign-up refuses.

Source: the frequency list ``passwords`` of zxcvbn (Dropbox's estimator, MIT licence; 30,000
passwords from leaked sets, most common first): its first 10,000, plus every entry of 10 or more
characters from the rest (shorter ones are refused by length anyway), plus the commonest
passwords of Chinese sites (the CSDN, 163 and Tianya leaks' well-known heads), lower-cased,
deduplicated, in order. Run it again only to refresh the file; zxcvbn is needed only here::

    pip install zxcvbn==4.5.0 && python scripts/make_common_passwords.py
"""

from __future__ import annotations

from pathlib import Path

from zxcvbn.frequency_lists import FREQUENCY_LISTS

OUT = Path(__file__).resolve().parent.parent / "o2o" / "data" / "common_passwords.txt"
CHINESE = """
123456789 12345678 11111111 dearbook 00000000 123123123 1234567890 88888888 111111111 147258369
987654321 aaaaaaaa 1111111111 66666666 a123456789 11223344 1qaz2wsx xiazhili 789456123 password
87654321 qqqqqqqq 000000000 qwertyuiop qq123456 iloveyou 31415926 12344321 0000000000 asdfghjkl
1q2w3e4r 123456abc 0123456789 123654789 12121212 qazwsxedc abcd1234 12341234 110110110 asdasdasd
123456123 22222222 123321123 abc123456 a12345678 123456123456 1234567899 woaini1314 woaini520
woaini5201314 5201314520 1314520520 520520520 wo5201314 iloveyou1314 zhang123456 wang123456
li123456789 aini1314520 qwe123456 qwer1234 asd123456 zxc123456 zxcvbnm123 1qaz2wsx3edc
qazwsx123 a1234567890 aa123456789 woaini123 5201314a 7758521521 7758258520 147258369a
q1w2e3r4t5 1q2w3e4r5t asdfghjkl123 qwertyuiop123 passw0rd123 password123 admin123456
administrator root123456 taobao123456 taobao123 tmall123456 jd123456789 weixin123456
wechat123456 alipay123456 baidu123456 shanghai123 beijing123 beijing2008 shanghai2010
""".split()


def main() -> None:
    ranked = FREQUENCY_LISTS["passwords"]
    chosen = ranked[:10_000] + [p for p in ranked[10_000:] if len(p) >= 10] + CHINESE
    seen, out = set(), []
    for p in chosen:
        p = p.strip().lower()
        if p and p not in seen:
            seen.add(p)
            out.append(p)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("# The commonest passwords (scripts/make_common_passwords.py): refused at sign-up.\n"
                   + "\n".join(out) + "\n", encoding="utf-8")
    print(f"{len(out)} passwords -> {OUT}")


if __name__ == "__main__":
    main()
