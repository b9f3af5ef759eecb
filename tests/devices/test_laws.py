"""The G laws are written once (devices/laws.py): model and fits evaluate the same functions; defaults once."""

import re
from pathlib import Path

import numpy as np
import pytest
from scipy.interpolate import PchipInterpolator

from devicelab.devices import FitOptions, PCMModel, constants, laws, preset
from devicelab.devices.fit_laws import fit_drift_law
from devicelab.devices.laws import LinearClip, LogLinearClip, PchipLaw, QuadraticClip
from devicelab.errors import ConfigError, ValidityRangeWarning

G_MAX = 25e-6
LEVELS = np.geomspace(1e-6, 25e-6, 9)


def test_pchip_equals_scipys_pchip_interpolator_in_log_g():
    rng = np.random.default_rng(3)
    for n in (2, 3, 5, 8):
        knots = np.sort(rng.uniform(0.02, 1.0, n))
        values = rng.normal(0.05, 0.02, n)
        x = np.geomspace(knots[0], knots[-1], 300)
        expected = PchipInterpolator(np.log(knots), values)(np.log(x))
        np.testing.assert_allclose(laws.pchip(x, knots, values), expected, rtol=0, atol=1e-14)


def test_pchip_is_monotone_between_monotone_knots_and_flat_outside_them():
    law = PchipLaw((0.04, 0.2, 0.45, 1.0), (0.09, 0.085, 0.045, 0.04))
    x = np.geomspace(0.04, 1.0, 2000)
    assert np.all(np.diff(law(x)) <= 0)
    assert law(np.array([1e-5, 0.01, 0.04]))[:2] == pytest.approx([0.09, 0.09])
    assert law(np.array([1.0, 2.0, 50.0])) == pytest.approx([0.04] * 3)


def test_linear_and_quadratic_laws_hold_flat_outside_their_fitted_range():
    law = QuadraticClip(0.1, -0.16, 0.1, g_rel_min=0.04, g_rel_max=1.0)
    assert law(np.array([0.0, 0.04]))[0] == law(np.array([0.04]))[0]
    assert law(np.array([2.0]))[0] == law(np.array([1.0]))[0]


def test_loglinear_law_and_its_fit_share_the_g_rel_floor():
    # below G_REL_FLOOR the law is flat; a fit to points there must see the same flat values (one source)
    law = LogLinearClip(0.02, -0.01, lo=-np.inf, hi=np.inf)
    g = G_MAX * np.array([1e-5, 1e-4, 0.01, 0.1, 0.5, 1.0])
    y = law(g / G_MAX)
    assert y[0] == y[1] == law(np.array([constants.G_REL_FLOOR]))[0]
    part = fit_drift_law(g, y, np.full(g.size, 1e-5), G_MAX, families=("loglinear",))
    np.testing.assert_allclose(part.law(g / G_MAX), y, atol=1e-9)


@pytest.mark.parametrize("truth", [
    LogLinearClip(0.03, -0.012, lo=-np.inf, hi=np.inf),
    LinearClip(0.095, -0.07, lo=0.0, g_rel_min=0.04, g_rel_max=1.0),
    QuadraticClip(0.10, -0.16, 0.10, lo=0.0, g_rel_min=0.04, g_rel_max=1.0),
], ids=["loglinear", "linear", "quadratic"])
def test_noise_free_law_is_recovered_by_its_own_family(truth):
    # exact per-level values with tiny errors: the true family fits to chi2 ~ 0 and wins by BIC
    y = truth(LEVELS / G_MAX)
    part = fit_drift_law(LEVELS, y, np.full(LEVELS.size, 1e-5), G_MAX)
    assert part.law.law == truth.law
    grid = np.geomspace(LEVELS[0], LEVELS[-1], 50) / G_MAX
    np.testing.assert_allclose(part.law(grid), truth(grid), atol=1e-7)
    families = {c["model"].split(":")[0].split(" ")[0] for c in part.candidates}
    assert families == {"loglinear", "linear", "quadratic", "pchip"}


def test_unknown_family_is_refused():
    with pytest.raises(ConfigError, match="drift-law families"):
        fit_drift_law(LEVELS, np.linspace(0.1, 0.05, 9), np.full(9, 1e-3), G_MAX, families=("cubic",))
    with pytest.raises(ConfigError, match="drift_laws"):
        FitOptions(drift_laws=("spline",))


def test_model_warns_for_targets_outside_its_fitted_range_only():
    model = preset("joshi2020").replace(g_range=(1e-6, 25e-6))
    rng = np.random.default_rng(0)
    with pytest.warns(ValidityRangeWarning, match="fitted to G_target in"):
        model.sample(np.array([0.5e-6, 5e-6]), [20.0], rng)
    model.sample(np.array([0.0, 1e-6, 5e-6, 25e-6]), [20.0], rng)  # 0 S (an unused device) and the edges: silent


def test_protocol_defaults_have_one_source():
    assert PCMModel.__dataclass_fields__["t0"].default == FitOptions().t0 == constants.T0
    assert PCMModel.__dataclass_fields__["t_read"].default == FitOptions().t_read == constants.T_READ
    assert FitOptions().t_ref_temperature == constants.T_REF_TEMPERATURE
    # no other module of the package types the values again
    package = Path(constants.__file__).resolve().parents[1]
    pattern = re.compile(r"(?<![\w.])(250e-9|2\.5e-7|t0: float = 20|t_ref_temperature: float = 300|"
                         r"SET, RESET = )")
    offenders = [str(p.relative_to(package)) for p in package.rglob("*.py")
                 if p.name not in ("constants.py", "pulses.py") and pattern.search(p.read_text())]
    assert offenders == []
