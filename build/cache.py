"""On-disk cache of flow results: a rerun is instant, a changed input never reuses a result.

Each entry is one JSON file named by the SHA-256 of its *key*: a dict of everything the result
depends on (the flows put in the configuration digest, the design, the target, a hash of the
generated Verilog, tool fingerprints, the seed, ...). Entries are written atomically and carry a
checksum of their content; files an entry needs (netlists) are stored gzip-compressed beside
it with their own checksums. An entry that does not parse, or whose checksum or file does not
match, is reported with one warning line, deleted and recomputed, never used.

Layout: ``<root>/<kind>/<key[:2]>/<key>.json`` (+ ``<key>.<file>.gz``). The root is
``$PEZO_CACHE`` if set, else ``out/cache``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pezo.errors import PezoError
from pezo.files import write_atomic

__all__ = ["Cache", "DEFAULT_ROOT", "digest"]

DEFAULT_ROOT = Path("out/cache")
FORMAT = "pezo-cache"
VERSION = 1


def digest(obj: Any) -> str:
    """SHA-256 (hex) of a JSON-serialisable object, keys sorted; of ``bytes``/``str`` directly."""
    if isinstance(obj, str):
        obj = obj.encode()
    if not isinstance(obj, bytes):
        obj = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(obj).hexdigest()



class Cache:
    """A directory of cached results.

    Parameters
    ----------
    root : path-like, optional
        Cache directory; default ``$PEZO_CACHE`` or ``out/cache``.
    warn : callable, optional
        Receives one-line warnings (corrupt entries); default prints to stderr.

    Attributes
    ----------
    hits, misses : int
        Lookups answered from the cache / not, since creation (for progress lines and tests).
    """

    def __init__(self, root: Path | str | None = None,
                 warn: Callable[[str], None] | None = None) -> None:
        self.root = Path(root if root is not None else os.environ.get("PEZO_CACHE") or DEFAULT_ROOT)
        self._warn = warn or (lambda msg: print(f"pezo: warning: {msg}", file=sys.stderr))
        self.hits = 0
        self.misses = 0
        self._put_failed = False

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / f"{key}.json"

    def get(self, kind: str, key_parts: Mapping[str, Any],
            files_to: Path | None = None) -> dict[str, Any] | None:
        """The cached payload for ``key_parts``, or None.

        Parameters
        ----------
        kind : str
            Namespace (``"synth"``, ``"pnr"``, ``"power"``).
        key_parts : mapping
            Everything the result depends on.
        files_to : Path, optional
            Where to restore the entry's files (decompressed, under their stored names).
        """
        key = digest(dict(key_parts))
        path = self._path(kind, key)
        if not path.is_file():
            self.misses += 1
            return None
        try:
            entry = json.loads(path.read_text())
            body = {k: entry[k] for k in ("format", "version", "kind", "key", "payload", "files")}
            ok = (entry["checksum"] == digest(body) and body["format"] == FORMAT
                  and body["version"] == VERSION and body["key"] == json.loads(
                      json.dumps(dict(key_parts))))
            if ok and files_to is not None:
                for name, sha in body["files"].items():
                    data = gzip.decompress(path.with_name(f"{key}.{name}.gz").read_bytes())
                    if digest(data) != sha:
                        ok = False
                        break
                    files_to.mkdir(parents=True, exist_ok=True)
                    (files_to / name).write_bytes(data)
        except (OSError, ValueError, KeyError, TypeError, EOFError, gzip.BadGzipFile):
            ok = False
        if not ok:
            self._warn(f"cache entry {path} is corrupt; recomputing it")
            self._remove(path, key)
            self.misses += 1
            return None
        self.hits += 1
        return body["payload"]

    def put(self, kind: str, key_parts: Mapping[str, Any], payload: Mapping[str, Any],
            files: Mapping[str, Path] | None = None) -> None:
        """Store ``payload`` (JSON-serialisable) and copies of ``files`` (name -> path).

        A cache that cannot be written (full disk, permissions) costs a warning, not the
        result: the run goes on and the entry is simply not stored."""
        try:
            self._put(kind, key_parts, payload, files)
        except (OSError, PezoError) as exc:
            if not self._put_failed:
                self._warn(f"result cache {self.root} not written ({exc}); the run goes on without it")
            self._put_failed = True

    def _put(self, kind: str, key_parts: Mapping[str, Any], payload: Mapping[str, Any],
             files: Mapping[str, Path] | None) -> None:
        key = digest(dict(key_parts))
        path = self._path(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        shas = {}
        for name, src in (files or {}).items():
            data = Path(src).read_bytes()
            shas[name] = digest(data)
            # Unique temp name: parallel runs (pytest -n, two terminals) may store the same entry.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(gzip.compress(data, compresslevel=6))
                os.replace(tmp, path.with_name(f"{key}.{name}.gz"))
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        body = {"format": FORMAT, "version": VERSION, "kind": kind, "key": dict(key_parts),
                "payload": dict(payload), "files": shas}
        body = json.loads(json.dumps(body))
        write_atomic(path, json.dumps({**body, "checksum": digest(body)}, indent=1) + "\n")

    def _remove(self, path: Path, key: str) -> None:
        path.unlink(missing_ok=True)
        for gz in path.parent.glob(f"{key}.*.gz"):
            gz.unlink(missing_ok=True)
