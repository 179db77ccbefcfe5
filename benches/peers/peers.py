#!/usr/bin/env python3
"""Peers harness: scipy.integrate.solve_ivp (RK45, DOP853, Radau, BDF, LSODA) on lazyrich's
benchmark problems, written in lazyrich's work-precision row format so that one table and one
diagram show lazyrich and its peers measured in the same run on the same machine.

Usage: peers.py PROBLEM_DIR REPO_ROOT OUT.json [--quick]
PROBLEM_DIR holds the files written by `lazyrich bench --export-problems`; each names the case
file it was built from (single neuron) or carries its model data inline (`model_data`: the wide
linear and λ-balanced nets, the small ReLU net), plus lazyrich's right-hand side at y0 (`f0`), against which the
numpy right-hand side here is checked before anything is timed. The error is measured against the
same reference as lazyrich's own rows, through the same observable (the state, β = WᵀA, or W2W1).
Jacobians are given to the implicit methods for the single neuron only (finite differences else).
"""
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp


def single_neuron(case):
    x = np.array([[float(v) for v in row] for row in case["x"]])
    y = np.array([float(v) for v in case["y"]])
    ea, ew = float(case["eta_a"]), float(case["eta_w"])
    gram, xty = x.T @ x, x.T @ y

    def rhs(_t, th):
        a, w = th[0], th[1:]
        g = a * (gram @ w) - xty
        return np.concatenate(([-ea * (w @ g)], -ew * a * g))

    def jac(_t, th):
        a, w = th[0], th[1:]
        gw = gram @ w
        g = a * gw - xty
        n = th.size
        h = np.empty((n, n))
        h[0, 0] = w @ gw
        haw = g + a * gw
        h[0, 1:] = haw
        h[1:, 0] = haw
        h[1:, 1:] = a * a * gram
        rates = np.concatenate(([ea], np.full(n - 1, ew)))
        return -rates[:, None] * h

    return rhs, jac, None


def two_layer_linear(md):
    """P1 wide linear net f(x) = AᵀWx: θ = (W h×d, A h×c) row-major, β = WᵀA (d×c),
    L = ½‖Xβ − Y‖², Ẇ = −η_w A Gᵀ, Ȧ = −η_a W G with G = Xᵀ(Xβ − Y)."""
    x, y = np.array(md["x"], dtype=float), np.array(md["y"], dtype=float)
    h, ea, ew = int(md["h"]), float(md["eta_a"]), float(md["eta_w"])
    d, c = x.shape[1], y.shape[1]
    xtx, xty = x.T @ x, x.T @ y
    nw = h * d

    def rhs(_t, th):
        w, a = th[:nw].reshape(h, d), th[nw:].reshape(h, c)
        g = xtx @ (w.T @ a) - xty
        return np.concatenate(((-ew * (a @ g.T)).ravel(), (-ea * (w @ g)).ravel()))

    def observe(th):
        return (th[:nw].reshape(h, d).T @ th[nw:].reshape(h, c)).ravel()

    return rhs, None, observe


def lambda_balanced(md):
    """P2 two-layer linear net ŷ = W2W1x: θ = (W1 h×d_i, W2 d_o×h) row-major, L = (1/2P)Σ‖W2W1x − y‖²,
    τẆ1 = −W2ᵀG, τẆ2 = −GW1ᵀ with G = W2W1Σxx − Σyx, Σxx = XXᵀ/P, Σyx = YXᵀ/P."""
    x, y = np.array(md["x"], dtype=float), np.array(md["y"], dtype=float)
    h, tau = int(md["h"]), float(md["tau"])
    d_i, n = x.shape
    d_o = y.shape[0]
    sxx, syx = x @ x.T / n, y @ x.T / n
    k = h * d_i

    def rhs(_t, th):
        w1, w2 = th[:k].reshape(h, d_i), th[k:].reshape(d_o, h)
        g = w2 @ w1 @ sxx - syx
        return np.concatenate(((-(w2.T @ g) / tau).ravel(), (-(g @ w1.T) / tau).ravel()))

    def observe(th):
        return (th[k:].reshape(d_o, h) @ th[:k].reshape(h, d_i)).ravel()

    return rhs, None, observe


def piecewise_linear(md):
    """P1 §5 two-layer piecewise-linear net f(x) = aᵀσ(Wx), σ(z) = max(z, γz) (ReLU: γ = 0):
    θ = (W h×d row-major, a h), L = c·Σ_i (f(x_i) − y_i)² (c = `loss_factor`), c_ki = σ'(w_kᵀx_i)
    with σ'(0) = γ, g = 2c(f − y), ∇_a L = σ(XWᵀ)ᵀg, ∇_W L = ((g aᵀ)∘Cᵀ)ᵀX, Ẇ = −η_w∇_W L,
    ȧ = −η_a∇_a L. Plain integration: the field is continuous, its Jacobian jumps at w_kᵀx_i = 0."""
    x, y = np.array(md["x"], dtype=float), np.array(md["y"], dtype=float)
    h, gamma = int(md["h"]), float(md["gamma"])
    ea, ew, c = float(md["eta_a"]), float(md["eta_w"]), float(md["loss_factor"])
    d = x.shape[1]
    nw = h * d

    def rhs(_t, th):
        w, a = th[:nw].reshape(h, d), th[nw:]
        z = x @ w.T
        act = np.where(z > 0.0, 1.0, gamma)
        s = act * z
        g = 2.0 * c * (s @ a - y)
        ga = s.T @ g
        gw = (g[:, None] * a[None, :] * act).T @ x
        return np.concatenate(((-ew * gw).ravel(), -ea * ga))

    return rhs, None, None


def main():
    pdir, root, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    quick = "--quick" in sys.argv
    ladder = [1e-4, 1e-7, 1e-10] if quick else [10.0 ** -k for k in range(4, 13)]
    repeats = 5 if quick else 11
    rows = []
    for f in sorted(pdir.glob("*.json")):
        p = json.loads(f.read_text())
        if p.get("case") is not None:
            case = json.loads((root / p["case"]).read_text())
            if case["model"] != "single_neuron":
                print(f"{p['name']}: model {case['model']} not in the peers harness, skipped", file=sys.stderr)
                continue
            rhs, jac, observe = single_neuron(case)
        elif p.get("model_data") is not None:
            md = p["model_data"]
            builders = {"two_layer_linear": two_layer_linear, "lambda_balanced": lambda_balanced,
                        "piecewise_linear": piecewise_linear}
            if md["model"] not in builders:
                print(f"{p['name']}: model {md['model']} not in the peers harness, skipped", file=sys.stderr)
                continue
            rhs, jac, observe = builders[md["model"]](md)
        else:
            print(f"{p['name']}: no model data, skipped", file=sys.stderr)
            continue
        y0 = np.array(p["y0"])
        times = np.array(p["times"])
        ref = np.array(p["reference"])
        # The numpy RHS must be lazyrich's: compare at y0 with the exported f0.
        f0 = np.array(p["f0"])
        dev = float(np.max(np.abs(rhs(0.0, y0) - f0)))
        scale = max(1.0, float(np.max(np.abs(f0))))
        if dev > 1e-12 * scale:
            sys.exit(f"{p['name']}: the numpy right-hand side differs from lazyrich's at y0 by {dev:.3e}")
        for method in ["RK45", "DOP853", "Radau", "BDF", "LSODA"]:
            for rtol in ladder:
                atol = rtol * 1e-2
                kw = {"jac": jac} if jac is not None and method in ("Radau", "BDF", "LSODA") else {}
                ts, sol, note = [], None, ""
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    sol = solve_ivp(rhs, (0.0, times[-1]), y0, method=method, t_eval=times, rtol=rtol, atol=atol, **kw)
                    ts.append(time.perf_counter() - t0)
                if not sol.success:
                    note = sol.message
                if sol.success:
                    got = sol.y.T if observe is None else np.array([observe(th) for th in sol.y.T])
                    err = float(np.max(np.abs(got - ref)))
                else:
                    err = None
                rows.append({
                    "problem": p["name"], "solver": f"scipy-{method}", "rtol": rtol, "atol": atol,
                    "error": err, "median_s": statistics.median(ts), "min_s": min(ts), "repeats": repeats,
                    "steps": int(sol.t.size) if sol is not None else 0, "rhs_evals": int(sol.nfev),
                    "jac_evals": int(sol.njev), "lu_factorizations": int(sol.nlu), "ratio": None, "note": note,
                })
                print(f"{p['name']:<26} scipy-{method:<7} rtol {rtol:.0e}: error {err}, {statistics.median(ts):.3e} s",
                      file=sys.stderr)
    out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
