"""Conductances and input patterns of sweep points: distributions, weight mapping, reproducibility."""

import numpy as np
import pytest

from devicelab.devices import preset
from devicelab.errors import InputFileError
from devicelab.spice.sweep.config import ConductanceSpec, InputSpec, parse_description
from devicelab.spice.sweep.data import (
    load_weight_matrices,
    point_arrays,
    sample_conductances,
    sample_inputs,
    weight_conductances,
    weight_tile,
)

N = 200_000  # samples for moment checks; tolerances below are 5 standard errors


def test_dense_inputs_are_uniform_in_zero_to_v_read(rng):
    v = sample_inputs(InputSpec("d", "dense", v_read=0.2), rows=400, n_vectors=500, rng=rng)
    assert v.shape == (500, 400)
    assert v.min() >= 0.0 and v.max() <= 0.2
    assert abs(v.mean() - 0.1) < 5 * 0.2 / np.sqrt(12 * v.size)


def test_signed_dense_inputs_are_symmetric(rng):
    v = sample_inputs(InputSpec("d", "dense", v_read=0.2, signed=True), rows=400, n_vectors=500, rng=rng)
    assert v.min() < -0.19 and v.max() > 0.19
    assert abs(v.mean()) < 5 * 0.4 / np.sqrt(12 * v.size)


def test_sparse_inputs_have_the_requested_density(rng):
    v = sample_inputs(InputSpec("s", "sparse", density=0.1), rows=400, n_vectors=500, rng=rng)
    frac = np.mean(v != 0)
    assert abs(frac - 0.1) < 5 * np.sqrt(0.1 * 0.9 / v.size)


def test_dnn_inputs_are_relu_like_with_a_clipped_heavy_tail(rng):
    spec = InputSpec("a", "dnn", v_read=0.2, zero_fraction=0.6, tail_sigma=1.0)
    v = sample_inputs(spec, rows=400, n_vectors=500, rng=rng)
    nonzero = v[v > 0]
    assert abs(np.mean(v == 0) - 0.6) < 5 * np.sqrt(0.6 * 0.4 / v.size)
    assert v.max() == pytest.approx(0.2)
    # 1 % of the log-normal tail lies beyond its 99th percentile, which is clipped to v_read
    saturated = np.mean(nonzero == 0.2)
    assert abs(saturated - 0.01) < 5 * np.sqrt(0.01 * 0.99 / nonzero.size)
    # median of the tail: v_read exp(-sigma z99)
    assert np.median(nonzero) == pytest.approx(0.2 * np.exp(-2.3263478740408408), rel=0.02)
    # heavy tail: mean well above median
    assert nonzero.mean() > 1.3 * np.median(nonzero)


def test_onehot_inputs_drive_one_row_each_cycling(rng):
    v = sample_inputs(InputSpec("o", "onehot", v_read=0.3), rows=3, n_vectors=5, rng=rng)
    assert np.array_equal(np.argmax(v, axis=1), [0, 1, 2, 0, 1])
    assert np.array_equal(np.count_nonzero(v, axis=1), np.ones(5))
    assert v.max() == 0.3


def test_uniform_conductances_lie_in_range_with_independent_pairs(rng):
    spec = ConductanceSpec("u", "uniform", 1e-6, 2e-5)
    g = sample_conductances(spec, 300, 300, True, rng)
    assert g.shape == (2, 300, 300)
    assert g.min() >= 1e-6 and g.max() <= 2e-5
    # correlation of independent samples: standard error 1/sqrt(n) = 1/300
    assert abs(np.corrcoef(g[0].ravel(), g[1].ravel())[0, 1]) < 5 / 300
    assert sample_conductances(spec, 3, 4, False, rng).shape == (3, 4)


def test_device_model_conductances_carry_the_programming_noise(rng):
    model = preset("joshi2020")
    spec = ConductanceSpec("m", "device_model", 10e-6, 10e-6 + 1e-12, model="joshi2020")
    g = sample_conductances(spec, 256, 256, False, rng)
    sigma = float(model.sigma_prog(10e-6))
    # std of a sample std is sigma / sqrt(2n); 5 standard errors
    assert abs(g.std() - sigma) < 5 * sigma / np.sqrt(2 * g.size)
    assert abs(g.mean() - 10e-6) < 5 * sigma / np.sqrt(g.size)


def test_differential_weight_mapping_is_proportional_to_the_weights():
    w = np.array([[1.0, -0.5], [0.0, 0.25]])
    g = weight_conductances(w, 1e-6, 21e-6, differential=True)
    np.testing.assert_allclose(g[0] - g[1], 20e-6 * w, rtol=0, atol=1e-18)
    assert g.min() == pytest.approx(1e-6)


def test_single_ended_weight_mapping_puts_zero_mid_range():
    w = np.array([[1.0, -1.0, 0.0]])
    g = weight_conductances(w, 0.0, 2e-5, differential=False)
    np.testing.assert_allclose(g[0], [[2e-5, 0.0, 1e-5]])


def test_weight_tiles_are_submatrices_of_the_transposed_weights(tmp_path, rng):
    w_out_in = rng.standard_normal((20, 30))
    np.savez(tmp_path / "w.npz", fc1=w_out_in, bias=np.zeros(20))
    spec = ConductanceSpec("w", "weights", 0.0, 1e-5, file=str(tmp_path / "w.npz"))
    tile = weight_tile(spec, 5, 7, rng)
    w_in_out = w_out_in.T
    found = [(i, j) for i in range(26) for j in range(14) if np.array_equal(w_in_out[i:i + 5, j:j + 7], tile)]
    assert len(found) == 1


def test_too_small_weight_matrix_is_zero_padded(tmp_path, rng):
    np.save(tmp_path / "w.npy", np.ones((2, 3)))
    spec = ConductanceSpec("w", "weights", 0.0, 1e-5, file=str(tmp_path / "w.npy"), layout="in_out")
    tile = weight_tile(spec, 4, 4, rng)
    assert tile[:2, :3].sum() == 6 and tile.sum() == 6


def test_pickled_or_missing_weight_arrays_are_rejected(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputFileError, match="obj.npy: weights: holds Python objects"):
        load_weight_matrices(str(tmp_path / "obj.npy"))
    np.savez(tmp_path / "w.npz", fc1=np.ones((2, 2)))
    with pytest.raises(InputFileError, match="field 'fc2': no array 'fc2'"):
        load_weight_matrices(str(tmp_path / "w.npz"), ("fc2",))


def test_point_arrays_are_reproducible_and_shared_across_wire_resistances():
    desc = parse_description({
        "n_vectors": 3, "array": {"sizes": [[4, 5]], "r_wire": [0.0, 3.0]}, "seed": 7,
        "conductances": [{"kind": "uniform", "g_min": 0.0, "g_max": 1e-5}], "inputs": [{"kind": "dense"}]})
    p0, p1 = desc.points()
    g0, v0 = point_arrays(p0)
    g1, v1 = point_arrays(p1)
    assert g0.shape == (4, 5) and v0.shape == (3, 4)
    assert np.array_equal(g0, g1) and np.array_equal(v0, v1)
    assert np.array_equal(point_arrays(p0)[0], g0)


def test_convolution_kernels_are_unrolled_and_text_entries_skipped(tmp_path):
    kernel = np.arange(2 * 3 * 2 * 2, dtype=float).reshape(2, 3, 2, 2)  # (out, in, kh, kw)
    np.savez(tmp_path / "net.npz", __spec__=np.array("{}"), conv=kernel, bias=np.zeros(2))
    (mat,) = load_weight_matrices(str(tmp_path / "net.npz"))
    np.testing.assert_array_equal(mat, kernel.reshape(2, 12).T)
