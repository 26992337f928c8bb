import json, glob, statistics, sys
for f in sorted(glob.glob('/tmp/first-ab/*.json')):
    d = json.load(open(f))
    for r in d['runs']:
        pts = r['points']
        first = [p for p in pts if p['t'] < 6]
        steady = [p for p in pts if p['t'] >= 8 and p['t'] < r['window_s'] and p['p50_ms'] is not None]
        fmt = lambda xs: ' '.join('%.0f' % x if x is not None else '-' for x in xs)
        print(f.split('/')[-1], r['group'])
        print('  t<6  p50:', fmt([p['p50_ms'] for p in first]), '| p99:', fmt([p['p99_ms'] for p in first]),
              '| pg cpu:', fmt([p['children_cpu_pct'] for p in first]))
        if steady:
            print('  steady median p50 %.1f p99 %.1f, pg cpu %.0f%%, server cpu %.0f%%' % (
                statistics.median(p['p50_ms'] for p in steady), statistics.median(p['p99_ms'] for p in steady),
                statistics.median(p['children_cpu_pct'] or 0 for p in steady), statistics.median(p['server_cpu_pct'] or 0 for p in steady)))
