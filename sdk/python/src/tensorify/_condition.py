"""
The condition language of an ``if`` node, parsed as the server parses it (``src/graph/condition.ts``),
for its bindings and for the server's message when a condition does not parse::

    condition  := or
    or         := and ( "or" and )*
    and        := not ( "and" not )*
    not        := "not" not | comparison
    comparison := operand ( ( "==" | "!=" | "<" | "<=" | ">" | ">=" ) operand )?
    operand    := binding | number | string | "true" | "false" | "null" | "(" or ")"

Only recognition is needed here (the server compiles the condition to Python), so the parser
builds no tree: it collects the bindings and stops at the first problem, with the server's words.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

from ._bindings import Binding, parse_binding_at

_Step = Callable[[], None]
_MAX_DEPTH = 64
_COMPARE_OPERATORS = ("==", "!=", "<", "<=", ">", ">=")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_NUMBER_LIKE = re.compile(r"-?(?:[\w.]|(?<=[eE])[+-])*", re.ASCII)
_WORD_CHAR_OR_DOT = re.compile(r"[\w.]", re.ASCII)
_OPERATOR = re.compile(r"[=!<>&|]+")
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}

_ESCAPE_FORMS = "use \\\", \\', \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\u followed by four hexadecimal digits"
_USE_COMPARISON = "use ==, !=, <, <=, > or >="
_VALUES = 'a binding such as {{ node.field }}, a number, a "string", true, false, null or a test in parentheses'
_FORMS = (
    'a condition is made of bindings such as {{ node.field }}, numbers, "strings", true, false, null, '
    "comparisons (==, !=, <, <=, >, >=), and, or, not and parentheses"
)
_OPERATOR_ADVICE = {
    "&&": 'write "and"',
    "&": 'write "and"',
    "||": 'write "or"',
    "|": 'write "or"',
    "!": 'write "not"',
    "=": "use == to compare",
    "===": "use ==",
    "!==": "use !=",
    "<>": "use !=",
}
_WORD_ADVICE = {
    "true": "write true in lowercase",
    "false": "write false in lowercase",
    "null": "write null in lowercase",
    "none": "write null",
    "nil": "write null",
    "undefined": "write null",
    "and": "write and in lowercase",
    "or": "write or in lowercase",
    "not": "write not in lowercase",
    "is": _USE_COMPARISON,
}


@dataclass(frozen=True)
class ConditionResult:
    """The bindings of a condition that parses, or the server's message for one that does not."""

    bindings: Tuple[Binding, ...] = ()
    error: Optional[str] = None


def parse_condition(text: str) -> ConditionResult:
    parser = _Parser(text)
    try:
        parser.parse()
    except _Failure as failure:
        quoted = f'Condition "{_truncate(text, 80)}"'
        if failure.offset is None:
            return ConditionResult(error=f"{quoted} {failure.detail}.")
        where = f"{quoted} is not valid at character {failure.offset + 1}"
        return ConditionResult(error=f"{where}. {failure.detail}" if failure.sentence else f"{where}: {failure.detail}.")
    return ConditionResult(bindings=tuple(parser.bindings))


class _Failure(Exception):
    def __init__(self, offset: Optional[int], detail: str, sentence: bool = False) -> None:
        super().__init__(detail)
        self.offset = offset
        self.detail = detail
        self.sentence = sentence


@dataclass(frozen=True)
class _Token:
    #: value, compare, and, or, not, (, ), end
    type: str
    start: int
    end: int
    op: str = ""


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0
        self.lookahead: Optional[_Token] = None
        self.depth = 0
        self.bindings: List[Binding] = []

    def parse(self) -> None:
        if self.peek().type == "end":
            raise _Failure(None, "is empty; write a test such as {{ node.score }} > 10, {{ inputs.flag }} or true")
        self.parse_or()
        token = self.next()
        if token.type == ")":
            raise _Failure(token.start, 'unexpected ")" without a matching "("')
        if token.type != "end":
            advice = f"join tests with and or or, and {_USE_COMPARISON} to compare values"
            raise _Failure(token.start, f"unexpected {self.describe(token)} after a complete test; {advice}")

    def parse_or(self) -> None:
        self.parse_chain("or", self.parse_and)

    def parse_and(self) -> None:
        self.parse_chain("and", self.parse_not)

    def parse_chain(self, kind: str, parse_operand: _Step) -> None:
        parse_operand()
        while self.peek().type == kind:
            self.next()
            parse_operand()

    def parse_not(self) -> None:
        if self.peek().type != "not":
            self.parse_comparison()
            return
        self.nested(self.next(), self.parse_not)

    def parse_comparison(self) -> None:
        self.parse_operand()
        if self.peek().type != "compare":
            return
        self.next()
        self.parse_operand()
        chained = self.peek()
        if chained.type == "compare":
            advice = "join them with and, as in {{ a.x }} > 1 and {{ a.x }} < 5"
            raise _Failure(chained.start, f'unexpected "{chained.op}": comparisons can not be chained; {advice}')

    def parse_operand(self) -> None:
        token = self.next()
        if token.type == "value":
            return
        if token.type == "not":
            raise _Failure(token.start, 'expected a value but found "not"; put not before a whole test, as in not ({{ a.x }} == 1)')
        if token.type != "(":
            raise _Failure(token.start, f"expected a value but found {self.describe(token)}; write {_VALUES}")

        def inner() -> None:
            self.parse_or()
            close = self.next()
            if close.type != ")":
                raise _Failure(close.start, f'expected ")" to close the "(" at character {token.start + 1} but found {self.describe(close)}')

        self.nested(token, inner)

    def nested(self, opener: _Token, parse: _Step) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _Failure(opener.start, f"it nests deeper than {_MAX_DEPTH} levels of parentheses and not")
        parse()
        self.depth -= 1

    def peek(self) -> _Token:
        if self.lookahead is None:
            self.lookahead = self.read_token()
        return self.lookahead

    def next(self) -> _Token:
        token = self.peek()
        self.lookahead = None
        return token

    def read_token(self) -> _Token:
        whitespace = _WHITESPACE.match(self.text, self.position)
        start = whitespace.end() if whitespace is not None else self.position
        token = self.scan(start)
        self.position = token.end
        return token

    def scan(self, start: int) -> _Token:
        if start >= len(self.text):
            return _Token("end", start, start)
        char = self.text[start]
        if char in "()":
            return _Token(char, start, start + 1)
        if self.text.startswith("{{", start):
            binding = parse_binding_at(self.text, start)
            if not isinstance(binding, Binding):
                raise _Failure(start, binding.message, True)
            self.bindings.append(binding)
            return _Token("value", start, binding.end)
        if char in "\"'":
            return self.scan_string(start, char)
        if char == "-" or "0" <= char <= "9":
            return self.scan_number(start)
        word = _WORD.match(self.text, start)
        if word is not None:
            return self.scan_word(start, word.group(0))
        operator = _OPERATOR.match(self.text, start)
        if operator is not None:
            found = operator.group(0)
            if found in _COMPARE_OPERATORS:
                return _Token("compare", start, operator.end(), found)
            raise _Failure(start, f'unexpected "{found}"; {_OPERATOR_ADVICE.get(found, _USE_COMPARISON)}')
        advice = "write bindings with double braces, as in {{ node.field }}" if char == "{" else _FORMS
        raise _Failure(start, f'unexpected "{char}"; {advice}')

    def scan_word(self, start: int, word: str) -> _Token:
        end = start + len(word)
        if word in ("and", "or", "not"):
            return _Token(word, start, end)
        if word in ("true", "false", "null"):
            return _Token("value", start, end)
        found = _truncate(word, 30)
        advice = _WORD_ADVICE.get(word.lower(), f'quote text, as in "{found}", and read values with bindings such as {{{{ node.field }}}}')
        raise _Failure(start, f'unexpected "{found}"; {advice}')

    def scan_number(self, start: int) -> _Token:
        lexeme = _NUMBER.match(self.text, start)
        end = lexeme.end() if lexeme is not None else start
        following = self.text[end] if end < len(self.text) else ""
        if lexeme is None or _WORD_CHAR_OR_DOT.match(following):
            like = _NUMBER_LIKE.match(self.text, start)
            found = _truncate(like.group(0) if like is not None else "", 30)
            raise _Failure(start, f'"{found}" is not a number; write numbers such as 10, -2.5 or 1e6')
        if math.isinf(float(lexeme.group(0))):
            raise _Failure(start, f"the number {_truncate(lexeme.group(0), 30)} is too large")
        return _Token("value", start, end)

    def scan_string(self, start: int, quote: str) -> _Token:
        position = start + 1
        while True:
            if position >= len(self.text):
                kind = "double" if quote == '"' else "single"
                raise _Failure(start, f"the string that starts here never ends; close it with a {kind} quote")
            char = self.text[position]
            if char == quote:
                break
            if char < " ":
                raise _Failure(position, "a string can not hold line breaks, tabs or other control characters as they are; write \\n, \\r or \\t")
            if char == "\\" and position + 1 < len(self.text):
                position += self.escape_length(position, quote)
            else:
                position += 1
        return _Token("value", start, position + 1)

    def escape_length(self, position: int, quote: str) -> int:
        escape = self.text[position + 1]
        if escape == "u":
            if _HEX4.fullmatch(self.text[position + 2 : position + 6]):
                return 6
            raise _Failure(position, f"a string holds a \\u that is not followed by four hexadecimal digits; {_ESCAPE_FORMS}")
        if not (escape == "'" and quote == "'") and escape not in _ESCAPES:
            raise _Failure(position, f'a string holds the unknown escape "\\{escape}"; {_ESCAPE_FORMS}')
        return 2

    def describe(self, token: _Token) -> str:
        return "the end of the condition" if token.type == "end" else f'"{_truncate(self.text[token.start : token.end], 30)}"'



def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"
