#!/usr/bin/env python3
"""Checks the relative links of Markdown files: each file must exist and each
#anchor must be a heading of its file, spelt as GitHub spells anchors
(lowercase, spaces to hyphens, punctuation dropped, -1, -2 for repeats).
Links to other sites are not followed. Started by test/run's README examples
step: links.py FILE...; prints "links: N checked, M dead".
"""
import os
import re
import sys


def anchors(path):
    found, seen, fenced = set(), {}, False
    with open(path) as f:
        for line in f:
            if line.startswith('```'):
                fenced = not fenced
                continue
            m = None if fenced else re.match(r'^#{1,6}\s+(.*?)\s*$', line)
            if not m:
                continue
            title = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', m.group(1).lower())
            anchor = re.sub(r'[^\w\- ]', '', title).replace(' ', '-')
            n = seen.get(anchor, 0)
            seen[anchor] = n + 1
            found.add(anchor if n == 0 else '%s-%d' % (anchor, n))
    return found


def main():
    checked = dead = 0
    for path in sys.argv[1:]:
        with open(path) as f:
            text = re.sub(r'```.*?```', '', f.read(), flags=re.S)   # no links in code blocks
        text = re.sub(r'`[^`\n]*`', '', text)                       # nor in code spans
        for target in re.findall(r'\]\(([^)\s]+)\)', text):
            if re.match(r'[a-z]+:', target):
                continue
            checked += 1
            name, _, anchor = target.partition('#')
            where = os.path.normpath(os.path.join(os.path.dirname(path), name)) if name else path
            if not os.path.exists(where):
                dead += 1
                print('%s: %s: no such file' % (path, target))
            elif anchor and where.endswith('.md') and anchor not in anchors(where):
                dead += 1
                print('%s: %s: no such heading' % (path, target))
    print('links: %d checked, %d dead' % (checked, dead))
    return 1 if dead else 0


if __name__ == '__main__':
    sys.exit(main())
