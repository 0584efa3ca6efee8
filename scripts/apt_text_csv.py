#!/usr/bin/env python3
"""A real text corpus available on any Debian machine: the package descriptions.

Reads `apt-cache dumpavail` (or a file of that format given as the first argument) and
writes a CSV of label, text for `ordnet train/study --data FILE.csv`: the text is a
package's short description (its Description: line), the label its Section (the part
after any "contrib/" or "non-free/"), restricted to the N most common sections and
numbered 0..N-1 from the most common; or, with --binary SECTION, every package labelled 1
when it is in SECTION and 0 otherwise (binary classification: a Dense(1) + sigmoid model).
One line per package name (the first stanza seen); a comment line at the top names the
classes. Standard library only.

    python3 scripts/apt_text_csv.py --top 4 -o apt4.csv
    ./build/ordnet study examples/text_cnn.py --data apt4.csv --block relu,maxpool,dropout(0.25)
"""
import argparse
import collections
import subprocess
import sys


def stanzas(text):
    pkg = {}
    for line in text.splitlines():
        if not line.strip():
            if pkg:
                yield pkg
            pkg = {}
        elif not line[0].isspace() and ":" in line:
            k, v = line.split(":", 1)
            pkg[k] = v.strip()
    if pkg:
        yield pkg


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", nargs="?", help="dumpavail output (default: run apt-cache)")
    ap.add_argument("--top", type=int, default=4, help="number of sections (classes)")
    ap.add_argument("--binary", metavar="SECTION", help="two classes: SECTION (1) or not (0)")
    ap.add_argument("-o", "--out", default="-", help="output CSV (default stdout)")
    a = ap.parse_args()
    if a.source:
        with open(a.source, encoding="utf-8", errors="replace") as f:
            text = f.read()
    else:
        text = subprocess.run(["apt-cache", "dumpavail"], check=True, capture_output=True).stdout
        text = text.decode("utf-8", errors="replace")
    seen, rows = set(), []
    for p in stanzas(text):
        name, sec, desc = p.get("Package"), p.get("Section"), p.get("Description")
        if not name or not sec or not desc or name in seen:
            continue
        seen.add(name)
        rows.append((sec.split("/")[-1], desc))
    count = collections.Counter(s for s, _ in rows)
    top = [s for s, _ in sorted(count.items(), key=lambda x: (-x[1], x[0]))[: a.top]]
    label = {s: i for i, s in enumerate(top)}
    if a.binary:
        top = ["not " + a.binary, a.binary]
        label = collections.defaultdict(int, {a.binary: 1})
        count["not " + a.binary] = len(rows) - count[a.binary]
    out = sys.stdout if a.out == "-" else open(a.out, "w", encoding="utf-8")
    out.write("# Debian package descriptions by section: " +
              ", ".join(f"{i}={s} ({count[s]})" for i, s in enumerate(top)) + "\n")
    n = 0
    for sec, desc in rows:
        if a.binary or sec in label:
            out.write('%d,"%s"\n' % (label[sec], desc.replace('"', '""')))
            n += 1
    if out is not sys.stdout:
        out.close()
    print(f"{n} descriptions in {len(top)} classes: {', '.join(top)}", file=sys.stderr)


if __name__ == "__main__":
    main()
