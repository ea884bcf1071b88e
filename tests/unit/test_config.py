"""Configuration: defaults, round trip, and clear errors for invalid files at the CLI."""

import subprocess
import sys
from pathlib import Path

import pytest

from pezo import config
from pezo.app.cli import main
from pezo.config import Config, ConfigError

INVALID = [
    ("[engine.lfsr]\nseed = 0\n", "engine.lfsr.seed = 0: must be in 1..2**31-1"),
    ("[engine.lfsr]\nwidth = 2\n", "engine.lfsr.width = 2: must be in 3..64"),
    ("[engine.lfsr]\nwidth = 65\n", "engine.lfsr.width = 65: must be in 3..64"),
    ("[engine.lfsr]\nwidth = 8\nk = 8\nseed = 0x100\n", "engine.lfsr.seed = 256: must be in 1..2**8-1"),
    ('[engine.lfsr]\nstructure = "xorshift"\n', 'engine.lfsr.structure = "xorshift": must be one of "galois", "fibonacci"'),
    ("[engine.lfsr]\nk = 64\n", "engine.lfsr.k = 64: must be in 1..31"),
    ("[engine.lfsr]\nwidth = 3\nk = 3\nlanes = 10\n", "engine.lfsr.lanes = 10: a width-3 LFSR has only 7 distinct"),
    ("[engine.lfsr]\nwidth = 8\nk = 8\ntaps = [8, 1]\n", "engine.lfsr.taps = [8, 1]: not a primitive polynomial"),
    ("[engine.lfsr]\ntaps = [63, 3]\n", "engine.lfsr.taps = [63, 3]: distinct exponents in 1..31 including 31"),
    ('[engine.lfsr]\ntaps = "auto"\n', 'engine.lfsr.taps = "auto": must be a list of integers'),
    ('[engine.reuse]\nstrategy = "pool-foo"\n', 'engine.reuse.strategy = "pool-foo": must be one of "none"'),
    ("[engine.reuse]\npool_size = 48\n", "engine.reuse.pool_size = 48: must be a power of two"),
    ("[engine.reuse]\npool_size = 512\n", "engine.reuse.pool_size = 512: must be a power of two in 2..256"),
    ("[engine.reuse]\npool_size = 16\nrefresh = 3\n", "engine.reuse.refresh = 3: must be a power of two in 1..16"),
    ('[engine]\nsource = "uniform"\n[engine.scale]\nmode = "adaptive"\n',
     'engine.scale.mode = "adaptive": needs a pool to normalise'),
    ('[engine.scale]\nmode = "adaptive"\n', 'engine.scale.mode = "adaptive": engine.source = "rademacher" is exactly +-1'),
    ('[engine.reuse]\nstrategy = "pool-sign"\n', 'engine.reuse.strategy = "pool-sign": engine.source = "rademacher" draws'),
    ("[engine]\nvalue_bits = 8\n", 'engine.value_bits = 8: engine.source = "rademacher" streams +-1 as 2-bit codes'),
    ('[engine]\nsource = "uniform"\nvalue_bits = 2\n', 'engine.value_bits = 2: uniform codes need 3..32 bits'),
    ('[engine]\nsource = "uniform"\nlanes = 6\n[engine.reuse]\nstrategy = "on-the-fly"\n',
     'engine.reuse.pool_size = 64: "on-the-fly" concatenates rounds of pool_size generator outputs'),
    ("[engine]\nmax_params = 0\n", "engine.max_params = 0: must be in 1..1073741824"),
    ("[engine.reuse]\npool_size = 16\nrefresh = 32\n", "engine.reuse.refresh = 32: must be a power of two in 1..16"),
    ('[engine]\nsource = "gaussian"\n', 'engine.source = "gaussian": must be one of "uniform"'),
    ('[engine.scale]\nmode = "dynamic"\n', 'engine.scale.mode = "dynamic": must be one of "fixed", "adaptive"'),
    ('[engine]\nlanes = "8"\n', 'engine.lanes = "8": must be an integer'),
    ("[engine]\nvalue_bits = 8.0\n", "engine.value_bits = 8.0: must be an integer"),
    ("[engine]\nlanes = 0\n", "engine.lanes = 0: must be in 1..64"),
    ("[engine.lfsr]\nreplay = 1\n", "engine.lfsr.replay = 1: must be true or false"),
    ("[engine.lfsr]\npolynomial = 5\n", "engine.lfsr.polynomial = 5: unknown key; allowed here: width"),
    ("[engin]\nlanes = 8\n", "engin = {'lanes': 8}: unknown key; allowed here: engine, update"),
    ("engine = 5\n", "engine = 5: must be a table"),
    ('[update]\nparam = "Q4.x"\n', 'update.param = "Q4.x": a Q-format such as "Q4.12"'),
    ("[update]\neps_shift = 20\n", "update.eps_shift = 20: must be in 0..12"),
    ("[engine\nlanes = 8\n", "invalid TOML"),
    ("[engine.gaussian]\nclt_terms = 1\n", "engine.gaussian.clt_terms = 1: must be in 2..16"),
    ("[engine.gaussian]\nicdf_degree = 3\n", "engine.gaussian.icdf_degree = 3: must be in 0..2"),
    ("[engine.gaussian]\nicdf_segment_bits = 7\n", "engine.gaussian.icdf_segment_bits = 7: must be in 0..6"),
    ("[engine.gaussian]\nicdf_uniform_bits = 12\n", "engine.gaussian.icdf_uniform_bits = 12: must be in 18..40"),
    ("[engine.gaussian]\nicdf_arg_bits = 17\n", "engine.gaussian.icdf_arg_bits = 17: must be in 0..16"),
    ('[engine.gaussian]\nicdf_multiplier = "bram"\n', 'engine.gaussian.icdf_multiplier = "bram": must be one of'),
    ("[update]\ndepth = 0\n", "update.depth = 0: must be in 1..1048576"),
    ('[update]\nscalar = "Q0.16"\n', 'update.scalar = "Q0.16": needs >= 1 integer bit'),
    ("[update]\ndsp_lanes = -1\n", "update.dsp_lanes = -1: must be in 0..64"),
    ('[update]\nmemory = "dram"\n', 'update.memory = "dram": must be one of "bram", "spram"'),
]


def test_defaults_are_valid_and_round_trip(tmp_path):
    cfg = config.load()
    assert cfg == Config()
    path = tmp_path / "c.toml"
    path.write_text(cfg.to_toml())
    assert config.load(path) == cfg
    assert config.load(path).digest() == cfg.digest()


def test_replace_changes_one_field_and_the_digest():
    cfg = Config()
    other = cfg.replace(**{"engine.lfsr.k": 16})
    assert other.engine.lfsr.k == 16 and other.engine.lanes == cfg.engine.lanes
    assert other.digest() != cfg.digest()
    with pytest.raises(ConfigError, match="engine.lfsr.k = 64"):
        cfg.replace(**{"engine.lfsr.k": 64})


def test_seeds_are_derived_in_one_place():
    from pezo.lfsr import scramble

    lf = Config().replace(**{"engine.lfsr.lanes": 4, "engine.lfsr.width": 63}).engine.lfsr
    assert len(set(lf.seeds)) == lf.lanes and lf.seeds[0] == scramble(lf.seed, lf.width)
    # a sparse seed becomes a dense start state (about half the bits set)
    assert 20 <= bin(lf.seeds[0]).count("1") <= 43


def test_value_bits_follow_the_source():
    assert Config().engine.value_bits == 2                      # the default: Rademacher
    assert Config().replace(**{"engine.source": "uniform"}).engine.value_bits == 8
    assert Config().replace(**{"engine.source": "gaussian-clt"}).engine.value_bits == 8
    assert Config().replace(**{"engine.source": "uniform", "engine.value_bits": 4}).engine.value_bits == 4
    assert config.from_dict({"engine": {"source": "uniform"}}).engine.value_bits == 8


def test_engine_needs_a_bank_that_feeds_it():
    cfg = Config().replace(**{"engine.lanes": 16})
    with pytest.raises(ConfigError, match="engine.lfsr.lanes = 1: the bank gives 1 x 8 = 8 fresh bits"):
        cfg.engine.check_bank()
    Config().engine.check_bank()     # the default engine is fed


def test_fresh_bits_per_strategy():
    e = Config().replace(**{"engine.source": "uniform", "engine.reuse.strategy": "pool-index"}).engine  # P = 64, 8 x 8
    assert e.params.stream_bits_per_beat == 8 * 6 and e.params.fill_bits_per_step() == 64 * 7
    assert e.params.fresh_bits_per_param(10**6) == pytest.approx(6 + 448 / 10**6)
    uniform = Config().replace(**{"engine.source": "uniform"})
    sign = uniform.replace(**{"engine.reuse.strategy": "pool-sign"}).engine.params  # one sign bit per value
    assert sign.stream_bits_per_beat == 8 and sign.fill_bits_per_step() == 64 * 7 + 6
    assert sign.bank_bits_needed == 7 + 6
    shift = uniform.replace(**{"engine.reuse.strategy": "pool-shift"}).engine.params
    assert shift.fill_bits_per_step() == 8 * 7 and shift.fill_bits_per_step(first=True) == 64 * 7
    pool = uniform.replace(**{"engine.reuse.strategy": "pool"}).engine.params
    assert pool.stream_bits_per_beat == 0 and pool.fill_bits_per_step() == 64 * 7 + 6
    # the paper's strategies: pre-generated once (no bits after the first step), on-the-fly
    # refilled every step with no offset
    pre = uniform.replace(**{"engine.reuse.strategy": "pre-generation"}).engine.params
    assert pre.fill_bits_per_step(first=True) == 64 * 7 and pre.fill_bits_per_step() == 0
    assert pre.stream_bits_per_beat == 0 and pre.fresh_bits_per_param(4096) == 0
    otf = uniform.replace(**{"engine.reuse.strategy": "on-the-fly"}).engine.params
    assert otf.fill_bits_per_step() == 64 * 7 and otf.stream_bits_per_beat == 0
    rad = Config().engine.params                                          # the default
    assert rad.stream_bits_per_beat == 8 and rad.fresh_bits_per_param(4096) == 1 and rad.fold == 1


def _leaves(d: dict, prefix: str = "") -> list[str]:
    out = []
    for k, v in d.items():
        out += _leaves(v, f"{prefix}{k}.") if isinstance(v, dict) else [f"{prefix}{k}"]
    return out


def test_every_field_has_an_invalid_case_naming_it(tmp_path):
    """Each field of the configuration is named by the error of at least one case of INVALID
    (the error's own dotted path, from loading the case, not the list's text): a field added
    without a rejection test fails here."""
    named = set()
    for i, (text, _message) in enumerate(INVALID):
        path = tmp_path / f"c{i}.toml"
        path.write_text(text)
        try:
            config.load(path)
        except ConfigError as e:
            named.add(e.path)
        except Exception:
            pass                                    # invalid TOML: no field
    missing = [f for f in _leaves(Config().to_dict()) if f not in named]
    assert missing == [], f"no INVALID case rejects {missing}"


@pytest.mark.parametrize("text,message", INVALID, ids=[m.split(":")[0][:40] for _, m in INVALID])
def test_invalid_configuration_fails_with_one_clear_line(tmp_path, capsys, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["config", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("pezo: error: ") and err.count("\n") == 1, err
    assert message in err, err
    assert str(path) in err


def test_invalid_configuration_as_a_user_runs_it(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[engine.lfsr]\nseed = 0\n")
    r = subprocess.run([sys.executable, "-m", "pezo.app.cli", "config", "check", str(path)],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().startswith("pezo: error: engine.lfsr.seed = 0")


def test_missing_file(capsys):
    assert main(["config", "check", "no/such/file.toml"]) == 1
    assert "cannot read configuration no/such/file.toml" in capsys.readouterr().err


def test_show_prints_effective_configuration(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text("[engine.lfsr]\nwidth = 16\nk = 8\nstructure = \"fibonacci\"\n")
    assert main(["config", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "width = 16" in out and 'structure = "fibonacci"' in out and "lanes = 8" in out
    assert "taps [" in out
    # what show prints is itself a valid configuration equal to the file's
    body = tmp_path / "shown.toml"
    body.write_text(out)
    assert config.load(body) == config.load(path)


def test_default_file_is_the_built_in_default():
    # configs/default.toml says "same as no --config": keep the two in step
    assert config.load(Path(__file__).parents[2] / "configs" / "default.toml").digest() == Config().digest()
