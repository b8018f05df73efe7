"""Run by test_store.py in separate processes: try to reserve units of one SKU, print wins."""

from __future__ import annotations

import sys
import time

from accord.engine.runtime.store import open_store


def main(url: str, sku: str, attempts: int, start_at: float, tag: str) -> None:
    store = open_store(url)
    time.sleep(max(0.0, start_at - time.time()))
    wins = 0
    for i in range(attempts):
        ref = f"{tag}-{i}"
        ok = store.run(
            lambda tx, ref=ref: tx.try_reserve(sku, "main", 1, ref=ref, event_key=None, now="t")
        )
        wins += ok
    store.close()
    print(wins)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
