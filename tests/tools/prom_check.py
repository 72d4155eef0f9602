#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Checks a Prometheus text exposition (file argument), line by line: HELP/TYPE
# once per family and before its samples, valid names, label syntax with
# escapes, numeric values, counters named *_total, histograms with cumulative
# buckets ending in +Inf equal to _count. Prints the errors; exit 1 if any.
import re, sys
name = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
lval = r'"(?:[^"\\\n]|\\\\|\\"|\\n)*"'
sample = re.compile(r'^(' + name + r')(\{(' + r'[a-zA-Z_][a-zA-Z0-9_]*=' + lval +
                    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*=' + lval + r')*)?\})? (\S+)$')
types, helps, seen_sample, errs = {}, set(), set(), []
hist = {}
def family(n):
    for suf in ('_bucket', '_sum', '_count'):
        if n.endswith(suf) and types.get(n[:-len(suf)]) == 'histogram':
            return n[:-len(suf)]
    return n
text = open(sys.argv[1]).read()
if not text.endswith('\n'):
    errs.append('no final newline')
for i, l in enumerate(text.split('\n')[:-1], 1):
    m = re.match(r'^# (HELP|TYPE) (' + name + r') ?(.*)$', l)
    if m:
        kind, n, rest = m.groups()
        if kind == 'HELP':
            if n in helps: errs.append('%d: second HELP for %s' % (i, n))
            helps.add(n)
        else:
            if n in types: errs.append('%d: second TYPE for %s' % (i, n))
            if n in seen_sample: errs.append('%d: TYPE after samples of %s' % (i, n))
            if rest not in ('counter', 'gauge', 'histogram', 'summary', 'untyped'):
                errs.append('%d: bad type %r' % (i, rest))
            types[n] = rest
        continue
    if l.startswith('#'):
        continue
    m = sample.match(l)
    if not m:
        errs.append('%d: malformed sample %r' % (i, l)); continue
    n, _, labels, v = m.groups()
    try:
        fv = float(v.replace('+Inf', 'inf').replace('-Inf', '-inf'))
    except ValueError:
        errs.append('%d: bad value %r' % (i, v)); continue
    f = family(n)
    seen_sample.add(f)
    if f not in types: errs.append('%d: sample of %s without TYPE' % (i, f))
    if types.get(f) == 'counter' and not f.endswith('_total'):
        errs.append('%d: counter %s does not end in _total' % (i, f))
    if types.get(f) == 'histogram':
        h = hist.setdefault(f, {'b': [], 'count': None})
        if n.endswith('_bucket'):
            le = re.search(r'le="([^"]*)"', labels or '')
            if not le: errs.append('%d: bucket without le' % i); continue
            h['b'].append((float(le.group(1).replace('+Inf', 'inf')), fv))
        elif n.endswith('_count'):
            h['count'] = fv
for f, h in hist.items():
    b = h['b']
    if not b or b[-1][0] != float('inf'): errs.append('%s: no +Inf bucket last' % f)
    if any(b[k][0] >= b[k + 1][0] or b[k][1] > b[k + 1][1] for k in range(len(b) - 1)):
        errs.append('%s: buckets not increasing/cumulative' % f)
    if b and h['count'] != b[-1][1]: errs.append('%s: +Inf bucket != _count' % f)
if '--need-histogram' in sys.argv and not hist: errs.append('no histogram to check')
if errs:
    print('\n'.join(errs))
sys.exit(1 if errs else 0)
