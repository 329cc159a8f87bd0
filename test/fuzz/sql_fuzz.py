#!/usr/bin/python3
"""Feeds generated inputs to every SQL function of user_module through psycopg 3.

One autocommit connection, one function call per statement, a seeded PRNG (the
seed is printed; --seed repeats a run). About 30% of the calls are valid
operations (creates, updates, deletes, restores, invites, accepts with real
tokens), so the data grows; the rest are hostile: NULLs, empty and 1 MB
strings, control characters, deep JSON, wrong JSON types, unknown keys, bad
operators and timestamps, junk order_by, negative and huge skip/take, and
mutated invite tokens (bytes flipped, inserted or deleted, segments swapped,
headers re-encoded with alg none/HS512/crit, truncated, padded, spaced).

Each call must succeed or fail with an SQLSTATE of the contract (23505, P0002,
22023, 22U01, 22U02, 22U03); 54000 is accepted only for inputs over 2,000
bytes (reported), and 22P02/22P05 only where the call passed a deliberately
broken jsonb literal (PostgreSQL's own input cast rejects it before the
function runs). The subscriber functions have codes of their own, accepted
only for the inputs that call for them: add_subscriber 42883 for an OID that
names no function (a function owned by user_module_owner is not tried: it
stops the whole module, as sql/threats.sql shows);
remove_subscriber, which resolves a handler text with a "(" with
to_regprocedure, the errors PostgreSQL 15's to_regprocedure still raises for a
malformed signature (SUBSCRIBER_SIGNATURE) where the text is junk. Anything else,
XX000 above all, or a lost connection is a failure: it is recorded with the
input, the connection is replaced, and the run goes on.

Subscribers are registered, changed and removed with junk among the valid
calls; list_subscribers must always show what the script registered, and
remove_subscriber return whether it was registered. One registered handler
writes down every event it is called with, another changes a setting: at the
end every event written down must be in the outbox under its name, and the
setting must be unchanged in the session (a subscriber's settings are
discarded).

After the run: invariants checked in SQL (one live row per lower(email) in
"user" and in invite, accepted invites soft-deleted and backed by a user,
event counts equal to what the script saw succeed, what the subscriber wrote
down), then claim_events and
purge_events are fuzzed (they would empty the outbox the counts rely on).

Last, every function of the extension, read from the catalog
(test/lib/functions.sql), must have been called, or be in LEFT_OUT below with
the reason: a new function cannot be forgotten.

Prints TAP (three checks, details in # comments); exits 1 on a failure.
Needs PGHOST/PGPORT/PGUSER of a cluster with user_module preloaded and a
superuser (test/lib/cluster.sh sets them up). Debian's python3-psycopg (3.1).
"""
import argparse
import base64
import collections
import json
import os
import random
import sys
import time

sys.setrecursionlimit(20000)  # deep JSON (3,000 levels) is built and encoded in Python

import psycopg

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from tap import check, done  # test/lib/tap.py

# The functions of the extension that are not called, and why.
LEFT_OUT = {
    "subscribers_changed": "the trigger function of user_module.subscriber, which no one calls: "
                           "add_subscriber and remove_subscriber fire it",
}

CONTRACT = {"23505", "P0002", "22023", "22U01", "22U02", "22U03"}
# What PostgreSQL 15's to_regprocedure raises for a malformed signature
# instead of returning NULL: a syntax error (22P02, 42601, 42602), an argument
# type that does not exist (42704) or whose schema does not (3F000), a
# cross-database name (0A000).
SUBSCRIBER_SIGNATURE = {"22P02", "42601", "42602", "42704", "3F000", "0A000"}
HUGE = 1 << 20

ap = argparse.ArgumentParser()
ap.add_argument("--count", type=int, default=100000)
ap.add_argument("--seed", type=int, default=None)
ap.add_argument("--db", default="user_module_fuzz")
args = ap.parse_args()
seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
R = random.Random(seed)
print(f"# seed {seed} (repeat with --seed {seed}), {args.count} calls, database {args.db}")


def connect():
    c = psycopg.connect(dbname=args.db, autocommit=True)
    c.execute("SET statement_timeout = '60s'")
    return c


with psycopg.connect(dbname="postgres", autocommit=True) as dba:
    dba.execute(f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)")
    dba.execute(f"CREATE DATABASE {args.db}")
conn = connect()
conn.execute("CREATE SCHEMA IF NOT EXISTS extensions; CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA extensions; CREATE EXTENSION user_module")

# ---------------------------------------------------------------------------
# generators

ALPHA = "abcdefghijklmnopqrstuvwxyz"
UNICODE = "éüßÆøπДжЖ中文字日本語한국🙂🚀\u200b\u202e\ufeff\u00a0"
CONTROL = "".join(chr(c) for c in range(1, 32)) + "\x7f"
BINARYISH = "".join(chr(c) for c in range(1, 256))


def rstr(maxlen=20):
    k = R.random()
    n = R.randint(0, maxlen)
    if k < 0.4:
        return "".join(R.choice(ALPHA) for _ in range(n))
    if k < 0.55:
        return "".join(R.choice(ALPHA + "%_\\' \"") for _ in range(n))
    if k < 0.7:
        return "".join(R.choice(UNICODE + ALPHA) for _ in range(n))
    if k < 0.8:
        return "".join(R.choice(CONTROL + ALPHA) for _ in range(n))
    if k < 0.9:
        return "".join(R.choice(BINARYISH) for _ in range(n))
    if k < 0.97:
        return ""
    return huge_string()


def make_huge(n):
    if R.random() < 0.5:
        return R.choice(ALPHA) * n
    return "".join(R.choice(ALPHA + UNICODE + "%_ ") for _ in range(min(n, 20000))) * max(1, n // 20000)


# made once: generating them per call would cost more than the calls
HUGE_STRINGS = [make_huge(n) for n in (3000, 3000, 10000, 10000, 100000, 100000, HUGE, HUGE)]


def huge_string():
    return R.choice(HUGE_STRINGS)


def maybe_null(v, p=0.1):
    return None if R.random() < p else v


seq = 0


def fresh_email():
    global seq
    seq += 1
    e = f"p{seq}.{R.randint(0, 1 << 30)}@ex{R.randint(0, 99)}.test"
    return e.upper() if R.random() < 0.1 else e


def bad_email():
    return R.choice([
        "", " ", "no-at", "two@@x.y", "a@b@c", "@x.y", "x@", " a @b.c", "a\tb@c.d", "a\x01@b.c",
        "x" * 65 + "@b.c", "a@" + "b" * 260, "a b@c.d", "a@b.c\n", huge_string(), rstr(),
    ])


def any_email():
    k = R.random()
    if k < 0.4:
        return fresh_email()
    if k < 0.7 and known_emails:
        e = R.choice(known_emails)
        return R.choice([e, e.upper(), e.lower(), "  " + e + " ", e.swapcase()])
    return bad_email()


def deep_json(depth):
    v = R.choice([1, "x", None, True, [], {}])
    for _ in range(depth):
        v = {"a": v} if R.random() < 0.5 else [v]
    return v


def junk_json(d=0):
    k = R.random()
    if d > 3 or k < 0.3:
        return R.choice([None, True, False, 0, -1, 1.5, 1e308, -1e-308, 2 ** 63, rstr(), ""])
    if k < 0.5:
        return [junk_json(d + 1) for _ in range(R.randint(0, 4))]
    if k < 0.6:
        return deep_json(R.choice([10, 100, 1000, 3000]))
    return {rstr(8): junk_json(d + 1) for _ in range(R.randint(0, 4))}


def metadata():
    k = R.random()
    if k < 0.5:
        return {rstr(6): R.choice([rstr(10), 1, True, None, "", {"n": 1}]) for _ in range(R.randint(0, 3))}
    if k < 0.6:
        return None
    if k < 0.65:
        return {"big": huge_string()}
    return junk_json()


TS_GOOD = ["2024-01-01", "2024-01-01T00:00:00Z", "now", "infinity", "-infinity", "epoch",
           "1999-12-31 23:59:59.999999+14", "today", "294276-12-31", "4713-01-01 BC"]
TS_BAD = ["", "yesterdayish", "2024-13-01", "2024-02-30", "99999999-01-01", "1e10", "2024-01-01 25:00",
          "allballs", "NaN", "5000000-01-01 BC", "2024-01-01 +99:00", "\x01", "0000-00-00"]
OPS = ["$gt", "$gte", "$lt", "$lte", "$eq", "$ne", "$in", "$like", "gt", "$GT", "", "$"]


def timestamp_filter():
    k = R.random()
    if k < 0.6:
        op = R.choice(OPS[:5]) if R.random() < 0.8 else R.choice(OPS)
        v = R.choice(TS_GOOD) if R.random() < 0.6 else R.choice(TS_BAD + [junk_json()])
        f = {op: v}
        if R.random() < 0.2:
            f[R.choice(OPS)] = R.choice(TS_GOOD + TS_BAD)
        return f
    return junk_json()


USER_FILTER_KEYS = ["id", "email", "first_name", "last_name", "q", "created_at", "updated_at", "deleted_at"]
INVITE_FILTER_KEYS = ["id", "email", "accepted", "q", "expires_at", "created_at", "updated_at", "deleted_at"]


def q_value():
    return R.choice([
        rstr(), "%", "_", "%_%", "\\", "a b", "  ", "\t\n", "ex", "P1", ".test", "É", "🙂",
        " ".join(rstr(5) for _ in range(R.randint(0, 40))), huge_string(),
    ])


def filters(keys):
    if R.random() < 0.1:
        return junk_json()
    f = {}
    for _ in range(R.randint(0, 3)):
        key = R.choice(keys) if R.random() < 0.85 else R.choice(["$or", "$and", "foo", "", "ID", rstr(6)])
        if key in ("created_at", "updated_at", "deleted_at", "expires_at"):
            f[key] = timestamp_filter()
        elif key == "q":
            f[key] = q_value() if R.random() < 0.85 else junk_json()
        elif key == "accepted":
            f[key] = R.choice([True, False, "true", 1, None, [True]])
        elif key == "email":
            f[key] = R.choice([any_email(), [any_email() for _ in range(R.randint(0, 5))], junk_json()])
        elif key == "id":
            f[key] = R.choice([some_id(), [some_id() for _ in range(R.randint(0, 5))], junk_json(), []])
        else:
            f[key] = R.choice([rstr(), [rstr() for _ in range(R.randint(0, 5))], junk_json(), {"$eq": rstr()}])
    return f


USER_COLS = ["id", "first_name", "last_name", "email", "avatar_url", "metadata", "created_at", "updated_at", "deleted_at"]
INVITE_COLS = ["id", "email", "accepted", "token", "expires_at", "metadata", "created_at", "updated_at", "deleted_at",
               "token_jti"]


def order_by(cols):
    k = R.random()
    if k < 0.1:
        return None
    if k < 0.2:
        return R.choice(["", ",", "-", "--id", "id,", ",id", "id desc", "ID", "id;drop table x", "1", "id,,email",
                         " id ", "-\tid", "\"id\"", "id::text", rstr(), huge_string()])
    parts = []
    for _ in range(R.randint(1, 6)):
        c = R.choice(cols) if R.random() < 0.9 else rstr(6)
        parts.append(("-" if R.random() < 0.3 else "") + c)
    sep = "," if R.random() < 0.9 else R.choice([", ", " ,", ";", " "])
    return sep.join(parts)


def skip_take(valid):
    if valid:
        return R.randint(0, 20), R.choice([None, 1, 5, 10, 50])
    pick = lambda: R.choice([None, 0, 1, 10, -1, -2147483648, 2147483647, 1000000, R.randint(-5, 100)])
    return pick(), pick()


# ---------------------------------------------------------------------------
# state the script tracks

expiring = []              # genuine tokens that expired a second after the start
known_emails = []          # emails of rows created (any case)
user_ids = []              # users that may be changed or hard-deleted
protected_user_ids = []    # users created by accept_invite: soft-delete/restore only
invite_ids = []
accepted_invite_ids = []
tokens = []                # real tokens seen (current or stale)
live_tokens = []           # tokens as returned by create/refresh: candidates for accept
count_created = collections.Counter()   # event name -> successful changes seen


def some_id(protected=True):
    k = R.random()
    if k < 0.3 and user_ids:
        return R.choice(user_ids)
    if k < 0.5 and invite_ids:
        return R.choice(invite_ids)
    if k < 0.6 and protected_user_ids and protected:
        return R.choice(protected_user_ids)
    return R.choice(["", "1", "user_", "invite_", "user_00000000000000000000000000", rstr(), huge_string()
                     if R.random() < 0.05 else rstr(40)])


def id_array(pool, valid, protected=True):
    if valid and pool:
        return R.sample(pool, min(len(pool), R.randint(1, 5)))
    k = R.random()
    if k < 0.1:
        return None
    if k < 0.2:
        return []
    out = []
    for _ in range(R.randint(0, 8)):
        out.append(R.choice([some_id(protected), None, R.choice(pool) if pool else "x"]))
    return out


def user_obj(valid):
    if valid:
        o = {"email": fresh_email()}
        for k in ("first_name", "last_name", "avatar_url"):
            if R.random() < 0.6:
                o[k] = R.choice([rstr(12), "Ann", "Bob", "Åsa"])
        if R.random() < 0.3:
            o["metadata"] = {"k": rstr(5)}
        if R.random() < 0.1:
            o["id"] = f"fz-{R.randint(0, 1 << 60)}"
        return o
    o = {}
    for k in R.sample(["email", "first_name", "last_name", "avatar_url", "metadata", "id", "extra", ""], R.randint(0, 5)):
        o[k] = R.choice([any_email(), rstr(), None, junk_json(), metadata()]) if k != "metadata" else metadata()
    return o if R.random() < 0.9 else junk_json()


def changes_obj(valid, allow_email):
    keys = ["first_name", "last_name", "avatar_url", "metadata"] + (["email"] if allow_email else [])
    if valid:
        o = {}
        for k in R.sample(keys, R.randint(1, len(keys))):
            o[k] = fresh_email() if k == "email" else (metadata() if k == "metadata" and R.random() < 0.3 else
                                                        ({"x": rstr(4), "y": ""} if k == "metadata" else rstr(10)))
        if "metadata" in o and not (o["metadata"] is None or isinstance(o["metadata"], dict)):
            o["metadata"] = {}
        return o
    o = {}
    for k in R.sample(keys + ["id", "created_at", "deleted_at", "foo", "EMAIL"], R.randint(0, 4)):
        if k == "email" or (k == "EMAIL" and allow_email):
            o[k] = any_email()
        elif k in ("email", "EMAIL"):
            continue
        else:
            o[k] = R.choice([rstr(), None, junk_json(), metadata()])
    return o if R.random() < 0.9 else junk_json()


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def mutate_token(t):
    k = R.randrange(14)
    parts = t.split(".")
    if k == 0 and t:   # flip a byte
        i = R.randrange(len(t))
        return t[:i] + chr(ord(t[i]) ^ R.choice([1, 2, 4, 32])) + t[i + 1:]
    if k == 1:         # insert bytes
        i = R.randrange(len(t) + 1)
        return t[:i] + R.choice(["A", "=", ".", " ", "\x01", "é", "AAAA", "-", "_", "+", "/"]) + t[i:]
    if k == 2 and t:   # delete bytes
        i = R.randrange(len(t))
        return t[:i] + t[i + R.randint(1, 4):]
    if k == 3 and len(parts) == 3:   # swap segments
        R.shuffle(parts)
        return ".".join(parts)
    if k in (4, 5, 6) and len(parts) == 3:   # re-encode the header
        try:
            h = json.loads(unb64u(parts[0]))
        except Exception:
            h = {}
        if k == 4:
            h["alg"] = R.choice(["none", "None", "NONE", "", None])
            sig = R.choice(["", parts[2]])
        elif k == 5:
            h["alg"] = R.choice(["HS512", "HS384", "RS256", "hs256", "HS256 ", ["HS256"]])
            sig = parts[2]
        else:
            h["crit"] = R.choice([["exp"], [], "b64", None])
            sig = parts[2]
        return ".".join([b64u(json.dumps(h).encode()), parts[1], sig])
    if k == 7 and len(parts) == 3:   # re-encode the payload (signature no longer matches)
        try:
            p = json.loads(unb64u(parts[1]))
            p[R.choice(["exp", "iat", "id", "jti", "email"])] = R.choice([0, 9999999999, "x", None, -1, 1.5e300])
        except Exception:
            p = {}
        return ".".join([parts[0], b64u(json.dumps(p).encode()), parts[2]])
    if k == 8:
        return t[:R.randint(0, len(t))]
    if k == 9:
        return t + "=" * R.randint(1, 3) if R.random() < 0.5 else ".".join(p + "=" for p in parts)
    if k == 10:
        return R.choice([" " + t, t + " ", t + "\n", t.replace(".", ". "), "\t" + t])
    if k == 11:
        return t + "." + parts[-1]
    if k == 12 and len(parts) == 3:  # standard base64 instead of base64url
        return ".".join(p.replace("-", "+").replace("_", "/") for p in parts)
    return R.choice(["", ".", "..", "...", "a.b.c", "e30.e30.", "e30.e30.e30", rstr(), huge_string(),
                     b64u(b'{"alg":"none"}') + "." + b64u(b'{}') + "."])


def token_value():
    if R.random() < 0.05:
        return None
    if expiring and R.random() < 0.03:
        return R.choice(expiring)   # genuine but expired: 22U02
    if tokens and R.random() < 0.9:
        t = R.choice(tokens)
        return t if R.random() < 0.1 else mutate_token(t)
    return mutate_token("")


# ---------------------------------------------------------------------------
# calls

outcomes = collections.Counter()
per_function = collections.defaultdict(collections.Counter)
failures = []
limits = []   # (function, size) for 54000
calls = 0


def J(v):
    return json.dumps(v)


def call(fn, sql, params, raw_json=False, allowed=()):
    """Runs one statement; returns the rows, or None if it failed. allowed:
    SQLSTATEs this input may give beyond the contract's."""
    global conn, calls
    calls += 1
    size = sum(len(p) for p in params if isinstance(p, str)) + sum(
        sum(len(x) for x in p if isinstance(x, str)) for p in params if isinstance(p, list))
    try:
        cur = conn.execute(sql, params)
        rows = cur.fetchall() if cur.description else []
        outcomes["ok"] += 1
        per_function[fn]["ok"] += 1
        return rows
    except psycopg.Error as e:
        state = e.sqlstate
        lost = conn.closed or conn.broken
        good = (state in CONTRACT or (state == "54000" and size > 2000)
                or (state in ("22P02", "22P05") and raw_json) or state in allowed)
        key = state or ("connection lost" if lost else "client error")
        outcomes[key] += 1
        per_function[fn][key] += 1
        if state == "54000" and good:
            limits.append((fn, size, str(e).splitlines()[0][:100]))
        if not good or lost:
            shown = [repr(p)[:300] for p in params]
            failures.append(f"{fn}: {key} {type(e).__name__}: {str(e)[:300]!r}; args {shown}")
            if len(failures) <= 20:
                print(f"# FAILURE {failures[-1]}", flush=True)
        if lost:
            try:
                conn.close()
            except Exception:
                pass
            time.sleep(1)
            conn = connect()
        return None


def invite_rows(rows):
    for r in rows or []:
        if r[0] not in invite_ids:
            invite_ids.append(r[0])
        if r[3]:
            tokens.append(r[3])
            live_tokens.append(r[3])
    del tokens[:-2000]
    del live_tokens[:-500]


def jsonb_param(v):
    """A jsonb argument: JSON text (rarely a broken literal). Returns (text, raw)."""
    if R.random() < 0.02:
        return R.choice(["", "{", "nul", "{'a':1}", "[1,]", "\"\\u0000\"", "{\"a\":1}x", huge_string()]), True
    return (None, False) if R.random() < 0.03 else (J(v), False)


def op_create_user(valid):
    o = user_obj(True) if valid else user_obj(False)
    if not isinstance(o, dict):
        o = {"email": rstr()}
    o = {k: (v if k == "metadata" or v is None or isinstance(v, str) else J(v)) for k, v in o.items()}
    md, raw = jsonb_param(o.get("metadata")) if not valid else (J(o.get("metadata")) if "metadata" in o else None, False)
    rows = call("create_user", "SELECT * FROM user_module.create_user(%s::text, %s::text, %s::text, %s::text, %s::jsonb, %s::text)",
                [o.get("email"), o.get("first_name"), o.get("last_name"), o.get("avatar_url"), md, o.get("id")], raw)
    if rows:
        count_created["user.created"] += len(rows)
        user_ids.append(rows[0][0])
        known_emails.append(rows[0][3])


def op_create_users(valid):
    if valid:
        arr = [user_obj(True) for _ in range(R.randint(0, 5))]
        v, raw = J(arr), False
    else:
        v, raw = jsonb_param(R.choice([[user_obj(False) for _ in range(R.randint(0, 5))], user_obj(False), junk_json()]))
    rows = call("create_users", "SELECT * FROM user_module.create_users(%s::jsonb)", [v], raw)
    if rows:
        count_created["user.created"] += len(rows)
        for r in rows:
            user_ids.append(r[0])
            known_emails.append(r[3])


def op_update_user(valid):
    uid = R.choice(user_ids) if (valid and user_ids) else some_id()
    allow_email = uid not in protected_user_ids
    v, raw = (J(changes_obj(True, True)), False) if valid else jsonb_param(changes_obj(False, allow_email))
    rows = call("update_user", "SELECT * FROM user_module.update_user(%s::text, %s::jsonb)", [maybe_null(uid, 0.03), v], raw)
    if rows:
        known_emails.append(rows[0][3])


def op_update_users(valid):
    arr = []
    for _ in range(R.randint(0, 4)):
        uid = R.choice(user_ids) if (valid and user_ids) else some_id()
        c = changes_obj(valid, uid not in protected_user_ids)
        if isinstance(c, dict):
            c = dict(c)
            if R.random() < 0.95:
                c["id"] = uid
        arr.append(c)
    if valid:
        seen, uniq = set(), []
        for c in arr:
            if c.get("id") not in seen:
                seen.add(c.get("id"))
                uniq.append(c)
        v, raw = J(uniq), False
    else:
        v, raw = jsonb_param(arr if R.random() < 0.8 else junk_json())
    rows = call("update_users", "SELECT * FROM user_module.update_users(%s::jsonb)", [v], raw)
    for r in rows or []:
        known_emails.append(r[3])


def op_ids(fn, pool, valid, event, protected=True):
    ids = id_array(pool, valid, protected)
    if not protected and ids:   # an invite may have been given a user's id: filter, not just pick
        ids = [i for i in ids if i not in protected_user_ids]
    rows = call(fn, f"SELECT * FROM user_module.{fn}(%s::text[])", [ids])
    if rows:
        count_created[event] += len(rows)
    return rows


def op_delete_users(valid):
    # the users accepted invites created are never hard-deleted: they back the invariant
    rows = op_ids("delete_users", user_ids, valid and R.random() < 0.3, "user.deleted", protected=False)
    for r in rows or []:
        if r[0] in user_ids:
            user_ids.remove(r[0])


def op_soft_delete_users(valid):
    op_ids("soft_delete_users", user_ids + protected_user_ids, valid, "user.deleted")


def op_restore_users(valid):
    op_ids("restore_users", user_ids + protected_user_ids, valid, "user.restored")


def op_retrieve_user(valid):
    uid = R.choice(user_ids) if (valid and user_ids) else some_id()
    call("retrieve_user", "SELECT * FROM user_module.retrieve_user(%s::text, %s::boolean)",
         [maybe_null(uid, 0.05), R.choice([True, False, None])])


def op_list(fn, keys, cols, valid):
    st = skip_take(valid)
    f = filters(keys) if not valid else {}
    v, raw = jsonb_param(f) if not valid else (J(f), False)
    rows = call(fn, f"SELECT * FROM user_module.{fn}(%s::jsonb, %s::integer, %s::integer, %s::text, %s::boolean)",
                [v, st[0], st[1], order_by(cols) if not valid else "id", R.choice([True, False, None])], raw)
    return rows


def op_count(fn, keys):
    v, raw = jsonb_param(filters(keys))
    call(fn, f"SELECT user_module.{fn}(%s::jsonb, %s::boolean)", [v, R.choice([True, False, None])], raw)


def op_create_invite(valid):
    email = fresh_email() if valid else any_email()
    md, raw = (J({"by": "fuzz"}) if R.random() < 0.3 else None, False) if valid else jsonb_param(metadata())
    iid = None if valid or R.random() < 0.7 else some_id()
    rows = call("create_invite", "SELECT * FROM user_module.create_invite(%s::text, %s::jsonb, %s::text)",
                [maybe_null(email, 0.02), md, iid], raw)
    if rows:
        count_created["invite.created"] += 1
        known_emails.append(rows[0][1])
        invite_rows(rows)


def op_create_invites(valid):
    if valid:
        v, raw = J([{"email": fresh_email()} for _ in range(R.randint(0, 4))]), False
    else:
        arr = []
        for _ in range(R.randint(0, 4)):
            o = {k: R.choice([any_email(), rstr(), None, metadata(), junk_json()])
                 for k in R.sample(["email", "metadata", "id", "accepted", "token", ""], R.randint(0, 3))}
            if R.random() < 0.7:
                o["email"] = any_email()
            arr.append(o)
        v, raw = jsonb_param(arr if R.random() < 0.85 else junk_json())
    rows = call("create_invites", "SELECT * FROM user_module.create_invites(%s::jsonb)", [v], raw)
    if rows:
        count_created["invite.created"] += len(rows)
        for r in rows:
            known_emails.append(r[1])
        invite_rows(rows)


def op_update_invite(valid):
    iid = R.choice(invite_ids) if (valid and invite_ids) else some_id()
    ch = {"metadata": {"n": R.randint(0, 9)}} if valid else R.choice(
        [{"metadata": metadata()}, {"email": any_email()}, {"expires_at": R.choice(TS_GOOD)}, {}, junk_json(),
         {"accepted": True}, {"token": "x"}])
    v, raw = (J(ch), False) if valid else jsonb_param(ch)
    rows = call("update_invite", "SELECT * FROM user_module.update_invite(%s::text, %s::jsonb)", [maybe_null(iid, 0.03), v], raw)
    invite_rows(rows)


def op_update_invites(valid):
    arr = []
    for _ in range(R.randint(0, 4)):
        iid = R.choice(invite_ids) if (valid and invite_ids) else some_id()
        arr.append({"id": iid, "metadata": {"m": rstr(4)}} if valid else
                   R.choice([{"id": iid, "metadata": metadata()}, {"id": iid, "email": any_email()}, {"metadata": {}},
                             junk_json(), {"id": iid}]))
    if valid:
        seen, uniq = set(), []
        for a in arr:
            if a["id"] not in seen:
                seen.add(a["id"])
                uniq.append(a)
        v, raw = J(uniq), False
    else:
        v, raw = jsonb_param(arr)
    invite_rows(call("update_invites", "SELECT * FROM user_module.update_invites(%s::jsonb)", [v], raw))


def op_refresh(valid):
    ids = id_array(invite_ids, valid)
    if valid and ids and R.random() < 0.3:
        ids = ids + ids[:1]
    rows = call("refresh_invite_tokens", "SELECT * FROM user_module.refresh_invite_tokens(%s::text[])", [ids])
    if rows:
        count_created["invite.resent"] += len({r[0] for r in rows})
        invite_rows(rows)


def op_validate(valid):
    t = R.choice(live_tokens) if (valid and live_tokens) else token_value()
    call("validate_invite_token", "SELECT * FROM user_module.validate_invite_token(%s::text)", [t])


def op_accept(valid):
    if valid and live_tokens:
        t = live_tokens.pop(R.randrange(len(live_tokens)))
    else:
        t = token_value()
    md, raw = (None, False) if valid else jsonb_param(metadata())
    rows = call("accept_invite",
                "SELECT * FROM user_module.accept_invite(%s::text, %s::text, %s::text, %s::text, %s::jsonb)",
                [t, maybe_null(rstr(10), 0.3), maybe_null(rstr(10), 0.3), maybe_null(rstr(10), 0.5), md], raw)
    if rows:
        count_created["user.created"] += 1
        count_created["invite.accepted"] += 1
        protected_user_ids.append(rows[0][0])


def op_delete_invites(valid):
    rows = op_ids("delete_invites", invite_ids, valid and R.random() < 0.3, "invite.deleted")
    for r in rows or []:
        if r[0] in invite_ids:
            invite_ids.remove(r[0])


def op_soft_delete_invites(valid):
    op_ids("soft_delete_invites", invite_ids, valid, "invite.deleted")


def op_restore_invites(valid):
    op_ids("restore_invites", invite_ids, valid, "invite.restored")


def op_retrieve_invite(valid):
    iid = R.choice(invite_ids) if (valid and invite_ids) else some_id()
    invite_rows(call("retrieve_invite", "SELECT * FROM user_module.retrieve_invite(%s::text, %s::boolean)",
                     [maybe_null(iid, 0.05), R.choice([True, False, None])]))


def op_list_invites(valid):
    rows = op_list("list_invites", INVITE_FILTER_KEYS, INVITE_COLS, valid)
    for r in (rows or [])[:20]:
        if r[3]:
            tokens.append(r[3])


# ---------------------------------------------------------------------------
# subscribers

conn.execute("""
CREATE TABLE public.fz_heard (event_id bigint NOT NULL, name text NOT NULL);
-- writes down every event it is called with (names qualified: a subscriber
-- runs with search_path pg_catalog, pg_temp)
CREATE FUNCTION public.fz_sub_a(event user_module.event) RETURNS void
LANGUAGE sql AS $$ INSERT INTO public.fz_heard VALUES (event.id, event.name) $$;
CREATE FUNCTION public.fz_sub_b(event user_module.event) RETURNS void LANGUAGE sql AS $$ SELECT $$;
-- a setting changed for the session: discarded when the subscriber returns
CREATE FUNCTION public.fz_sub_c(event user_module.event) RETURNS void
LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_catalog.set_config('work_mem', '77kB', false); END $$;
-- not subscribers: 22023
CREATE FUNCTION public.fz_not_void(event user_module.event) RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$;
CREATE FUNCTION public.fz_two_args(event user_module.event, x integer) RETURNS void LANGUAGE sql AS $$ SELECT $$;
CREATE FUNCTION public.fz_text(event text) RETURNS void LANGUAGE sql AS $$ SELECT $$;
CREATE FUNCTION public.fz_set(event user_module.event) RETURNS SETOF integer LANGUAGE sql AS $$ SELECT 1 $$;
CREATE PROCEDURE public.fz_proc(event user_module.event) LANGUAGE sql AS $$ SELECT $$;
""")
SUBSCRIBERS = [f"public.fz_sub_{x}(user_module.event)" for x in "abc"]
# OIDs of functions that cannot be subscribers, and of none
NOT_SUBSCRIBERS = [r[0] for r in conn.execute("""
    SELECT oid::integer FROM pg_proc WHERE oid IN ('public.fz_not_void(user_module.event)'::regprocedure,
        'public.fz_two_args(user_module.event, integer)'::regprocedure, 'public.fz_text(text)'::regprocedure,
        'public.fz_set(user_module.event)'::regprocedure, 'public.fz_proc(user_module.event)'::regprocedure,
        'pg_catalog.now()'::regprocedure,
        'user_module.claim_events(integer)'::regprocedure, 'pg_catalog.count("any")'::regprocedure)""").fetchall()]
NO_FUNCTION = [0, 1, 4294967295, 2147483647, 99999999]
EVENT_NAMES = ["user.created", "user.updated", "user.deleted", "user.restored", "invite.created", "invite.updated",
               "invite.deleted", "invite.restored", "invite.resent", "invite.accepted"]
registered = {}   # handler -> events (None: all), as the script registered them


def event_list(valid):
    if valid:
        return None if R.random() < 0.3 else R.sample(EVENT_NAMES, R.randint(1, 4))
    k = R.random()
    if k < 0.2:
        return []
    if k < 0.35:   # two-dimensional
        return [[R.choice(EVENT_NAMES)], [R.choice(EVENT_NAMES)]]
    out = []
    for _ in range(R.randint(1, 5)):
        out.append(R.choice([R.choice(EVENT_NAMES), None, "USER.CREATED", "user.created ", "user.*", "", "*",
                             "user.exploded", rstr(), huge_string() if R.random() < 0.05 else rstr(30)]))
    return out


def op_add_subscriber(valid):
    if valid or R.random() < 0.3:
        h = R.choice(SUBSCRIBERS)
        ev = event_list(valid or R.random() < 0.3)
        rows = call("add_subscriber", "SELECT handler, events FROM user_module.add_subscriber(%s::regprocedure, %s::text[])",
                    [h, ev])
    else:
        oid = R.choice(NOT_SUBSCRIBERS + NO_FUNCTION + [None])
        ev = event_list(R.random() < 0.7)
        allowed = {"42883"} if oid in NO_FUNCTION else ()
        rows = call("add_subscriber", "SELECT handler, events FROM user_module.add_subscriber(%s::oid::regprocedure, %s::text[])",
                    [oid, ev], allowed=allowed)
        h = None
    if rows:
        if h is None:
            subscriber_problems.append(f"add_subscriber registered {rows[0][0]!r}, not a subscriber")
        elif rows[0] != (h, ev):
            subscriber_problems.append(f"add_subscriber({h}, {ev!r}) returned {rows[0]!r}")
        registered[rows[0][0]] = rows[0][1]


def handler_spelling(h):
    name = h.split("(")[0]
    return R.choice([h, h.replace("public.", ""), h.upper(), name.upper() + "(USER_MODULE.EVENT)",
                     h.replace("(", " ( "), name + "(user_module.event )", "public." + h.replace("public.", "")])


def op_remove_subscriber(valid):
    junk = False
    if valid or R.random() < 0.4:
        h = R.choice(SUBSCRIBERS)
        arg = h if R.random() < 0.5 else handler_spelling(h)
    else:
        junk = True
        h = None
        arg = R.choice([None, "", "(", ")", "()", "public.fz_sub_a", "public.fz_sub_a()", "fz_sub_a(text)",
                        "public.fz_sub_a(nosuchtype)", "nosuchschema.f(user_module.event)", "a.b.c.d(int)",
                        "f(int", "f(int))", "f(,)", "f(user_module.event, )", "public.fz_not_void(user_module.event)",
                        'f("unterminated)', "f(int[)", "f(" + "x" * 100 + ")", "a.b.c(int)", "f(nosuchschema.t)",
                        rstr(), huge_string()
                        if R.random() < 0.05 else rstr(40), "f(" + rstr() + ")"])
    rows = call("remove_subscriber", "SELECT user_module.remove_subscriber(%s::text)", [arg],
                allowed=SUBSCRIBER_SIGNATURE if junk else ())
    if rows:
        removed = rows[0][0]
        if not junk and removed != (h in registered):
            subscriber_problems.append(f"remove_subscriber({arg!r}) returned {removed}, registered: {h in registered}")
        if junk and removed:
            subscriber_problems.append(f"remove_subscriber({arg!r}) removed something")
        if not junk and removed:
            del registered[h]


def op_list_subscribers(valid):
    rows = call("list_subscribers", "SELECT handler, events FROM user_module.list_subscribers()", [])
    if rows is not None and dict(rows) != registered:
        subscriber_problems.append(f"list_subscribers: {rows!r}, registered {registered!r}")


subscriber_problems = []

OPS_TABLE = [
    (op_create_user, 8), (op_create_users, 4), (op_update_user, 6), (op_update_users, 4),
    (op_delete_users, 2), (op_soft_delete_users, 3), (op_restore_users, 3), (op_retrieve_user, 3),
    (lambda v: op_list("list_users", USER_FILTER_KEYS, USER_COLS, v), 8),
    (lambda v: op_count("count_users", USER_FILTER_KEYS), 5),
    (op_create_invite, 8), (op_create_invites, 4), (op_update_invite, 3), (op_update_invites, 3),
    (op_refresh, 4), (op_validate, 8), (op_accept, 8), (op_delete_invites, 2), (op_soft_delete_invites, 2),
    (op_restore_invites, 3), (op_retrieve_invite, 2), (op_list_invites, 5),
    (lambda v: op_count("count_invites", INVITE_FILTER_KEYS), 3),
    (op_add_subscriber, 2), (op_remove_subscriber, 2), (op_list_subscribers, 1),
]
FUNCS = [f for f, w in OPS_TABLE]
WEIGHTS = [w for f, w in OPS_TABLE]

# A few invites that expire within a second, so that 22U02 is reached too.
conn.execute("SET user_module.invite_valid_duration = '1s'")
for _ in range(5):
    op_create_invite(True)
conn.execute("RESET user_module.invite_valid_duration")
expiring.extend(live_tokens)
del live_tokens[:]
time.sleep(1.1)
tokens.extend(expiring)

start = time.time()
while calls < args.count:
    R.choices(FUNCS, WEIGHTS)[0](R.random() < 0.3)
elapsed = time.time() - start

summary = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items(), key=lambda kv: -kv[1]))
check(f"{calls} calls, by outcome: {summary}", not failures)
print(f"# {calls / elapsed:.0f} calls/s over {elapsed:.1f} s")
for fn in sorted(per_function):
    print(f"# {fn}: " + ", ".join(f"{k} {v}" for k, v in sorted(per_function[fn].items(), key=lambda kv: -kv[1])))
if limits:
    lc = collections.Counter(f"{fn} ({msg})" for fn, size, msg in limits)
    for k, v in lc.items():
        print(f"# 54000 (input over 2,000 bytes) {v}x: {k}")
for f in failures[:50]:
    print(f"# {f}")

# ---------------------------------------------------------------------------
# invariants

try:
    conn.close()
except Exception:
    pass
conn = connect()
problems = []


def one(sql):
    return conn.execute(sql).fetchone()[0]


for table in ('"user"', "invite"):
    dup = one(f"SELECT count(*) FROM (SELECT lower(email) FROM user_module.{table} WHERE deleted_at IS NULL "
              f"GROUP BY 1 HAVING count(*) > 1) d")
    if dup:
        problems.append(f"{dup} emails with more than one live row in {table}")
orphan = one("""SELECT count(*) FROM user_module.invite i WHERE accepted
                AND NOT EXISTS (SELECT FROM user_module."user" u WHERE lower(u.email) = lower(i.email))""")
if orphan:
    problems.append(f"{orphan} accepted invites without a user of their email: " + repr(conn.execute(
        """SELECT i.id, i.email FROM user_module.invite i WHERE accepted AND NOT EXISTS
           (SELECT FROM user_module."user" u WHERE lower(u.email) = lower(i.email)) LIMIT 5""").fetchall()))
live_accepted = one("SELECT count(*) FROM user_module.invite WHERE accepted AND deleted_at IS NULL")
if live_accepted:
    problems.append(f"{live_accepted} accepted invites are live")
events = dict(conn.execute("SELECT name, count(*) FROM user_module.event GROUP BY name").fetchall())
for name in ("user.created", "user.deleted", "user.restored", "invite.created", "invite.accepted",
             "invite.deleted", "invite.restored", "invite.resent"):
    if events.get(name, 0) != count_created[name]:
        problems.append(f"{events.get(name, 0)} {name} events, {count_created[name]} seen to succeed")
no_event = one("""SELECT count(*) FROM user_module."user" u WHERE NOT EXISTS
                  (SELECT FROM user_module.event e WHERE e.name = 'user.created' AND e.entity_id = u.id)""")
no_event += one("""SELECT count(*) FROM user_module.invite i WHERE NOT EXISTS
                   (SELECT FROM user_module.event e WHERE e.name = 'invite.created' AND e.entity_id = i.id)""")
if no_event:
    problems.append(f"{no_event} rows without their created event")
problems.extend(subscriber_problems[:20])
if len(subscriber_problems) > 20:
    problems.append(f"... {len(subscriber_problems) - 20} more subscriber problems")
unheard = one("""SELECT count(*) FROM public.fz_heard h WHERE NOT EXISTS
                 (SELECT FROM user_module.event e WHERE e.id = h.event_id AND e.name = h.name)""")
if unheard:
    problems.append(f"{unheard} events the subscriber was called with are not in the outbox under their names")
heard = one("SELECT count(*) FROM public.fz_heard")
twice = one("SELECT count(*) FROM (SELECT event_id FROM public.fz_heard GROUP BY 1 HAVING count(*) > 1) t")
if twice:
    problems.append(f"{twice} events the subscriber was called with more than once")
work_mem = one("SHOW work_mem")
if work_mem == "77kB":
    problems.append("a subscriber's set_config('work_mem') outlived its call")
print(f"# subscribers: {len(registered)} registered at the end; fz_sub_a was called with {heard} events")
accepted_rows = one("SELECT count(*) FROM user_module.invite WHERE accepted")
if accepted_rows > count_created["invite.accepted"]:
    problems.append(f"{accepted_rows} accepted invites, {count_created['invite.accepted']} accepts")
totals = conn.execute("""SELECT (SELECT count(*) FROM user_module."user"), (SELECT count(*) FROM user_module."user" WHERE deleted_at IS NULL),
                                (SELECT count(*) FROM user_module.invite), (SELECT count(*) FROM user_module.invite WHERE accepted),
                                (SELECT count(*) FROM user_module.event)""").fetchone()

# claim_events and purge_events, fuzzed only now: they empty the outbox the counts above rely on.
outbox = totals[4]
claimed = 0
for _ in range(200):
    m = R.choice([None, -1, 0, 1, 7, 100, 1000, 2147483647, -2147483648])
    rows = call("claim_events", "SELECT id, name FROM user_module.claim_events(%s::integer)", [m])
    if rows is not None:
        claimed += len(rows)
        if m is not None and m >= 0 and len(rows) > m:
            problems.append(f"claim_events({m}) returned {len(rows)} rows")
for _ in range(100):
    iv = R.choice([None, "0", "-1 s", "1 s", "7 days", "1000 years", "1 microsecond",
                   "1000000 years", "-1000000 years", "00:00:00.000001", "@ 1 day ago"])
    call("purge_events", "SELECT user_module.purge_events(%s::interval)", [iv])
left = one("SELECT count(*) FROM user_module.event")
if claimed > outbox:
    problems.append(f"claimed {claimed} events of {outbox}")
print(f"# claim_events claimed {claimed} of {outbox} events; {left} left after purge_events")
for fn in ("claim_events", "purge_events"):
    print(f"# {fn}: " + ", ".join(f"{k} {v}" for k, v in sorted(per_function[fn].items(), key=lambda kv: -kv[1])))
if len(failures) > 0 and failures[-1].startswith(("claim_events", "purge_events")):
    problems.extend(f for f in failures if f.startswith(("claim_events", "purge_events")))

check(f"invariants: one live row per email, accepted invites soft-deleted with a user, subscribers as registered, "
      f"event counts as seen ({totals[0]} users, {totals[1]} live, {totals[2]} invites, {totals[3]} accepted, "
      f"{totals[4]} events)", not problems, "\n".join(problems))

with open(os.path.join(HERE, "..", "lib", "functions.sql")) as f:
    functions = [r[0] for r in conn.execute(f.read())]
missing = [fn for fn in functions if not per_function.get(fn) and fn not in LEFT_OUT]
check(f"every function of the extension was called ({len(functions)} in the catalog, "
      f"{len(LEFT_OUT)} left out: {', '.join(LEFT_OUT)})", not missing, f"not called: {', '.join(missing)}")
conn.close()
sys.exit(done())
