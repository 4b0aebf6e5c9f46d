"""Pure: the one rule for a Discord id (a snowflake), and for a number written in text (an id, a header).

`str.isdigit()` is no test before `int()`: it is True for "¹", which `int()` refuses, and for
"١٢٣", which `int()` reads as 123; `int()` itself takes " 5", "+5" and "1_000". Only ASCII digits count here.
"""

from __future__ import annotations

# Discord's ids are 64-bit (https://discord.com/developers/docs/reference#snowflakes); the top bit is not
# reached before 2084, and the state file keeps ids in SQLite's signed 64-bit INTEGER.
MAX_SNOWFLAKE = (1 << 63) - 1
MAX_DIGITS = 20  # no id or count this program reads is longer (2**64 has 20); int() refuses 4300 and more


def decimal(text: str) -> int | None:
    """The number `text` writes in ASCII digits alone (no sign, space or `_`), at most MAX_DIGITS; None for anything else."""
    return int(text) if len(text) <= MAX_DIGITS and text.isascii() and text.isdigit() else None


def snowflake(value: object) -> int | None:
    """A Discord id (as text or a number, never a bool) from 1 to MAX_SNOWFLAKE; None for anything else."""
    if isinstance(value, bool):
        return None
    number = value if isinstance(value, int) else decimal(value) if isinstance(value, str) else None
    return number if number is not None and 0 < number <= MAX_SNOWFLAKE else None


def is_snowflake(value: object) -> bool:
    """True for a usable Discord id (see `snowflake`)."""
    return snowflake(value) is not None
