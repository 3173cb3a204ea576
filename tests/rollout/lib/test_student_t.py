"""rollout.lib.student_t: the t distribution's tail and quantile, against SciPy and printed tables.

Expected values were computed once with SciPy 1.18.1 (``scipy.stats.t.ppf`` / ``t.isf``) in a
throwaway virtualenv; SciPy is not a dependency of the project.
"""

import math

import pytest

from rollout.lib.student_t import regularized_beta, t_quantile, t_upper_quantile, t_upper_tail

# (df, t_0.975, t_0.95, t_0.995) from scipy.stats.t.ppf.
SCIPY_QUANTILES = [
    (1, 12.706204736174694, 6.313751514675037, 63.656741162871526),
    (2, 4.302652729749462, 2.9199855803537242, 9.924843200918287),
    (5, 2.5705818356363146, 2.0150483733330233, 4.032142983555228),
    (7.3, 2.345066736547703, 1.8829300179564308, 3.451031655622185),
    (10, 2.228138851986274, 1.8124611228116756, 3.16927267261695),
    (30, 2.0422724563012378, 1.697260886593957, 2.7499956535672254),
    (100, 1.9839715185235518, 1.6602343260853392, 2.6258905214380173),
    (1000, 1.9623390808264083, 1.6463788172854643, 2.580754698065951),
]


@pytest.mark.parametrize(("df", "t975", "t95", "t995"), SCIPY_QUANTILES)
def test_quantile_equals_scipy(df, t975, t95, t995):
    assert t_quantile(0.975, df) == pytest.approx(t975, rel=1e-12)
    assert t_quantile(0.95, df) == pytest.approx(t95, rel=1e-12)
    assert t_quantile(0.995, df) == pytest.approx(t995, rel=1e-12)


# Two-sided 95 % critical values as printed in the usual tables (e.g. NIST/SEMATECH e-Handbook
# 1.3.6.7.2), to their three decimals.
@pytest.mark.parametrize(
    ("df", "printed"),
    [(1, 12.706), (2, 4.303), (5, 2.571), (10, 2.228), (30, 2.042), (100, 1.984)],
)
def test_quantile_matches_printed_table(df, printed):
    assert round(t_quantile(0.975, df), 3) == printed


def test_quantile_from_a_tiny_tail_keeps_its_digits():
    # A Bonferroni-split alpha: q = 0.025 / 7, and an extreme q = 1e-12 (scipy t.isf).
    assert t_upper_quantile(0.025 / 7, 43.21) == pytest.approx(2.8242187490755692, rel=1e-12)
    assert t_upper_quantile(1e-12, 25.5) == pytest.approx(12.563757673393491, rel=1e-11)


def test_closed_forms():
    # df = 1 is Cauchy: t_p = tan(pi (p - 1/2)); df = 2: t_p = (2p - 1) / sqrt(2 p (1 - p)).
    for p in (0.6, 0.9, 0.975, 0.999):
        assert t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-12)
        assert t_quantile(p, 2) == pytest.approx(
            (2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel=1e-12
        )


def test_symmetry_and_centre():
    assert t_quantile(0.5, 4.2) == 0.0
    # 1 - 0.975 is 0.025000000000000022 in floating point: equal to the last digits.
    assert t_quantile(0.025, 12.5) == pytest.approx(-t_quantile(0.975, 12.5), rel=1e-14)
    assert t_upper_quantile(0.25, 12.5) == -t_upper_quantile(0.75, 12.5)
    assert t_upper_tail(0.0, 3) == 0.5
    assert t_upper_tail(-2.0, 9.5) == pytest.approx(1 - t_upper_tail(2.0, 9.5), rel=1e-15)


@pytest.mark.parametrize("df", [0.5, 1, 3.7, 12, 250.5, 4000, 123456.0])
@pytest.mark.parametrize("p", [0.6, 0.9, 0.975, 0.999])
def test_tail_inverts_quantile(df, p):
    assert t_upper_tail(t_quantile(p, df), df) == pytest.approx(1 - p, rel=1e-10)


def test_huge_df_tends_to_the_normal():
    z = 1.959963984540054  # the normal 0.975 quantile
    # First-order Cornish-Fisher (A&S 26.7.5): t = z + (z^3 + z) / (4 df) + O(df^-2).
    assert t_quantile(0.975, 1e9) == pytest.approx(z + (z**3 + z) / 4e9, rel=1e-15)
    assert t_quantile(0.975, 2e6) == pytest.approx(z + (z**3 + z) / 8e6, rel=1e-12)


def test_regularized_beta_known_values():
    # I_x(1, 1) = x; I_x(a, 1) = x^a; I_x(1/2, 1/2) = (2/pi) asin(sqrt x).
    assert regularized_beta(1, 1, 0.3) == pytest.approx(0.3, rel=1e-14)
    assert regularized_beta(2.5, 1, 0.4) == pytest.approx(0.4**2.5, rel=1e-14)
    assert regularized_beta(0.5, 0.5, 0.2) == pytest.approx(
        2 / math.pi * math.asin(math.sqrt(0.2)), rel=1e-14
    )
    assert regularized_beta(3, 4, 0.0) == 0.0
    assert regularized_beta(3, 4, 1.0) == 1.0


@pytest.mark.parametrize(
    "call",
    [
        lambda: t_quantile(0.0, 5),
        lambda: t_quantile(1.0, 5),
        lambda: t_quantile(0.9, 0),
        lambda: t_quantile(0.9, math.nan),
        lambda: t_quantile(0.9, math.inf),
        lambda: t_upper_tail(math.nan, 5),
        lambda: regularized_beta(0, 1, 0.5),
        lambda: regularized_beta(1, 1, 1.5),
    ],
)
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()
