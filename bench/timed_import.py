"""``bzpeer`` with the import's bulk derive timed, for ``bench/import.py``.

Runs ``service.cli.main`` with these arguments, exactly as the ``bzpeer`` script does, except
that ``service.imports.openalex.importer.derive_if_pending`` (the derive at the end of a bulk
import: ``service.recompute``, the code of ``bzpeer recompute --all``) is wrapped to record when
it started and ended (``time.time()``) as JSON in the file ``$BZPEER_BENCH_DERIVE_TIMES``,
also when it fails. If the importer has no such function any more, the command runs untimed
and the file says so (the benchmark then splits the run at the last committed batch).

``python bench/timed_import.py import openalex PATH... --jobs N``
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import orjson  # noqa: E402

from service import cli  # noqa: E402
from service.imports.openalex import importer  # noqa: E402

TIMES_ENV = "BZPEER_BENCH_DERIVE_TIMES"
WRAPPED = "derive_if_pending"


def timed(
    function: Callable[..., Coroutine[Any, Any, Any]], path: Path
) -> Callable[..., Coroutine[Any, Any, Any]]:
    @functools.wraps(function)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.time()
        outcome = "failed"
        try:
            result = await function(*args, **kwargs)
            outcome = "derived" if result else "nothing to derive"
            return result
        finally:
            record(path, {"started": started, "ended": time.time(), "outcome": outcome})

    return wrapper


def record(path: Path, times: dict[str, Any]) -> None:
    path.write_bytes(orjson.dumps(times))


def main() -> int:
    target = os.environ.get(TIMES_ENV)
    if target:
        path = Path(target)
        original = getattr(importer, WRAPPED, None)
        if original is None:
            record(path, {"outcome": f"untimed: no importer.{WRAPPED}"})
        else:
            setattr(importer, WRAPPED, timed(original, path))
    return cli.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
