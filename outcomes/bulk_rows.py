"""Fast inserts for generated history (outcomes/generate.py): rows as tuples with ids chosen
here, written with COPY on PostgreSQL and executemany elsewhere.

The ORM's bulk_create builds a model instance per row, which is most of the cost at millions
of events; these writers take plain values in the models' own columns. Only for a writer that
runs alone (generate_history): ids are taken from max(id) + 1, and the identity sequences are
moved past them afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, models

_REQUIRED = object()


class Table:
    """One model's table: its columns, the defaults for those a row leaves out, the next id,
    and the rows waiting to be written."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self.name = model._meta.db_table
        fields = list(model._meta.concrete_fields)
        self.columns = [f.column for f in fields]
        self.attnames = [f.attname for f in fields]
        self.json = [f.attname for f in fields if isinstance(f, models.JSONField)]
        defaults: dict[str, Any] = {}
        for f in fields:
            if f.has_default():
                defaults[f.attname] = f.get_default()
            elif f.null:
                defaults[f.attname] = None
            elif isinstance(f, models.CharField | models.TextField):
                defaults[f.attname] = ""
        for name in self.json:
            if name in defaults:
                defaults[name] = json.dumps(defaults[name])
        # (column, default) in column order; a column with no default must be given.
        self.slots = [(name, defaults.get(name, _REQUIRED)) for name in self.attnames]
        self.rows: list[tuple] = []
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT MAX("id") FROM "{self.name}"')
            self.next_id = (cursor.fetchone()[0] or 0) + 1

    def add(self, **values: Any) -> int:
        """Queue a row; returns its id."""
        row_id = values["id"] = self.next_id
        self.next_id += 1
        dumps = json.dumps
        for name in self.json:
            if name in values:
                values[name] = dumps(values[name], separators=(",", ":"))
        get = values.get
        row = tuple(get(name, default) for name, default in self.slots)
        if _REQUIRED in row:
            missing = [n for (n, d), v in zip(self.slots, row, strict=True) if v is _REQUIRED]
            raise TypeError(f"{self.name}: no value for {', '.join(missing)}")
        self.rows.append(row)
        return row_id

    def write(self) -> int:
        """Write the queued rows; returns how many."""
        rows, self.rows = self.rows, []
        if rows:
            rows_write(self.name, self.columns, rows)
        return len(rows)


def rows_write(table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    quoted = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
            return
        ops = connection.ops
        adapted = [
            tuple(
                ops.adapt_datetimefield_value(v)
                if isinstance(v, datetime)
                else str(v)
                if isinstance(v, Decimal)
                else v
                for v in row
            )
            for row in rows
        ]
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(f'INSERT INTO "{table}" ({quoted}) VALUES ({marks})', adapted)


def sequences_reset(tables: Sequence[Table]) -> None:
    """Move PostgreSQL's identity sequences past the ids written here (SQLite needs nothing)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                f'COALESCE((SELECT MAX("id") FROM "{table.name}"), 1))'
            )
