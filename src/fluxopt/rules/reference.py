"""The reference of the expression language, generated from the code that enforces it.

:func:`data_reference_markdown` is the whole data reference of the README and of
``docs/data-reference.md``: the table declarations, then the expression language (what may
be written, the functions, the caps, what is refused and how a refusal reads), so that the
documented grammar is the one :mod:`fluxopt.rules.expression` applies.
"""

from __future__ import annotations

from fluxopt.rules.expression import LIMITS, ExpressionError, parse_expression
from fluxopt.rules.filters import APPLICANT_FILTER, BATCH_UNIT_COLUMNS, UNIT_FILTER
from fluxopt.rules.operations import FUNCTIONS
from fluxopt.schema.declaration import reference_markdown

INTRO = """\
#### Expressions (grid criteria and rule filters)

Every expression fluxopt reads from a file — a grid's criteria, brackets, wait and refusal
entries, a constraint set's `scope`, `share`, `holders` and `admits` filters, and those of
any constraint set or grid a scenario names — is written in one small language with the
familiar pandas filter syntax. It is parsed once when the file is loaded and checked against
an allow-list; nothing is ever handed to `eval`. An expression that breaks a rule stops the
command before anything is computed or written (exit status 2).

Names are exactly the columns of the table the expression applies to (plain ASCII):
"""

NAMES = (
    ("where", "kind", "columns it may name"),
    (
        "grid entries",
        "applicant",
        "the `applicants` columns and derived columns above (`fluxopt score` also accepts "
        "the extra columns of the instance's applicants file)",
    ),
    ("quota `scope`", "unit", "the `units` columns and derived columns above, and BATCH"),
    (
        "quota `share`, channel `admits`",
        "applicant",
        "the `applicants` columns and derived columns above (`q1` against the unit's EPCI)",
    ),
    ("quota and channel `holders`", "holder", "the `holders` columns above"),
)

CONSTRUCTS = (
    ("construct", "examples"),
    (
        "column names, numbers, `'text'`, `True`/`False`",
        "`dalo`, `rooms_now`, `6000`, `0.35`, `'state'`",
    ),
    ("comparisons `== != < <= > >=`, chained", "`kind == 'state'`, `1 <= rooms <= 3`"),
    (
        "`and`, `or`, `not` (also `&`, `\\|`, `~`, with the precedence of `and`/`or`)",
        "`priority or dalo`, `not qpv and lec_applies`",
    ),
    ("arithmetic `+ - * / // %`, unary `-`", "`housing_cost_now * 12 / annual_income`"),
    ("`x ** n` with a whole literal `n` from 0 to EXPONENT", "`household_size ** 2`"),
    ("`in` / `not in` a literal list or tuple", "`room_group in ['T1-T2', 'T3']`"),
    (
        "parentheses and the functions below, by position",
        "`abs(rooms_now - household_size) >= 2`",
    ),
)

MISSING = """\
Missing values (empty cells) follow pandas: a comparison with a missing value is false or
missing, `and`/`or` use three-valued logic on true/false columns, arithmetic with a missing
value gives a missing value. A filter counts a missing result as false; a grid entry whose
value is missing scores 0 and is flagged in `missing.csv`. Comparing text with `==`/`!=`
tests membership, as pandas does (a missing value is not equal to any text).
"""

REFUSED = """\
Refused when the file is loaded: attributes and methods (`x.y`, `x.str.upper()`),
subscripts (`x[0]`), names with a double underscore, `lambda`, comprehensions, starred
arguments, f-strings and bytes literals, `:=`, `a if c else b`, dictionaries and sets,
`is`, `None` (use `isna(x)`), keyword arguments, calls to any other function, `@` (pandas'
local variables and the matrix product), backtick-quoted names, comments (`#`), arithmetic
on text (`'a' * 1000`; a text column in arithmetic is refused before it is computed),
any character outside ASCII except inside quotes (a look-alike such as the Cyrillic `а` in
`dаlo`, or a full-width `ｄａｌｏ` that Unicode folds into `dalo`, is shown with its code point,
e.g. `U+0430 CYRILLIC SMALL LETTER A`), and bidirectional-control characters anywhere.

A refusal names the file, the key of the expression and the part at fault, quoted from the
text as written (here with the payload of a known attack and a look-alike letter):
"""

KEYS = """\
Grid keys read `criteria.<name>.expression`, `brackets.<name>.expression`,
`ordered.criteria.<name>.expression`, `wait.expression` and `refusal.expression`
(`transfer.` before them in the transfer scheme); constraint-set keys read
`families.quotas[<i>].scope`, `families.channels[<i>].admits` and so on.
"""

PAYLOAD = "qpv.__class__.__init__.__globals__['sys'].modules['os'].system('id') == 0"


def _table(rows: tuple[tuple[str, ...], ...]) -> list[str]:
    header, *body = rows
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return [*lines, ""]


def _refusal(text: str, file: str, key: str, suffix: str = "") -> str:
    """The error line a refused expression gives, as the command prints it."""
    try:
        parse_expression(text, UNIT_FILTER.columns | APPLICANT_FILTER.columns)
    except ExpressionError as exc:
        return f"  error {file}, {key}: {exc.message}{suffix}"
    raise AssertionError(f"the example {text!r} is not refused")


def expression_markdown() -> str:
    """The reference of the expression language, as Markdown."""
    batch = ", ".join(f"`{c}`" for c in BATCH_UNIT_COLUMNS)
    names = tuple(tuple(cell.replace("BATCH", batch) for cell in row) for row in NAMES)
    constructs = tuple(
        tuple(cell.replace("EXPONENT", str(LIMITS.exponent)) for cell in row) for row in CONSTRUCTS
    )
    functions = (
        ("function", "what it gives"),
        *((f"`{f.signature}`", f.doc) for f in FUNCTIONS.values()),
    )
    caps = (
        ("cap", "value"),
        ("characters of the text", f"{LIMITS.length:,}"),
        ("parts (names, literals, operations, calls)", f"{LIMITS.nodes:,}"),
        ("levels of nesting", f"{LIMITS.depth}"),
        ("items of a literal list after `in`", f"{LIMITS.items:,}"),
        ("exponent of `**`", f"0 to {LIMITS.exponent}"),
        ("whole-number literal", "±2\\*\\*53"),
    )
    examples = [
        "```text",
        "constraint set evil.yaml is invalid: 1 error(s), 0 warning(s)",
        _refusal(PAYLOAD, "evil.yaml", "families.quotas[0].scope", " (unit filter)"),
        "grid evil-grid.yaml is invalid: 1 error(s), 0 warning(s)",
        _refusal("\uff44\uff41\uff4c\uff4f", "evil-grid.yaml", "criteria.dalo.expression"),
        "```",
        "",
    ]
    return "\n".join(
        [
            INTRO,
            *_table(names),
            *_table(constructs),
            MISSING,
            *_table(functions),
            "What one expression may cost is capped, so that evaluating it takes time and "
            "memory linear in the rows:",
            "",
            *_table(caps),
            REFUSED,
            *examples,
            KEYS,
        ]
    )


def data_reference_markdown() -> str:
    """The data reference: the table declarations, then the expression language."""
    return reference_markdown().rstrip("\n") + "\n\n" + expression_markdown()
