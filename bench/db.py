"""One way for the harness to read the benchmark database, SQLite file or PostgreSQL."""
import sqlite3
import subprocess


def is_postgres(url):
    return url.startswith(("postgres://", "postgresql://"))


def rows(url, sql):
    """The rows of one query (SQL without parameters) as tuples; PostgreSQL through psql."""
    if is_postgres(url):
        out = subprocess.run(["psql", url, "-AtX", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                             capture_output=True, text=True, check=True).stdout
        return [tuple(line.split("\t")) for line in out.splitlines() if line]
    con = sqlite3.connect(url.removeprefix("sqlite://"), timeout=30)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def one(url, sql):
    return int(rows(url, sql)[0][0])
