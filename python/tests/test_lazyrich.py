"""Tests of the Python package. Reference values are computed here independently of lazyrich
(numpy RK4 integration of the gradient-flow equations written from the papers' definitions,
conserved quantities), or by the CLI binary when the point is "same JSON as the CLI"."""

import json
import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

import lazyrich

ROOT = pathlib.Path(__file__).resolve().parents[2]
CASES = ROOT / "data" / "cases"
CLI = ROOT / "target" / "release" / "lazyrich"

# P1 single neuron, whitened X = I (2×2), y = (0, 1), a0 = 1, w0 = (-1, 0): fig3_delta+0.json.
SN = {
    "model": "single_neuron",
    "x": np.eye(2),
    "y": np.array([0.0, 1.0]),
    "a0": 1.0,
    "w0": np.array([-1.0, 0.0]),
    "eta_a": 1.0,
    "eta_w": 1.0,
    "times": np.array([0.0, 0.5, 1.0, 2.0, 5.0]),
}


def rk4(f, y0, times, h=1e-3):
    """Classical RK4 with a fixed step (≤ h), output at `times` (independent reference)."""
    out, y, t = [], np.array(y0, dtype=float), 0.0
    for T in times:
        n = max(1, int(np.ceil((T - t) / h))) if T > t else 0
        if n:
            s = (T - t) / n
            for _ in range(n):
                k1 = f(y)
                k2 = f(y + s / 2 * k1)
                k3 = f(y + s / 2 * k2)
                k4 = f(y + s * k3)
                y = y + s / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            t = T
        out.append(y.copy())
    return np.array(out)


def sn_flow(x, y, eta_a, eta_w):
    """P1 §3: L = ½Σ(a wᵀx_i − y_i)², ȧ = −η_a wᵀg, ẇ = −η_w a g, g = XᵀXβ − Xᵀy, β = a w."""
    G, b = x.T @ x, x.T @ y

    def f(th):
        a, w = th[0], th[1:]
        g = G @ (a * w) - b
        return np.concatenate([[-eta_a * (w @ g)], -eta_w * a * g])

    return f


def test_exact_single_neuron_matches_rk4_and_conservation():
    r = lazyrich.exact(SN)
    assert r["model"] == "single_neuron"
    a = lazyrich.to_numpy(r, "a")
    w = lazyrich.to_numpy(r, "w")
    bound = lazyrich.to_numpy(r, "abs_err_bound")
    assert a.shape == (5,) and w.shape == (5, 2)
    ref = rk4(sn_flow(SN["x"], SN["y"], 1.0, 1.0), [1.0, -1.0, 0.0], SN["times"], h=1e-3)
    # RK4 at h = 1e-3 on this smooth flow: global error ~1e-12; the closed form's bound ~1e-15.
    np.testing.assert_allclose(a, ref[:, 0], atol=1e-10)
    np.testing.assert_allclose(w, ref[:, 1:], atol=1e-10)
    # δ = η_w a² − η_a ‖w‖² is conserved (δ = 0 here).
    np.testing.assert_allclose(a**2 - (w**2).sum(axis=1), 0.0, atol=1e-12)
    assert np.all(bound > 0) and np.all(bound < 1e-12)
    # β = a·w
    np.testing.assert_allclose(lazyrich.to_numpy(r, "beta"), a[:, None] * w, atol=1e-14)


def test_simulate_within_printed_bound_of_exact():
    ex = lazyrich.exact(SN)
    sim = lazyrich.simulate(SN, method="tsit45", rtol=1e-10, atol=1e-12, certify=True)
    d = np.abs(lazyrich.to_numpy(sim, "a") - lazyrich.to_numpy(ex, "a"))
    bound = lazyrich.to_numpy(sim, "err_bound") + lazyrich.to_numpy(ex, "abs_err_bound")
    assert np.all(d <= bound), (d, bound)
    assert np.all(lazyrich.to_numpy(sim, "err_bound") < 1e-6)


def test_same_json_as_cli(tmp_path):
    if not CLI.exists():
        pytest.skip("release binary not built (cargo build --release)")
    case = CASES / "fig3_delta+0.json"
    for args, py in [
        (["exact"], lambda: lazyrich.exact(case)),
        (["exact", "--prec", "128"], lambda: lazyrich.exact(str(case), prec=128)),
        (["simulate", "--method", "bdf"], lambda: lazyrich.simulate(case, method="bdf")),
        (["prove"], lambda: lazyrich.prove(case)),
    ]:
        out = subprocess.run([str(CLI), *args, "--case", str(case)], capture_output=True, check=True, text=True)
        assert json.loads(out.stdout) == py(), args


def test_numpy_decimal_strings_and_path_agree():
    from_file = lazyrich.exact(CASES / "fig3_delta+0.json")
    text = json.loads((CASES / "fig3_delta+0.json").read_text())
    from_strings = lazyrich.exact(text)  # the file's decimal strings, as a dict
    assert from_file == from_strings
    sn = dict(SN, times=text["times"])
    np.testing.assert_array_equal(lazyrich.to_numpy(lazyrich.exact(sn), "a"), lazyrich.to_numpy(from_file, "a"))


def test_high_precision_keeps_decimal_strings():
    r = lazyrich.exact(SN, prec=200)
    a = lazyrich.to_numpy(r, "a")
    ref = rk4(sn_flow(SN["x"], SN["y"], 1.0, 1.0), [1.0, -1.0, 0.0], SN["times"])
    np.testing.assert_allclose(a, ref[:, 0], atol=1e-10)


def test_bad_input_raises_value_error_with_cli_message(tmp_path):
    bad = dict(SN, w0=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError) as e:
        lazyrich.exact(bad)
    assert "w0" in str(e.value)
    with pytest.raises(ValueError, match="cannot read case file"):
        lazyrich.exact(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="not in 53"):
        lazyrich.exact(SN, prec=10)
    with pytest.raises(ValueError, match="invalid value 'rk99' for '--method'"):
        lazyrich.simulate(SN, method="rk99")
    with pytest.raises(ValueError, match="pick one"):
        lazyrich.exact(SN, rigorous=True, certify=True)
    with pytest.raises(ValueError, match="not a finite number"):
        lazyrich.exact(dict(SN, a0=float("nan")))
    if CLI.exists():
        p = tmp_path / "bad.json"
        p.write_text(lazyrich.case_json(bad))
        out = subprocess.run([str(CLI), "exact", "--case", str(p)], capture_output=True, text=True)
        assert out.returncode == 2
        with pytest.raises(ValueError) as e2:
            lazyrich.exact(p)
        assert out.stderr.strip() == "error: " + str(e2.value)


def test_to_numpy_errors():
    r = lazyrich.exact(SN)
    with pytest.raises(ValueError, match="no field 'nope'"):
        lazyrich.to_numpy(r, "nope")
    np.testing.assert_array_equal(lazyrich.to_numpy(r, "err_bounds.a"), [p["err_bounds"]["a"] for p in r["points"]])


LB = {
    "model": "lambda_balanced",
    "x": [[1, 1, 1, 1], [1, -1, 1, -1]],
    "y": [[1, 0, "0.5", 1], [0, 1, 1, "-0.25"]],
    "w1_0": np.eye(2),
    "w2_0": 2 * np.eye(2),
    "tau": 1,
    "times": [0, 0.5, 1, 3, 10],
}


def test_lambda_balanced_exact_matches_rk4():
    r = lazyrich.exact(LB)
    x = np.array(LB["x"], float)
    y = np.array([[1, 0, 0.5, 1], [0, 1, 1, -0.25]])
    P = x.shape[1]
    sxx, syx = x @ x.T / P, y @ x.T / P

    def f(th):  # P2: τẆ1 = W2ᵀ(Σyx − WΣxx), τẆ2 = (Σyx − WΣxx)W1ᵀ, τ = 1
        w1, w2 = th[:4].reshape(2, 2), th[4:].reshape(2, 2)
        g = syx - w2 @ w1 @ sxx
        return np.concatenate([(w2.T @ g).ravel(), (g @ w1.T).ravel()])

    ref = rk4(f, np.concatenate([np.eye(2).ravel(), 2 * np.eye(2).ravel()]), LB["times"])
    w = np.array([(th[4:].reshape(2, 2) @ th[:4].reshape(2, 2)) for th in ref])
    assert r["lambda"] == 3.0  # W2ᵀW2 − W1W1ᵀ = 4I − I
    np.testing.assert_allclose(lazyrich.to_numpy(r, "w2w1"), w, atol=1e-10)
    assert lazyrich.to_numpy(r, "w2w1").shape == (5, 2, 2)


def test_verify_rows():
    rows = lazyrich.verify(CASES / "fig3_delta+0.json")
    assert isinstance(rows, list) and rows
    assert all(r["case"] == "fig3_delta+0" for r in rows)
    assert {"check", "pass", "bound"} <= set(rows[0])
    assert all(r["pass"] for r in rows)


def test_init_lambda_balanced(tmp_path):
    c = lazyrich.init("lambda_balanced", data=LB, dims="2,2,2", lambda_=2, seed=7, out=tmp_path / "c.json")
    assert c["model"] == "lambda_balanced" and (tmp_path / "c.json").exists()
    w1, w2 = np.array(c["w1_0"], float), np.array(c["w2_0"], float)
    # exact decimals: λ-balanced to the rounding of the decimals' conversion to float64
    np.testing.assert_allclose(w2.T @ w2 - w1 @ w1.T, 2 * np.eye(2), atol=1e-12)
    assert lazyrich.exact(c)["lambda"] == pytest.approx(2.0, abs=1e-12)
    with pytest.raises(ValueError, match="--seed"):
        lazyrich.init("lambda_balanced", data=LB, dims="2,2,2", lambda_=2)
    with pytest.raises(ValueError, match="h ≤ d_o"):
        lazyrich.init("lambda_balanced", data=LB, dims="2,3,2", lambda_=2, seed=7)


def test_ctrl_c_interrupts_a_long_call():
    # verify on the catalog's ReLU case takes ~3 s (measured under load); SIGINT after 0.1 s must
    # raise KeyboardInterrupt at once (the worker finishes in the background, result dropped).
    import signal
    import threading
    import time

    timer = threading.Timer(0.1, lambda: os.kill(os.getpid(), signal.SIGINT))
    t0 = time.monotonic()
    timer.start()
    try:
        lazyrich.verify(CASES / "relu_d3h8n12_down.json")
    except KeyboardInterrupt:
        assert time.monotonic() - t0 < 1.5
    else:
        pytest.skip("the call finished before the signal (machine faster than assumed)")
    finally:
        timer.cancel()
