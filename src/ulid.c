/*
 * ulid.c
 *		ULIDs: 48 bits of Unix milliseconds and 80 random bits, written as 26
 *		characters of Crockford base32 (upper case).
 *
 * Within a backend the ids strictly increase: when the clock has not moved
 * past the last id (same millisecond, or the clock stepped back), the previous
 * random part is incremented instead of drawn anew, as the ULID spec's
 * monotonic mode does. No SPI, no catalog: a pure helper.
 */
#include "postgres.h"

#include <sys/time.h>

#include "utils/builtins.h"

#include "user_module.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static uint64 last_ms = 0;
static uint8 last_random[10];

/* Adds one to the 80-bit big-endian number; returns false on overflow. */
static bool
increment_random(uint8 *r)
{
	for (int i = 9; i >= 0; i--)
	{
		if (++r[i] != 0)
			return true;
	}
	return false;
}

static void
ulid_generate(char *out)
{
	struct timeval tv;
	uint64		ms;
	uint8		bytes[16];

	gettimeofday(&tv, NULL);
	ms = (uint64) tv.tv_sec * 1000 + tv.tv_usec / 1000;

	if (ms <= last_ms)
	{
		ms = last_ms;
		if (!increment_random(last_random))
		{
			/* 2^80 ids in one millisecond: borrow the next millisecond */
			ms++;
			if (!pg_strong_random(last_random, sizeof(last_random)))
				elog(ERROR, "could not generate random bytes");
		}
	}
	else if (!pg_strong_random(last_random, sizeof(last_random)))
		elog(ERROR, "could not generate random bytes");
	last_ms = ms;

	/* 128 bits: 48-bit time then 80 random bits, big-endian */
	for (int i = 0; i < 6; i++)
		bytes[i] = (uint8) (ms >> (8 * (5 - i)));
	memcpy(bytes + 6, last_random, 10);

	/* 26 characters of 5 bits each; the first carries only the top 3 bits */
	for (int i = 0; i < ULID_LEN; i++)
	{
		int			bit = i * 5 - 2;	/* bit offset of this character */
		uint32		v = 0;

		for (int b = 0; b < 5; b++, bit++)
		{
			v <<= 1;
			if (bit >= 0)
				v |= (bytes[bit / 8] >> (7 - bit % 8)) & 1;
		}
		out[i] = crockford[v];
	}
}

/* "<prefix>_<ULID>" as text */
text *
NewEntityId(const char *prefix)
{
	size_t		plen = strlen(prefix);
	char	   *buf = palloc(plen + 1 + ULID_LEN + 1);

	memcpy(buf, prefix, plen);
	buf[plen] = '_';
	ulid_generate(buf + plen + 1);
	buf[plen + 1 + ULID_LEN] = '\0';
	return cstring_to_text(buf);
}
