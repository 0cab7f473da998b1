"""Checking the keyword options of an objective's sample(): an unknown one is an error that
names it (a misspelt option must not be silently ignored)."""

from __future__ import annotations


def check_options(options: dict, allowed: tuple, family: str) -> None:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"{family}.sample: unknown option(s) {', '.join(map(repr, unknown))}; "
                         f"it takes {', '.join(allowed) if allowed else 'none'}")
