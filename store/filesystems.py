"""Which file system holds a database file: SQLite's write-ahead log needs a local one."""

from __future__ import annotations

from pathlib import Path

NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb", "smb3", "smbfs", "afs", "9p", "davfs", "fuse.sshfs",
    "fuse.rclone", "glusterfs", "ceph", "lustre",
})  # fmt: skip
"""File systems SQLite's WAL mode must not be used on (its shared memory and locks are
local): "WAL does not work over a network filesystem" (SQLite's documentation)."""


def filesystem_type(path: Path, mountinfo: str | None = None) -> str | None:
    """The type of the file system holding `path` (Linux `/proc/self/mountinfo`), if known."""
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text(encoding="utf-8")
        except OSError:
            return None  # not Linux, or no /proc: nothing to go on
    target = str(path.resolve())
    best, kind = "", None
    for line in mountinfo.splitlines():
        fields = line.split(" ")
        if " - " not in line or len(fields) < 5:
            continue
        point = fields[4].replace("\\040", " ")
        fstype = line.split(" - ", 1)[1].split(" ")[0]
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fstype
    return kind
