/*
 * token.h
 *		Invite tokens (compact JWS, HS256). Pure: no SPI, no catalog.
 */
#ifndef TOKEN_H
#define TOKEN_H

/* Longest token TokenVerify looks at; ours are about 300 bytes. */
#define TOKEN_MAX_LEN 4096

typedef struct TokenClaims
{
	char	   *id;				/* invite id */
	char	   *email;			/* signed, not read back */
	char	   *jti;			/* identifies the current token of the invite */
	int64		iat;			/* issued at, Unix seconds */
	int64		exp;			/* expires at, Unix seconds */
	bool		has_nbf;
	int64		nbf;			/* not before, if present */
} TokenClaims;

/* An HMAC key: bytes and length. */
typedef struct TokenKey
{
	const uint8 *bytes;
	size_t		len;
} TokenKey;

typedef enum TokenStatus
{
	TOKEN_VALID,
	TOKEN_INVALID,				/* any reason at all: never say which */
	TOKEN_CRYPTO_FAILED			/* the HMAC could not be computed */
} TokenStatus;

extern int	Base64UrlDecode(const char *in, int len, uint8 *out);
extern bool HmacSha256(const uint8 *key, size_t keylen, const uint8 *data, size_t len,
					   uint8 *mac);
extern char *TokenSign(const TokenClaims *claims, const uint8 *key, size_t keylen);
extern TokenStatus TokenVerifySignature(const char *token, int len, int encoding,
										const uint8 *key, size_t keylen);
extern TokenStatus TokenVerify(const char *token, int len, int encoding,
							   const uint8 *key, size_t keylen, TokenClaims *claims);
extern TokenStatus TokenVerifyAnyKey(const char *token, int len, int encoding,
									 const TokenKey *keys, int nkeys, TokenClaims *claims);

#endif							/* TOKEN_H */
