"""The README's examples as data: its code blocks, shell commands and claimed outputs.

tests/docs/test_readme.py runs them; this module only reads Markdown, so what counts
as a command, an expected output or a checked Python value is decided in one place.
"""

import ast
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    language: str
    first_line: int  # 1-based line of the block's first code line
    lines: list[str]


@dataclass
class Command:
    text: str  # one shell command, continuation lines joined
    line: int
    expected_json: str | None = None  # the `# {...}` comment right after it, if any
    # a transcript's output lines under its `$ command` (None outside a transcript)
    output: list[str] | None = None


@dataclass
class Check:
    """A Python expression whose value the README states in a comment."""

    line: int  # in the README
    start: int  # the expression's first and last line, 0-based within its block
    end: int
    expression: str
    expected: str  # Python source of the stated value


def code_blocks(markdown: str) -> list[Block]:
    blocks, current, language, start = [], None, "", 0
    for number, line in enumerate(markdown.splitlines(), start=1):
        fence = re.match(r"^```(\w*)\s*$", line)
        if fence and current is None:
            current, language, start = [], fence.group(1), number + 1
        elif line.startswith("```") and current is not None:
            blocks.append(Block(language, start, current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def shell_commands(block: Block) -> list[Command]:
    """A block's commands. Two layouts: commands with `# {...}` comments claiming
    their output, or a transcript, `$ command` lines each followed by its output."""
    if any(line.startswith("$ ") for line in block.lines):
        return _transcript(block)
    commands: list[Command] = []
    pending: list[str] = []
    open_state = _OpenState()
    for offset, line in enumerate(block.lines):
        number = block.first_line + offset
        stripped = line.strip()
        if pending:
            pending.append(line)
            if not open_state.continues(line):
                commands[-1].text = "\n".join(pending)
                pending = []
            continue
        if not stripped:
            continue
        if stripped.startswith("#"):
            claim = stripped[1:].strip()
            if commands and claim[:1] in "{[" and commands[-1].expected_json is None:
                commands[-1].expected_json = claim
            continue
        commands.append(Command(line, number))
        open_state = _OpenState()
        if open_state.continues(line):
            pending = [line]
    return commands


class _OpenState:
    """Whether a command goes on past a line, as bash reads it: a trailing backslash,
    a quote still open (`python3 -c '...` over several lines), or a here-document
    (`cat > f <<'EOF'` up to its `EOF` line). Comments (`# it's`) do not count."""

    def __init__(self) -> None:
        self.quote = ""  # the open quote character, if any
        self.heredocs: list[tuple[str, bool]] = []  # (delimiter, <<- strips tabs)
        self.reading_heredoc = False

    def continues(self, line: str) -> bool:
        if self.reading_heredoc:
            delimiter, strip_tabs = self.heredocs[0]
            if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                self.heredocs.pop(0)
            self.reading_heredoc = bool(self.heredocs)
            return self.reading_heredoc
        self._scan(line)
        if self.quote:
            return True
        if self.heredocs:
            self.reading_heredoc = True
            return True
        return line.rstrip().endswith("\\")

    _HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")

    def _scan(self, line: str) -> None:
        index = 0
        while index < len(line):
            char = line[index]
            if self.quote == "'":
                if char == "'":
                    self.quote = ""
            elif char == "\\":
                index += 1  # the next character is escaped (in "..." and outside)
            elif self.quote == '"':
                if char == '"':
                    self.quote = ""
            elif char in "'\"":
                self.quote = char
            elif char == "#" and (index == 0 or line[index - 1] in " \t;&|("):
                return  # a comment: the rest of the line is not read
            elif line.startswith("<<", index) and not line.startswith("<<<", index):
                here = self._HEREDOC.match(line, index)
                if here:
                    self.heredocs.append((here.group(3), here.group(1) == "-"))
                    index = here.end() - 1
            index += 1


def _transcript(block: Block) -> list[Command]:
    commands: list[Command] = []
    continued = False
    for offset, line in enumerate(block.lines):
        if line.startswith("$ "):
            commands.append(Command(line[2:], block.first_line + offset))
            continued = line.rstrip().endswith("\\")
        elif continued:
            commands[-1].text += "\n" + line
            continued = line.rstrip().endswith("\\")
        elif commands:
            if line.strip() and commands[-1].expected_json is None:
                commands[-1].expected_json = line.strip()
            commands[-1].output = [*(commands[-1].output or []), line]
    return commands


def transcript_output(command: Command) -> list[str] | None:
    """What a transcript says its command prints, trailing blank lines dropped; None
    when it shows no output or an abridged one (a `...` line)."""
    lines = list(command.output or [])
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines or any(line.strip() in ("...", "…") for line in lines):
        return None
    return lines


_NUMBERS = re.compile(r"^[-+0-9.eE, ]+")


def python_checks(block: Block) -> list[Check]:
    """Top-level expressions followed by `# value` (a number or tuple of numbers), or
    by `# array([[...]])` comment lines, as numpy prints an array."""
    source = "\n".join(block.lines)
    checks = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.Expr):
            continue
        text = block.lines[node.end_lineno - 1]
        expression = ast.get_source_segment(source, node)
        comment = text.split("#", 1)[1].strip() if "#" in text else ""
        numbers = _NUMBERS.match(comment)
        if numbers and numbers.group(0).strip(" ,"):
            value = numbers.group(0).strip(" ,")
            expected = value
        else:
            expected = _array_comment(block.lines[node.end_lineno :])
        if expected:
            where = (
                block.first_line + node.lineno - 1,
                node.lineno - 1,
                node.end_lineno - 1,
            )
            checks.append(Check(*where, expression, expected))
    return checks


def _array_comment(following: list[str]) -> str:
    lines = []
    for line in following:
        text = line.strip()
        if not text.startswith("#"):
            break
        body = text[1:].strip()
        if not lines and not body.startswith("array("):
            break
        lines.append(body)
        if body.count("(") <= body.count(")") and "".join(lines).count("(") == "".join(
            lines
        ).count(")"):
            return " ".join(lines)
    return ""


def checked_script(block: Block) -> str:
    """The block as a script whose stated values are asserted where they are stated:
    each checked expression is replaced, in place, by `_readme_check(...)`."""
    lines = list(block.lines)
    for check in sorted(python_checks(block), key=lambda c: c.start, reverse=True):
        call = (
            f"_readme_check(({check.expression}), ({check.expected}), {check.line}, "
            f"{check.expression!r})"
        )
        lines[check.start : check.end + 1] = [call]
    return _CHECK_FUNCTION + "\n".join(lines) + "\n"


_CHECK_FUNCTION = """\
import math as _math
import numpy as _np
from numpy import array


def _readme_close(value, expected):
    if isinstance(expected, float):
        return _math.isclose(value, expected, rel_tol=1e-12, abs_tol=0.0)
    return value == expected


def _readme_check(value, expected, line, expression):
    if isinstance(expected, _np.ndarray):
        ok = _np.shape(value) == expected.shape and _np.allclose(
            value, expected, rtol=1e-8, atol=0.0
        )
    elif isinstance(expected, tuple):
        ok = len(value) == len(expected) and all(
            _readme_close(v, e) for v, e in zip(value, expected)
        )
    else:
        ok = _readme_close(value, expected)
    if not ok:
        raise SystemExit(
            f"line {line}: {expression} is {value!r}; the page says "
            f"{expected!r}"
        )


"""
