"""The critical values of the random ops' tests, against closed forms and published tables."""

from __future__ import annotations

import math

import pytest

from mlxport.references import stats


@pytest.mark.parametrize("alpha, table", [(0.05, 1.3581), (0.01, 1.6276), (0.001, 1.9495)])
def test_ks_critical_matches_the_kolmogorov_table(alpha, table):
    """Asymptotic critical values of sqrt(n) D (e.g. Smirnov 1948, Table 1)."""
    assert stats.ks_critical(1, alpha) == pytest.approx(table, abs=1e-4)
    assert stats.ks_critical(10_000, alpha) == pytest.approx(table / 100, abs=1e-6)


def test_ks_critical_is_the_exact_kolmogorov_quantile_at_one_in_a_million():
    x = stats.ks_critical(1)
    assert stats.kolmogorov_tail(x) == pytest.approx(stats.ALPHA, rel=1e-12)
    assert stats.ks_critical(1 << 20) == pytest.approx(0.0026, abs=1e-4)  # the catalog's n


@pytest.mark.parametrize("df, alpha, table", [
    (1, 0.05, 3.8415), (2, 0.05, 5.9915), (10, 0.001, 29.588), (30, 0.01, 50.892), (100, 0.001, 149.449)])
def test_chi2_critical_matches_the_table(df, alpha, table):
    assert stats.chi2_critical(df, alpha) == pytest.approx(table, abs=2e-3)


@pytest.mark.parametrize("df", [2, 6, 10, 30, 100, 998])
def test_chi2_critical_against_the_closed_form_tail_of_even_df(df):
    """For even df the tail is e^(-x/2) sum_{k<df/2} (x/2)^k / k!."""
    x = stats.chi2_critical(df)
    tail = math.exp(-x / 2 + math.log(sum(math.exp(k * math.log(x / 2) - math.lgamma(k + 1))
                                          for k in range(df // 2))))
    assert tail == pytest.approx(stats.ALPHA, rel=1e-9)


def test_chi2_critical_for_one_df_is_the_squared_normal_quantile():
    z = stats.normal_critical()
    assert z == pytest.approx(4.8916, abs=1e-4)
    assert stats.chi2_critical(1) == pytest.approx(z * z, rel=1e-9)
    assert stats.normal_critical(0.05) == pytest.approx(1.95996, abs=1e-5)


def test_hoeffding_bound():
    assert stats.hoeffding_critical(10_000, 0.05) == pytest.approx(100 * math.sqrt(math.log(40) / 2))
