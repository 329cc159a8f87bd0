#!/usr/bin/python3
"""The invite flow as a Python application runs it, through psycopg 3.

A back office (a LOGIN role in user_module_admin) creates and finds users and
invites; a worker LISTENs for the outbox's notifications (each names an event
by its id and name) and reads the events from the outbox; a sign-up page (a
LOGIN role in user_module_invitee) checks and accepts the token from the link.
Errors are told apart by SQLSTATE. Prints TAP; exits 1 if a check failed.

Needs PGHOST/PGPORT/PGUSER of a cluster with user_module preloaded, trust
authentication and a superuser (test/lib/cluster.sh sets them up). Runs with
Debian's python3 and python3-psycopg (3.1).
"""
import json
import os
import select
import sys
import time
import traceback
import urllib.parse
from contextlib import contextmanager

import psycopg
import psycopg.errors
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tap import check, done  # test/lib/tap.py

DB = "user_module_client_py"
ADMIN, INVITEE = "um_py_back_office", "um_py_signup_page"
SIGNUP_URL = "https://admin.example.com/invite"


def same(name, got, want):
    return check(name, got == want, f"got:  {got!r}\nwant: {want!r}")


@contextmanager
def fails_with(name, sqlstate, error_class):
    """The block must fail with this SQLSTATE, raised as exactly this class."""
    try:
        yield
    except psycopg.Error as e:
        check(f"{name}: {sqlstate} {error_class.__name__}",
              e.sqlstate == sqlstate and type(e) is error_class,
              f"got {type(e).__name__} {e.sqlstate}: {e}")
    else:
        check(f"{name}: {sqlstate} {error_class.__name__}", False, "no error")


# ---------------------------------------------------------------------------
# Setup, as the DBA: a database, the extension, one login role per application part.

def setup():
    with psycopg.connect(dbname="postgres", autocommit=True) as dba:
        dba.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        dba.execute(f"DROP ROLE IF EXISTS {ADMIN}, {INVITEE}")
        dba.execute(f"CREATE DATABASE {DB}")
    owner = psycopg.connect(dbname=DB, autocommit=True)
    owner.execute("CREATE SCHEMA IF NOT EXISTS extensions; CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA extensions; CREATE EXTENSION user_module")
    owner.execute(f"CREATE ROLE {ADMIN} LOGIN IN ROLE user_module_admin")
    owner.execute(f"CREATE ROLE {INVITEE} LOGIN IN ROLE user_module_invitee")
    return owner


def outbox_size(owner):
    # the tables belong to user_module_owner, which nobody logs in as: only a
    # superuser reads them directly; applications claim_events()
    return owner.execute("SELECT count(*) FROM user_module.event").fetchone()[0]


# ---------------------------------------------------------------------------
# The worker's side of NOTIFY. psycopg 3.2 has listener.notifies(timeout=...,
# stop_after=...); Debian 12's 3.1 has not, so wait on the socket with select()
# and let a no-op query hand what arrived to the notify handler.

#
# A payload is {"id": <event id>, "name": ...} and no more (any role that can
# connect may LISTEN): the worker reads the rest of each event from the outbox
# by its id. Here the superuser connection reads the table, as a worker that
# claims events sees the same rows.

class Listener:
    def __init__(self, owner):
        self.owner = owner
        self.conn = psycopg.connect(dbname=DB, user=ADMIN, autocommit=True)
        self.received = []
        self.payloads = []  # every payload, as parsed
        self.conn.add_notify_handler(lambda n: self.received.append(json.loads(n.payload)))
        self.conn.execute("LISTEN user_module_events")

    def events(self, timeout, stop_after=None):
        """(name, entity_id) of what arrives within timeout seconds, or as soon
        as stop_after have: the events the payloads' ids name, from the outbox.
        An id the outbox lacks, or a payload whose name is not its event's,
        comes back as ("missing", payload)."""
        deadline = time.monotonic() + timeout
        while stop_after is None or len(self.received) < stop_after:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if select.select([self.conn.fileno()], [], [], left)[0]:
                self.conn.execute("SELECT 1")
        payloads, self.received = self.received, []
        self.payloads += payloads
        rows = dict(self.owner.execute(
            "SELECT e.id, (e.name, e.entity_id) FROM user_module.event e WHERE e.id = ANY(%s)",
            [[p.get("id") for p in payloads if isinstance(p.get("id"), int)]]).fetchall())
        return [rows[p["id"]] if p.get("id") in rows and rows[p["id"]][0] == p.get("name") else ("missing", p)
                for p in payloads]


# ---------------------------------------------------------------------------

def flow(owner):
    admin = psycopg.connect(dbname=DB, user=ADMIN, autocommit=True, row_factory=dict_row)
    signup = psycopg.connect(dbname=DB, user=INVITEE, autocommit=True, row_factory=dict_row)
    worker = Listener(owner)

    # Users: a Python list of dicts is one jsonb argument.
    people = [
        {"email": "Ada@Example.com", "first_name": "Ada", "last_name": "Lovelace"},
        {"email": "grace@example.com", "first_name": "Grace", "last_name": "Hopper",
         "metadata": {"team": "compilers"}},
        {"email": "alan@example.org", "first_name": "Alan", "last_name": "Turing"},
    ]
    created = admin.execute("SELECT * FROM user_module.create_users(%s)", [Jsonb(people)]).fetchall()
    same("create_users(Jsonb(list of dicts)) returns the users in input order",
         [(u["email"], u["metadata"]) for u in created],
         [(p["email"], p.get("metadata")) for p in people])
    same("the worker hears user.created for each, in order",
         worker.events(5, stop_after=3), [("user.created", u["id"]) for u in created])

    def list_users(filters):
        return admin.execute("SELECT * FROM user_module.list_users(%s, order_by => 'email')",
                             [Jsonb(filters)]).fetchall()

    same("list_users q: every word, case-insensitively, in a name or the email",
         [u["email"] for u in list_users({"q": "HOPPER gr"})], ["grace@example.com"])
    same("list_users email list: case-insensitive",
         [u["email"] for u in list_users({"email": ["ada@example.com", "ALAN@EXAMPLE.ORG", "x@y.z"]})],
         ["Ada@Example.com", "alan@example.org"])
    same("count_users with and without a filter",
         [admin.execute("SELECT user_module.count_users(%s)", [Jsonb(f)]).fetchone()["count_users"]
          for f in ({}, {"q": "example.com"})],
         [3, 2])

    # Invite: nothing is heard before the commit, invite.created after it.
    with admin.transaction():
        invite = admin.execute("SELECT * FROM user_module.create_invite(%s, %s)",
                               ["joan@example.net", Jsonb({"role": "editor"})]).fetchone()
        same("no notification while the inviting transaction is open", worker.events(0.5), [])
    same("invite.created arrives after the commit",
         worker.events(5, stop_after=1), [("invite.created", invite["id"])])

    # The mailer builds the link; the sign-up page takes the token out of it.
    link = f"{SIGNUP_URL}?{urllib.parse.urlencode({'token': invite['token']})}"
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["token"][0]
    same("the token survives the link unchanged (base64url needs no escaping)",
         (token, link), (invite["token"], f"{SIGNUP_URL}?token={invite['token']}"))

    shown = signup.execute("SELECT * FROM user_module.validate_invite_token(%s)", [token]).fetchone()
    same("the sign-up page validates the token: the invite, its email, its metadata",
         (shown["id"], shown["email"], shown["metadata"]), (invite["id"], "joan@example.net", {"role": "editor"}))
    joan = signup.execute("SELECT * FROM user_module.accept_invite(%s, %s, %s)",
                          [token, "Joan", "Clarke"]).fetchone()
    same("accept_invite creates the user with the invite's email",
         (joan["email"], joan["first_name"], joan["last_name"]), ("joan@example.net", "Joan", "Clarke"))
    same("the worker hears user.created, then invite.accepted",
         worker.events(5, stop_after=2), [("user.created", joan["id"]), ("invite.accepted", invite["id"])])

    # Errors, by SQLSTATE. Standard codes have a class of their own; user_module's
    # 22U01..22U03 have none and arrive as DataError (class 22) with e.sqlstate.
    with fails_with("create_user with an email taken in another case", "23505", psycopg.errors.UniqueViolation):
        admin.execute("SELECT * FROM user_module.create_user(%s)", ["ada@EXAMPLE.COM"])
    with fails_with("retrieve_user of a missing id", "P0002", psycopg.errors.NoDataFound):
        admin.execute("SELECT * FROM user_module.retrieve_user(%s)", ["user_nobody"])
    with fails_with("create_users with an unknown key", "22023", psycopg.errors.InvalidParameterValue):
        admin.execute("SELECT * FROM user_module.create_users(%s)", [Jsonb([{"email": "x@example.com", "name": "X"}])])
    with fails_with("validate_invite_token of a bogus token", "22U01", psycopg.DataError):
        signup.execute("SELECT * FROM user_module.validate_invite_token(%s)", ["not.a.token"])
    with fails_with("accept_invite with the token of an accepted invite", "22U03", psycopg.DataError):
        signup.execute("SELECT * FROM user_module.accept_invite(%s)", [token])
    with fails_with("the sign-up page calling create_invite", "42501", psycopg.errors.InsufficientPrivilege):
        signup.execute("SELECT * FROM user_module.create_invite(%s)", ["mallory@example.com"])
    try:
        signup.execute("SELECT * FROM user_module.validate_invite_token(%s)", ["not.a.token"])
        got = None
    except psycopg.DataError as e:  # also catches 22023: tell them apart by e.sqlstate
        got = (e.sqlstate, e.diag.message_primary)
    same("a custom code is a plain string in e.sqlstate", got, ("22U01", "invalid invite token"))

    # A workflow that fails halfway leaves nothing behind.
    before = outbox_size(owner)
    try:
        with admin.transaction():
            admin.execute("SELECT * FROM user_module.create_user(%s)", ["hedy@example.com"])
            admin.execute("SELECT * FROM user_module.create_invite(%s)", ["katherine@example.com"])
            raise RuntimeError("the mail server is down")
    except RuntimeError:
        pass
    same("a rolled-back workflow: no user, no invite, no event, no notification",
         ([u["email"] for u in list_users({"email": "hedy@example.com"})],
          admin.execute("SELECT user_module.count_invites(%s)",
                        [Jsonb({"email": "katherine@example.com"})]).fetchone()["count_invites"],
          outbox_size(owner) - before, worker.events(0.5)),
         ([], 0, 0, []))

    # A savepoint undoes one failed step and keeps the rest.
    with admin.transaction():
        hedy = admin.execute("SELECT * FROM user_module.create_user(%s, 'Hedy')", ["hedy@example.com"]).fetchone()
        try:
            with admin.transaction():  # SAVEPOINT
                admin.execute("SELECT * FROM user_module.update_user(%s, %s)",
                              [hedy["id"], Jsonb({"metadata": {"onboarded": True}})])
                admin.execute("SELECT * FROM user_module.create_user(%s)", ["HEDY@example.com"])
        except psycopg.errors.UniqueViolation:
            pass  # ROLLBACK TO SAVEPOINT: the update is undone too
    kept = admin.execute("SELECT * FROM user_module.retrieve_user(%s)", [hedy["id"]]).fetchone()
    same("after a failed savepoint: the user stays, the step's update and events are gone",
         (kept["first_name"], kept["metadata"], worker.events(5, stop_after=1) + worker.events(0.5)),
         ("Hedy", None, [("user.created", hedy["id"])]))

    same("every payload has exactly the keys id and name, the id a number",
         sorted({(tuple(sorted(p)), type(p["id"]).__name__, type(p["name"]).__name__) for p in worker.payloads}),
         [(("id", "name"), "int", "str")])

    for conn in (admin, signup, worker.conn):
        conn.close()


def main():
    owner = None
    try:
        owner = setup()
        flow(owner)
    except Exception:
        check("the flow ran to the end", False, traceback.format_exc())
    finally:
        if owner is not None:
            owner.close()
    return done()


if __name__ == "__main__":
    sys.exit(main())
