"""The README reader finds commands, their claimed output and stated Python values, and
a wrong stated value fails the check (so tests/docs/test_readme.py can fail)."""

import pytest

from tests.docs.examples import (
    Block,
    checked_script,
    code_blocks,
    shell_commands,
    transcript_output,
)

MARKDOWN = """\
text
```bash
curl -s -X POST http://127.0.0.1:8000/predict \\
  -d '{}'
# {"a": 1}
# (a note, not an output)
.venv/bin/python -m trainer list   # a trailing comment
```
```python
x = 2
x * 3          # 6
(x / 4, x)     # 0.5, 2 (a tuple)
import numpy as np
np.array([[1.0, 2.5]])
# array([[1. , 2.5]])
```
"""


def test_commands_join_continuations_and_keep_their_claimed_output() -> None:
    bash, _ = code_blocks(MARKDOWN)
    first, second = shell_commands(bash)
    assert first.text.endswith("-d '{}'") and first.line == 3
    assert first.expected_json == '{"a": 1}'
    assert second.expected_json is None and second.line == 7


def _run(block: Block) -> None:
    exec(compile(checked_script(block), "example.py", "exec"), {})


def test_stated_values_are_asserted_where_they_are_stated() -> None:
    _, python = code_blocks(MARKDOWN)
    _run(python)  # every stated value holds

    wrong = Block(python.language, python.first_line, list(python.lines))
    wrong.lines[1] = "x * 3          # 7"
    with pytest.raises(SystemExit, match=r"line 11: x \* 3 is 6; the page says 7"):
        _run(wrong)
    wrong.lines[1] = "x * 3"
    wrong.lines[-1] = "# array([[1. , 2.6]])"
    with pytest.raises(SystemExit, match="np.array"):
        _run(wrong)


def test_a_transcript_keeps_every_output_line_unless_abridged() -> None:
    (block,) = code_blocks(
        "```bash\n$ trainer gc --dry-run\nmoons: would remove v3\nmoons: kept v6\n\n"
        "$ trainer list\n...\n```\n"
    )
    gc, listing = shell_commands(block)
    assert transcript_output(gc) == ["moons: would remove v3", "moons: kept v6"]
    assert transcript_output(listing) is None  # `...`: shown, not claimed
