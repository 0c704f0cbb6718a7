"""Checks a report of bench/run (bench/smoke): every section the run asked for is there, every
page's table row has figures and no failed request, the ingest had no error, the instructions were
counted and the targets table is complete. Exits non-zero with the reasons otherwise."""
import re
import sys

PAGES = ("dashboard", "inbox", "letter")


def problems(text, sqlite_scales, postgres_scales):
    found = []
    sections = [f"## {n:,} residents, SQLite" for n in sqlite_scales]
    sections += [f"## {n:,} residents, PostgreSQL" for n in postgres_scales]
    sections += ["## Scale curve", "**Alternated**", "## Notification and print-fallback runs",
                 "**PostgreSQL alone**", "## Against the targets"]
    found += [f"no section {s!r}" for s in sections if s not in text]
    rows = [line for line in text.splitlines() if line.startswith(tuple(f"| {p} |" for p in PAGES))]
    expected = len(PAGES) * 2 * (len(sqlite_scales) + len(postgres_scales))
    if len(rows) != expected:
        found.append(f"{len(rows)} page rows, not {expected}")
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        if cells[-1] != "0":
            found.append(f"failed requests: {row}")
        if not re.fullmatch(r"[\d,]+", cells[2]) or cells[2] == "0":
            found.append(f"no requests/s: {row}")
    for runs in re.findall(r"errors in all runs: (\d+)", text):
        if runs != "0":
            found.append(f"{runs} failed letters in an ingest")
    counts = re.findall(r"Instructions per request .*?: dashboard ([\d,]+), inbox ([\d,]+), letter ([\d,]+)", text)
    if len(counts) != len(sqlite_scales) + len(postgres_scales):
        found.append(f"instructions counted for {len(counts)} sections")
    targets = text.split("## Against the targets", 1)[-1]
    if len(re.findall(r"^\| .* \| (yes|\*\*no\*\*|—) \|$", targets, re.M)) != 9:
        found.append("the targets table has not nine rows")
    return found


def main():
    """check_report.py REPORT "SQLITE SCALES" "POSTGRESQL SCALES" (as given to bench/run)."""
    path, sqlite_scales, postgres_scales = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
    text = open(path, encoding="utf-8").read()
    found = problems(text, [int(x) for x in sqlite_scales], [int(x) for x in postgres_scales])
    for f in found:
        print(f"{path}: {f}", file=sys.stderr)
    if found:
        sys.exit(1)
    print(f"{path}: every section, no failed request")


if __name__ == "__main__":
    main()
