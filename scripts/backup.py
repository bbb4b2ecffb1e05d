"""A consistent copy of the embedded default while it runs (``make backup``), and its
restore into a new data dir.

The two SQLite files are Temporal's (``temporal.db``) and the application's
(``weiquan.db``). Copied one after the other with nothing held, they could disagree:
a step applied to the application between the two copies, for an update Temporal's copy
never heard of, would leave the restored case done in one and waiting in the other. So
the copy holds the application's write lock (``BEGIN IMMEDIATE``) across both: no step,
registration or completion can commit meanwhile (they wait, as for any write, up to the
busy timeout), while Temporal may move on only to what the application has not done yet
(an update accepted, an activity scheduled). Temporal is copied first, then the
application, from the same lock. On restore, what Temporal's copy had not finished is
done again, and converges: a step runs once per key (the engine answers its recorded
result), a case registered but not started is started by the registration repair. A
local step committed just before the lock, whose workflow task Temporal had not stored
when it was copied, leaves the application's copy ahead by that decision: it is applied
there and not confirmed, and the decisions' repair sends it again.

Each file is copied with SQLite's online backup (a snapshot, whatever writers are doing),
then checked (``PRAGMA integrity_check``); the application's is read by a second
connection, under the first one's lock. The data dir's secrets (``secrets.json``, the
audit signing key) go with them: without them the restored worker could not call its API
nor the audit verify its signatures.

    python scripts/backup.py [--to DIR]              # make backup
    python scripts/backup.py --restore BACKUP DATA_DIR
"""

import argparse
import json
import shutil
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.config import AUDIT_KEY_FILE, SECRETS_FILE, Settings  # noqa: E402

TEMPORAL_DB = "temporal.db"
APP_DB = "weiquan.db"
MANIFEST = "backup.json"
BUSY_MS = 30_000


def _copy(source: sqlite3.Connection, target: Path) -> None:
    with sqlite3.connect(target) as copy:
        source.backup(copy)  # all pages in one step: one consistent snapshot
        found = copy.execute("PRAGMA integrity_check").fetchone()[0]
    if found != "ok":
        raise SystemExit(f"the copy {target} fails its integrity check: {found}")


def backup(data_dir: Path, to: Path) -> Path:
    app, temporal = data_dir / APP_DB, data_dir / TEMPORAL_DB
    for needed in (app, temporal):
        if not needed.exists():
            raise SystemExit(f"{needed} does not exist: is {data_dir} the embedded default's?")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = to / f"weiquan-{stamp}"
    out.mkdir(parents=True, exist_ok=False)
    started = time.monotonic()
    lock = sqlite3.connect(app, timeout=BUSY_MS / 1000, isolation_level=None)
    try:
        lock.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        lock.execute("BEGIN IMMEDIATE")  # the application's writes wait from here
        held = time.monotonic()
        with sqlite3.connect(temporal, timeout=BUSY_MS / 1000) as source:
            _copy(source, out / TEMPORAL_DB)
        # Read by another connection: SQLite refuses a backup from the one writing (it
        # holds the lock), and in WAL mode a reader sees what is committed, which no one
        # can add to while the lock is held.
        with sqlite3.connect(app, timeout=BUSY_MS / 1000) as source:
            _copy(source, out / APP_DB)
        held = time.monotonic() - held
    finally:
        if lock.in_transaction:
            lock.execute("ROLLBACK")  # nothing was written: the lock only held writers off
        lock.close()
    for secret in (SECRETS_FILE, AUDIT_KEY_FILE):
        if (data_dir / secret).exists():
            shutil.copy2(data_dir / secret, out / secret)
            (out / secret).chmod(0o600)
    manifest = {
        "taken_at": datetime.now(UTC).isoformat(),
        "data_dir": str(data_dir),
        "files": sorted(p.name for p in out.iterdir()),
        "writes_held_ms": round(held * 1000, 1),
        "seconds": round(time.monotonic() - started, 2),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return out


def restore(backup_dir: Path, data_dir: Path) -> None:
    if not (backup_dir / MANIFEST).exists():
        raise SystemExit(f"{backup_dir} is not a backup (no {MANIFEST})")
    if data_dir.exists() and any(data_dir.iterdir()):
        raise SystemExit(f"{data_dir} is not empty: restore into a new data dir")
    data_dir.mkdir(parents=True, exist_ok=True)
    for item in backup_dir.iterdir():
        if item.name != MANIFEST:
            shutil.copy2(item, data_dir / item.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--to", type=Path, default=Path("backups"), help="where (./backups)")
    parser.add_argument("--restore", nargs=2, type=Path, metavar=("BACKUP", "DATA_DIR"))
    args = parser.parse_args()
    if args.restore:
        restore(*args.restore)
        print(f"restored {args.restore[0]} into {args.restore[1]}; start it with "
              f"WEIQUAN_DATA_DIR={args.restore[1]} make run")  # fmt: skip
        return
    settings = Settings()
    if settings.database_url:
        raise SystemExit(
            "WEIQUAN_DATABASE_URL is set: this copies the embedded default's own files only; "
            'back a server database up with its tools (docs/production.md, "Backups")'
        )
    out = backup(settings.data_dir.resolve(), args.to)
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    print(f"backed up {settings.data_dir} to {out} "
          f"(writes held {manifest['writes_held_ms']} ms)")  # fmt: skip


if __name__ == "__main__":
    main()
