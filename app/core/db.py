"""The declarative base, its naming convention and column types shared by every domain."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

#: Stable constraint names on SQLite and PostgreSQL alike (Alembic needs them to alter tables).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: Names (tables, indexes, columns) that only the migrations create and no model describes:
#: the full-text search structures (SQLite FTS5 tables and their shadow tables, PostgreSQL's
#: stored tsvector column and its GIN index), all named with ``_fts``. Autogenerate and the
#: schema test skip them.
UNMODELLED_MARK = "_fts"


def modelled(name: str | None, type_: str, parent_names) -> bool:
    """Alembic's ``include_name``: whether a reflected name is the models' business."""
    return not (name and type_ in ("table", "index", "column") and UNMODELLED_MARK in name)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database.

    SQLite has no time zones; PostgreSQL's ``timestamptz`` has. Both are stored as UTC and
    come back aware, so comparisons never mix naive and aware values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


#: How long a SQLite connection waits for the write lock before giving up (set from the
#: configuration by create_app). Under a deadline rush, waiting beats failing.
SQLITE_BUSY_TIMEOUT_MS = 60_000


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """WAL for concurrent readers, enforced foreign keys, and waiting instead of failing."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_MS)}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def enum_type(enum_cls, name: str):
    """A portable enum column: stored as its string value, guarded by a named CHECK."""
    from sqlalchemy import Enum

    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


#: How many rows :func:`update_versioned` names in one statement.
VERSIONED_BATCH = 500


def update_versioned(session, objects, **values) -> None:
    """Give ``objects`` (rows of one model with a ``version_id_col``, already loaded) the same
    ``values`` in one UPDATE per :data:`VERSIONED_BATCH` rows, where the unit of work would
    send one per row. Each row is matched on its key *and* the version it was loaded with, and
    its version goes up by one: if any row was changed meanwhile, ``StaleDataError`` is raised
    (as a flush would) and the caller rolls back. The objects then hold the new values as
    committed ones (nothing left for the next flush)."""
    from sqlalchemy import tuple_, update
    from sqlalchemy.orm import object_mapper
    from sqlalchemy.orm.attributes import set_committed_value
    from sqlalchemy.orm.exc import StaleDataError

    objects = list(objects)
    if not objects:
        return
    mapper = object_mapper(objects[0])
    [key] = mapper.primary_key
    version = mapper.version_id_col
    key_attr = mapper.get_property_by_column(key).key
    version_attr = mapper.get_property_by_column(version).key
    model = mapper.class_
    session.flush()
    for start in range(0, len(objects), VERSIONED_BATCH):
        chunk = objects[start : start + VERSIONED_BATCH]
        seen = [(getattr(o, key_attr), getattr(o, version_attr)) for o in chunk]
        result = session.execute(
            update(model)
            .where(tuple_(key, version).in_(seen))
            .values(**values, **{version_attr: version + 1})
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != len(chunk):
            raise StaleDataError(
                f"{model.__name__}: {len(chunk) - result.rowcount} rows changed meanwhile"
            )
        for obj, (_key, seen_version) in zip(chunk, seen, strict=True):
            for name, value in values.items():
                set_committed_value(obj, name, value)
            set_committed_value(obj, version_attr, seen_version + 1)


def copy_rows(connection, table, columns: list[str], rows) -> None:
    """Insert many rows of plain values (tuples in ``columns``' order, each value as the driver
    takes it: no type processing, so enums as their values and timestamps as the column's
    bind processor makes them): PostgreSQL's ``COPY`` through psycopg, the driver's
    ``executemany`` on SQLite. In the connection's transaction, like any other statement."""
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()
        with cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    if connection.dialect.paramstyle != "qmark":  # pragma: no cover (SQLite and PostgreSQL only)
        raise NotImplementedError(connection.dialect.name)
    placeholders = ", ".join("?" * len(columns))
    # The table's and columns' names come from the models; the values are bound.
    statement = f"INSERT INTO {table.name} ({names}) VALUES ({placeholders})"  # noqa: S608
    connection.exec_driver_sql(statement, list(rows))
