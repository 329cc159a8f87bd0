#!/usr/bin/env python3
"""Runs the SQL examples of README.md and doc/*.md and compares what psql
prints with the output shown under each one. Started by test/readme-check and
test/run, which provide a throwaway cluster (PGHOST, PGPORT, ... in the
environment): examples.py [--update] FILE...

Each file runs in a fresh database of its own (made and dropped here, through
the database PGDATABASE names), so each page's examples stand alone: a page
that needs data starts with a setup block. In each file:
  - every ```sql block is run, in order, in one psql session (-X -q), so
    later examples see what earlier ones did;
  - a ```text block right after it (blank lines between are fine) is the output
    it must print, stderr included; without one, it must print no ERROR;
  - an HTML comment <!-- not run --> on the line before a ```sql block skips it.
Generated ids (user_ + ULID) and timestamps differ from run to run: an id in
a file stands for the id printed at the same place, also where a later
example uses it, and timestamps are compared as "a timestamp". Invite tokens
(compact JWS: three base64url segments, the first starting "eyJ"), UUIDs (a
token's jti) and Unix times (a token's iat and exp, ten digits) change with
every run and every key too: each is compared as "a token", "a UUID", "a Unix
time".

--update rewrites the output blocks, and the ids everywhere, with what this run printed.

Prints "<file>: N run, M differ" per file, then the sum as
"README examples: N run, M differ", which test/run counts.
"""
import os
import re
import subprocess
import sys

ULID = re.compile(r'\b((?:user|invite)_[0-9A-HJKMNP-TV-Z]{26})\b')
TIMESTAMP = re.compile(r'\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d(?::\d\d)?)?')
PID = re.compile(r'server process with PID \d+')
JWS = re.compile(r'(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+')
UUID = re.compile(r'\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b')
UNIX_TIME = re.compile(r'(?<![\d.])1\d{9}(?![\d.])')
MARK = '@@readme-check-end@@'


def parse(lines):
    """Yields (kind, start, end) for fenced blocks; end is the closing fence."""
    i = 0
    while i < len(lines):
        m = re.match(r'^```(\w*)', lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].startswith('```'):
            j += 1
        yield m.group(1), i, j
        i = j + 1


def examples(lines):
    blocks = list(parse(lines))
    out = []
    for n, (kind, start, end) in enumerate(blocks):
        if kind != 'sql':
            continue
        if start > 0 and lines[start - 1].strip() == '<!-- not run -->':
            continue
        expected = None
        if n + 1 < len(blocks):
            nkind, nstart, nend = blocks[n + 1]
            if nkind == 'text' and all(l.strip() == '' for l in lines[end + 1:nstart]):
                expected = (nstart, nend)
        out.append(((start, end), expected))
    return out


def normalize(text):
    text = PID.sub('server process with PID N', text)
    text = JWS.sub('JWS', text)
    text = TIMESTAMP.sub('TIMESTAMP', text)
    text = UUID.sub('UUID', text)
    text = UNIX_TIME.sub('UNIX_TIME', text)
    norm = []
    for line in text.splitlines():
        line = re.sub(r'-{2,}', '-', line)
        line = re.sub(r'\s+', ' ', line).strip()
        if line:
            norm.append(line)
    return norm


def psql_command(*commands):
    """Runs commands in the database PGDATABASE names (to make and drop the others)."""
    args = ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', os.environ.get('PGDATABASE', 'postgres')]
    for c in ('SET client_min_messages = warning',) + commands:
        args += ['-c', c]
    subprocess.run(args, check=True)


def check(path, update):
    """Runs one file's examples in a fresh database; returns (run, differ)."""
    with open(path) as f:
        lines = f.read().split('\n')
    # one database per file, named after it: README.md -> examples_readme
    database = 'examples_' + re.sub(r'[^a-z0-9]+', '_', os.path.basename(path).lower()[:-3])
    psql_command('DROP DATABASE IF EXISTS %s' % database, 'CREATE DATABASE %s' % database)

    psql = subprocess.Popen(['psql', '-X', '-q', '-d', database],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    ids = {}            # id as written in the file -> id this run printed
    failures = 0
    replacements = []   # (start, end, new lines) for --update

    for (sstart, send), expected in examples(lines):
        sql = '\n'.join(lines[sstart + 1:send])
        for old, new in ids.items():
            sql = sql.replace(old, new)
        psql.stdin.write(sql + '\n\\echo ' + MARK + '\n')
        psql.stdin.flush()
        got = []
        while True:
            line = psql.stdout.readline()
            if line == '':
                sys.exit('psql ended early')
            if line.rstrip('\n') == MARK:
                break
            got.append(line.rstrip())
        while got and got[-1] == '':
            got.pop()
        where = '%s:%d' % (path, sstart + 1)
        if expected is None:
            if any('ERROR' in l for l in got):
                failures += 1
                print('FAIL %s: unexpected error\n  %s' % (where, '\n  '.join(got)))
            continue
        estart, eend = expected
        want = lines[estart + 1:eend]
        # ids: pair them up by position, first appearance in the file wins
        want_ids = ULID.findall('\n'.join(want))
        got_ids = ULID.findall('\n'.join(got))
        for w, g in zip(want_ids, got_ids):
            ids.setdefault(w, g)
        want_text = '\n'.join(want)
        for old, new in ids.items():
            want_text = want_text.replace(old, new)
        if normalize(want_text) != normalize('\n'.join(got)):
            failures += 1
            print('FAIL %s\n--- %s\n%s\n--- psql\n%s\n' % (where, path, want_text, '\n'.join(got)))
        replacements.append((estart, eend, got))

    psql.stdin.close()
    psql.wait()
    psql_command('DROP DATABASE IF EXISTS %s' % database)

    if update:
        for estart, eend, got in sorted(replacements, reverse=True):
            lines[estart + 1:eend] = got
        text = '\n'.join(lines)
        # the file's ids become this run's, in the examples' SQL too
        for old, new in ids.items():
            text = text.replace(old, new)
        with open(path, 'w') as f:
            f.write(text)
        print('updated %s' % path)
    n = len(examples(lines))
    print('%s: %d run, %d differ' % (path, n, failures))
    return n, failures


def main():
    update = '--update' in sys.argv
    paths = [a for a in sys.argv[1:] if not a.startswith('--')]
    if not paths:
        sys.exit('usage: examples.py [--update] FILE...')
    run = differ = 0
    for path in paths:
        n, failures = check(path, update)
        run += n
        differ += failures
    print('README examples: %d run, %d differ' % (run, differ))
    return 1 if differ and not update else 0


if __name__ == '__main__':
    sys.exit(main())
