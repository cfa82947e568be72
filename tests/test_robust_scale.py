"""--scale robust: RealMLP's (x − median) / IQR with smooth clipping, on values worked by hand."""
import math

import numpy as np
import pytest

from chainrule.tabular.preprocessing import Preprocessing
from chainrule.tabular.scaling import robust_factor, robust_scale

pd = pytest.importorskip("pandas")


def test_median_iqr_and_smooth_clipping_on_known_values():
    x = np.array([1.0, 2, 3, 4, 5, 100])
    # median 3.5; quartiles (linear interpolation) 2.25 and 4.75: IQR 2.5, factor 0.4
    assert np.median(x) == 3.5 and robust_factor(x) == pytest.approx(0.4, rel=1e-15)
    z = robust_scale(x, 3.5, 0.4)
    # x = 1: z = −2.5·0.4 = −1, clipped −1/√(1 + 1/9) = −3/√10; x = 5: 0.6/√1.04
    assert z[0] == pytest.approx(-3 / math.sqrt(10), rel=1e-14)
    assert z[4] == pytest.approx(0.6 / math.sqrt(1.04), rel=1e-14)
    # x = 100: z = 96.5·0.4 = 38.6, pulled in towards 3
    assert z[5] == pytest.approx(38.6 / math.sqrt(1 + (38.6 / 3) ** 2), rel=1e-14)
    assert 2.99 < z[5] < 3
    assert robust_scale(np.array([3.5]), 3.5, 0.4)[0] == 0.0


def test_a_zero_iqr_falls_back_to_the_range_and_a_constant_column_to_zero():
    x = np.array([0.0, 0, 0, 0, 1])   # quartiles both 0: factor 2 / (max − min) = 2
    assert robust_factor(x) == 2.0
    assert robust_scale(np.array([1.0]), 0.0, 2.0)[0] == pytest.approx(6 / math.sqrt(13), rel=1e-14)
    assert robust_factor(np.array([7.0, 7, 7])) == 0.0
    np.testing.assert_array_equal(robust_scale(np.array([7.0, 1e9, -3]), 7.0, 0.0), 0.0)


def test_values_at_float64s_ends_stay_finite_and_inside_the_bound():
    x = np.array([-1e308, -1.0, 0.0, 2.0, 1e308])
    factor = robust_factor(x)
    assert 0 < factor < np.inf
    with np.errstate(all="raise"):  # no overflow, no inf / inf
        z = robust_scale(np.array([-1.7e308, 1.7e308, 0.0, np.nan]), float(np.median(x)), factor)
    assert np.all(np.abs(z[:3]) <= 3) and np.isnan(z[3])
    assert robust_scale(np.array([1e300]), 0.0, 1e10)[0] == 3.0


def test_preprocessing_robust_fits_on_the_training_rows_and_round_trips():
    frame = pd.DataFrame({"a": [1.0, 2, 3, 4, 5, 100, np.nan, 1e6], "c": list("xyxyxyxy")})
    prep = Preprocessing.fit(frame, rows=np.arange(7), scale="robust")
    record = prep.numeric[0]
    assert record["median"] == 3.5 and record["factor"] == pytest.approx(0.4)
    X = prep.transform(frame)
    assert X[6, 0] == 0.0                        # missing: the median
    assert 2.999 < X[7, 0] < 3                   # 1e6, never seen in training: near the bound
    assert X[0, 0] == pytest.approx(-3 / math.sqrt(10))
    again = Preprocessing.from_json(prep.to_json())
    np.testing.assert_array_equal(again.transform(frame), X)


@pytest.mark.parametrize("change", [
    lambda c: c.pop("factor"),
    lambda c: c.update(factor=-1.0),
    lambda c: c.update(factor=float("nan")),
    lambda c: c.update(median="3"),
])
def test_a_bad_robust_record_is_refused(change):
    frame = pd.DataFrame({"a": [1.0, 2, 3, 4]})
    data = Preprocessing.fit(frame, scale="robust").to_json()
    change(data["numeric"][0])
    with pytest.raises(ValueError, match="bad numeric column record"):
        Preprocessing.from_json(data)


def test_a_standard_record_cannot_claim_robust_scaling():
    data = Preprocessing.fit(pd.DataFrame({"a": [1.0, 2, 3, 4]})).to_json()
    data["scale"] = "robust"
    with pytest.raises(ValueError, match="bad numeric column record"):
        Preprocessing.from_json(data)


def test_an_unknown_scale_is_refused_by_name():
    from chainrule.tabular.recipe import Settings
    with pytest.raises(ValueError, match="--scale must be one of standard, quantile, robust, got 'minmax'"):
        Settings(scale="minmax")
