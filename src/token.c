/*
 * token.c
 *		Invite tokens: compact JWS (RFC 7515) with HMAC-SHA256, strict
 *		base64url, and the claims {"id","email","iat","exp","jti"}.
 *
 * A pure helper: no SPI, no catalog, no settings; it builds for the backend
 * and, with FRONTEND defined, for the unit tests and fuzzers under test/. The
 * key is passed in. Every reason to refuse a token is the same TOKEN_INVALID,
 * so no caller can tell an attacker which check failed.
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include "common/hmac.h"
#include "common/jsonapi.h"
#include "common/sha2.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"

#include "compat.h"
#include "token.h"

/* {"alg":"HS256","typ":"JWT"}, the header every token we sign carries */
#define SIGNED_HEADER_B64 "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

static const char b64url_chars[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ---------------------------------------------------------------- base64url */

static void
b64url_encode(StringInfo out, const uint8 *data, size_t len)
{
	char	   *p;
	size_t		i;

	enlargeStringInfo(out, (int) ((len + 2) / 3 * 4));
	p = out->data + out->len;
	for (i = 0; i + 2 < len; i += 3)
	{
		uint32		v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];

		*p++ = b64url_chars[(v >> 18) & 63];
		*p++ = b64url_chars[(v >> 12) & 63];
		*p++ = b64url_chars[(v >> 6) & 63];
		*p++ = b64url_chars[v & 63];
	}
	if (len - i == 1)
	{
		uint32		v = data[i] << 16;

		*p++ = b64url_chars[(v >> 18) & 63];
		*p++ = b64url_chars[(v >> 12) & 63];
	}
	else if (len - i == 2)
	{
		uint32		v = (data[i] << 16) | (data[i + 1] << 8);

		*p++ = b64url_chars[(v >> 18) & 63];
		*p++ = b64url_chars[(v >> 12) & 63];
		*p++ = b64url_chars[(v >> 6) & 63];
	}
	*p = '\0';
	out->len = p - out->data;
}

/* The value of each base64url character, -1 for everything else. */
static const int8 b64url_values[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
	-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
	-1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

/*
 * Strict decoding: only the URL alphabet, no padding, no impossible length,
 * and the unused low bits of the last character must be zero, so every byte
 * string has exactly one accepted encoding. Returns the decoded length, or -1.
 */
int
Base64UrlDecode(const char *in, int len, uint8 *out)
{
	const unsigned char *s = (const unsigned char *) in;
	int			n = 0;
	int			i = 0;
	int			invalid = 0;
	int			rest = len % 4;

	if (rest == 1)
		return -1;
	/* whole groups: 4 characters, 3 bytes */
	for (; i + 4 <= len; i += 4)
	{
		int			a = b64url_values[s[i]];
		int			b = b64url_values[s[i + 1]];
		int			c = b64url_values[s[i + 2]];
		int			d = b64url_values[s[i + 3]];
		uint32		v = ((uint32) a << 18) | ((uint32) b << 12) | ((uint32) c << 6) | (uint32) d;

		invalid |= a | b | c | d;
		out[n++] = (uint8) (v >> 16);
		out[n++] = (uint8) (v >> 8);
		out[n++] = (uint8) v;
	}
	if (invalid < 0)
		return -1;
	/* the tail: 2 characters carry 1 byte (4 unused bits), 3 carry 2 (2 unused) */
	if (rest >= 2)
	{
		int			a = b64url_values[s[i]];
		int			b = b64url_values[s[i + 1]];
		int			c = (rest == 3) ? b64url_values[s[i + 2]] : 0;

		if ((a | b | c) < 0)
			return -1;
		out[n++] = (uint8) ((a << 2) | (b >> 4));
		if (rest == 2)
		{
			if ((b & 0x0f) != 0)
				return -1;
		}
		else
		{
			out[n++] = (uint8) (((b & 0x0f) << 4) | (c >> 2));
			if ((c & 0x03) != 0)
				return -1;
		}
	}
	return n;
}

/* ---------------------------------------------------------------- HMAC */

/* HMAC-SHA256 of data under key into mac; false if the crypto layer failed. */
bool
HmacSha256(const uint8 *key, size_t keylen, const uint8 *data, size_t len, uint8 *mac)
{
	pg_hmac_ctx *ctx = pg_hmac_create(PG_SHA256);
	bool		ok;

	if (ctx == NULL)
		return false;
	ok = pg_hmac_init(ctx, key, keylen) == 0 &&
		pg_hmac_update(ctx, data, len) == 0 &&
		pg_hmac_final(ctx, mac, PG_SHA256_DIGEST_LENGTH) == 0;
	pg_hmac_free(ctx);
	return ok;
}

/* ---------------------------------------------------------------- signing */

/* A JSON string literal, escaped as JSON.stringify does for these bytes. */
static void
append_json_string(StringInfo out, const char *s)
{
	appendStringInfoChar(out, '"');
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		switch (c)
		{
			case '"':
				appendStringInfoString(out, "\\\"");
				break;
			case '\\':
				appendStringInfoString(out, "\\\\");
				break;
			case '\b':
				appendStringInfoString(out, "\\b");
				break;
			case '\f':
				appendStringInfoString(out, "\\f");
				break;
			case '\n':
				appendStringInfoString(out, "\\n");
				break;
			case '\r':
				appendStringInfoString(out, "\\r");
				break;
			case '\t':
				appendStringInfoString(out, "\\t");
				break;
			default:
				if (c < 0x20)
					appendStringInfo(out, "\\u%04x", c);
				else
					appendStringInfoChar(out, c);
		}
	}
	appendStringInfoChar(out, '"');
}

/*
 * The token for claims: header.payload.signature, or NULL if the crypto layer
 * failed. Deterministic: the same claims and key always give the same token,
 * so it need not be stored.
 */
char *
TokenSign(const TokenClaims *claims, const uint8 *key, size_t keylen)
{
	StringInfoData payload;
	StringInfoData token;
	uint8		mac[PG_SHA256_DIGEST_LENGTH];

	/* member order as jsonwebtoken writes it: id, email, iat, exp, jti */
	initStringInfo(&payload);
	appendStringInfoString(&payload, "{\"id\":");
	append_json_string(&payload, claims->id);
	appendStringInfoString(&payload, ",\"email\":");
	append_json_string(&payload, claims->email);
	appendStringInfo(&payload, ",\"iat\":" INT64_FORMAT ",\"exp\":" INT64_FORMAT ",\"jti\":",
					 claims->iat, claims->exp);
	append_json_string(&payload, claims->jti);
	appendStringInfoChar(&payload, '}');

	initStringInfo(&token);
	appendStringInfoString(&token, SIGNED_HEADER_B64 ".");
	b64url_encode(&token, (uint8 *) payload.data, payload.len);
	if (!HmacSha256(key, keylen, (uint8 *) token.data, token.len, mac))
	{
		pfree(payload.data);
		pfree(token.data);
		return NULL;
	}
	appendStringInfoChar(&token, '.');
	b64url_encode(&token, mac, sizeof(mac));

	explicit_bzero(mac, sizeof(mac));
	pfree(payload.data);
	return token.data;
}

/* ---------------------------------------------------------------- verifying */

/* More top-level members than any header or payload of ours has */
#define MAX_MEMBERS 16

/* Top-level members of a JSON object, as the parser callbacks see them. */
typedef struct ObjectScan
{
	int			depth;			/* 0 outside, 1 inside the top object */
	bool		root_is_object;
	bool		bad;			/* a duplicate key or a rule broken */
	char	   *field;			/* current top-level member name */
	char	   *seen[MAX_MEMBERS];	/* top-level member names so far */
	int			nseen;
	/* what the header or payload rules look at */
	char	   *alg;
	bool		has_crit;
	bool		has_typ;
	char	   *typ;			/* "typ" if a string */
	char	   *id;
	char	   *jti;
	char	   *iat;
	char	   *exp;
	char	   *nbf;
	bool		iat_is_number;
	bool		exp_is_number;
	bool		nbf_is_number;
} ObjectScan;

static JsonActionResult
scan_object_start(void *state)
{
	ObjectScan *s = state;

	if (s->depth == 0)
		s->root_is_object = true;
	s->depth++;
	return JSON_ACTION_DONE;
}

static JsonActionResult
scan_object_end(void *state)
{
	((ObjectScan *) state)->depth--;
	return JSON_ACTION_DONE;
}

static JsonActionResult
scan_array_start(void *state)
{
	((ObjectScan *) state)->depth++;
	return JSON_ACTION_DONE;
}

static JsonActionResult
scan_array_end(void *state)
{
	((ObjectScan *) state)->depth--;
	return JSON_ACTION_DONE;
}

static JsonActionResult
scan_field_start(void *state, char *fname, bool isnull)
{
	ObjectScan *s = state;

	if (s->depth != 1)
		return JSON_ACTION_DONE;
	for (int i = 0; i < s->nseen; i++)
	{
		if (strcmp(s->seen[i], fname) == 0)
			s->bad = true;		/* duplicate member: ambiguous, reject */
	}
	if (s->nseen == MAX_MEMBERS)
		s->bad = true;
	else
		s->seen[s->nseen++] = fname;
	s->field = fname;
	if (strcmp(fname, "crit") == 0)
		s->has_crit = true;
	if (strcmp(fname, "typ") == 0)
		s->has_typ = true;
	return JSON_ACTION_DONE;
}

static JsonActionResult
scan_scalar(void *state, char *token, JsonTokenType type)
{
	ObjectScan *s = state;
	bool		is_string = (type == JSON_TOKEN_STRING);
	bool		is_number = (type == JSON_TOKEN_NUMBER);

	if (s->depth != 1 || s->field == NULL)
		return JSON_ACTION_DONE;
	if (strcmp(s->field, "alg") == 0 && is_string)
		s->alg = token;
	else if (strcmp(s->field, "typ") == 0 && is_string)
		s->typ = token;
	else if (strcmp(s->field, "id") == 0 && is_string)
		s->id = token;
	else if (strcmp(s->field, "jti") == 0 && is_string)
		s->jti = token;
	else if (strcmp(s->field, "iat") == 0)
		s->iat = token, s->iat_is_number = is_number;
	else if (strcmp(s->field, "exp") == 0)
		s->exp = token, s->exp_is_number = is_number;
	else if (strcmp(s->field, "nbf") == 0)
		s->nbf = token, s->nbf_is_number = is_number;
	return JSON_ACTION_DONE;
}

/*
 * Parses one decoded segment as a JSON object. The bytes must be valid in the
 * given encoding and hold no NUL: they become text later.
 */
static bool
scan_json_object(char *json, int len, int encoding, ObjectScan *scan)
{
	JsonLexContext *lex;
	JsonSemAction sem = {0};

	memset(scan, 0, sizeof(*scan));
	if (memchr(json, '\0', len) != NULL ||
		pg_encoding_verifymbstr(encoding, json, len) != len)
		return false;

	sem.semstate = scan;
	sem.object_start = scan_object_start;
	sem.object_end = scan_object_end;
	sem.array_start = scan_array_start;
	sem.array_end = scan_array_end;
	sem.object_field_start = scan_field_start;
	sem.scalar = scan_scalar;

	lex = NewJsonLexContext(json, len, encoding);
	if (pg_parse_json(lex, &sem) != JSON_SUCCESS)
		return false;
	return scan->root_is_object && !scan->bad;
}

/* A JSON number that is a whole number of seconds; fractions are refused. */
static bool
parse_seconds(const char *token, bool is_number, int64 *out)
{
	char	   *end;
	long long	v;

	if (token == NULL || !is_number)
		return false;
	errno = 0;
	v = strtoll(token, &end, 10);
	if (errno != 0 || *end != '\0' || end == token)
		return false;
	*out = (int64) v;
	return true;
}

/* Splits a compact JWS into its three non-empty segments; false if it is not one. */
static bool
split_token(const char *token, int len, const char **dot1, const char **dot2)
{
	if (len <= 0 || len > TOKEN_MAX_LEN)
		return false;
	*dot1 = memchr(token, '.', len);
	if (*dot1 == NULL)
		return false;
	*dot2 = memchr(*dot1 + 1, '.', len - (*dot1 + 1 - token));
	if (*dot2 == NULL || memchr(*dot2 + 1, '.', len - (*dot2 + 1 - token)) != NULL)
		return false;
	return *dot1 > token && *dot2 > *dot1 + 1 && *dot2 < token + len - 1;
}

/*
 * A header that is a JSON object with "alg" exactly "HS256", no "crit", and
 * "typ", if present, exactly the string "JWT" (RFC 8725, 3.11: a token of
 * another type is not ours, whatever its signature).
 */
static bool
header_acceptable(const char *b64, int len, int encoding)
{
	char	   *header;
	ObjectScan	scan;

	/* the header we sign ourselves needs no parsing */
	if (len == (int) strlen(SIGNED_HEADER_B64) && memcmp(b64, SIGNED_HEADER_B64, len) == 0)
		return true;
	header = palloc(len);
	len = Base64UrlDecode(b64, len, (uint8 *) header);
	return len >= 0 && scan_json_object(header, len, encoding, &scan) &&
		scan.alg != NULL && strcmp(scan.alg, "HS256") == 0 && !scan.has_crit &&
		(!scan.has_typ || (scan.typ != NULL && strcmp(scan.typ, "JWT") == 0));
}

/*
 * A payload object with string "id" and "jti" and whole-number "iat" and
 * "exp" (and "nbf", if present), already decoded.
 */
static bool
read_claims(char *payload, int len, int encoding, TokenClaims *claims)
{
	ObjectScan	scan;

	if (!scan_json_object(payload, len, encoding, &scan))
		return false;
	if (scan.id == NULL || scan.jti == NULL ||
		!parse_seconds(scan.iat, scan.iat_is_number, &claims->iat) ||
		!parse_seconds(scan.exp, scan.exp_is_number, &claims->exp))
		return false;
	claims->has_nbf = (scan.nbf != NULL);
	if (claims->has_nbf && !parse_seconds(scan.nbf, scan.nbf_is_number, &claims->nbf))
		return false;
	claims->id = scan.id;
	claims->jti = scan.jti;
	claims->email = NULL;
	return true;
}

/*
 * Checks a token and, with claims given, reads them. In order: a length cap
 * before any work; three canonical base64url segments; an acceptable header;
 * the HMAC over the received bytes under each key, compared in constant time
 * (every key is tried, whichever matches); and only then the claims. Expiry
 * and the invite itself are the caller's business. The claims' strings are
 * in the given encoding.
 */
static TokenStatus
verify(const char *token, int len, int encoding, const TokenKey *keys, int nkeys,
	   TokenClaims *claims)
{
	const char *dot1;
	const char *dot2;
	int			plen;
	char	   *payload;
	uint8		sig[TOKEN_MAX_LEN];
	uint8		mac[PG_SHA256_DIGEST_LENGTH];
	bool		genuine = false;

	if (!split_token(token, len, &dot1, &dot2))
		return TOKEN_INVALID;
	if (!header_acceptable(token, dot1 - token, encoding))
		return TOKEN_INVALID;
	/* all three segments canonical, though the payload is read only later */
	payload = palloc(dot2 - dot1);
	plen = Base64UrlDecode(dot1 + 1, dot2 - (dot1 + 1), (uint8 *) payload);
	if (plen < 0)
		return TOKEN_INVALID;
	if (Base64UrlDecode(dot2 + 1, len - (dot2 + 1 - token), sig) != PG_SHA256_DIGEST_LENGTH)
		return TOKEN_INVALID;

	for (int i = 0; i < nkeys; i++)
	{
		if (!HmacSha256(keys[i].bytes, keys[i].len, (const uint8 *) token, dot2 - token, mac))
			return TOKEN_CRYPTO_FAILED;
		genuine |= (timingsafe_bcmp(mac, sig, PG_SHA256_DIGEST_LENGTH) == 0);
		explicit_bzero(mac, sizeof(mac));
	}
	if (!genuine)
		return TOKEN_INVALID;

	if (claims != NULL && !read_claims(payload, plen, encoding, claims))
		return TOKEN_INVALID;
	return TOKEN_VALID;
}

/* The signature half alone: for tokens that are not invites (test vectors). */
TokenStatus
TokenVerifySignature(const char *token, int len, int encoding, const uint8 *key, size_t keylen)
{
	TokenKey	one = {key, keylen};

	return verify(token, len, encoding, &one, 1, NULL);
}

/* Signature, then claims: what validate_invite_token and accept_invite ask. */
TokenStatus
TokenVerify(const char *token, int len, int encoding, const uint8 *key, size_t keylen,
			TokenClaims *claims)
{
	TokenKey	one = {key, keylen};

	return verify(token, len, encoding, &one, 1, claims);
}

/*
 * The same, accepting a signature under any of nkeys keys: the current key
 * and, during a rotation, the previous one.
 */
TokenStatus
TokenVerifyAnyKey(const char *token, int len, int encoding, const TokenKey *keys, int nkeys,
				  TokenClaims *claims)
{
	return verify(token, len, encoding, keys, nkeys, claims);
}
