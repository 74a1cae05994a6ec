"""
What a psycopg 3 user sees, for the PostgreSQL compatibility tests: each
check connects with the libpq connection string in PCL_DSN (to the proxy or
straight to PostgreSQL), does one thing and prints one JSON object.

    python3 psycopg_checks.py <check> [arguments…]
"""
import json
import os
import sys
import threading
import time

import psycopg
from psycopg import pq


def connect(**kwargs):
    return psycopg.connect(os.environ["PCL_DSN"], autocommit=True, **kwargs)


def error_of(err):
    diag = err.diag
    return {
        "class": type(err).__name__,
        "sqlstate": err.sqlstate,
        "message": diag.message_primary,
        "position": diag.statement_position,
        "detail": diag.message_detail,
        "hint": diag.message_hint,
        "context": diag.context,
    }


def empty_query():
    """An empty query string through libpq's simple and extended protocol, and through a cursor."""
    with connect() as conn:
        pg = conn.pgconn
        simple = pg.exec_(b"")
        extended = pg.exec_params(b"", [])
        prepared = pg.prepare(b"pcl_empty", b"")
        executed = pg.exec_prepared(b"pcl_empty", [])
        cur = conn.cursor()
        cur.execute("")
        status = cur.pgresult.status
        after = conn.execute("SELECT 1").fetchone()[0]
    return {
        "simple": pq.ExecStatus(simple.status).name,
        "extended": pq.ExecStatus(extended.status).name,
        "prepare": pq.ExecStatus(prepared.status).name,
        "executePrepared": pq.ExecStatus(executed.status).name,
        "cursor": pq.ExecStatus(status).name,
        "after": after,
    }


def result_error(res):
    field = lambda f: (res.error_field(f) or b"").decode() or None
    position = field(pq.DiagnosticField.STATEMENT_POSITION)
    return {
        "status": pq.ExecStatus(res.status).name,
        "sqlstate": field(pq.DiagnosticField.SQLSTATE),
        "message": field(pq.DiagnosticField.MESSAGE_PRIMARY),
        "position": int(position) if position else None,
        "detail": field(pq.DiagnosticField.MESSAGE_DETAIL),
    }


def syntax_errors(*statements):
    """Each statement through libpq's simple protocol (PQexec) and extended protocol (PQexecParams)."""
    out = []
    with connect() as conn:
        pg = conn.pgconn
        for text in statements:
            out.append({
                "text": text,
                "simple": result_error(pg.exec_(text.encode())),
                "extended": result_error(pg.exec_params(text.encode(), [])),
            })
        try:
            conn.execute("SELEC 1")
            raised = None
        except psycopg.Error as err:
            raised = type(err).__name__
        # In a transaction block a syntax error aborts the block, as any failing statement does.
        conn.autocommit = False
        try:
            conn.execute("SELECT 1 FROM")
        except psycopg.errors.SyntaxError:
            pass
        try:
            conn.execute("SELECT 1")
            aborted = False
        except psycopg.errors.InFailedSqlTransaction:
            aborted = True
        conn.rollback()
    return {"errors": out, "raised": raised, "abortedTransaction": aborted}


def backend_pid():
    """The pid the driver was given, the one the server reports, and the pid on our own notification."""
    with connect() as conn:
        reported = conn.info.backend_pid
        server = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        conn.execute("LISTEN pcl_self")
        conn.execute("NOTIFY pcl_self, 'hello'")
        notes = list(conn.notifies(timeout=5, stop_after=1))
        # pg_terminate_backend(conn.info.backend_pid) from another session ends this very backend.
        with connect() as other:
            terminated = other.execute("SELECT pg_terminate_backend(%s)", [reported]).fetchone()[0]
        time.sleep(0.5)
        try:
            conn.execute("SELECT 1")
            after_terminate = None
        except psycopg.Error as err:
            after_terminate = err.sqlstate or type(err).__name__
    return {
        "reported": reported,
        "server": server,
        "notifyPid": notes[0].pid if notes else None,
        "notifyPayload": notes[0].payload if notes else None,
        "terminated": terminated,
        "afterTerminate": after_terminate,
    }


def cancel(method, seconds="20"):
    """Runs pg_sleep and cancels it from another thread with conn.cancel() or conn.cancel_safe()."""
    with connect() as conn:
        pid = conn.info.backend_pid
        result = {"pid": pid}

        def cancel_soon():
            time.sleep(1.0)
            try:
                if method == "safe":
                    conn.cancel_safe(timeout=10)
                else:
                    conn.cancel()
                result["cancelError"] = None
            except Exception as err:  # what the caller would see from the cancel itself
                result["cancelError"] = f"{type(err).__name__}: {err}"

        canceller = threading.Thread(target=cancel_soon)
        started = time.monotonic()
        canceller.start()
        try:
            conn.execute(f"SELECT pg_sleep({float(seconds)})")
            result["query"] = None
        except psycopg.Error as err:
            result["query"] = error_of(err)
        result["seconds"] = round(time.monotonic() - started, 2)
        canceller.join()
        result["after"] = conn.execute("SELECT 1").fetchone()[0]
    return result


def server_error(statement):
    """The error a statement raises, as the caller sees it."""
    with connect() as conn:
        try:
            conn.execute(statement)
            return {"error": None}
        except psycopg.Error as err:
            return {"error": error_of(err)}


def notices(statement):
    """The notices a statement produces, as the caller sees them."""
    seen = []
    with connect() as conn:
        conn.add_notice_handler(lambda d: seen.append({"severity": d.severity, "message": d.message_primary, "detail": d.message_detail, "hint": d.message_hint}))
        conn.execute(statement)
    return {"notices": seen}


CHECKS = {
    "empty-query": empty_query,
    "syntax-errors": syntax_errors,
    "backend-pid": backend_pid,
    "cancel": cancel,
    "server-error": server_error,
    "notices": notices,
}

if __name__ == "__main__":
    print(json.dumps(CHECKS[sys.argv[1]](*sys.argv[2:])))
