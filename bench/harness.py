#!/usr/bin/env python3
"""Runs the measurements for bench/run and writes the report (see bench/README.md)."""
import argparse
import datetime
import os
import platform
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import db as bench_db
import instructions

HERE = os.path.dirname(os.path.abspath(__file__))
PAGES = ["dashboard", "inbox", "letter"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wrk(url, script, conns, duration, env):
    out = subprocess.run(
        ["wrk", "-t2", f"-c{conns}", f"-d{duration}s", "--timeout", "10s", "-s", script, url],
        capture_output=True, text=True, env={**os.environ, "BENCH_DIR": HERE, **env}, check=True).stdout
    m = re.search(r"RESULT rps=([\d.]+) p50=([\d.]+) p90=([\d.]+) p99=([\d.]+) max=([\d.]+) errors=(\d+) non2xx=(\d+)", out)
    if not m:
        raise RuntimeError(out)
    keys = ["rps", "p50", "p90", "p99", "max", "errors", "non2xx"]
    return {k: float(v) for k, v in zip(keys, m.groups())}


def check_ceiling(static_url, page, work):
    """The ceiling must serve the dashboard's own bytes. nginx started as root answers through a
    worker running as `nobody`; when that user cannot read the file it answers 403 with a short
    body and an error-log line per request, which is not the ceiling (every report before
    2026-12-03-vm-19 measured that: the harness did not look)."""
    try:
        with urllib.request.urlopen(static_url) as r:
            body = r.read()
    except urllib.error.HTTPError as e:
        log = open(os.path.join(work, "nginx.err"), errors="replace").read()[-500:]
        raise SystemExit(f"nginx answered {e.code} for the static page, not the page:\n{log}")
    if body != page:
        raise SystemExit(f"nginx served {len(body)} bytes, not the dashboard's {len(page)}")


def static_run(static_url, conns, duration):
    """One wrk run against the ceiling; a run with any error or non-2xx answer is not a ceiling."""
    r = wrk(static_url, os.path.join(HERE, "static.lua"), conns, duration, {})
    if r["errors"] or r["non2xx"]:
        raise SystemExit(f"the static ceiling answered {r['non2xx']:.0f} non-2xx and {r['errors']:.0f} errors "
                         f"at {conns} connections: not a ceiling")
    return r


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def database_for(args, persons, data):
    """The database a scale runs on: a SQLite file in its data directory, or a fresh database on
    the PostgreSQL server given with --postgres (dropped and created again)."""
    if args.engine == "sqlite":
        return f"sqlite://{os.path.join(data, 'minside.db')}"
    name = f"minside_bench_{persons}"
    for sql in [f"drop database if exists {name}", f"create database {name}"]:
        subprocess.run(["psql", args.postgres, "-qX", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True)
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(args.postgres)._replace(path=f"/{name}"))


def database_mb(url, data):
    if bench_db.is_postgres(url):
        return bench_db.one(url, "select pg_database_size(current_database())") / 1e6
    return sum(os.path.getsize(os.path.join(data, f)) for f in os.listdir(data) if f.startswith("minside.db")) / 1e6


def start_server(args, persons, data, db, work):
    """The demo serving a scale's database (it seeds only an empty one) with the test IdP and an
    API client; its base URL and how long it took to start."""
    t0 = time.time()
    server = subprocess.Popen([args.bin, "demo", "--listen", "127.0.0.1:0", "--persons", str(persons), "--data", data],
                              stdout=subprocess.PIPE, stderr=open(os.path.join(work, f"server-{args.engine}-{persons}.log"), "a"),
                              text=True,
                              # A print batch goes out a second after its first letter (default: a minute),
                              # so that the ingest measurement counts work, not waiting.
                              env={**os.environ, "MINSIDE_LETTERS__PRINT_BATCH_DELAY_SECONDS": "1",
                                   "MINSIDE_DATABASE_URL": db})
    first = server.stdout.readline().strip()
    return server, first.removeprefix("minside is running at "), time.time() - t0


def log_in(base, db, path, count):
    """Residents logged in through the test IdP, one session a line in `path`; how many."""
    with open(path, "w") as f:
        subprocess.run(["python3", os.path.join(HERE, "sessions.py"), base, db, str(count)], stdout=f, check=True)
    return sum(1 for _ in open(path))


def dashboard_bytes(base, sessions):
    cookie = open(sessions).readline().split("\t")[0]
    req = urllib.request.Request(f"{base}/min-side", headers={"Cookie": cookie})
    return urllib.request.urlopen(req).read()


def start_nginx(work, page):
    """nginx on loopback serving `page` as a static file: the ceiling; the process and the URL."""
    root = os.path.join(work, "static")
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "dashboard.html"), "wb") as f:
        f.write(page)
    port = free_port()
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"daemon off; worker_processes 1; pid {work}/nginx.pid; error_log {work}/nginx.err;\n"
                f"events {{ worker_connections 1024; }}\n"
                f"http {{ access_log off; server {{ listen 127.0.0.1:{port}; root {root}; }} }}\n")
    nginx = subprocess.Popen(["nginx", "-c", conf, "-p", work])
    time.sleep(0.5)
    static_url = f"http://127.0.0.1:{port}/dashboard.html"
    check_ceiling(static_url, page, work)
    return nginx, static_url


def measure_scale(args, persons, work):
    data = os.path.join(work, f"data-{args.engine}-{persons}")
    os.makedirs(data, exist_ok=True)
    db = database_for(args, persons, data)
    # The municipality, bulk-loaded straight into the database (not through HTTP): residents with
    # families and properties, and their letter history (about 16.7 letters each).
    t0 = time.time()
    seeded = subprocess.run([args.bin, "seed", "--persons", str(persons),
                             "--letters-per-person", str(args.letters_per_person)],
                            env={**os.environ, "MINSIDE_DATABASE_URL": db,
                                 "MINSIDE_ENVIRONMENT": "test"},
                            check=True, capture_output=True, text=True).stdout.strip()
    seed_s = time.time() - t0
    db_mb = database_mb(db, data)
    print(f"  {args.engine}: {seeded}; database {db_mb:,.0f} MB", file=sys.stderr, flush=True)
    server, base, start_s = start_server(args, persons, data, db, work)
    sessions = os.path.join(work, f"sessions-{args.engine}-{persons}.txt")
    n_sessions = log_in(base, db, sessions, args.sessions)
    # The static ceiling: nginx serving a file of the dashboard's size.
    page = dashboard_bytes(base, sessions)
    nginx, static_url = start_nginx(work, page)
    results = {}
    statement = None
    cpu0, wall0 = cpu_seconds(server.pid), time.time()
    for conns in args.connections:
        for page_name in PAGES:
            a, b = [], []
            for _ in range(args.runs):
                a.append(static_run(static_url, conns, args.duration))
                b.append(wrk(base, os.path.join(HERE, "load.lua"), conns, args.duration,
                             {"PAGE": page_name, "SESSIONS": sessions}))
            results[(conns, page_name)] = (a, b)
            if page_name == "dashboard" and statement is None and bench_db.is_postgres(db):
                statement = dashboard_statement(db)
    cpu_cores = (cpu_seconds(server.pid) - cpu0) / (time.time() - wall0)
    # PostgreSQL alone: pgbench runs the dashboard's one statement for the same residents,
    # alternated with nginx, without minside. What the database server itself answers per second
    # on this machine is the most minside on top of it can reach.
    alone = database_alone(args, db, statement, static_url, work) if bench_db.is_postgres(db) else None
    # wrk counts only 4xx and 5xx as failures; the sessions must still get the pages themselves
    # (not a redirect to the login page) after the load.
    for page_name in PAGES:
        instructions.check_sessions(int(base.rsplit(":", 1)[1]), page_name, sessions)
    rss = peak_rss_mb(server.pid)
    ingest = measure_ingest(args, data, base, db, work)
    nginx.terminate()
    server.terminate()
    server.wait()
    # Instructions per request under callgrind: the same count on a noisy machine (instructions.py).
    counted = (instructions.measure(args.bin, data, db, sessions, args.callgrind_seconds, PAGES, str(persons))
               if args.callgrind_seconds > 0 else {})
    return {"engine": args.engine, "persons": persons, "data": data, "db": db, "seed_s": seed_s, "seeded": seeded, "start_s": start_s, "db_mb": db_mb, "sessions": n_sessions,
            "page_bytes": len(page), "results": results, "cpu_cores": cpu_cores, "rss_mb": rss,
            "ingest": ingest, "instructions": counted, "alone": alone}


def measure_curve(args, scales, work):
    """The dashboard at every scale once more, the scales alternated with each other and with the
    ceiling run by run (nginx, 10k, 100k, 300k, nginx, 100k, 300k, 10k, ...: the order turns each
    round). Each scale's section above is measured minutes after the one before it, and on a
    virtual machine the machine's own speed moves more in that time than the dashboard's cost
    does between the scales; here every scale meets the same moments. Each scale's server is
    started again on its database, with residents logged in afresh (the sessions of its section
    may have expired since)."""
    servers, targets = [], []
    nginx = None
    try:
        for s in scales:
            server, base, _ = start_server(args, s["persons"], s["data"], s["db"], work)
            servers.append(server)
            sessions = os.path.join(work, f"sessions-curve-{s['engine']}-{s['persons']}.txt")
            log_in(base, s["db"], sessions, args.sessions)
            targets.append((s["persons"], base, sessions))
        nginx, static_url = start_nginx(work, dashboard_bytes(targets[-1][1], targets[-1][2]))
        static, runs = [], {persons: [] for persons, _, _ in targets}
        for round_ in range(args.curve_runs):
            static.append(static_run(static_url, 32, args.duration))
            turned = targets[round_ % len(targets):] + targets[:round_ % len(targets)]
            for persons, base, sessions in turned:
                runs[persons].append(wrk(base, os.path.join(HERE, "load.lua"), 32, args.duration,
                                         {"PAGE": "dashboard", "SESSIONS": sessions}))
        for _, base, sessions in targets:
            instructions.check_sessions(int(base.rsplit(":", 1)[1]), "dashboard", sessions)
        return {"static": static, "runs": runs}
    finally:
        for server in servers:
            server.terminate()
            server.wait()
        if nginx:
            nginx.terminate()
            nginx.wait()


def dashboard_statement(db):
    """The text of the statement minside ran for the dashboard, as PostgreSQL shows it for the
    server's connections (pg_stat_activity, each connection's last statement; the bench's own
    cluster keeps up to 8 KB of it): the one that reads the session with the person's summary
    and the lists kept with the person.
    None when it was not found whole."""
    limit = bench_db.one(db, "select setting from pg_settings where name = 'track_activity_query_size'")
    for (query,) in bench_db.rows(db, "select replace(replace(query, chr(10), ' '), chr(9), ' ') "
                                      "from pg_stat_activity where datname = current_database() "
                                      "and query like '%from sessions s %' and query like '%person_summaries%' "
                                      "and query like '%dashboard_properties%'"):
        if len(query.encode()) < limit - 1 and "$1" in query and "$2" not in query:
            # minside reads the dashboards of requests that arrive together in one statement
            # (`$1` a JSON array of their session keys); PostgreSQL alone runs it for one.
            return query.replace(MANY_SESSIONS, "s.key = $1")
    return None


MANY_SESSIONS = "s.key = any(array(select json_array_elements_text($1::json)))"


def pgbench(db, script, conns, duration):
    out = subprocess.run(["pgbench", "-n", "-M", "prepared", "-c", str(conns), "-j", "2", "-T", str(duration),
                          "-f", script, db],
                         capture_output=True, text=True, check=True).stdout
    tps = re.search(r"tps = ([\d.]+)", out)
    lat = re.search(r"latency average = ([\d.]+) ms", out)
    if not tps or not lat:
        raise RuntimeError(out)
    return {"rps": float(tps.group(1)), "avg_ms": float(lat.group(1))}


def database_alone(args, db, statement, static_url, work):
    """pgbench with the dashboard's statement for up to 100 of the logged-in residents, 32
    clients, alternated with nginx as for minside. One script: `$1` becomes one of the keys, picked
    at random per transaction from an array in the statement, so that each client prepares the
    statement once, as minside's connections do (a script per key made pgbench spend most of a
    short run preparing them)."""
    if not statement:
        return {"error": "the dashboard's statement was not found whole in pg_stat_activity"}
    keys = [k for (k,) in bench_db.rows(db, "select key from sessions where fodselsnummer is not null order by key")][:100]
    assert all(re.fullmatch(r"[0-9a-f]+", k) for k in keys), "session keys are hex"
    script = os.path.join(work, "pgbench-dashboard.sql")
    chosen = "(array[" + ",".join(f"'{k}'" for k in keys) + "])[:n]"
    with open(script, "w") as f:
        f.write(f"\\set n random(1, {len(keys)})\n" + statement.replace("$1", chosen) + ";\n")
    a, b = [], []
    for _ in range(args.runs):
        a.append(static_run(static_url, 32, args.duration))
        b.append(pgbench(db, script, 32, args.duration))
    return {"static": med(a, "rps"), "rps": med(b, "rps"), "avg_ms": med(b, "avg_ms"), "residents": len(keys)}


def owed_jobs(db):
    # Two counts, each over one of the claim's partial indexes (one `or` of both read the whole
    # queue: 21 ms on PostgreSQL, five times a second, beside the worker it waits for).
    now = int(time.time() * 1_000_000)
    return bench_db.one(db, "select (select count(*) from jobs where status = 'running') + "
                            f"(select count(*) from jobs where status = 'pending' and run_at <= {now})")


def disk_syncs_per_s(db, data, seconds=2.0):
    """How many 8 kB writes, each followed by fdatasync, the disk under the database does per second
    (as pg_test_fsync measures): a PostgreSQL commit waits for one, so on a virtual machine's
    shared disk this number moves the ingest rate with it. Measured next to the database's files
    (beside PostgreSQL's data directory when the server is on this machine); None when they are
    out of reach (another machine's server)."""
    if bench_db.is_postgres(db):
        try:
            directory = os.path.dirname(bench_db.rows(db, "select current_setting('data_directory')")[0][0])
        except Exception:  # a server that does not tell, or a role that may not read it
            return None
    else:
        directory = data
    if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        return None
    path = os.path.join(directory, f"minside-bench-sync-{os.getpid()}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        block, n, t0 = b"\0" * 8192, 0, time.time()
        while time.time() - t0 < seconds:
            os.pwrite(fd, block, 0)
            os.fdatasync(fd)
            n += 1
        return n / (time.time() - t0)
    finally:
        os.close(fd)
        os.unlink(path)


def new_file_kernel_us(directory, files=1000, size=50 * 1024):
    """Kernel CPU (µs) to write one document-sized file, as the server writes each letter's
    document: into a file of its own, new pages of the OS's page cache (no flush, so that this
    is CPU, not the disk); and, for comparison, the same bytes written again over pages already
    cached. Where memory is the machine's own the two are close; on a virtual machine whose host
    takes back the memory the guest frees (a balloon with free page reporting), each new page may
    first cost the host a fault, and then every document does (vm-17: 63–227 µs against 17–20).
    Measured in the server's data directory, where the documents are."""
    path = os.path.join(directory, f"minside-bench-pages-{os.getpid()}")
    os.makedirs(path, exist_ok=True)
    data = os.urandom(size)
    try:
        def each(flags):
            t0 = resource.getrusage(resource.RUSAGE_SELF).ru_stime
            for n in range(files):
                fd = os.open(os.path.join(path, str(n)), os.O_WRONLY | os.O_CREAT | flags, 0o600)
                os.write(fd, data)
                os.close(fd)
            return (resource.getrusage(resource.RUSAGE_SELF).ru_stime - t0) / files * 1e6
        fresh = each(os.O_EXCL)
        cached = each(0)
        return {"fresh_us": fresh, "cached_us": cached}
    finally:
        for n in os.listdir(path):
            os.unlink(os.path.join(path, n))
        os.rmdir(path)


def measure_ingest(args, data, base, db, work):
    """Letters with a 50 KB PDF each through the API for a fixed time (16 connections), then the
    time until the server's own worker has run every job they made due (notices, print)."""
    import base64
    import random
    body_dir = os.path.join(work, "ingest")
    os.makedirs(body_dir, exist_ok=True)
    pdf = b"%PDF-1.4\n" + b"% filler to 50 KB\n" * (50 * 1024 // 18) + b"%%EOF\n"
    with open(os.path.join(body_dir, "pdf.b64"), "w") as f:
        f.write(base64.b64encode(pdf).decode())
    fnrs = [r[0] for r in bench_db.rows(db, "select fodselsnummer from persons order by fodselsnummer")]
    random.Random(11).shuffle(fnrs)
    with open(os.path.join(body_dir, "recipients.txt"), "w") as f:
        f.write("\n".join(fnrs[:2000]) + "\n")
    token = subprocess.run([args.bin, "dev-token", "--data", data, "--scope", "minside:letters.write"],
                           capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.join(body_dir, "token.txt"), "w") as f:
        f.write(token + "\n")
    syncs = disk_syncs_per_s(db, data)
    pages = new_file_kernel_us(data)
    runs = [ingest_once(args, base, db, body_dir, k) for k in range(args.runs)]
    # The run with the median rate including the jobs (the issue: medians, not single numbers).
    middle = sorted(runs, key=lambda r: r["end_to_end_rate"])[len(runs) // 2]
    return {**middle, "runs": runs, "pdf_bytes": len(pdf), "disk_syncs": syncs, "pages": pages}


def ingest_once(args, base, db, body_dir, k):
    """One run of letters through the API (16 connections, twice the run length), then the wait
    until the server's worker has run every job they made due."""
    before = bench_db.one(db, "select count(*) from letters")
    t0 = time.time()
    r = wrk(base, os.path.join(HERE, "ingest.lua"), 16, args.duration * 2,
            {"BODY_DIR": body_dir, "RUN": f"{int(t0)}-{k}"})
    accepted = bench_db.one(db, "select count(*) from letters") - before
    sent_s = time.time() - t0
    while owed_jobs(db) > 0 and time.time() - t0 < 600:
        time.sleep(0.2)
    total_s = time.time() - t0
    print(f"    ingest: {accepted} letters, drain {total_s - sent_s:.1f} s", file=sys.stderr, flush=True)
    # Jobs of this ingest that failed at least once: a retry waits (30 s at first), and the drain
    # time then measures that wait, not work. Their errors are reported.
    since = int(t0 * 1_000_000)
    # (On PostgreSQL the rows come through psql's lines: the error on one line.)
    error = ("regexp_replace(min(last_error), '\\s+', ' ', 'g')" if bench_db.is_postgres(db)
             else "min(last_error)")
    retried = bench_db.rows(db, f"select kind, count(*), {error} from jobs "
                                f"where created_at >= {since} and last_error is not null group by kind order by kind")
    for kind, n, e in retried:
        print(f"    ingest: {n} {kind} jobs retried: {e}", file=sys.stderr, flush=True)
    return {"accepted": accepted, "retried": [(kind, int(n), e) for kind, n, e in retried],
            "api_rate": accepted / sent_s, "end_to_end_rate": accepted / total_s,
            "drain_s": total_s - sent_s, "p99": r["p99"], "errors": int(r["errors"] + r["non2xx"])}


def measure_delivery(args, work):
    """A full notification run and a full print-fallback run (crates/minside/examples/delivery_run.rs):
    letters sent through the use case, the job loop until nothing is due, residents open three in
    five, the clock moves past the print deadline, the job loop again; every letter checked."""
    import json
    out = subprocess.run([args.delivery_bin, os.path.join(work, "delivery"), str(args.delivery_letters), "20000"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"delivery run failed:\n{out.stdout}\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def bar_chart(path, title, groups, series, unit):
    """A small grouped bar chart as SVG: groups (x labels) x series (name, colour, values)."""
    width, height, left, bottom, top = 640, 320, 70, 50, 40
    peak = max(max(v) for _, _, v in series) or 1
    slot = (width - left - 20) / len(groups)
    bar = slot * 0.8 / len(series)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-labelledby="t"><title id="t">{title}</title>',
           f'<rect width="{width}" height="{height}" fill="#fff"/>',
           f'<text x="{left}" y="22" font-family="sans-serif" font-size="15">{title}</text>']
    for i in range(5):
        v = peak * i / 4
        y = height - bottom - (height - bottom - top) * i / 4
        out.append(f'<line x1="{left}" x2="{width - 20}" y1="{y:.0f}" y2="{y:.0f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.0f}" font-family="sans-serif" font-size="11" '
                   f'text-anchor="end">{v:,.0f}</text>')
    for gi, g in enumerate(groups):
        x0 = left + gi * slot + slot * 0.1
        for si, (_, colour, values) in enumerate(series):
            h = (height - bottom - top) * values[gi] / peak
            out.append(f'<rect x="{x0 + si * bar:.1f}" y="{height - bottom - h:.1f}" width="{bar - 2:.1f}" '
                       f'height="{h:.1f}" fill="{colour}"/>')
        out.append(f'<text x="{x0 + slot * 0.4:.0f}" y="{height - bottom + 16}" font-family="sans-serif" '
                   f'font-size="12" text-anchor="middle">{g}</text>')
    for si, (name, colour, _) in enumerate(series):
        x = left + si * 180
        out.append(f'<rect x="{x}" y="{height - 18}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{x + 16}" y="{height - 8}" font-family="sans-serif" font-size="12">{name} ({unit})</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def med(runs, key):
    return statistics.median(r[key] for r in runs)


def share(s):
    """The dashboard's requests/s at 32 connections as a share of the static ceiling's."""
    static, rps = (med(r, "rps") for r in s["results"][(32, "dashboard")])
    return rps / static


def curve_ratio(scales, curve):
    """The scale ratio, largest to smallest, in requests/s: from the alternated runs when there
    are (see measure_curve), else from the scales' own sections."""
    big, small = scales[-1], scales[0]
    if curve:
        return med(curve["runs"][big["persons"]], "rps") / med(curve["runs"][small["persons"]], "rps")
    return med(big["results"][(32, "dashboard")][1], "rps") / med(small["results"][(32, "dashboard")][1], "rps")


def curve_text(scales, curve):
    """The scale ratio in requests/s, with the same from the scales' sections, as a share of the
    ceiling there, and in instructions."""
    big, small = scales[-1], scales[0]
    text = "%.2f" % curve_ratio(scales, curve)
    if curve:
        text += " alternated (the sections' own runs %.2f," % curve_ratio(scales, None)
    else:
        text += " ("
    text += f" as a share of the ceiling {share(big) / share(small):.2f}"
    n, n0 = big["instructions"].get("dashboard"), small["instructions"].get("dashboard")
    if n and n0:
        text += f"; instructions per request {n0 / n:.2f}"
    return text + ")"


def pg_target_row(pg_scales, yes):
    if not pg_scales:
        return "| dashboard ≥ 1/5 of the static ceiling on PostgreSQL | not run (`--postgres ''`) | — |"
    pg = pg_scales[-1]
    static, rps = (med(r, "rps") for r in pg["results"][(32, "dashboard")])
    al = pg.get("alone") or {}
    alone = (f"; PostgreSQL alone (pgbench, the same statement) 1/{al['static'] / al['rps']:.1f}" if "rps" in al else "")
    return (f"| dashboard ≥ 1/5 of the static ceiling on PostgreSQL ({pg['persons']:,} residents) | "
            f"1/{static / rps:.1f}, p99 {med(pg['results'][(32, 'dashboard')][1], 'p99'):.1f} ms{alone} | {yes(rps * 5 >= static)} |")


def slowest_page(section):
    """How much slower than the dashboard a section's slowest other page is at 32 connections
    (time per request: 1 = the same)."""
    d_rps = med(section["results"][(32, "dashboard")][1], "rps")
    return max(d_rps / max(med(section["results"][(32, p)][1], "rps"), 1.0) for p in PAGES)


def pg_pages_row(pg_scales, yes):
    if not pg_scales:
        return "| inbox and letter within 2× of the dashboard on PostgreSQL | not run (`--postgres ''`) | — |"
    pg = pg_scales[-1]
    worst = slowest_page(pg)
    return (f"| inbox and letter within 2× of the dashboard on PostgreSQL ({pg['persons']:,} residents) | "
            f"slowest page at {worst:.2f}× the dashboard's time | {yes(worst <= 2)} |")


def postgres_settings(url):
    """The server's version and whether autovacuum runs: without it the tables that grow during
    the run (jobs, documents) keep the statistics and the dead rows they had, and plans go wrong."""
    version, autovacuum = (bench_db.rows(url, f"select current_setting('{name}')")[0][0]
                           for name in ("server_version", "autovacuum"))
    return f"PostgreSQL {version.split()[0]}, autovacuum {autovacuum}"


def report(args, scales, pg_scales, delivery, curve):
    host = platform.node() or "machine"
    day = datetime.date.today().isoformat()
    # A second run on the same day gets -2, -3 ... rather than overwriting the first.
    results = args.out or os.path.join(HERE, "results")
    os.makedirs(results, exist_ok=True)
    stem, n = f"{day}-{host}", 1
    while os.path.exists(os.path.join(results, f"{stem}.md")):
        n += 1
        stem = f"{day}-{host}-{n}"
    path = os.path.join(results, f"{stem}.md")
    pg_note = (f" --postgres-scales \"{' '.join(str(s['persons']) for s in pg_scales)}\"" if pg_scales else " --postgres ''")
    lines = [f"# minside benchmark {day} on {host}", "",
             f"Command: `bench/run --scales \"{' '.join(map(str, args.scales))}\"{pg_note} --runs {args.runs} --duration {args.duration}`",
             f"Machine: {os.cpu_count()} cores, Linux {platform.release()}; release build; SQLite (embedded default)"
             + (f", and PostgreSQL on the same machine ({postgres_settings(args.postgres)})." if pg_scales else "."),
             f"Each cell: median of {args.runs} runs of {args.duration} s with wrk (2 threads), minside and the nginx static ceiling alternated run by run.", ""]
    for s in scales + pg_scales:
        engine = "PostgreSQL" if s["engine"] == "postgres" else "SQLite"
        lines += [f"## {s['persons']:,} residents, {engine}", "",
                  f"Generated straight into {engine} by `minside seed --persons {s['persons']}` in {s['seed_s']:.0f} s: "
                  f"{s['seeded'].split(' in ')[0].removeprefix('seeded ')}; database {s['db_mb']:,.0f} MB. "
                  f"Server start {s['start_s']:.1f} s; {s['sessions']} residents logged in through the test IdP; "
                  f"dashboard {s['page_bytes']:,} bytes.",
                  f"Server during the load: peak RSS {s['rss_mb']:.0f} MB, CPU {s['cpu_cores']:.2f} cores on average.", "",
                  "| page | conns | minside req/s | static req/s | ratio | p50 ms | p90 ms | p99 ms | max ms | errors |",
                  "|-|-|-|-|-|-|-|-|-|-|"]
        for (conns, page), (a, b) in s["results"].items():
            lines.append(f"| {page} | {conns} | {med(b, 'rps'):,.0f} | {med(a, 'rps'):,.0f} | 1/{med(a, 'rps') / max(med(b, 'rps'), 1):.1f} | "
                         f"{med(b, 'p50'):.2f} | {med(b, 'p90'):.2f} | {med(b, 'p99'):.2f} | {med(b, 'max'):.1f} | "
                         f"{int(sum(r['errors'] + r['non2xx'] for r in b))} |")
        lines.append("")
        if s["instructions"]:
            lines += [f"Instructions per request (callgrind, {args.callgrind_seconds} s per page at 4 connections; "
                      "the same count on a quiet or a noisy machine): "
                      + ", ".join(f"{p} {n:,}" for p, n in s["instructions"].items()) + ".", ""]
        al = s.get("alone")
        if al and "error" in al:
            lines += [f"PostgreSQL alone: not measured ({al['error']}).", ""]
        elif al:
            lines += [f"**PostgreSQL alone** (pgbench, prepared, 32 clients: the dashboard's one statement for {al['residents']} "
                      f"of the logged-in residents, no minside; alternated with nginx): {al['rps']:,.0f} statements/s, "
                      f"1/{al['static'] / al['rps']:.1f} of the static ceiling in the same runs, {al['avg_ms']:.2f} ms on average. "
                      "That is one session a statement; minside reads the dashboards of requests that arrive while its "
                      "statements run together, several sessions in one statement (`crates/minside-store/src/batch.rs`).", ""]
        i = s["ingest"]
        lines += ["### Letters through the API", "",
                  f"{len(i['runs'])} runs of 16 connections for {args.duration * 2} s, each letter with a {i['pdf_bytes'] // 1024} KB PDF "
                  f"to a random resident; the run with the median rate: "
                  f"{i['accepted']:,} accepted, **{i['api_rate']:,.0f} letters/s** accepted (p99 {i['p99']:.1f} ms, {i['errors']} errors); "
                  f"the server's worker then needed {i['drain_s']:.1f} s more for the notices and prints they made due: "
                  f"**{i['end_to_end_rate']:,.0f} letters/s including their jobs** (each run: "
                  + ", ".join(f"{r['end_to_end_rate']:,.0f}" for r in i["runs"]) + "; errors in all runs: "
                  + f"{sum(r['errors'] for r in i['runs'])}). "
                  + (f"The disk under the database did {i['disk_syncs']:,.0f} writes of 8 kB with `fdatasync` a second just before "
                     "(a PostgreSQL commit waits for one; SQLite in WAL mode with `synchronous = normal` does not)."
                     if i.get("disk_syncs") else "The disk under the database was out of reach (not measured).")
                  + (f" Writing a {i['pdf_bytes'] // 1024} KB file into new page-cache pages cost {i['pages']['fresh_us']:,.0f} µs of kernel CPU "
                     f"here, over pages already cached {i['pages']['cached_us']:,.0f} µs (each letter's document is a new file)."
                     if i.get("pages") else "")
                  + ("".join(f" {n:,} `{k}` job{'s' if n != 1 else ''} failed once or more and waited for a retry (“{e}”)."
                             for r in i["runs"] for k, n, e in r["retried"])
                     or " No job failed."), ""]
    big = scales[-1]
    chart = f"{stem}-pages.svg"
    bar_chart(os.path.join(results, chart), f"Requests/s at 32 connections, {big['persons']:,} residents",
              PAGES, [("minside", "#1e6bd6", [med(big["results"][(32, p)][1], "rps") for p in PAGES]),
                      ("nginx static file", "#9aa5b1", [med(big["results"][(32, p)][0], "rps") for p in PAGES])], "req/s")
    lines += [f"![Requests/s per page, minside and the static ceiling]({chart})", ""]
    if len(scales) > 1:
        base = scales[0]
        lines += ["## Scale curve (dashboard, 32 connections)", "",
                  "From each scale's own section, the ratio to the smallest scale three ways: requests/s; requests/s as a "
                  "share of the static ceiling in the same runs; and instructions per request (callgrind; the same on a "
                  "quiet or a noisy machine) — the cost per request the target is about.", "",
                  "| residents | letters | req/s | ratio to smallest | share of ceiling | ratio to smallest | instructions/request | ratio to smallest | p99 ms |",
                  "|-|-|-|-|-|-|-|-|-|"]
        for s in scales:
            r = med(s["results"][(32, "dashboard")][1], "rps")
            letters = s["seeded"].split(" and ")[-1].split(" letters")[0]
            n, n0 = s["instructions"].get("dashboard"), base["instructions"].get("dashboard")
            lines.append(f"| {s['persons']:,} | {letters} | {r:,.0f} | {r / med(base['results'][(32, 'dashboard')][1], 'rps'):.2f} | "
                         f"1/{1 / share(s):.1f} | {share(s) / share(base):.2f} | "
                         + (f"{n:,} | {n0 / n:.2f} | " if n and n0 else "— | — | ")
                         + f"{med(s['results'][(32, 'dashboard')][1], 'p99'):.2f} |")
        if curve:
            c0 = med(curve["runs"][base["persons"]], "rps")
            lines += ["", f"**Alternated** ({args.curve_runs} rounds of {args.duration} s after all the sections above, each round "
                      "nginx and then every scale once, the order turned each round; each server started again and its "
                      "residents logged in afresh). The sections above are measured minutes apart, and the machine's own "
                      "speed moves in that time; here each scale meets the same moments:", "",
                      "| residents | req/s (median) | ratio to smallest | each round's req/s | p99 ms |", "|-|-|-|-|-|"]
            for s in scales:
                runs = curve["runs"][s["persons"]]
                lines.append(f"| {s['persons']:,} | {med(runs, 'rps'):,.0f} | {med(runs, 'rps') / c0:.2f} | "
                             + ", ".join(f"{r['rps']:,.0f}" for r in runs) + f" | {med(runs, 'p99'):.2f} |")
            lines.append(f"| nginx (ceiling) | {med(curve['static'], 'rps'):,.0f} | — | "
                         + ", ".join(f"{r['rps']:,.0f}" for r in curve["static"]) + " | — |")
        curve_chart = f"{stem}-scale.svg"
        bar_chart(os.path.join(results, curve_chart), "Dashboard requests/s by municipality size",
                  [f"{s['persons'] // 1000}k" for s in scales],
                  [("own section", "#1e6bd6", [med(s["results"][(32, "dashboard")][1], "rps") for s in scales])]
                  + ([("alternated", "#0b8a5b", [med(curve["runs"][s["persons"]], "rps") for s in scales])] if curve else []),
                  "req/s")
        lines += ["", f"![Dashboard requests/s by municipality size]({curve_chart})", ""]
    d = delivery
    n_after, f_after = d["after_notify"], d["after_fallback"]
    lines += ["## Notification and print-fallback runs", "",
              f"`examples/delivery_run.rs`: {d['letters']:,} letters to {d['persons']:,} residents sent through the use case "
              f"(KRR decision and delivery jobs as for the API, no HTTP) in {d['send_s']:.1f} s ({d['letters'] / d['send_s']:,.0f} letters/s).", "",
              f"- **Notification run**: the job loop until nothing was due took {d['notify_s']:.1f} s for {d['notify_jobs']:,} jobs — "
              f"**{d['letters'] / d['notify_s']:,.0f} letters/s**. Afterwards {n_after['pending']:,} letters notified and pending, "
              f"{n_after['printed']:,} printed at once (reserved, stale or no contact information), {n_after['other']} in any other state.",
              f"- Residents then opened {d['opened']:,} of them (the `open_letter` use case).",
              f"- **Print-fallback run**, the clock two weeks on: {d['fallback_jobs']:,} jobs in {d['fallback_s']:.1f} s, "
              f"{d['printed_in_fallback']:,} letters printed in PDF/A batches — **{d['printed_in_fallback'] / d['fallback_s']:,.0f} letters/s** "
              f"({d['print_batches']} batch folders in all). Afterwards {f_after['read']:,} read, {f_after['printed']:,} printed, "
              f"{f_after['pending']} pending, {f_after['other']} in any other state: every letter ended in exactly one of read or printed "
              "(checked by status and events, letter by letter).", ""]
    dash = big["results"].get((32, "dashboard"))
    if dash:
        d_rps, d_static = med(dash[1], "rps"), med(dash[0], "rps")
        worst = slowest_page(big)
        ratio = curve_ratio(scales, curve) if len(scales) > 1 else None
        yes = lambda ok: "yes" if ok else "**no**"
        i = big["ingest"]
        fallback_rate = d["printed_in_fallback"] / d["fallback_s"]
        # The SQLite rows are measured at the largest SQLite scale run, which a partial run may
        # have kept below the 300,000 residents the targets name: the table says where.
        at = "" if big["persons"] >= 300_000 else f" — measured at {big['persons']:,} only"
        lines += [f"## Against the targets (SQLite at the largest scale run: {big['persons']:,} residents)", "",
                  "| target | measured | met? |", "|-|-|-|",
                  f"| dashboard ≥ 1/3 of the static ceiling (SQLite, 300k residents{at}) | 1/{d_static / d_rps:.1f} | {yes(d_rps * 3 >= d_static)} |",
                  f"| dashboard p99 < 10 ms at 32 connections | {med(dash[1], 'p99'):.1f} ms | {yes(med(dash[1], 'p99') < 10)} |",
                  pg_target_row(pg_scales, yes),
                  f"| inbox and letter within 2× of the dashboard | slowest page at {worst:.2f}× the dashboard's time | {yes(worst <= 2)} |",
                  pg_pages_row(pg_scales, yes),
                  f"| peak RSS < 150 MB on SQLite | {big['rss_mb']:.0f} MB | {yes(big['rss_mb'] < 150)} |",
                  f"| scale curve 300k/10k ≥ 0.8 | {curve_text(scales, curve) if ratio else 'one scale only'} | {yes(ratio >= 0.8) if ratio else '—'} |",
                  f"| ≥ 1,000 letters/s ingested including their jobs | {i['end_to_end_rate']:,.0f} letters/s | {yes(i['end_to_end_rate'] >= 1000)} |",
                  f"| print-fallback run ≥ 500 letters/s including PDF/A batches | {fallback_rate:,.0f} letters/s | {yes(fallback_rate >= 500)} |",
                  ""]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"report: {path}")
    return path


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--scales", default="10000", type=lambda s: [int(x) for x in s.split()])
    p.add_argument("--runs", default=3, type=int)
    p.add_argument("--duration", default=5, type=int)
    p.add_argument("--sessions", default=200, type=int)
    p.add_argument("--letters-per-person", default=16.7, type=float)
    p.add_argument("--delivery-bin", required=True)
    p.add_argument("--delivery-letters", default=100_000, type=int)
    p.add_argument("--curve-runs", default=5, type=int,
                   help="rounds of the alternated scale curve (every scale and the ceiling once a round)")
    p.add_argument("--connections", default="32 256", type=lambda s: [int(x) for x in s.split()])
    p.add_argument("--postgres", default="", help="a PostgreSQL server URL to create benchmark databases on ('' = none)")
    p.add_argument("--postgres-scales", default=None, type=lambda s: [int(x) for x in s.split()],
                   help="scales to run on PostgreSQL too (default: the largest of --scales)")
    p.add_argument("--callgrind-seconds", default=20, type=int,
                   help="seconds of load per page under callgrind for instructions per request (0 = leave out)")
    p.add_argument("--out", default=None, help="directory for the report and charts (default: bench/results)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="minside-bench-") as work:
        # Made 0700; nginx's worker (user nobody when started as root) must reach the static file.
        os.chmod(work, 0o755)
        args.engine = "sqlite"
        scales = [measure_scale(args, n, work) for n in args.scales]
        curve = None
        if len(scales) > 1:
            print("scale curve, alternated", file=sys.stderr, flush=True)
            curve = measure_curve(args, scales, work)
        pg_scales = []
        if args.postgres:
            args.engine = "postgres"
            pg_scales = [measure_scale(args, n, work) for n in (args.postgres_scales or args.scales[-1:])]
        print("delivery run", file=sys.stderr, flush=True)
        delivery = measure_delivery(args, work)
        report(args, scales, pg_scales, delivery, curve)


if __name__ == "__main__":
    main()
