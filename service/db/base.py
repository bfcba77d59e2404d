"""Declarative base shared by every domain's models."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, String, Table, event, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column
from sqlalchemy.types import TypeDecorator

from service.researchers.names import fold_name

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BigId = BigInteger().with_variant(Integer(), "sqlite")
"""Primary keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite."""

JsonDocument = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite drops the offset on the way in)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {dt.datetime: UTCDateTime}


class IdMixin:
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime, default=utcnow, server_default=func.current_timestamp()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, server_default=func.current_timestamp()
    )


def _folded_display_name(context: Any) -> str:
    return fold_name(context.get_current_parameters()["display_name"])


class SearchNameMixin:
    """``search_name``: ``display_name`` folded by ``fold_name`` for search. An insert that
    does not give it (ORM or Core) gets it from ``display_name``; an ORM change of the name
    refolds it; Core updates that rename set it themselves."""

    search_name: Mapped[str] = mapped_column(String(500), default=_folded_display_name)


@event.listens_for(SearchNameMixin, "before_update", propagate=True)
def _refold_search_name(_mapper: Mapper[Any], _connection: Any, target: Any) -> None:
    target.search_name = fold_name(target.display_name)


def table_of(model: type[Base]) -> Table:
    """A mapped class's table, for Core statements on hot paths (cheaper than ORM-enabled
    DML: no session bookkeeping)."""
    return cast(Table, model.__table__)
