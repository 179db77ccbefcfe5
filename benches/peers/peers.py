#!/usr/bin/env python3
"""Peers harness: scipy.integrate.solve_ivp (RK45, DOP853, Radau, BDF, LSODA) on lazyrich's
benchmark problems, written in lazyrich's work-precision row format so that one table and one
diagram show lazyrich and its peers measured in the same run on the same machine.

Usage: peers.py PROBLEM_DIR REPO_ROOT OUT.json [--quick]
PROBLEM_DIR holds the files written by `lazyrich bench --export-problems`; each names the case
file (model data) it was built from. The error is measured against the same MPFR reference as
lazyrich's own rows.
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

    return rhs, jac


def main():
    pdir, root, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    quick = "--quick" in sys.argv
    ladder = [1e-4, 1e-7, 1e-10] if quick else [10.0 ** -k for k in range(4, 13)]
    repeats = 5 if quick else 11
    rows = []
    for f in sorted(pdir.glob("*.json")):
        p = json.loads(f.read_text())
        if p.get("case") is None:
            print(f"{p['name']}: no case file (model not yet in the peers harness), skipped", file=sys.stderr)
            continue
        case = json.loads((root / p["case"]).read_text())
        if case["model"] != "single_neuron":
            continue
        rhs, jac = single_neuron(case)
        y0 = np.array(p["y0"])
        times = np.array(p["times"])
        ref = np.array(p["reference"])
        for method in ["RK45", "DOP853", "Radau", "BDF", "LSODA"]:
            for rtol in ladder:
                atol = rtol * 1e-2
                kw = {"jac": jac} if method in ("Radau", "BDF", "LSODA") else {}
                ts, sol, note = [], None, ""
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    sol = solve_ivp(rhs, (0.0, times[-1]), y0, method=method, t_eval=times, rtol=rtol, atol=atol, **kw)
                    ts.append(time.perf_counter() - t0)
                if not sol.success:
                    note = sol.message
                err = float(np.max(np.abs(sol.y.T - ref))) if sol.success else None
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
