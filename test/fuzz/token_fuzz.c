/*
 * token_fuzz.c
 *		libFuzzer harness for src/token.c, built outside the server with
 *		FRONTEND defined (test/fuzz/run.sh has the build line).
 *
 * The first byte of an input picks a mode, a key and an encoding:
 *		bits 0-1	mode
 *		bits 2-3	key (the unit tests' keys)
 *		bits 4-7	server encoding for the claims' text
 * and the rest is the mode's data:
 *		0	a token as received: TokenVerifySignature and TokenVerify
 *		1	header and payload JSON texts, signed here with the key, so that
 *			the fuzzer reaches the header rules and the claims behind the HMAC
 *		2	claims for TokenSign, then verify, re-sign and one changed byte
 *		3	Base64UrlDecode alone
 *
 * Invariants (any breach aborts, which libFuzzer reports as a crash):
 *	- every status is one of TOKEN_VALID, TOKEN_INVALID, TOKEN_CRYPTO_FAILED
 *	  (and the last never happens with OpenSSL working);
 *	- TokenVerify valid implies TokenVerifySignature valid, with id and jti
 *	  set, holding no NUL and valid in the encoding;
 *	- a signature that verifies is the base64url of HmacSha256(header.payload),
 *	  written by an encoder independent of src/token.c;
 *	- Base64UrlDecode agrees with a reference decoder written here: accepts
 *	  exactly the canonical unpadded base64url texts, and re-encodes to them;
 *	- TokenSign's token verifies (unless its text is not valid UTF-8 or the
 *	  token exceeds TOKEN_MAX_LEN), gives back the claims, and re-signing
 *	  those claims gives the same bytes; any one changed byte is refused.
 *
 * palloc and friends are wrapped (-Wl,--wrap) into a per-input arena freed
 * after each input, standing in for the backend's memory context, so that
 * LeakSanitizer reports only what escapes it (malloc'd crypto contexts).
 */
#include "postgres_fe.h"

#include "common/sha2.h"
#include "mb/pg_wchar.h"

#include "token.h"

/* ---------------------------------------------------------------- arena */

typedef struct Chunk
{
	struct Chunk *prev;
	struct Chunk *next;
	size_t		size;
	size_t		pad;			/* keeps the user pointer 16-byte aligned */
} Chunk;

static Chunk arena = {&arena, &arena, 0, 0};

/* Links a chunk of "size" usable bytes (NULL: out of memory) at the arena's end. */
static void *
arena_link(Chunk *c, size_t size)
{
	if (c == NULL)
		abort();
	c->size = size;
	c->next = &arena;
	c->prev = arena.prev;
	arena.prev->next = c;
	arena.prev = c;
	return c + 1;
}

static void *
arena_alloc(size_t size, bool zero)
{
	return arena_link(zero ? calloc(1, sizeof(Chunk) + size) : malloc(sizeof(Chunk) + size), size);
}

static void
arena_unlink(Chunk *c)
{
	c->prev->next = c->next;
	c->next->prev = c->prev;
}

static void
arena_reset(void)
{
	while (arena.next != &arena)
	{
		Chunk	   *c = arena.next;

		arena_unlink(c);
		free(c);
	}
}

void	   *__wrap_palloc(Size size);
void	   *__wrap_palloc0(Size size);
void	   *__wrap_palloc_extended(Size size, int flags);
void	   *__wrap_repalloc(void *pointer, Size size);
void		__wrap_pfree(void *pointer);
char	   *__wrap_pstrdup(const char *in);
char	   *__wrap_pnstrdup(const char *in, Size size);

void *
__wrap_palloc(Size size)
{
	return arena_alloc(size, false);
}

void *
__wrap_palloc0(Size size)
{
	return arena_alloc(size, true);
}

void *
__wrap_palloc_extended(Size size, int flags)
{
	return arena_alloc(size, (flags & MCXT_ALLOC_ZERO) != 0);
}

void
__wrap_pfree(void *pointer)
{
	Chunk	   *c = (Chunk *) pointer - 1;

	arena_unlink(c);
	free(c);
}

void *
__wrap_repalloc(void *pointer, Size size)
{
	Chunk	   *c = (Chunk *) pointer - 1;

	arena_unlink(c);
	return arena_link(realloc(c, sizeof(Chunk) + size), size);
}

char *
__wrap_pnstrdup(const char *in, Size size)
{
	size_t		len = strnlen(in, size);
	char	   *out = arena_alloc(len + 1, false);

	memcpy(out, in, len);
	out[len] = '\0';
	return out;
}

char *
__wrap_pstrdup(const char *in)
{
	return __wrap_pnstrdup(in, strlen(in));
}

/* ---------------------------------------------------------------- helpers */

#define CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "token_fuzz: invariant broken at line %d: %s\n", __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

static const char alphabet[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url without padding, bit by bit (not the code in src/token.c) */
static size_t
ref_encode(const uint8 *d, size_t n, char *out)
{
	uint32		acc = 0;
	int			bits = 0;
	size_t		o = 0;

	for (size_t i = 0; i < n; i++)
	{
		acc = (acc << 8) | d[i];
		bits += 8;
		while (bits >= 6)
		{
			bits -= 6;
			out[o++] = alphabet[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[o++] = alphabet[(acc << (6 - bits)) & 63];
	out[o] = '\0';
	return o;
}

/* the reference decoder: -1 unless canonical unpadded base64url */
static int
ref_decode(const char *in, int len, uint8 *out)
{
	uint32		acc = 0;
	int			bits = 0;
	int			n = 0;

	if (len % 4 == 1)
		return -1;
	for (int i = 0; i < len; i++)
	{
		const char *p = memchr(alphabet, in[i], 64);

		if (in[i] == '\0' || p == NULL)
			return -1;
		acc = (acc << 6) | (uint32) (p - alphabet);
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			out[n++] = (uint8) (acc >> bits);
		}
	}
	/* the 2 or 4 bits left over must be zero */
	if ((acc & ((1u << bits) - 1)) != 0)
		return -1;
	return n;
}

/* Base64UrlDecode against the reference, on any bytes */
static void
check_decode(const char *in, int len)
{
	uint8	   *got = malloc(len / 4 * 3 + 3);
	uint8	   *want = malloc(len / 4 * 3 + 3);
	char	   *again = malloc(len + 2);
	int			n = Base64UrlDecode(in, len, got);
	int			m = ref_decode(in, len, want);

	CHECK(n == m);
	if (n >= 0)
	{
		CHECK(n == len * 3 / 4);
		CHECK(memcmp(got, want, n) == 0);
		CHECK(ref_encode(got, n, again) == (size_t) len);
		CHECK(memcmp(again, in, len) == 0);
	}
	free(got);
	free(want);
	free(again);
}

static bool
good_status(TokenStatus s)
{
	/* OpenSSL works here: TOKEN_CRYPTO_FAILED would be a bug as well */
	return s == TOKEN_VALID || s == TOKEN_INVALID;
}

static bool
good_text(const char *s, int encoding)
{
	int			len = strlen(s);

	return pg_encoding_verifymbstr(encoding, s, len) == len;
}

/* the unit tests' keys */
static const struct
{
	const char *b64;			/* base64url, or NULL: the text itself */
	const char *text;
}			keys[4] = {
	{NULL, "a-test-key-that-is-long-enough-0123456789"},
	{NULL, "secret"},
	{NULL, "your-256-bit-secret"},
	{"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow", NULL},
};

static const int encodings[16] = {
	PG_UTF8, PG_SQL_ASCII, PG_LATIN1, PG_EUC_JP, PG_EUC_CN, PG_EUC_KR, PG_EUC_TW,
	PG_EUC_JIS_2004, PG_MULE_INTERNAL, PG_LATIN2, PG_WIN1251, PG_KOI8R, PG_WIN1252,
	PG_ISO_8859_5, PG_WIN874, PG_UTF8
};

/* both verifiers on one token, and what must follow from their answers */
static TokenStatus
check_token(const char *token, int len, int encoding, const uint8 *key, size_t keylen)
{
	TokenClaims claims;
	TokenStatus sig = TokenVerifySignature(token, len, encoding, key, keylen);
	TokenStatus all;

	memset(&claims, 0, sizeof(claims));
	all = TokenVerify(token, len, encoding, key, keylen, &claims);
	CHECK(good_status(sig));
	CHECK(good_status(all));
	if (all == TOKEN_VALID)
	{
		CHECK(sig == TOKEN_VALID);
		CHECK(claims.id != NULL && claims.jti != NULL && claims.email == NULL);
		CHECK(good_text(claims.id, encoding) && good_text(claims.jti, encoding));
	}
	if (sig == TOKEN_VALID)
	{
		const char *dot1 = memchr(token, '.', len);
		const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (dot1 + 1 - token)) : NULL;
		uint8		mac[PG_SHA256_DIGEST_LENGTH];
		char		b64[64];

		CHECK(len <= TOKEN_MAX_LEN && dot2 != NULL);
		CHECK(memchr(dot2 + 1, '.', len - (dot2 + 1 - token)) == NULL);
		CHECK(HmacSha256(key, keylen, (const uint8 *) token, dot2 - token, mac));
		CHECK(ref_encode(mac, sizeof(mac), b64) == 43);
		CHECK(len - (dot2 + 1 - token) == 43 && memcmp(dot2 + 1, b64, 43) == 0);
	}
	return all;
}

/* ---------------------------------------------------------------- modes */

/* 0: a token as received, and the decoder on each of its segments */
static void
fuzz_token(const char *data, int len, int encoding, const uint8 *key, size_t keylen)
{
	int			start = 0;

	check_token(data, len, encoding, key, keylen);
	for (int i = 0; i <= len; i++)
	{
		if (i == len || data[i] == '.')
		{
			check_decode(data + start, i - start);
			start = i + 1;
		}
	}
}

/* 1: header and payload JSON, signed here */
static void
fuzz_json(const uint8 *data, size_t size, int encoding, const uint8 *key, size_t keylen)
{
	size_t		hlen;
	char	   *token;
	size_t		n;
	uint8		mac[PG_SHA256_DIGEST_LENGTH];
	TokenStatus s;

	if (size < 1)
		return;
	hlen = data[0] % size;
	data++;
	size--;
	/* two encodings, each rounded up, two dots, the signature, a NUL */
	token = malloc(size / 3 * 4 + 8 + 2 + 43 + 1);
	n = ref_encode(data, hlen, token);
	token[n++] = '.';
	n += ref_encode(data + hlen, size - hlen, token + n);
	CHECK(HmacSha256(key, keylen, (const uint8 *) token, n, mac));
	token[n++] = '.';
	n += ref_encode(mac, sizeof(mac), token + n);

	s = check_token(token, n, encoding, key, keylen);
	/* the header we sign ourselves, and the bare one, are always accepted */
	if ((hlen == 27 && memcmp(data, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", 27) == 0) ||
		(hlen == 15 && memcmp(data, "{\"alg\":\"HS256\"}", 15) == 0))
	{
		if (n <= TOKEN_MAX_LEN && hlen < size)
			CHECK(TokenVerifySignature(token, n, encoding, key, keylen) == TOKEN_VALID);
	}
	(void) s;
	free(token);
}

/* the next NUL-terminated field of data, or what is left */
static char *
take_string(const uint8 **data, size_t *size)
{
	const uint8 *nul = memchr(*data, '\0', *size);
	size_t		len = nul ? (size_t) (nul - *data) : *size;
	char	   *s = malloc(len + 1);

	memcpy(s, *data, len);
	s[len] = '\0';
	*data += nul ? len + 1 : len;
	*size -= nul ? len + 1 : len;
	return s;
}

static int64
take_int64(const uint8 **data, size_t *size)
{
	uint64		v = 0;

	for (int i = 0; i < 8 && *size > 0; i++)
	{
		v = (v << 8) | **data;
		(*data)++;
		(*size)--;
	}
	return (int64) v;
}

/* 2: claims signed by TokenSign, verified, re-signed, and changed */
static void
fuzz_sign(const uint8 *data, size_t size, const uint8 *key, size_t keylen)
{
	TokenClaims in;
	TokenClaims out;
	char	   *token;
	char	   *again;
	int			len;
	uint16		pos;
	uint8		c;
	bool		readable;

	if (size < 3)
		return;
	pos = (uint16) ((data[0] << 8) | data[1]);
	c = data[2];
	data += 3;
	size -= 3;
	memset(&in, 0, sizeof(in));
	in.iat = take_int64(&data, &size);
	in.exp = take_int64(&data, &size);
	in.id = take_string(&data, &size);
	in.jti = take_string(&data, &size);
	in.email = take_string(&data, &size);

	token = TokenSign(&in, key, keylen);
	CHECK(token != NULL);
	len = strlen(token);
	readable = good_text(in.id, PG_UTF8) && good_text(in.jti, PG_UTF8) &&
		good_text(in.email, PG_UTF8);

	memset(&out, 0, sizeof(out));
	if (readable && len <= TOKEN_MAX_LEN)
	{
		CHECK(check_token(token, len, PG_UTF8, key, keylen) == TOKEN_VALID);
		CHECK(TokenVerify(token, len, PG_UTF8, key, keylen, &out) == TOKEN_VALID);
		CHECK(strcmp(out.id, in.id) == 0 && strcmp(out.jti, in.jti) == 0);
		CHECK(out.iat == in.iat && out.exp == in.exp && !out.has_nbf);
		/* the email is signed but not read back: bring the one signed */
		out.email = in.email;
		again = TokenSign(&out, key, keylen);
		CHECK(again != NULL && strcmp(again, token) == 0);
	}
	else
		CHECK(check_token(token, len, PG_UTF8, key, keylen) == TOKEN_INVALID);

	/* one byte changed: refused, wherever it is (canonical base64url) */
	pos %= len;
	if ((char) c != token[pos])
	{
		token[pos] = (char) c;
		CHECK(TokenVerifySignature(token, len, PG_UTF8, key, keylen) == TOKEN_INVALID);
	}
	free(in.id);
	free(in.jti);
	free(in.email);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8 key3[64];
	static int	key3len = -1;
	const uint8 *key;
	size_t		keylen;
	int			which;
	int			encoding;
	char	   *copy;

	if (size < 1 || size > 2 * TOKEN_MAX_LEN)
		return 0;
	if (key3len < 0)
	{
		key3len = Base64UrlDecode(keys[3].b64, strlen(keys[3].b64), key3);
		CHECK(key3len == 64);
	}
	which = (data[0] >> 2) & 3;
	key = which == 3 ? key3 : (const uint8 *) keys[which].text;
	keylen = which == 3 ? (size_t) key3len : strlen(keys[which].text);
	encoding = encodings[data[0] >> 4];

	/* an exact-size copy, so that ASan sees any read past the end */
	copy = malloc(size - 1 ? size - 1 : 1);
	memcpy(copy, data + 1, size - 1);
	switch (data[0] & 3)
	{
		case 0:
			fuzz_token(copy, size - 1, encoding, key, keylen);
			break;
		case 1:
			fuzz_json((const uint8 *) copy, size - 1, encoding, key, keylen);
			break;
		case 2:
			fuzz_sign((const uint8 *) copy, size - 1, key, keylen);
			break;
		case 3:
			check_decode(copy, size - 1);
			break;
	}
	free(copy);
	arena_reset();
	return 0;
}
