"""Reading the text of an expression: caps, characters, tokens, syntax and positions.

Before any parsing, the text is held to :class:`Limits` and to its characters: no control or
bidirectional-control character anywhere, nothing outside ASCII except inside quotes (so
that a look-alike letter never stands for a column), no comment, backtick, ``@``, f-string
or bytes literal. pandas reads ``&`` and ``|`` with the precedence of ``and`` and ``or``; the
parsed text spells them so, and :class:`Source` maps every position back to the written
text, so that a refused fragment is quoted as written.
"""

from __future__ import annotations

import ast
import io
import tokenize
import unicodedata
from dataclasses import dataclass

from fluxopt.rules.operations import FUNCTIONS
from fluxopt.schema.problems import FluxoptError, Problem

EXAMPLE = "household_size >= 4 and rooms_now <= 2"
GRAMMAR_HINT = (
    f"write an expression such as `{EXAMPLE}`: column names, numbers, 'text', True/False, "
    "comparisons, and/or/not, + - * / // %, `in [...]` and the functions " + ", ".join(FUNCTIONS)
)
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""Characters that reorder the display of text, so that what is read differs from what
runs (refused anywhere, even inside quotes)."""


@dataclass(frozen=True)
class Limits:
    """What one expression may cost (all refused at load when exceeded)."""

    length: int = 2_000
    """Characters of the text (surrounding spaces not counted)."""
    nodes: int = 500
    """Expression nodes (names, literals, operations, calls)."""
    depth: int = 32
    """Levels of nesting."""
    items: int = 1_000
    """Items of a literal list after ``in``."""
    exponent: int = 4
    """Largest exponent of ``**`` (a whole literal)."""


LIMITS = Limits()


class ExpressionError(FluxoptError):
    """An expression refused at load: why, the fragment at fault, and how to fix it."""

    def __init__(self, reason: str, fragment: str = "", hint: str = "") -> None:
        self.reason = reason
        self.fragment = fragment
        self.hint = hint
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The reason, with the fragment quoted (long fragments are shortened)."""
        if not self.fragment:
            return self.reason
        quote = '"' if "`" in self.fragment else "`"
        return f"{self.reason}: {quote}{shorten(self.fragment)}{quote}"

    def problem(self, file: str, key: str) -> Problem:
        """The error as a problem of ``file`` at ``key`` (e.g. ``families.quotas[0].scope``)."""
        return Problem(file, self.message, self.hint, key=key)


def shorten(text: str, width: int = 120) -> str:
    """``text`` on one line, cut in the middle when longer than ``width``."""
    flat = " ".join(line.strip() for line in text.splitlines())
    if len(flat) <= width:
        return flat
    half = (width - 1) // 2
    return flat[:half] + "…" + flat[-half:]


class Source:
    """The text as written, the text parsed, and the way back between their positions.

    pandas reads ``&`` and ``|`` with the precedence of ``and`` and ``or``; the parsed text
    spells them so, and ``origin`` maps each of its characters to the written one, so that
    a fragment is always quoted as written.
    """

    def __init__(self, text: str, code: str, origin: list[int]) -> None:
        self.text = text
        self.code = code
        self.origin = origin
        self.lines = code.split("\n")
        self.starts = [0]
        for line in self.lines[:-1]:
            self.starts.append(self.starts[-1] + len(line) + 1)

    @classmethod
    def read(cls, raw: str, limits: Limits) -> Source:
        """Check the characters and tokens of ``raw`` (stripped) and prepare it for parsing."""
        text = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
        if not text:
            raise ExpressionError("expression is empty", "", GRAMMAR_HINT)
        if len(text) > limits.length:
            raise ExpressionError(
                f"expression is {len(text):,} characters long, more than {limits.length:,}",
                text,
                "split the rule, or use a derived column",
            )
        for index, char in enumerate(text):
            if char in BIDI_CONTROLS or (ord(char) < 32 and char not in "\t\n"):
                raise ExpressionError(
                    f"character {code_point(char)} is not allowed", _around(text, index), ""
                )
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
        except (tokenize.TokenError, SyntaxError) as exc:
            try:
                ast.parse(text, mode="eval")
            except SyntaxError as error:
                raise _syntax_error(text, (error.offset or 1) - 1, error.msg) from exc
            except (RecursionError, MemoryError, ValueError):
                pass
            raise _syntax_error(text, 0, "cannot be read") from exc
        return _rewritten(text, tokens)

    def parse(self) -> ast.Expression:
        """The syntax tree; a syntax error is reported where it is in the written text."""
        try:
            return ast.parse(self.code, mode="eval")
        except SyntaxError as exc:
            row = min(max((exc.lineno or 1) - 1, 0), len(self.lines) - 1)
            at = min(self.starts[row] + max((exc.offset or 1) - 1, 0), len(self.code))
            raise _syntax_error(self.text, self.origin[at], exc.msg) from exc
        except (RecursionError, MemoryError, ValueError) as exc:
            raise ExpressionError(
                "expression is too deeply nested to read", self.text, "simplify it"
            ) from exc

    def span(self, node: ast.AST) -> tuple[int, int]:
        """Start and end of a node in the written text."""
        line = int(getattr(node, "lineno", 1))
        start = self._index(line, int(getattr(node, "col_offset", 0)))
        end_line = int(getattr(node, "end_lineno", None) or line)
        end_col = getattr(node, "end_col_offset", None)
        end = self._index(end_line, end_col) if end_col is not None else len(self.code)
        first = self.origin[start]
        last = self.origin[end - 1] + 1 if end > start else first
        return first, max(last, first)

    def fragment(self, node: ast.AST) -> str:
        """The node's text as written."""
        start, end = self.span(node)
        return self.text[start:end]

    def _index(self, lineno: int, byte_offset: int) -> int:
        row = min(max(lineno, 1), len(self.lines)) - 1
        line = self.lines[row].encode("utf-8")
        chars = len(line[:byte_offset].decode("utf-8", errors="ignore"))
        return min(self.starts[row] + chars, len(self.code))


def code_point(char: str) -> str:
    """``U+0430 CYRILLIC SMALL LETTER A`` for a character."""
    return f"U+{ord(char):04X} {unicodedata.name(char, 'control character')}"


def _syntax_error(text: str, index: int, reason: str) -> ExpressionError:
    index = min(max(index, 0), len(text))
    where = f" at character {index + 1}" if index < len(text) else " at its end"
    return ExpressionError(
        f"expression is not valid{where} ({reason})", text[index : index + 40] or text, GRAMMAR_HINT
    )


def _around(text: str, index: int) -> str:
    return text[max(index - 20, 0) : index + 20]


def _rewritten(text: str, tokens: list[tokenize.TokenInfo]) -> Source:
    """Refuse what only the tokens show; spell ``&``/``|`` as ``and``/``or``."""
    starts = [0]
    for line in text.split("\n"):
        starts.append(starts[-1] + len(line) + 1)

    def offset(position: tuple[int, int]) -> int:
        row, col = position
        return min(starts[min(row, len(starts)) - 1] + col, len(text))

    pieces: list[str] = []
    origin: list[int] = []
    cursor = 0
    for token in tokens:
        start, end = offset(token.start), offset(token.end)
        _refuse_token(token, text[start:end] or token.string, text[start:])
        if token.type != tokenize.STRING:
            for index in range(start, end):
                if ord(text[index]) > 127:
                    raise ExpressionError(
                        f"character {code_point(text[index])} is not allowed outside quotes; "
                        "names are the exact ASCII column names",
                        text[start:end],
                        "retype the name with plain Latin letters, digits and underscores",
                    )
        if token.type == tokenize.OP and token.string in ("&", "|"):
            pieces.append(text[cursor:start])
            origin.extend(range(cursor, start))
            word = " and " if token.string == "&" else " or "
            pieces.append(word)
            origin.extend([start] * len(word))
            cursor = end
    pieces.append(text[cursor:])
    origin.extend(range(cursor, len(text) + 1))
    return Source(text, "".join(pieces), origin)


def _refuse_token(token: tokenize.TokenInfo, written: str, rest: str) -> None:
    if token.type == tokenize.STRING:
        prefix = written[: min(i for i in (written.find("'"), written.find('"')) if i >= 0)]
        if "f" in prefix.lower():
            raise ExpressionError("f-strings are not allowed", written, "write plain 'text'")
        if "b" in prefix.lower():
            raise ExpressionError("bytes literals are not allowed", written, "write plain 'text'")
    elif token.type == tokenize.COMMENT:
        raise ExpressionError(
            "comments (#) are not allowed in an expression",
            written,
            "put the explanation in the entry's description",
        )
    elif token.string == "`":
        closing = rest.find("`", 1)
        raise ExpressionError(
            "backtick-quoted names are not allowed",
            rest[: closing + 1] if closing > 0 else rest[:40],
            "columns are referred to by their plain names, without quotes",
        )
    elif token.type == tokenize.OP and token.string in ("@", "@="):
        raise ExpressionError(
            "'@' (a local variable or a matrix product) is not allowed",
            written,
            "write the value itself, e.g. `annual_income < 20000`",
        )


def measure(tree: ast.Expression, source: Source, limits: Limits) -> None:
    """Refuse a tree with too many nodes or too deep (walked without recursion)."""
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.expr):
            count += 1
            if depth > limits.depth:
                raise ExpressionError(
                    f"expression is nested more than {limits.depth} levels deep",
                    source.fragment(node),
                    "simplify it",
                )
        step = 1 if isinstance(node, ast.expr) else 0
        stack.extend((child, depth + step) for child in ast.iter_child_nodes(node))
    if count > limits.nodes:
        raise ExpressionError(
            f"expression has {count:,} parts, more than {limits.nodes:,}",
            source.text,
            "split the rule, or use a derived column",
        )
