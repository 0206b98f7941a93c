"""Which staff passwords are refused: too short, the user's own name, or a common password.

A stolen password list is the first thing an attacker tries against a login form, and a
10-character minimum alone still allows `1234567890` or `qwertyuiop`. The list is a data file
(`bot/storage/data/common-passwords.txt`, see bot/storage/data/README.md) so it can be replaced
without code.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

MIN_PASSWORD_LENGTH = 10
COMMON_PASSWORDS = Path(__file__).resolve().parent / "data" / "common-passwords.txt"


@lru_cache(maxsize=4)
def common_passwords(path: Path = COMMON_PASSWORDS) -> frozenset[str]:
    """The list, lower case; read once per process (about 20,000 lines)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip())


def password_problem(password: str, username: str = "") -> str | None:
    """Why `password` is refused for `username`, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"passwords have at least {MIN_PASSWORD_LENGTH} characters."
    folded = password.strip().lower()
    name = username.strip().lower()
    if name and (folded == name or (len(name) >= 4 and name in folded)):
        return "a password must not contain the user name."
    if folded in common_passwords():
        return "that password is on the list of common passwords; choose another."
    return None
