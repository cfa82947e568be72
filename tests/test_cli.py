"""The chainrule command: ``chainrule demo xor`` trains XOR and prints predictions and accuracy."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import chainrule
from chainrule.cli import main


def _check_xor_output(out):
    assert re.search(r"^final loss \d\.\d{4}$", out, re.M)
    assert "x1 x2 | target  output  predicted" in out
    rows = re.findall(r"^ ([01])  ([01]) \|   ([01])     (\d\.\d{4})     ([01])$", out, re.M)
    assert [(a, b) for a, b, *_ in rows] == [("0", "0"), ("0", "1"), ("1", "0"), ("1", "1")]
    for a, b, target, output, predicted in rows:
        assert int(target) == int(a) ^ int(b)
        assert predicted == target and (float(output) > 0.5) == (target == "1")
    assert out.rstrip().endswith("accuracy 1.00")


def test_demo_xor_in_process(capsys):
    assert main(["demo", "xor"]) == 0
    out, err = capsys.readouterr()
    _check_xor_output(out)
    assert "training" in err and "10000/10000" in err  # the progress bar, on stderr


def test_python_dash_m_chainrule_demo_xor():
    src = str(Path(chainrule.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run([sys.executable, "-m", "chainrule", "demo", "xor", "--seed", "0"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    _check_xor_output(result.stdout)


def test_demo_function_returns_its_results():
    from chainrule.explain.demos import xor
    result = xor(seed=0, verbose=0, epochs=10_000)
    assert result["accuracy"] == 1.0
    assert len(result["history"]["loss"]) == 10_000
    assert result["history"]["loss"][-1] < result["history"]["loss"][0]


def test_version_and_bad_arguments(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"chainrule {chainrule.__version__} (engine: ")
    assert chainrule.engine.name() in out    # which engine runs: compiled, or numpy
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "nosuchdemo"])
    assert exit_.value.code == 2
    assert "there is no demo 'nosuchdemo'; the demos are: xor, xor-mse" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2


def test_console_script_is_declared():
    """pip installs a `chainrule` command that runs chainrule.cli:main."""
    from importlib.metadata import entry_points
    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts.get("chainrule") == "chainrule.cli:main"


def test_a_bad_engine_name_is_one_line_for_every_command(tmp_path):
    """Issue 22, finding 13: ``CHAINRULE_ENGINE=bogus chainrule --version`` printed a traceback."""
    src = str(Path(chainrule.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src, "CHAINRULE_ENGINE": "bogus"}
    for argv in (["--version"], ["demo", "xor"]):
        done = subprocess.run([sys.executable, "-m", "chainrule", *argv], capture_output=True,
                              text=True, env=env, timeout=120)
        assert done.returncode == 1 and done.stdout == "", (argv, done.stderr)
        assert done.stderr == ("chainrule: error: CHAINRULE_ENGINE must be one of auto, numpy, "
                               "compiled, got 'bogus'\n"), (argv, done.stderr)


def test_demo_plot_into_a_missing_folder_is_refused_before_training(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    where = tmp_path / "missing" / "xor.png"
    code = main(["demo", "xor", "--plot", str(where)])
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""            # nothing trained, nothing printed
    assert f"--plot {where}: the folder {where.parent} does not exist" in captured.err


@pytest.mark.parametrize("seed", ["-1", "4294967296"])
def test_a_seed_out_of_range_is_one_line_without_python_types(seed, capsys):
    """The trial's --seed -1 got "... must be an integer >= 0, a numpy.random.Generator or
    None" (the demo) and scikit-learn's "... an instance of 'numpy.random.mtrand.RandomState'"
    (train, from train_test_split)."""
    assert main(["demo", "xor", "--seed", seed]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == ("chainrule: error: --seed must be a whole number from 0 to "
                                 f"4,294,967,295 (below 2**32), got {seed}\n")
