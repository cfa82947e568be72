"""The benchmark suite (benchmarks/) on tiny sizes: well-formed results, and yardsticks that do the same work.

No timing is asserted: only that times are positive, ratios are computed, and
the hand-written NumPy loops compute exactly what chainrule computes (same
initial weights, same batches, same loss), which is what makes them a fair
reference.
"""
import json
import math
import os
import sys
import warnings

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # benchmarks/ sits beside src/, outside the installed package
    sys.path.insert(0, ROOT)

import chainrule as cr
from benchmarks import (
    common,
    contenders,
    epoch,
    firstepoch,
    memory,
    predict,
    profile_epoch,
    report,
    run,
    scaling,
    xor,
)
from benchmarks.reference import GemmFloor, NumpyMLP, numpy_predict, xor_data, xor_numpy

SMALL = [20, 16, 8, 5]


@pytest.fixture(autouse=True)
def no_pause(monkeypatch):
    monkeypatch.setattr(common, "PAUSE", 0.0)


def positive_number(x):
    return isinstance(x, float) and math.isfinite(x) and x > 0


# -- the references do the same work as chainrule ------------------------------------

@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("batch_size", [64, 50])   # divides N = 256, and does not
def test_numpy_mlp_loss_equals_chainrule(dtype, rtol, batch_size):
    X, y = contenders.synthetic(256, SMALL[0], SMALL[-1], seed=1, dtype=dtype)
    train = contenders.chainrule_trainer(X, y, SMALL, batch_size=batch_size, seed=3)
    ref = NumpyMLP(SMALL, params=contenders.chainrule_params(train.net), dtype=dtype)
    rng = np.random.default_rng(3)        # chainrule_trainer shuffles from the same seed
    for _ in range(3):
        ours, theirs = train(), ref.epoch(X, y, batch_size, rng)
        assert ours == pytest.approx(theirs, rel=rtol)
    for (_, W, _), mine in zip(train.net.parameters(), [*sum(zip(ref.W, ref.b), ())]):
        np.testing.assert_allclose(W, mine, rtol=50 * rtol, atol=50 * rtol)


def test_numpy_mlp_loss_decreases_and_keeps_dtype():
    X, y = contenders.synthetic(512, SMALL[0], SMALL[-1], seed=0)
    ref = NumpyMLP(SMALL, seed=0)
    rng = np.random.default_rng(0)
    losses = [ref.epoch(X, y, 32, rng) for _ in range(5)]
    assert losses[-1] < losses[0]
    assert ref.flat_p.dtype == np.float32 and ref.m.dtype == np.float32


def test_xor_numpy_losses_equal_chainrule_step_by_step():
    net = cr.mlp([2, 4, 1], hidden="sigmoid", output="sigmoid", seed=0)
    params = contenders.chainrule_params(net)
    history = net.fit(*xor_data(), loss=cr.BinaryCrossEntropy(), optimizer=cr.SGD(lr=0.1),
                      epochs=100, batch_size=None, verbose=0)
    np.testing.assert_allclose(xor_numpy(params, 100), history["loss"], rtol=1e-5)


def test_gemm_floor_runs_the_backward_shapes():
    X, _ = contenders.synthetic(300, SMALL[0], SMALL[-1])
    floor = GemmFloor(SMALL)
    floor.epoch(X, 128)
    assert sorted(floor.buffers) == [44, 128]                    # 300 = 2·128 + 44
    assert [dW.shape for dW in floor.dW] == [(20, 16), (16, 8), (8, 5)]


# -- each section returns well-formed results ------------------------------------------

def test_epoch_section():
    result = epoch.run(n=256, rounds=2, sizes=SMALL, threads=1)
    assert set(result["seconds"]) == {"chainrule", "chainrule-numpy", "torch", "sklearn", "numpy",
                                      "floor"}
    assert result["settings"]["threads"] == 1
    assert all(positive_number(t) for t in result["seconds"].values())
    assert all(len(t) == 2 for t in result["times"].values())
    assert all(positive_number(r) for r in result["ratios"].values())
    t = result["times"]                  # ratios are medians of the ratios within rounds
    assert result["ratios"]["chainrule/torch"] == pytest.approx(
        float(np.median(np.divide(t["chainrule"], t["torch"]))))
    assert result["x_floor"]["floor"] == 1.0
    assert "chainrule/floor" in epoch.format(result)


@pytest.mark.slow
def test_first_epoch_section_times_fresh_processes():
    pytest.importorskip("numba")
    result = firstepoch.run(n=512, epochs=2, warm_runs=1)
    assert len(result["cold"]) == 2 and len(result["warm"]) == 1 and len(result["numpy"]) == 2
    assert all(positive_number(t) for t in [*result["cold"], *result["warm"][0], *result["numpy"]])
    assert positive_number(result["warm_over_steady"])
    assert all(isinstance(result[k], float) for k in ("compile_seconds", "load_seconds",
                                                     "first_ever_extra_seconds"))
    assert "compile, once per machine" in firstepoch.format(result)


def test_thread_limit_sets_and_restores_blas_and_torch_threads():
    import threadpoolctl
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads(), [lib["num_threads"] for lib in
                                       threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]
    with contenders.thread_limit(1) as used:
        assert used == 1 and torch.get_num_threads() == 1
        assert all(lib["num_threads"] == 1 for lib in threadpoolctl.threadpool_info()
                   if lib["user_api"] == "blas")
    after = torch.get_num_threads(), [lib["num_threads"] for lib in
                                      threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]
    assert after == before


def test_xor_section_all_contenders_reach_the_same_loss():
    result = xor.run(steps=30, rounds=1)
    assert all(positive_number(t) for t in result["seconds"].values())
    assert all(positive_number(r) for r in result["ratios"].values())
    final = result["final_loss"]
    assert final["numpy"] == pytest.approx(final["chainrule"], rel=1e-5)
    assert final["torch"] == pytest.approx(final["chainrule"], rel=1e-4)   # same weights, same steps
    assert "torch/chainrule" in xor.format(result)


def test_predict_section():
    result = predict.run(rows=64, rounds=1, calls=3, blocks=1, sizes=SMALL)
    for key in ("batch_seconds", "single_seconds", "rows_per_second"):
        assert set(result[key]) == {"chainrule", "chainrule-f64sums", "numpy", "torch", "sklearn"}
        assert all(positive_number(v) for v in result[key].values())
    assert all(positive_number(r) for r in result["ratios"].values())
    assert positive_number(result["owner_seconds"])
    assert "1 row" in predict.format(result) and "network's owner" in predict.format(result)


def test_hand_written_predict_equals_chainrule():
    X, _ = contenders.synthetic(7, SMALL[0], SMALL[-1], seed=2)
    net = contenders.chainrule_mlp(SMALL, seed=4)
    fn = numpy_predict(contenders.chainrule_params(net))
    np.testing.assert_allclose(fn(X), net.predict(X), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(fn(X[:1]), net.predict(X[:1]), rtol=1e-5, atol=1e-7)


def test_memory_section_in_a_subprocess():
    result = memory.run(rows=3000, batches=5)
    assert result["data_bytes"] == 3000 * 784 * 4 + 3000 * np.dtype(np.intp).itemsize
    assert result["peak"] >= result["rss_before"] > 0
    assert result["growth_fraction"] == pytest.approx(result["growth_bytes"] / result["data_bytes"])
    assert result["batches"] == 5
    assert "x the data" in memory.format(result)


def test_scaling_section_and_plot(tmp_path):
    path = tmp_path / "scaling.png"
    result = scaling.run(ns=(256, 512), widths=(8, 16), width_n=256, rounds=1, warmup_n=2048,
                         plot=str(path))
    for table in ("by_n", "by_width"):
        assert set(result[table]) == {"chainrule", "torch"}
        assert all(len(v) == 2 and all(positive_number(t) for t in v)
                   for v in result[table].values())
    assert all(math.isfinite(s) for s in result["slope"].values())
    w = result["warmup"]
    assert positive_number(w["ratio"]) and len(w["first"][0]) == 5 and w["batches"] == 16
    assert path.stat().st_size > 1000
    assert "warm-up" in scaling.format(result)


def test_loglog_slope_of_exact_power_laws():
    ns = [1_000, 3_000, 10_000, 30_000]
    assert scaling.loglog_slope(ns, [n * 2e-5 for n in ns]) == pytest.approx(1.0)
    assert scaling.loglog_slope(ns, [(n * 1e-3) ** 2 for n in ns]) == pytest.approx(2.0)


def test_profile_breakdown_and_restores_what_it_wrapped():
    from chainrule import training
    originals = (cr.Adam.try_step, cr.CrossEntropy.forward_logits, training.prepare_data,
                 training.Batches.gather)
    result = profile_epoch.breakdown(n=512, rounds=1, sizes=SMALL)
    assert (cr.Adam.try_step, cr.CrossEntropy.forward_logits, training.prepare_data,
            training.Batches.gather) == originals
    assert {"Adam step", "batch gather (np.take)", "ReLU forward", "ReLU backward",
            "softmax+CE forward_logits", "Dense, beyond its products",
            "rest of the loop"} <= set(result["parts"])
    assert positive_number(result["epoch"]) and positive_number(result["gemm_floor"])
    assert result["batches"] == 4
    assert "Adam step" in profile_epoch.format(result)


def test_profile_xor_times_every_part_of_the_step():
    from benchmarks import profile_xor
    result = profile_xor.breakdown(number=20, repeat=1, steps=20, rounds=1)
    assert len(result["parts"]) == 10
    assert all(positive_number(t) for t in result["parts"].values())
    assert positive_number(result["fit_step"]) and positive_number(result["hand_step"])
    text = profile_xor.format(result)
    assert "BCE on the logits" in text and "fit / hand-written:" in text


# -- the report ------------------------------------------------------------------------

def test_targets_pass_miss_and_not_run():
    rows = {r[0]: r for r in report.check({
        "epoch": {"ratios": {"chainrule/torch": 0.4, "chainrule/floor": 2.0}},
        "firstepoch": {"first_ever_extra_seconds": 2.5, "warm_over_steady": 1.6},
        "scaling": {"slope": {"chainrule": 1.02}, "warmup": {"ratio": 3.5}}})}
    assert rows["MLP epoch, 2 threads: chainrule / PyTorch"][3] == "PASS"
    assert rows["MLP epoch, 2 threads: chainrule / GEMM floor"][3] == "MISS"
    assert rows["MLP epoch, all cores: chainrule / PyTorch"][3] == "not run"
    assert rows["First-ever run: compile and load (cold first epoch - steady)"][3] == "PASS"
    assert rows["First epoch, warm kernel cache / steady epoch"][3] == "MISS"
    assert rows["MLP epoch: scikit-learn / chainrule"][3] == "not run"
    assert rows["Epoch time against N: log-log slope (linear = 1)"][3] == "PASS"
    assert rows["Warm-up: slowest first batch / steady batch"][3] == "MISS"
    assert len(rows) == len(report.TARGETS)


def test_command_line_writes_json_and_markdown(tmp_path, capsys):
    out_json, out_md = tmp_path / "r.json", tmp_path / "r.md"
    run.main(["--quick", "--sections", "memory", "--pause", "0",
              "--json", str(out_json), "--markdown", str(out_md)])
    printed = capsys.readouterr().out
    assert "OPENBLAS_CORETYPE" in printed and "Targets" in printed
    data = json.loads(out_json.read_text())
    assert data["command"].startswith("python benchmarks/run.py --quick")
    assert "memory" in data["runs"][0]["results"]
    md = out_md.read_text()
    assert "| fit peak memory growth / training set size |" in md
    assert "not run" in md                        # the sections not selected are not passes


def test_strip_options_removes_values():
    assert run.strip_options(["--quick", "--json", "a.json", "--plot=p.png", "--sections", "xor"],
                             {"--json", "--plot"}) == ["--quick", "--sections", "xor"]


def test_strip_options_keeps_the_argument_after_a_flag():
    # --no-files takes no value: the --json after it (and its path) must be stripped, not kept
    argv = ["--sections", "xor", "--no-files", "--json", "a.json", "--threads", "2"]
    assert run.strip_options(argv, {"--json", "--no-files"}) == ["--sections", "xor", "--threads", "2"]


def test_datasets_section_compares_both_estimators_on_the_same_split():
    from benchmarks import datasets
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = datasets.run(rounds=1, max_iter=3, names=("iris",))
    r = result["datasets"]["iris"]
    assert r["task"] == "classify"
    assert set(r["seconds"]) == set(r["score"]) == {"chainrule", "sklearn"}
    assert all(t > 0 for t in r["seconds"].values())
    assert all(0 <= s <= 1 for s in r["score"].values())
    assert r["sklearn/chainrule"] == r["seconds"]["sklearn"] / r["seconds"]["chainrule"]
    assert "iris" in datasets.format(result)


def test_paired_ratio_compares_within_rounds():
    # a slow phase in rounds 3-4 for everyone: the medians mix phases, the paired ratio does not
    times = {"a": [1.0, 1.0, 2.0, 2.0, 2.0], "b": [2.0, 2.0, 4.0, 4.0, 1.0]}
    assert common.paired_ratio(times, "a", "b") == 0.5
    assert common.paired_ratio(times, "a", "missing") is None


def test_tabular_benchmark_scores_three_contenders_on_the_same_splits():
    from benchmarks import tabular
    said = []
    results = tabular.run(["iris"], splits=1, extra=["--hidden", "8"], say=said.append,
                          contenders=["scikit-learn MLP", "HistGradientBoosting", "RealMLP-TD"])
    scores, seconds = results["iris"]["scores"], results["iris"]["seconds"]
    expected = {"chainrule train", "scikit-learn MLP", "HistGradientBoosting"}
    try:
        import pytabkit  # noqa: F401
        expected.add("RealMLP-TD")
    except ImportError:
        assert any(s.startswith("skipped contender RealMLP-TD: ") for s in said), said
    assert set(scores) == set(seconds) == expected
    assert all(len(v) == 1 and 0.5 < v[0] <= 1 for v in scores.values())
    assert all(len(v) == 1 and v[0] > 0 for v in seconds.values())
    table, verdict = tabular.markdown(results, 1)
    # two tables (scores, seconds): a header, a rule and a row per contender each, a blank between
    assert table.count("\n") == 2 * (2 + len(expected)) and "| | iris (acc.) | **mean** |" in table
    assert f"| chainrule train | {np.mean(scores['chainrule train']):.4f} |" in table
    assert "Target 1" in verdict and "Target 2, a mean at least HistGradientBoosting's" in verdict


def test_tabular_benchmark_scores_an_ensemble_and_its_prefixes():
    from benchmarks import tabular
    results = tabular.run(["iris"], splits=1, extra=["--hidden", "8"], contenders=[],
                          variants=[("chainrule k=3", ("--ensemble", "3"))])
    scores, seconds = results["iris"]["scores"], results["iris"]["seconds"]
    assert list(scores) == ["chainrule train", "chainrule k=3, first 1", "chainrule k=3, first 2",
                            "chainrule k=3"]
    # member 0 of an ensemble is the single network of the same seed: the same predictions
    assert scores["chainrule k=3, first 1"] == scores["chainrule train"]
    assert 0 < seconds["chainrule k=3, first 1"][0] < seconds["chainrule k=3, first 2"][0] \
        < seconds["chainrule k=3"][0]


def test_tabular_benchmark_visits_is_a_skewed_count():
    from benchmarks import tabular
    frame, target, task, source = tabular.load("visits")
    y = frame[target].to_numpy()
    assert task == "regress" and source == "made here" and frame.isna().any().any()
    assert y.min() == 0 and np.all(y == np.round(y)) and (y == 0).mean() > 0.3
    assert np.mean(((y - y.mean()) / y.std()) ** 3) > 1          # skewed to the right


def test_tabular_benchmark_shops_and_airports_have_a_column_of_many_levels():
    from benchmarks import tabular
    frame, target, task, source = tabular.load("shops")
    assert (task, source, target, frame.shape) == ("regress", "made here", "sales", (4000, 5))
    counts = frame.shop_id.value_counts()
    assert len(counts) == 200 and counts.min() < 5 and frame.shop_id.isna().any()
    again = tabular.load("shops")[0]                                   # seeded: the same table
    assert frame.equals(again)
    pytest.importorskip("vega_datasets")
    frame, target, task, source = tabular.load("airports")
    assert (task, source, target) == ("regress", "vega_datasets", "longitude")
    assert frame.state.nunique() > 50 and list(frame.columns) == ["state", "country", "latitude",
                                                                   "longitude"]


def test_tabular_benchmark_big_table_has_text_and_missing_values():
    from benchmarks import tabular
    frame = tabular.big_table(500)
    assert frame.shape == (500, 11) and frame.isna().any().any()
    assert (set(frame.churn) == {"yes", "no"} and frame.city.dtype == object) or str(frame.city.dtype) != "float64"


def test_tabular_from_json_merges_the_rows_of_several_runs():
    from benchmarks import tabular

    def table(rows, **scores):
        return {"task": "classify", "rows": rows, "source": "x", "columns": 4,
                "scores": {k: [v] for k, v in scores.items()},
                "seconds": {k: [1.0] for k in scores}}
    first = {"iris": table(150, **{"chainrule train": 0.9, "LightGBM": 0.8}),
             "wine": table(178, **{"chainrule train": 1.0})}
    rerun = {"iris": table(150, **{"chainrule train": 0.95, "chainrule ls": 0.97})}
    results = tabular.merged([first, rerun])
    assert list(results["iris"]["scores"]) == ["chainrule train", "LightGBM", "chainrule ls"]
    assert results["iris"]["scores"]["chainrule train"] == [0.95]   # the later run's
    assert results["wine"]["scores"] == {"chainrule train": [1.0]}
    assert first["iris"]["scores"]["chainrule train"] == [0.9]      # the inputs are not changed
    with pytest.raises(ValueError, match="table 'iris' differs between the runs"):
        tabular.merged([first, {"iris": table(151, LightGBM=0.8)}])
    table_text, verdict = tabular.markdown(results, 1, rows=["chainrule ls", "chainrule train"])
    assert [line.split(" |")[0] for line in table_text.splitlines()[2:4]] == \
        ["| chainrule ls", "| chainrule train"] and "LightGBM" not in table_text
    with pytest.raises(ValueError, match=r"no row named \['RealMLP'\]"):
        tabular.markdown(results, 1, rows=["RealMLP"])
