"""Bench-only: count the SQL statements each request runs, reported in a response header.

Off by default; ``TRACCIA_BENCH_SQL_COUNT=1`` turns it on (``make bench`` does, for the
servers it starts). The count covers every statement sent on any engine while the request's
application context is active, the user's loading and the commit included, and is sent as
``X-SQL-Statements``.
"""

from __future__ import annotations

from flask import Flask, g, has_app_context
from sqlalchemy import event
from sqlalchemy.engine import Engine

HEADER = "X-SQL-Statements"
_listening = False


def _count(*_args, **_kwargs) -> None:
    if has_app_context():
        g._sql_statements = g.get("_sql_statements", 0) + 1


def init_sql_count(app: Flask) -> None:
    global _listening
    if not _listening:
        event.listen(Engine, "before_cursor_execute", _count)
        _listening = True

    @app.after_request
    def _report(response):
        response.headers[HEADER] = str(g.get("_sql_statements", 0))
        return response
