"""LIKE and ILIKE with the same meaning on SQLite and PostgreSQL.

MLflow's LIKE is case-sensitive and ILIKE is not. SQLite's LIKE ignores ASCII case,
so there LIKE becomes GLOB (always case-sensitive) over a translated pattern. In both
dialects `%` and `_` are wildcards and a backslash escapes the next character
(PostgreSQL's default escape; SQLite needs it spelled out).
"""

from __future__ import annotations

from sqlalchemy import Boolean, bindparam, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import BindParameter, ColumnElement


class PatternMatch(ColumnElement[bool]):
    type = Boolean()
    inherit_cache = False  # the pattern is a plain attribute, not a traversed element

    def __init__(self, column: ColumnElement, pattern: str, *, case_sensitive: bool):
        self.column = column
        self.pattern = pattern
        self.case_sensitive = case_sensitive

    @property
    def _from_objects(self):
        return self.column._from_objects


def like(column: ColumnElement, pattern: str) -> PatternMatch:
    return PatternMatch(column, pattern, case_sensitive=True)


def ilike(column: ColumnElement, pattern: str) -> PatternMatch:
    return PatternMatch(column, pattern, case_sensitive=False)


@compiles(PatternMatch)
def _compile_default(element: PatternMatch, compiler, **kw) -> str:
    pattern: BindParameter[str] = bindparam(None, element.pattern, unique=True)
    operator = "LIKE" if element.case_sensitive else "ILIKE"
    return f"{compiler.process(element.column, **kw)} {operator} {compiler.process(pattern, **kw)}"


@compiles(PatternMatch, "sqlite")
def _compile_sqlite(element: PatternMatch, compiler, **kw) -> str:
    if element.case_sensitive:
        glob: BindParameter[str] = bindparam(None, like_to_glob(element.pattern), unique=True)
        return f"{compiler.process(element.column, **kw)} GLOB {compiler.process(glob, **kw)}"
    pattern: BindParameter[str] = bindparam(None, element.pattern, unique=True)
    return compiler.process(func.lower(element.column).like(func.lower(pattern), escape="\\"), **kw)


def like_to_glob(pattern: str) -> str:
    """The GLOB pattern matching exactly what a backslash-escaped LIKE pattern matches."""
    out = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            char = next(chars, "\\")
            out.append(_glob_literal(char))
        elif char == "%":
            out.append("*")
        elif char == "_":
            out.append("?")
        else:
            out.append(_glob_literal(char))
    return "".join(out)


def _glob_literal(char: str) -> str:
    return f"[{char}]" if char in "*?[" else char
