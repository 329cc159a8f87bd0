/*
 * token_test.c
 *		Unit tests of src/token.c outside the server: RFC 4231 HMAC-SHA256
 *		vectors, the RFC 7515/7520, pgjwt and jwt.io HS256 tokens, our own
 *		sign/verify round trip, the list of tokens the verifier must refuse,
 *		and verifying under the current or the previous key.
 *
 * Prints TAP ("ok N - name" / "not ok N - name"); exit status 1 on failure.
 */
#include "postgres_fe.h"

#include "common/sha2.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"

#include "token.h"

static int	tests = 0;
static int	failures = 0;

static void
check(const char *name, bool ok)
{
	tests++;
	if (!ok)
		failures++;
	printf("%sok %d - %s\n", ok ? "" : "not ", tests, name);
}

static void
hex(const uint8 *data, int len, char *out)
{
	for (int i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", data[i]);
}

static void
check_hmac(const char *name, const uint8 *key, size_t keylen,
		   const uint8 *data, size_t len, const char *expected)
{
	uint8		mac[PG_SHA256_DIGEST_LENGTH];
	char		got[2 * PG_SHA256_DIGEST_LENGTH + 1];

	HmacSha256(key, keylen, data, len, mac);
	hex(mac, sizeof(mac), got);
	check(name, strncmp(got, expected, strlen(expected)) == 0);
}

static void
rfc4231(void)
{
	uint8		key[131];
	uint8		data[50];

	memset(key, 0x0b, 20);
	check_hmac("RFC 4231 test case 1", key, 20, (const uint8 *) "Hi There", 8,
			   "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	check_hmac("RFC 4231 test case 2", (const uint8 *) "Jefe", 4,
			   (const uint8 *) "what do ya want for nothing?", 28,
			   "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	memset(key, 0xaa, 20);
	memset(data, 0xdd, 50);
	check_hmac("RFC 4231 test case 3", key, 20, data, 50,
			   "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
	for (int i = 0; i < 25; i++)
		key[i] = i + 1;
	memset(data, 0xcd, 50);
	check_hmac("RFC 4231 test case 4", key, 25, data, 50,
			   "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
	memset(key, 0x0c, 20);
	check_hmac("RFC 4231 test case 5 (truncated to 128 bits)", key, 20,
			   (const uint8 *) "Test With Truncation", 20,
			   "a3b6167473100ee06e0c796c2955552b");
	memset(key, 0xaa, 131);
	check_hmac("RFC 4231 test case 6", key, 131,
			   (const uint8 *) "Test Using Larger Than Block-Size Key - Hash Key First", 54,
			   "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	check_hmac("RFC 4231 test case 7", key, 131,
			   (const uint8 *) "This is a test using a larger than block-size key and a larger "
			   "than block-size data. The key needs to be hashed before being used by "
			   "the HMAC algorithm.", 152,
			   "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

static TokenStatus
verify_signature(const char *token, const uint8 *key, size_t keylen)
{
	return TokenVerifySignature(token, strlen(token), PG_UTF8, key, keylen);
}

static TokenStatus
verify(const char *token, const char *key)
{
	TokenClaims claims;

	return TokenVerify(token, strlen(token), PG_UTF8, (const uint8 *) key, strlen(key), &claims);
}

static void
published_tokens(void)
{
	const char *v1 = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
		"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
		"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
	const char *v1_key_b64 = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
	const char *v2 = "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9."
		"SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4."
		"s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0";
	const char *v2_key_b64 = "hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg";
	const char *v3 = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
		"eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiYWRtaW4iOnRydWV9."
		"TJVA95OrM7E2cBab30RMHrHDcEfxjoYZgeFONFh7HgQ";
	const char *v4 = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
		"eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
		"SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
	uint8		key[64];
	int			keylen;
	TokenClaims claims;

	keylen = Base64UrlDecode(v1_key_b64, strlen(v1_key_b64), key);
	check("RFC 7515 A.1 key decodes to 64 bytes", keylen == 64);
	check("RFC 7515 A.1 signature verifies (CRLF in header MAC'd as received)",
		  verify_signature(v1, key, keylen) == TOKEN_VALID);
	check("RFC 7515 A.1 has no invite claims: refused",
		  TokenVerify(v1, strlen(v1), PG_UTF8, key, keylen, &claims) == TOKEN_INVALID);

	keylen = Base64UrlDecode(v2_key_b64, strlen(v2_key_b64), key);
	check("RFC 7520 4.4 signature verifies", verify_signature(v2, key, keylen) == TOKEN_VALID);
	check("RFC 7520 4.4 payload is not a JSON object: refused",
		  TokenVerify(v2, strlen(v2), PG_UTF8, key, keylen, &claims) == TOKEN_INVALID);

	check("pgjwt vector signature verifies",
		  verify_signature(v3, (const uint8 *) "secret", 6) == TOKEN_VALID);
	check("jwt.io vector signature verifies",
		  verify_signature(v4, (const uint8 *) "your-256-bit-secret", 19) == TOKEN_VALID);
	check("jwt.io vector with another key: refused",
		  verify_signature(v4, (const uint8 *) "your-256-bit-secreT", 19) == TOKEN_INVALID);
	check("jwt.io vector lacks exp, id, jti: refused", verify(v4, "your-256-bit-secret") == TOKEN_INVALID);
}

/* base64url, written independently of src/token.c */
static void
append_b64url(StringInfo s, const uint8 *d, size_t n)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32		acc = 0;
	int			bits = 0;

	for (size_t i = 0; i < n; i++)
	{
		acc = (acc << 8) | d[i];
		bits += 8;
		while (bits >= 6)
		{
			bits -= 6;
			appendStringInfoChar(s, alphabet[(acc >> bits) & 63]);
		}
	}
	if (bits > 0)
		appendStringInfoChar(s, alphabet[(acc << (6 - bits)) & 63]);
}

/* header.payload signed with key, from raw JSON texts */
static char *
forge(const char *header, const char *payload, const char *key)
{
	StringInfoData s;
	uint8		mac[PG_SHA256_DIGEST_LENGTH];

	initStringInfo(&s);
	append_b64url(&s, (const uint8 *) header, strlen(header));
	appendStringInfoChar(&s, '.');
	append_b64url(&s, (const uint8 *) payload, strlen(payload));
	HmacSha256((const uint8 *) key, strlen(key), (const uint8 *) s.data, s.len, mac);
	appendStringInfoChar(&s, '.');
	append_b64url(&s, mac, sizeof(mac));
	return s.data;
}

static char *
with_change(const char *token, int pos, char c)
{
	char	   *copy = pstrdup(token);

	copy[pos] = c;
	return copy;
}

static void
own_tokens(void)
{
	const char *key = "a-test-key-that-is-long-enough-0123456789";
	const char *header = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	const char *payload = "{\"id\":\"invite_1\",\"email\":\"a@b.c\",\"iat\":1700000000,\"exp\":1700086400,\"jti\":\"7d9f\"}";
	TokenClaims in = {"invite_1", "a@b.c", "7d9f", 1700000000, 1700086400, false, 0};
	TokenClaims out;
	char	   *token = TokenSign(&in, (const uint8 *) key, strlen(key));
	int			len = strlen(token);
	char	   *s;
	char		last;

	check("TokenSign writes the header {\"alg\":\"HS256\",\"typ\":\"JWT\"}",
		  strncmp(token, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37) == 0);
	check("TokenSign equals an independent signing of the same JSON",
		  strcmp(token, forge(header, payload, key)) == 0);
	check("round trip verifies",
		  TokenVerify(token, len, PG_UTF8, (const uint8 *) key, strlen(key), &out) == TOKEN_VALID);
	check("round trip claims", strcmp(out.id, "invite_1") == 0 && strcmp(out.jti, "7d9f") == 0 &&
		  out.iat == 1700000000 && out.exp == 1700086400 && !out.has_nbf);
	check("deterministic", strcmp(token, TokenSign(&in, (const uint8 *) key, strlen(key))) == 0);

	/* the negative list */
	check("empty", verify("", key) == TOKEN_INVALID);
	check("garbage", verify("not a token at all", key) == TOKEN_INVALID);
	s = pstrdup(token);
	*strrchr(s, '.') = '\0';
	check("two segments", verify(s, key) == TOKEN_INVALID);
	check("four segments", verify(psprintf("%s.AAAA", token), key) == TOKEN_INVALID);
	check("empty signature", verify(psprintf("%s.", s), key) == TOKEN_INVALID);
	check("= padding", verify(psprintf("%s=", token), key) == TOKEN_INVALID);
	check("white space", verify(psprintf(" %s", token), key) == TOKEN_INVALID);
	check("standard base64 alphabet", verify(with_change(token, 3, '+'), key) == TOKEN_INVALID);
	/* 32 bytes = 43 characters, the last holding 2 unused bits */
	last = token[len - 1];
	check("non-canonical last character",
		  verify(with_change(token, len - 1, last == 'A' ? 'B' : (char) (last ^ 1)), key) == TOKEN_INVALID);
	check("one flipped signature bit",
		  verify(with_change(token, len - 5, token[len - 5] == 'A' ? 'Q' : 'A'), key) == TOKEN_INVALID);
	check("another key", verify(token, "another-key-that-is-long-enough-0123456") == TOKEN_INVALID);
	check("over the length cap", verify(psprintf("%s%0*d", token, TOKEN_MAX_LEN, 0), key) == TOKEN_INVALID);

	check("alg none, signed", verify(forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, key), key) == TOKEN_INVALID);
	check("alg none, no signature",
		  verify(psprintf("%s.", pnstrdup(forge("{\"alg\":\"none\"}", payload, key),
										  strrchr(forge("{\"alg\":\"none\"}", payload, key), '.') -
										  forge("{\"alg\":\"none\"}", payload, key))), key) == TOKEN_INVALID);
	check("alg HS512", verify(forge("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", payload, key), key) == TOKEN_INVALID);
	check("alg RS256", verify(forge("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", payload, key), key) == TOKEN_INVALID);
	check("alg hs256 (case)", verify(forge("{\"alg\":\"hs256\"}", payload, key), key) == TOKEN_INVALID);
	check("no alg", verify(forge("{\"typ\":\"JWT\"}", payload, key), key) == TOKEN_INVALID);
	check("crit", verify(forge("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", payload, key), key) == TOKEN_INVALID);
	check("duplicate alg", verify(forge("{\"alg\":\"HS256\",\"alg\":\"HS256\"}", payload, key), key) == TOKEN_INVALID);
	check("header not an object", verify(forge("[\"HS256\"]", payload, key), key) == TOKEN_INVALID);
	check("header not JSON", verify(forge("{alg:HS256}", payload, key), key) == TOKEN_INVALID);
	check("header alg only, verifies", verify(forge("{\"alg\":\"HS256\"}", payload, key), key) == TOKEN_VALID);
	/* typ, if present, must be exactly the string "JWT" (RFC 8725, 3.11) */
	check("typ JWT, typ first, verifies",
		  verify(forge("{\"typ\":\"JWT\",\"alg\":\"HS256\"}", payload, key), key) == TOKEN_VALID);
	check("typ JWT spelt with an escape, verifies",
		  verify(forge("{\"alg\":\"HS256\",\"typ\":\"\\u004aWT\"}", payload, key), key) == TOKEN_VALID);
	check("typ jwt (case)", verify(forge("{\"alg\":\"HS256\",\"typ\":\"jwt\"}", payload, key), key) == TOKEN_INVALID);
	check("typ at+jwt", verify(forge("{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", payload, key), key) == TOKEN_INVALID);
	check("typ JOSE", verify(forge("{\"alg\":\"HS256\",\"typ\":\"JOSE\"}", payload, key), key) == TOKEN_INVALID);
	check("typ empty string", verify(forge("{\"alg\":\"HS256\",\"typ\":\"\"}", payload, key), key) == TOKEN_INVALID);
	check("typ \"JWT \" (trailing space)",
		  verify(forge("{\"alg\":\"HS256\",\"typ\":\"JWT \"}", payload, key), key) == TOKEN_INVALID);
	check("typ a number", verify(forge("{\"alg\":\"HS256\",\"typ\":1}", payload, key), key) == TOKEN_INVALID);
	check("typ null", verify(forge("{\"alg\":\"HS256\",\"typ\":null}", payload, key), key) == TOKEN_INVALID);
	check("typ true", verify(forge("{\"alg\":\"HS256\",\"typ\":true}", payload, key), key) == TOKEN_INVALID);
	check("typ an array [\"JWT\"]",
		  verify(forge("{\"alg\":\"HS256\",\"typ\":[\"JWT\"]}", payload, key), key) == TOKEN_INVALID);
	check("typ an object", verify(forge("{\"alg\":\"HS256\",\"typ\":{\"typ\":\"JWT\"}}", payload, key), key) == TOKEN_INVALID);
	check("duplicate typ",
		  verify(forge("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"typ\":\"JWT\"}", payload, key), key) == TOKEN_INVALID);
	check("nested typ ignored, verifies",
		  verify(forge("{\"alg\":\"HS256\",\"x\":{\"typ\":\"other\"}}", payload, key), key) == TOKEN_VALID);

	check("payload not an object", verify(forge(header, "[1,2]", key), key) == TOKEN_INVALID);
	check("payload a string", verify(forge(header, "\"x\"", key), key) == TOKEN_INVALID);
	check("payload duplicate id",
		  verify(forge(header, "{\"id\":\"a\",\"id\":\"b\",\"iat\":1,\"exp\":2,\"jti\":\"j\"}", key), key) == TOKEN_INVALID);
	check("missing exp", verify(forge(header, "{\"id\":\"a\",\"iat\":1,\"jti\":\"j\"}", key), key) == TOKEN_INVALID);
	check("string exp", verify(forge(header, "{\"id\":\"a\",\"iat\":1,\"exp\":\"2\",\"jti\":\"j\"}", key), key) == TOKEN_INVALID);
	check("fractional exp", verify(forge(header, "{\"id\":\"a\",\"iat\":1,\"exp\":2.5,\"jti\":\"j\"}", key), key) == TOKEN_INVALID);
	check("exponent exp", verify(forge(header, "{\"id\":\"a\",\"iat\":1,\"exp\":2e9,\"jti\":\"j\"}", key), key) == TOKEN_INVALID);
	check("huge exp", verify(forge(header, "{\"id\":\"a\",\"iat\":1,\"exp\":99999999999999999999,\"jti\":\"j\"}", key), key) == TOKEN_INVALID);
	check("missing iat", verify(forge(header, "{\"id\":\"a\",\"exp\":2,\"jti\":\"j\"}", key), key) == TOKEN_INVALID);
	check("numeric id", verify(forge(header, "{\"id\":1,\"iat\":1,\"exp\":2,\"jti\":\"j\"}", key), key) == TOKEN_INVALID);
	check("missing jti", verify(forge(header, "{\"id\":\"a\",\"iat\":1,\"exp\":2}", key), key) == TOKEN_INVALID);
	check("string nbf", verify(forge(header, "{\"id\":\"a\",\"iat\":1,\"exp\":2,\"jti\":\"j\",\"nbf\":\"0\"}", key), key) == TOKEN_INVALID);
	check("NUL in a claim", verify(forge(header, "{\"id\":\"a\\u0000b\",\"iat\":1,\"exp\":2,\"jti\":\"j\"}", key), key) == TOKEN_INVALID);
	check("invalid UTF-8 in payload", verify(forge(header, "{\"id\":\"\xff\",\"iat\":1,\"exp\":2,\"jti\":\"j\"}", key), key) == TOKEN_INVALID);
	check("nested id object ignored, top-level missing",
		  verify(forge(header, "{\"x\":{\"id\":\"a\"},\"iat\":1,\"exp\":2,\"jti\":\"j\"}", key), key) == TOKEN_INVALID);
	check("minimal valid claims",
		  TokenVerify(forge(header, "{\"id\":\"a\",\"iat\":1,\"exp\":2,\"jti\":\"j\",\"nbf\":1}", key),
					  strlen(forge(header, "{\"id\":\"a\",\"iat\":1,\"exp\":2,\"jti\":\"j\",\"nbf\":1}", key)),
					  PG_UTF8, (const uint8 *) key, strlen(key), &out) == TOKEN_VALID && out.has_nbf && out.nbf == 1);
}

/* TokenVerifyAnyKey: the current key and, during a rotation, the previous one */
static void
key_rotation(void)
{
	const char *a = "the-previous-key-long-enough-0123456789";
	const char *b = "the-current-key-long-enough-01234567890";
	const char *c = "some-other-key-long-enough-012345678901";
	TokenClaims in = {"invite_1", "a@b.c", "7d9f", 1700000000, 1700086400, false, 0};
	TokenClaims out;
	char	   *signed_a = TokenSign(&in, (const uint8 *) a, strlen(a));
	TokenKey	b_then_a[2] = {{(const uint8 *) b, strlen(b)}, {(const uint8 *) a, strlen(a)}};
	TokenKey	a_then_b[2] = {{(const uint8 *) a, strlen(a)}, {(const uint8 *) b, strlen(b)}};
	TokenKey	b_then_c[2] = {{(const uint8 *) b, strlen(b)}, {(const uint8 *) c, strlen(c)}};
	int			len = strlen(signed_a);
	char	   *wrong_typ = forge("{\"alg\":\"HS256\",\"typ\":\"JWS\"}",
								  "{\"id\":\"a\",\"iat\":1,\"exp\":2,\"jti\":\"j\"}", a);

	check("any key: signed with the previous key, keys {current, previous}: verifies",
		  TokenVerifyAnyKey(signed_a, len, PG_UTF8, b_then_a, 2, &out) == TOKEN_VALID &&
		  strcmp(out.id, "invite_1") == 0 && strcmp(out.jti, "7d9f") == 0);
	check("any key: signed with the first key of two: verifies",
		  TokenVerifyAnyKey(signed_a, len, PG_UTF8, a_then_b, 2, &out) == TOKEN_VALID);
	check("any key: the previous key removed: refused",
		  TokenVerifyAnyKey(signed_a, len, PG_UTF8, b_then_a, 1, &out) == TOKEN_INVALID);
	check("any key: neither key: refused",
		  TokenVerifyAnyKey(signed_a, len, PG_UTF8, b_then_c, 2, &out) == TOKEN_INVALID);
	check("any key: no keys: refused",
		  TokenVerifyAnyKey(signed_a, len, PG_UTF8, b_then_a, 0, &out) == TOKEN_INVALID);
	check("any key: one key is TokenVerify",
		  TokenVerifyAnyKey(signed_a, len, PG_UTF8, a_then_b, 1, &out) ==
		  TokenVerify(signed_a, len, PG_UTF8, (const uint8 *) a, strlen(a), &out));
	check("any key: the header rules still apply (typ JWS, under the previous key)",
		  TokenVerifyAnyKey(wrong_typ, strlen(wrong_typ), PG_UTF8, b_then_a, 2, &out) == TOKEN_INVALID);
}

int
main(void)
{
	rfc4231();
	published_tokens();
	own_tokens();
	key_rotation();
	printf("1..%d\n", tests);
	return failures == 0 ? 0 : 1;
}
