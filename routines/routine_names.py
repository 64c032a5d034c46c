"""Which routine a person means by what they typed after /stretch.

People type "lower back", "Lower-Back", "lower_back" or the title ("Quick unwind"); all
of them name the same routine as its id does. No I/O: the library is passed in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from routines.model import Routine

__all__ = ["routine_named"]


def _squash(text: str) -> str:
    """Lowercase, with spaces, underscores and hyphens as one hyphen."""
    return re.sub(r"[\s_-]+", "-", text.strip().lower()).strip("-")


def routine_named(routines: Iterable[Routine], typed: str) -> str | None:
    """The id of the routine `typed` names: its id or title, in any case and spacing.

    A beginning that fits one routine alone is enough ("lower" is lower-back); one that
    fits several, or none, names nothing.
    """
    wanted = _squash(typed)
    if not wanted:
        return None
    names = [(routine.id, {_squash(routine.id), _squash(routine.title)}) for routine in routines]
    exact = [routine_id for routine_id, spelt in names if wanted in spelt]
    if exact:
        return exact[0]
    begun = [
        routine_id for routine_id, spelt in names if any(name.startswith(wanted) for name in spelt)
    ]
    return begun[0] if len(begun) == 1 else None
