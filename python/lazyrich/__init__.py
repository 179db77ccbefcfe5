"""lazyrich from Python: the CLI's commands as functions, dicts and numpy arrays in and out.

Every function takes ``case``: a dict with the JSON case fields (numpy arrays, floats, ints or
decimal strings as values) or the path (``str`` or ``os.PathLike``) of a case file. It returns the
dict the CLI prints as JSON (same keys, same values: the extension calls the code the CLI calls).
Errors raise ``ValueError`` with the CLI's message. Calls release the GIL; Ctrl-C interrupts the
wait at once (the computation itself finishes in a background thread and its result is dropped).
"""

from __future__ import annotations

import json
import os
import tempfile
from numbers import Integral, Real
from typing import Any, Optional

import numpy as np

from . import _lazyrich

__all__ = ["exact", "simulate", "verify", "prove", "init", "to_numpy", "case_json"]


def _plain(v: Any, where: str) -> Any:
    """A case value as JSON-ready Python: arrays to nested lists, numpy scalars to numbers."""
    if isinstance(v, np.ndarray):
        if v.dtype.kind not in "biuf" and v.dtype != object:
            raise ValueError(f"case field {where}: a numpy array of {v.dtype} is not numeric")
        return [_plain(x, where) for x in v.tolist()] if v.ndim > 0 else _plain(v.item(), where)
    if isinstance(v, (bool, np.bool_)):
        raise ValueError(f"case field {where}: {v!r} is a boolean, not a number")
    if isinstance(v, Integral):
        return int(v)
    if isinstance(v, Real):
        x = float(v)
        if x != x or x in (float("inf"), float("-inf")):
            raise ValueError(f"case field {where}: {x} is not a finite number")
        return x
    if isinstance(v, (list, tuple)):
        return [_plain(x, where) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x, f"{where}.{k}") for k, x in v.items()}
    if isinstance(v, str) or v is None:
        return v
    raise ValueError(f"case field {where}: {type(v).__name__} is not a number, a decimal string or an array")


def case_json(case: dict) -> str:
    """The case file text of a case dict (floats written with round-trip precision)."""
    if not isinstance(case, dict):
        raise ValueError("case must be a dict of case fields or the path of a case file")
    return json.dumps({str(k): _plain(v, str(k)) for k, v in case.items()})


def _split(case: Any) -> tuple[Optional[str], Optional[str]]:
    if isinstance(case, (str, os.PathLike)):
        return None, os.fspath(case)
    return case_json(case), None


def exact(case: Any, prec: int = 53, rigorous: bool = False, *, form: str = "linearised",
          certify: bool = False, idealised: bool = False) -> dict:
    """``lazyrich exact``: the closed form at the case's times, with its error bounds."""
    cj, cp = _split(case)
    return json.loads(_lazyrich.exact_json(cj, cp, int(prec), form, bool(rigorous), bool(certify), bool(idealised)))


def simulate(case: Any, method: str = "tsit45", rtol: float = 1e-8, atol: Optional[float] = None,
             certify: bool = False, *, form: str = "parameter", prec: int = 53, tol: Optional[float] = None,
             rigorous: bool = False, events: Optional[str] = None) -> dict:
    """``lazyrich simulate``: the gradient flow at the case's times.

    ``atol`` defaults to the CLI's 1e-10; the keyword options are the CLI's flags
    (``form="function_space"``, ``prec``, ``tol``, ``rigorous`` for ``method="taylor"``,
    ``events="on"|"off"`` for piecewise_linear).
    """
    cj, cp = _split(case)
    a = 1e-10 if atol is None else float(atol)
    return json.loads(_lazyrich.simulate_json(cj, cp, method, float(rtol), a, form, int(prec),
                                              None if tol is None else float(tol), bool(rigorous),
                                              bool(certify), events))


def prove(case: Any, prec: int = 256, t_end: Optional[float] = None) -> dict:
    """``lazyrich prove``: theorem certificates (claims proved / refuted / not_applicable)."""
    cj, cp = _split(case)
    return json.loads(_lazyrich.prove_json(cj, cp, int(prec), None if t_end is None else float(t_end)))


def verify(case: Any, name: Optional[str] = None, *, with_not_applicable: bool = False):
    """``lazyrich verify --case``: the rows of ``table.json`` as a list of dicts.

    ``name`` is the ``case`` column (default: the file's stem, or ``"case"`` for a dict). With
    ``with_not_applicable=True``, returns ``(rows, not_applicable)``.
    """
    cj, cp = _split(case)
    if name is None:
        name = os.path.splitext(os.path.basename(cp))[0] if cp else "case"
    rows, na = _lazyrich.verify_json(cj, cp, str(name))
    rows, na = json.loads(rows), json.loads(na)
    return (rows, na) if with_not_applicable else rows


def init(kind: str, out: Optional[str] = None, **options) -> dict:
    """``lazyrich init KIND --option value …``: an initialiser's case file, returned as a dict.

    ``kind`` is the subcommand (``"lambda-balanced"``, ``"deep-conserved"``, ``"wide-isotropic"``,
    ``"task-aligned"``, …; underscores accepted). Options are the flags with ``_`` for ``-``
    (``lambda_`` for ``--lambda``); lists are joined with commas; ``data`` may be a case dict. The
    file is written to ``out`` if given (else to a temporary file that is removed).
    """
    args = [kind.replace("_", "-")]
    tmp = tempfile.mkdtemp(prefix="lazyrich-init-")
    try:
        for k, v in options.items():
            flag = "--" + k.rstrip("_").replace("_", "-")
            if k == "data" and isinstance(v, dict):
                p = os.path.join(tmp, "data.json")
                with open(p, "w") as f:
                    f.write(case_json(v))
                v = p
            if isinstance(v, (list, tuple, np.ndarray)):
                v = ",".join(str(_plain(x, k)) for x in np.asarray(v, dtype=object).ravel())
            args += [flag, os.fspath(v) if isinstance(v, os.PathLike) else str(v)]
        target = os.fspath(out) if out is not None else os.path.join(tmp, "case.json")
        args += ["--out", target]
        _lazyrich.init_args(args)
        with open(target) as f:
            return json.load(f)
    finally:
        for fn in ("data.json", "case.json"):
            try:
                os.remove(os.path.join(tmp, fn))
            except FileNotFoundError:
                pass
        os.rmdir(tmp)


def _num(x: Any, field: str) -> Any:
    if isinstance(x, list):
        return [_num(y, field) for y in x]
    if isinstance(x, dict):
        raise ValueError(
            f"field {field} holds objects with keys {sorted(x)}: name one of them, e.g. {field}.{sorted(x)[0]}")
    if x is None:
        return float("nan")
    return float(x)


def to_numpy(result: dict, field: str) -> np.ndarray:
    """A per-time field of a result as a float64 array of shape (number of times, …).

    ``field`` names a key of the points (``"a"``, ``"w"``, ``"abs_err_bound"``); a dotted name goes
    into nested objects (``"err_bounds.a"``, ``"a.lo"`` for an enclosure). Decimal strings (high
    precision) are rounded to float64; the result dict keeps them.
    """
    points = result.get("points") if isinstance(result, dict) else None
    if not isinstance(points, list):
        raise ValueError("to_numpy: the result has no \"points\" list (pass what exact/simulate returned)")
    parts = field.split(".")
    vals = []
    for i, p in enumerate(points):
        v: Any = p
        for k in parts:
            if not isinstance(v, dict) or k not in v:
                have = sorted(v) if isinstance(v, dict) else type(v).__name__
                raise ValueError(f"to_numpy: point {i} has no field {field!r} (it has {have})")
            v = v[k]
        vals.append(_num(v, field))
    return np.asarray(vals, dtype=np.float64)
