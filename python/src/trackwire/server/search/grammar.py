"""MLflow's search filter and order-by grammar, parsed by lark into plain values.

This module knows the syntax only: which entity (metric, param, tag, attribute) an
identifier names, the comparator and the literal. What each search accepts
(attribute names, comparators per entity, value types) is checked by the search
that uses it, through `FilterContext.fail`, so every message quotes the filter and
points at the offending position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from trackwire import limits
from trackwire.errors import InvalidArgument

_GRAMMAR = r"""
filter: [condition (AND condition)*]
order_term: identifier [ASC | DESC]

?condition: identifier COMPARATOR value      -> compare
          | identifier LIKE value            -> compare
          | identifier ILIKE value           -> compare
          | identifier IN value_list         -> in_list
          | identifier NOT IN value_list     -> not_in_list
          | identifier IS NULL               -> is_null
          | identifier IS NOT NULL           -> is_not_null

identifier: NAME                             -> plain_identifier
          | NAME "." (DQ_STRING | BACKTICKED) -> quoted_identifier
          | BACKTICKED                       -> quoted_attribute

value: SQ_STRING | DQ_STRING | NUMBER
value_list: "(" value ("," value)* ")"

AND: "and"i
LIKE: "like"i
ILIKE: "ilike"i
IN: "in"i
NOT: "not"i
IS: "is"i
NULL: "null"i
ASC: "asc"i
DESC: "desc"i

// An unquoted identifier: an entity prefix and a key that may contain dots,
// e.g. tags.mlflow.user, or a bare attribute name such as start_time.
NAME: /[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_\-\/:]+)*/
COMPARATOR: "!=" | ">=" | "<=" | "=" | ">" | "<"
SQ_STRING: /'(?:[^'\\]|\\.|'')*'/
DQ_STRING: /"(?:[^"\\]|\\.|"")*"/
BACKTICKED: /`[^`]*`/
NUMBER: /[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/

%ignore /\s+/
"""

# One parser per start rule, so error messages list only what that rule accepts.
_PARSERS = {
    start: Lark(_GRAMMAR, start=start, parser="lalr", lexer="contextual")
    for start in ("filter", "order_term")
}

# MLflow's entity prefixes and their aliases.
METRIC, PARAM, TAG, ATTRIBUTE = "metric", "param", "tag", "attribute"
_ENTITY_BY_PREFIX = {
    "metric": METRIC,
    "metrics": METRIC,
    "param": PARAM,
    "params": PARAM,
    "parameter": PARAM,
    "parameters": PARAM,
    "tag": TAG,
    "tags": TAG,
    "attribute": ATTRIBUTE,
    "attributes": ATTRIBUTE,
    "attr": ATTRIBUTE,
    "run": ATTRIBUTE,
}
_PREFIX_NAMES = "metrics., params., tags., attributes."

# How the parser's terminals read in an error message.
_TERMINAL_NAMES = {
    "NAME": "an identifier",
    "COMPARATOR": "a comparator",
    "SQ_STRING": "a quoted string",
    "DQ_STRING": "a quoted string",
    "BACKTICKED": "a backticked name",
    "NUMBER": "a number",
    "AND": "AND",
    "LIKE": "LIKE",
    "ILIKE": "ILIKE",
    "IN": "IN",
    "NOT": "NOT",
    "IS": "IS",
    "NULL": "NULL",
    "ASC": "ASC",
    "DESC": "DESC",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "DOT": "'.'",
    "$END": "end of input",
}

LiteralValue = str | int | float


@dataclass(frozen=True)
class Identifier:
    entity: str  # METRIC, PARAM, TAG or ATTRIBUTE
    key: str
    text: str  # as written, for messages
    position: int  # 0-based offset in the parsed text


@dataclass(frozen=True)
class Comparison:
    identifier: Identifier
    # "=", "!=", "<", "<=", ">", ">=", LIKE, ILIKE, IN, NOT IN, IS NULL or IS NOT NULL
    comparator: str
    value: LiteralValue | tuple[str, ...] | None
    value_is_number: bool
    position: int  # of the comparator


@dataclass(frozen=True)
class OrderTerm:
    identifier: Identifier
    ascending: bool


@dataclass(frozen=True)
class FilterContext:
    """The text being parsed, to build errors that quote it and point into it."""

    what: str  # "filter" or "order_by"
    text: str

    def fail(self, position: int | None, problem: str) -> InvalidArgument:
        where = "" if position is None else f" at position {position}"
        return InvalidArgument(f"Invalid {self.what} {self.text!r}{where}: {problem}")


def _refuse_nul(text: str, what: str) -> None:
    # No store can compare text with a NUL character (PostgreSQL refuses it).
    if "\x00" in text:
        raise InvalidArgument(f"{what} contains a NUL character")


def parse_filter(filter_string: str) -> list[Comparison]:
    """The AND-ed comparisons of an MLflow search filter (empty for a blank filter)."""
    context = FilterContext("filter", filter_string)
    if len(filter_string) > limits.MAX_FILTER_LENGTH:
        raise InvalidArgument(
            f"The filter is {len(filter_string)} characters long, "
            f"more than the limit of {limits.MAX_FILTER_LENGTH}"
        )
    _refuse_nul(filter_string, "The filter")
    tree = _parse(context, "filter")
    return [_comparison(context, node) for node in tree.children if isinstance(node, Tree)]


def parse_order_by(clause: str) -> OrderTerm:
    """One order_by clause: an identifier and an optional ASC/DESC."""
    context = FilterContext("order_by clause", clause)
    if len(clause) > limits.MAX_FILTER_LENGTH:
        raise InvalidArgument(
            f"An order_by clause is {len(clause)} characters long, "
            f"more than the limit of {limits.MAX_FILTER_LENGTH}"
        )
    _refuse_nul(clause, "An order_by clause")
    tree = _parse(context, "order_term")
    identifier = _identifier(context, _tree(tree.children[0]))
    direction = tree.children[1]
    return OrderTerm(identifier, direction is None or _token(direction).type == "ASC")


def _parse(context: FilterContext, start: str) -> Tree:
    try:
        return _PARSERS[start].parse(context.text)
    except UnexpectedInput as error:
        raise _syntax_error(context, error) from None


def _syntax_error(context: FilterContext, error: UnexpectedInput) -> InvalidArgument:
    if isinstance(error, UnexpectedCharacters):
        char = context.text[error.pos_in_stream or 0]
        if char in "'\"`":
            return context.fail(error.pos_in_stream, f"unclosed quote {char}")
        return context.fail(error.pos_in_stream, f"unexpected character {char!r}")
    assert isinstance(error, (UnexpectedToken, UnexpectedEOF))
    if isinstance(error, UnexpectedEOF) or error.token.type == "$END":
        return context.fail(
            len(context.text), f"unexpected end of input, expected {_expected(error)}"
        )
    token = error.token
    if token.value.lower() == "or":
        return context.fail(
            _position(token), "OR is not supported; conditions can only be combined with AND"
        )
    return context.fail(
        _position(token), f"unexpected {token.value!r}, expected {_expected(error)}"
    )


def _expected(error: UnexpectedToken | UnexpectedEOF) -> str:
    # `accepts` replays the parser state exactly; `expected` may include lookaheads
    # that LALR merged in from other contexts.
    terminals = getattr(error, "accepts", None) or error.expected
    names = sorted({_TERMINAL_NAMES.get(name, name) for name in terminals})
    return " or ".join(names)


def _token(node: Tree | Token) -> Token:
    assert isinstance(node, Token)
    return node


def _tree(node: Tree | Token) -> Tree:
    assert isinstance(node, Tree)
    return node


def _position(token: Token) -> int:
    return token.start_pos or 0


def _identifier(context: FilterContext, node: Tree) -> Identifier:
    if node.data == "quoted_attribute":
        token = _token(node.children[0])
        return Identifier(ATTRIBUTE, token.value[1:-1], token.value, _position(token))
    if node.data == "quoted_identifier":
        prefix, quoted = _token(node.children[0]), _token(node.children[1])
        entity = _entity(context, prefix.value, _position(prefix))
        text = f"{prefix.value}.{quoted.value}"
        return Identifier(entity, _unquote(quoted.value), text, _position(prefix))
    name = _token(node.children[0])
    prefix_text, dot, key = name.value.partition(".")
    if not dot:  # a bare name is an attribute, as in MLflow
        return Identifier(ATTRIBUTE, name.value, name.value, _position(name))
    entity = _entity(context, prefix_text, _position(name))
    return Identifier(entity, key, name.value, _position(name))


def _entity(context: FilterContext, prefix: str, position: int) -> str:
    entity = _ENTITY_BY_PREFIX.get(prefix.lower())
    if entity is None:
        raise context.fail(
            position, f"unknown identifier prefix {prefix!r}; use one of {_PREFIX_NAMES}"
        )
    return entity


def _comparison(context: FilterContext, node: Tree) -> Comparison:
    identifier = _identifier(context, _tree(node.children[0]))
    operator = _token(node.children[1])
    position = _position(operator)
    if node.data == "compare":
        value, is_number = _literal(_token(_tree(node.children[2]).children[0]))
        return Comparison(identifier, operator.value.upper(), value, is_number, position)
    if node.data in ("in_list", "not_in_list"):
        values = []
        for value_node in _tree(node.children[-1]).children:
            token = _token(_tree(value_node).children[0])
            if token.type == "NUMBER":
                raise context.fail(
                    _position(token), f"IN lists take quoted strings, got {token.value}"
                )
            values.append(_unquote(token.value))
        comparator = "IN" if node.data == "in_list" else "NOT IN"
        return Comparison(identifier, comparator, tuple(values), False, position)
    comparator = "IS NULL" if node.data == "is_null" else "IS NOT NULL"
    return Comparison(identifier, comparator, None, False, position)


def _literal(token: Token) -> tuple[LiteralValue, bool]:
    if token.type == "NUMBER":
        text = token.value
        if re.fullmatch(r"[+-]?\d+", text):
            number = int(text)
            # Beyond 64 bits no database binds an integer: compare with the nearest double.
            return (number if -(2**63) <= number < 2**63 else float(text)), True
        return float(text), True
    return _unquote(token.value), False


def _unquote(quoted: str) -> str:
    """The text inside quotes: a doubled quote or a backslash-escaped quote or backslash
    stands for itself; every other backslash is kept (LIKE patterns use it as escape)."""
    quote, body = quoted[0], quoted[1:-1]
    if quote == "`":
        return body
    return re.sub(r"\\([\\'\"])|" + quote * 2, lambda m: m.group(1) or quote, body)
