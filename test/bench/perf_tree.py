#!/usr/bin/env python3
"""perf_tree.py DATA ROOT [DEPTH] [TX] [FREQ]: where ROOT's time goes, from a
`perf record -g` file: ROOT's callees as a tree, DEPTH levels deep, each with
its share of all samples (inclusive). With TX, the transactions run while
perf recorded, also µs per transaction (FREQ: perf's -F, default 4999).
Frames without a symbol (static functions of the stripped postgres binary)
show as ?<last six hex digits of the address>."""
import subprocess, sys, collections
data, root = sys.argv[1], sys.argv[2]
depth = int(sys.argv[3]) if len(sys.argv) > 3 else 2
tx = float(sys.argv[4]) if len(sys.argv) > 4 else None
freq = float(sys.argv[5]) if len(sys.argv) > 5 else 4999
out = subprocess.run(['perf', 'script', '-i', data, '-F', 'ip,sym', '--no-inline'], capture_output=True, text=True).stdout
stacks, cur = [], []
for line in out.split('\n'):
    line = line.strip()
    if not line:
        if cur: stacks.append(cur)
        cur = []
        continue
    parts = line.split(None, 1)
    sym = parts[1] if len(parts) > 1 else parts[0]
    sym = sym.split('+0x')[0]
    if sym == '[unknown]': sym = '?' + parts[0][-6:]
    cur.append(sym)
if cur: stacks.append(cur)
total = len(stacks)
tree = collections.Counter()
for st in stacks:  # leaf first
    rev = st[::-1]
    if root not in rev: continue
    i = rev.index(root)
    path = tuple(rev[i:i + depth + 1])
    for d in range(1, len(path) + 1):
        tree[path[:d]] += 1
def us(n): return f'{n / total * 100:5.1f}%' + (f' {n / freq / tx * 1e6:7.2f} µs/tx' if tx else '')
def show(prefix, lvl):
    kids = sorted([(v, k) for k, v in tree.items() if len(k) == len(prefix) + 1 and k[:len(prefix)] == prefix], reverse=True)
    for v, k in kids:
        if v / total < 0.002: continue
        print('  ' * lvl + f'{us(v)}  {k[-1]}')
        show(k, lvl + 1)
    selfn = tree[prefix] - sum(v for v, k in kids)
    if kids and selfn / total >= 0.002: print('  ' * lvl + f'{us(selfn)}  (self/other)')
print(f'{total} samples; {root}: {us(tree[(root,)])}')
show((root,), 1)
