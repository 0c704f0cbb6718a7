#!/usr/bin/env python3
"""Instructions per request, counted by valgrind's callgrind: the same count on a quiet or a noisy
machine, so two builds can be compared where requests per second cannot (bench/README.md).

usage: instructions.py BIN DATA_DIR DATABASE_URL SESSIONS [--seconds 20] [--pages "dashboard inbox letter"]

DATA_DIR is a data directory the demo has run on (its keys and session secret), SESSIONS a file of
logged-in sessions as sessions.py writes it (the sessions live in the database, so they still hold
when the server runs again; a few are checked to still get each page). The server runs under
callgrind with instrumentation off while it starts, and then until it is idle. For each page, two
seconds of warm-up (connections opened, statements prepared, pages cached) are run and dumped
uncounted; then wrk sends requests from one thread over four connections for the given time, and
the instructions the whole process ran since the warm-up's dump are dumped and divided by the
number of requests wrk completed. Prints one JSON object: {page: instructions per request}.
"""
import argparse
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def totals(prefix):
    # callgrind writes a file per dump; each holds the instructions since the previous one.
    return sum(int(m.group(1)) for f in glob.glob(prefix + "*")
               for m in [re.search(r"^totals: (\d+)", open(f).read(), re.M)] if m)


def wait_until_idle(pid, limit_s=600):
    """Background work the server starts with (the worker catching up on due jobs, say) runs fifty
    times slower under valgrind and would be counted against the first page's requests: wait
    until the process has used less than 5 % of a core for two seconds running."""
    def cpu():
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    quiet, last, started = 0, cpu(), time.time()
    while quiet < 2 and time.time() - started < limit_s:
        time.sleep(1)
        now = cpu()
        quiet = quiet + 1 if now - last < 0.05 else 0
        last = now


def check_sessions(port, page, sessions):
    """wrk counts only 4xx and 5xx as failures: a session that has expired would be measured as a
    cheap redirect to the login page. A few of the sessions must still get the page itself."""
    import http.client
    for line in open(sessions).readlines()[:5]:
        cookie, letter = line.rstrip("\n").split("\t")
        path = {"dashboard": "/min-side", "inbox": "/min-side/meldinger", "letter": letter}[page]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", path, headers={"Cookie": cookie})
        status = conn.getresponse().status
        conn.close()
        if status != 200:
            raise SystemExit(f"{page}: a logged-in session got {status}, not the page (expired sessions?)")


def wrk(base, page, sessions, seconds):
    return subprocess.run(
        ["wrk", "-t1", "-c4", f"-d{seconds}s", "--timeout", "30s", "-s", os.path.join(HERE, "load.lua"), base],
        capture_output=True, text=True, check=True,
        env={**os.environ, "BENCH_DIR": HERE, "PAGE": page, "SESSIONS": sessions}).stdout


def dump(pid, out):
    """Asks callgrind to write what it counted since the last dump, and waits for the file."""
    files = len(glob.glob(out + "*"))
    subprocess.run(["callgrind_control", "-d", str(pid)], check=True, capture_output=True)
    for _ in range(300):
        done = [f for f in glob.glob(out + "*") if re.search(r"^totals: ", open(f).read(), re.M)]
        if len(done) > files - 1 and len(glob.glob(out + "*")) > files:
            return
        time.sleep(0.1)
    raise SystemExit("callgrind wrote no dump")


def measure(binary, data, db, sessions, seconds, pages, persons="10000"):
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is needed (Debian package valgrind)")
    work = tempfile.mkdtemp(prefix="minside-callgrind-")
    out = os.path.join(work, "callgrind.out")
    port = free_port()
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
         binary, "demo", "--listen", f"127.0.0.1:{port}", "--persons", persons, "--data", data],
        stdout=subprocess.PIPE, stderr=open(os.path.join(work, "server.log"), "w"), text=True,
        env={**os.environ, "MINSIDE_DATABASE_URL": db})
    try:
        first = server.stdout.readline().strip()
        if "running at" not in first:
            raise SystemExit(f"the server did not start under valgrind: {first!r}")
        base = f"http://127.0.0.1:{port}"
        wait_until_idle(server.pid)
        result = {}
        subprocess.run(["callgrind_control", "-i", "on", str(server.pid)], check=True, capture_output=True)
        for page in pages:
            check_sessions(port, page, sessions)
            # A short warm-up first (connections opened, statements prepared, pages cached), dumped
            # and not counted.
            wrk(base, page, sessions, 2)
            dump(server.pid, out)
            before = totals(out)
            run = wrk(base, page, sessions, seconds)
            dump(server.pid, out)
            requests = int(re.search(r"(\d+) requests in", run).group(1))
            if re.search(r"Non-2xx", run):
                raise SystemExit(f"{page}: some requests failed under valgrind:\n{run}")
            result[page] = round((totals(out) - before) / max(requests, 1))
        return result
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bin")
    p.add_argument("data")
    p.add_argument("db")
    p.add_argument("sessions")
    p.add_argument("--seconds", default=20, type=int)
    p.add_argument("--pages", default="dashboard inbox letter")
    p.add_argument("--persons", default="10000")
    a = p.parse_args()
    print(json.dumps(measure(a.bin, a.data, a.db, a.sessions, a.seconds, a.pages.split(), a.persons)))


if __name__ == "__main__":
    sys.exit(main())
