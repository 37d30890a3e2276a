"""Files written whole or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

T = TypeVar("T")


def write_atomically(path: Path, write: Callable[[BinaryIO], T]) -> T:
    """``write(file)`` into a temporary file beside ``path``, flushed to disk, then renamed
    over ``path``: a reader finds the whole file or none, never half of one. If ``write``
    fails (a full disk, say), the temporary file is removed and the error raised."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            result = write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return result
