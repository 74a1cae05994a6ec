"""psycopg 3 through the gateway: what a Python service does, one JSON object per scenario on stdout.

Connection details come from the environment (PCL_HOST, PCL_PORT, PCL_DB, PCL_USER, PCL_TOKEN).
"""
import json
import os
import sys

import psycopg

conninfo = dict(
    host=os.environ["PCL_HOST"],
    port=os.environ["PCL_PORT"],
    dbname=os.environ["PCL_DB"],
    user=os.environ["PCL_USER"],
    password=os.environ["PCL_TOKEN"],
    sslmode="require",
    connect_timeout=10,
)


def report(name, **fields):
    print(json.dumps({"scenario": name, **fields}, default=str), flush=True)


with psycopg.connect(**conninfo) as conn:
    conn.autocommit = True
    report("connect", server_version=conn.info.server_version, encoding=conn.info.encoding,
           standard_conforming_strings=conn.info.parameter_status("standard_conforming_strings"))

    row = conn.execute("SELECT name, email, card_number FROM customers WHERE id = %s", (2,)).fetchone()
    report("parametrised", row=row)

    rows = [conn.execute("SELECT id, email FROM customers WHERE id = %s", (i % 2 + 1,), prepare=True).fetchone() for i in range(6)]
    server_prepared = conn.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ("%FROM customers WHERE id%",)).fetchone()[0]
    report("prepared", rows=rows, server_prepared=server_prepared)

    with conn.cursor(binary=True) as cur:
        cur.execute("SELECT id, name, email, card_number FROM customers ORDER BY id")
        report("binary", rows=cur.fetchall())

    with conn.cursor() as cur:
        with cur.copy("COPY (SELECT id, name, email FROM customers ORDER BY id) TO STDOUT") as copy:
            report("copy-out", rows=[list(r) for r in copy.rows()])
        with cur.copy("COPY notes (id, body) FROM STDIN") as copy:
            copy.write_row((1, "first"))
            copy.write_row((2, "zweite Notiz, schön"))
        report("copy-in", rows=conn.execute("SELECT id, body FROM notes ORDER BY id").fetchall())

    with conn.transaction():
        n = conn.execute("SELECT count(*) FROM customers").fetchone()[0]
    report("transaction", count=n)

    try:
        conn.execute("DROP TABLE customers")
        report("blocked", raised=None)
    except psycopg.Error as e:
        report("blocked", raised=type(e).__name__, sqlstate=e.sqlstate, message=str(e).splitlines()[0])

    try:
        conn.execute("SET standard_conforming_strings = off")
        report("pinned", raised=None)
    except psycopg.Error as e:
        report("pinned", raised=type(e).__name__, message=str(e).splitlines()[0])

    conn.execute("SET client_encoding TO 'LATIN1'")
    row = conn.execute("SELECT name, email FROM customers WHERE name = %s", ("Renée Müller",)).fetchone()
    report("latin1", encoding=conn.info.encoding, row=row)

sys.exit(0)
