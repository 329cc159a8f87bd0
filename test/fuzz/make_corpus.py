#!/usr/bin/env python3
"""Writes the seed corpus of token_fuzz.c into test/fuzz/corpus/: the tokens,
JSON texts and negative list of test/unit/token_test.c, each behind the mode
byte token_fuzz.c reads (bits 0-1 mode, 2-3 key, 4-7 encoding; 0 = UTF-8)."""
import base64, hashlib, hmac, os, struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")
KEYS = [b"a-test-key-that-is-long-enough-0123456789", b"secret", b"your-256-bit-secret",
        base64.urlsafe_b64decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow==")]


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=")


def forge(header, payload, key=KEYS[0]):
    si = b64(header) + b"." + b64(payload)
    return si + b"." + b64(hmac.new(key, si, hashlib.sha256).digest())


seeds = []


def token(name, tok, key=0):
    seeds.append((name, bytes([key << 2]) + tok))


def json(name, header, payload, key=0):
    seeds.append((name, bytes([1 | key << 2, len(header)]) + header + payload))


def claims(name, id, jti, email, iat, exp, pos=0, c=b"A"):
    seeds.append((name, bytes([2]) + struct.pack(">H", pos) + c + struct.pack(">qq", iat, exp)
                  + id + b"\0" + jti + b"\0" + email))


def b64text(name, text):
    seeds.append((name, bytes([3]) + text))


# published vectors (test/unit/token_test.c)
token("rfc7515-a1", b"eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
      b"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
      b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", 3)
token("rfc7520-4.4", b"eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9."
      b"SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4."
      b"s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0", 3)
token("pgjwt", b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
      b"eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiYWRtaW4iOnRydWV9."
      b"TJVA95OrM7E2cBab30RMHrHDcEfxjoYZgeFONFh7HgQ", 1)
token("jwt-io", b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
      b"eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
      b"SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", 2)

# our own token and the negative list
H = b'{"alg":"HS256","typ":"JWT"}'
P = b'{"id":"invite_1","email":"a@b.c","iat":1700000000,"exp":1700086400,"jti":"7d9f"}'
own = forge(H, P)
token("own", own)
token("empty", b"")
token("garbage", b"not a token at all")
token("two-segments", own.rsplit(b".", 1)[0])
token("four-segments", own + b".AAAA")
token("empty-signature", own.rsplit(b".", 1)[0] + b".")
token("padding", own + b"=")
token("white-space", b" " + own)
token("standard-alphabet", own[:3] + b"+" + own[4:])
token("non-canonical-last", own[:-1] + (b"B" if own[-1:] == b"A" else bytes([own[-1] ^ 1])))
token("another-key", forge(H, P, b"another-key-that-is-long-enough-0123456"))
token("alg-none-unsigned", forge(b'{"alg":"none"}', P).rsplit(b".", 1)[0] + b".")
claims("sign-own", b"invite_1", b"7d9f", b"a@b.c", 1700000000, 1700086400, 40, b"x")
claims("sign-escapes", b'in"v\\i\nte\x01', b"\x7f\xc3\xa9", b"\xff", -2**63, 2**63 - 1, 100, b"_")
for name, h in [("alg-none", b'{"alg":"none","typ":"JWT"}'), ("alg-hs512", b'{"alg":"HS512","typ":"JWT"}'),
                ("alg-rs256", b'{"alg":"RS256","typ":"JWT"}'), ("alg-case", b'{"alg":"hs256"}'),
                ("no-alg", b'{"typ":"JWT"}'), ("crit", b'{"alg":"HS256","crit":["exp"]}'),
                ("duplicate-alg", b'{"alg":"HS256","alg":"HS256"}'), ("header-array", b'["HS256"]'),
                ("header-not-json", b"{alg:HS256}"), ("header-alg-only", b'{"alg":"HS256"}'),
                ("header-own", H)]:
    json(name, h, P)
for name, p in [("payload-array", b"[1,2]"), ("payload-string", b'"x"'),
                ("duplicate-id", b'{"id":"a","id":"b","iat":1,"exp":2,"jti":"j"}'),
                ("missing-exp", b'{"id":"a","iat":1,"jti":"j"}'),
                ("string-exp", b'{"id":"a","iat":1,"exp":"2","jti":"j"}'),
                ("fractional-exp", b'{"id":"a","iat":1,"exp":2.5,"jti":"j"}'),
                ("exponent-exp", b'{"id":"a","iat":1,"exp":2e9,"jti":"j"}'),
                ("huge-exp", b'{"id":"a","iat":1,"exp":99999999999999999999,"jti":"j"}'),
                ("numeric-id", b'{"id":1,"iat":1,"exp":2,"jti":"j"}'),
                ("string-nbf", b'{"id":"a","iat":1,"exp":2,"jti":"j","nbf":"0"}'),
                ("nul-claim", b'{"id":"a\\u0000b","iat":1,"exp":2,"jti":"j"}'),
                ("invalid-utf8", b'{"id":"\xff","iat":1,"exp":2,"jti":"j"}'),
                ("nested-id", b'{"x":{"id":"a"},"iat":1,"exp":2,"jti":"j"}'),
                ("minimal-valid", b'{"id":"a","iat":1,"exp":2,"jti":"j","nbf":1}'),
                ("unicode-escape", b'{"id":"\\u00e9\\ud83d\\ude00","iat":1,"exp":2,"jti":"j"}')]:
    json(name, H, p)
for name, t in [("b64-key", b"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"),
                ("b64-header", b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"), ("b64-tail2", b"QQ"), ("b64-tail3", b"QUI"),
                ("b64-tail2-bits", b"QR"), ("b64-pad", b"QQ=="), ("b64-plus", b"a+/b")]:
    b64text(name, t)

os.makedirs(OUT, exist_ok=True)
for name, data in seeds:
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print(f"{len(seeds)} seeds in {OUT}")
