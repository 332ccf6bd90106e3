"""Regenerate waiters/personalize.json from the resource table: ``python -m personalize_ops.waiters``."""

from personalize_ops.waiters import write

if __name__ == "__main__":
    print(f"wrote {write()}")
