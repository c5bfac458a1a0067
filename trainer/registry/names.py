"""What a model name, an alias and a version number may be.

Each of them becomes part of a path, so each is checked against a strict pattern
before any path is built: no separators, no dot-names, no signs or leading zeros.
Shared by the registry, the alias file, the CLI and the service (which refuses at the
door a version or alias the registry could never hold); stdlib only.
"""

import re

from trainer.errors import InvalidNameError

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
# Aliases start with a letter so that one can never be mistaken for a version number.
ALIAS_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_THEN_PLAIN = "then up to 63 letters, digits, '_' or '-'"
# the alias rule in words, for messages that must say what an alias may be
ALIAS_SPELLING = f"a letter, {_THEN_PLAIN}"
MAX_VERSION_DIGITS = 18  # fits in a signed 64-bit integer
VERSION_PATTERN = re.compile(rf"[1-9][0-9]{{0,{MAX_VERSION_DIGITS - 1}}}")


def check_name(name: object) -> str:
    """Return `name` if it is a plain model name, else raise InvalidNameError."""
    spelling = f"a letter or digit, {_THEN_PLAIN}"
    return _check_plain(name, NAME_PATTERN, "model name", spelling)


def check_alias(alias: object) -> str:
    """Return `alias` if it is a plain alias name, else raise InvalidNameError."""
    return _check_plain(alias, ALIAS_PATTERN, "alias", ALIAS_SPELLING)


def is_alias_name(text: str) -> bool:
    """Whether `text` is spelt like an alias (set or not: that is the registry's)."""
    return ALIAS_PATTERN.fullmatch(text) is not None


def _check_plain(value: object, pattern: re.Pattern, what: str, spelling: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidNameError(f"{what} {value!r} is not a plain name ({spelling})")
    return value


def parse_version(version: object) -> int:
    """A positive version number from an int or a string of digits."""
    if isinstance(version, int) and not isinstance(version, bool) and version >= 1:
        return version
    if isinstance(version, str) and VERSION_PATTERN.fullmatch(version):
        return int(version)
    raise InvalidNameError(f"version {version!r} is not a positive integer")


def is_version_name(entry: str) -> bool:
    """Whether a directory entry is named like a version (`7`, never `07` or `.7`)."""
    return VERSION_PATTERN.fullmatch(entry) is not None
