#!/usr/bin/env python3
"""Per-message instruction counts from two callgrind runs of the same workload at two rates.

cgdiff.py LOW.callgrind LOW_MESSAGES HIGH.callgrind HIGH_MESSAGES [TOP]
prints (HIGH - LOW) / (HIGH_MESSAGES - LOW_MESSAGES) in total and per function, inclusive
(callgrind_annotate --inclusive=yes) and self, the largest first. The idle cost, the logins
and the connects are the same in both runs and cancel.
"""
import re, subprocess, sys

def costs(path, inclusive):
    out = subprocess.run(["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}",
                          "--threshold=100", "--auto=no", path], capture_output=True, text=True).stdout
    total, per = 0, {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$", line)
        if not m:
            continue
        n = int(m.group(1).replace(",", ""))
        name = m.group(2)
        if name.startswith("PROGRAM TOTALS"):
            total = n
            continue
        # file:function [object]: keep the function
        name = re.sub(r"\s*\[[^\]]*\]$", "", name)
        name = name.split(":", 1)[1] if ":" in name and not name.startswith("<") else name
        per[name] = per.get(name, 0) + n
    return total, per

lo, nlo, hi, nhi = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
top = int(sys.argv[5]) if len(sys.argv) > 5 else 40
d = nhi - nlo
for inclusive in (True, False):
    tl, pl = costs(lo, inclusive)
    th, ph = costs(hi, inclusive)
    if inclusive:
        print(f"total: low {tl:,} ({nlo} msgs), high {th:,} ({nhi} msgs): {(th - tl) / d:,.0f} instructions per message")
    print(f"\n== {'inclusive' if inclusive else 'self'}, instructions per message (top {top})")
    rows = sorted(((ph.get(k, 0) - pl.get(k, 0)) / d, k) for k in set(pl) | set(ph))
    for v, k in sorted(rows, reverse=True)[:top]:
        print(f"{v:>10,.0f}  {k[:170]}")
