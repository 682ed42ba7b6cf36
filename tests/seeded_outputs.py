"""Digests of every imputer's seeded outputs, to show a refactor changes no result.

Run ``python tests/seeded_outputs.py --save`` on the code before a change and
``python tests/seeded_outputs.py --check`` after it: every imputer of the registry
(plus the scikit-learn adapter) is fitted with a fixed seed and small settings on a
mixed table (numbers, an integer column, a string category, a boolean) and on a
numerical array, and the SHA-256 of its ``fit_transform``, ``transform`` and two
``sample`` draws is compared with the saved one. Float results are hashed bit for
bit, so the check is meant for one machine (another CPU or BLAS may round
differently). Not collected by pytest (no ``test_`` prefix): it takes a few minutes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.impute import KNNImputer

from deepimpute.imputers import IMPUTERS, SklearnImputerAdapter, make_imputer

REFERENCE = Path(__file__).with_name("data") / "seeded_outputs.json"

#: small settings (epochs, draws, trees) so the whole run takes minutes
SMALL = dict(max_iter=3, n_draws=8, n_estimators=8, inference_steps=5,
             n_imputations=2)


def _table(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 160
    z = rng.normal(size=(n, 2))
    frame = pd.DataFrame(
        {
            "a": z[:, 0] + 0.1 * rng.normal(size=n),
            "b": z @ [0.5, -1.0] + 0.2 * rng.normal(size=n),
            "count": np.round(np.exp(z[:, 1])).astype(float),
            "kind": np.select([z[:, 0] > 0.3, z[:, 0] < -0.3], ["hi", "lo"], "mid"),
            "flag": z[:, 1] > 0,
        }
    )
    holes = rng.random(frame.shape) < 0.2
    out = frame.astype(object).mask(holes)
    out["a"] = out["a"].astype(float)
    out["b"] = out["b"].astype(float)
    out["count"] = out["count"].astype("Int64")
    out["kind"] = out["kind"].astype("string")
    out["flag"] = out["flag"].astype("boolean")
    return out


def _array(seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(120, 2)) @ rng.normal(size=(2, 4))
    X[rng.random(X.shape) < 0.25] = np.nan
    return X


def _digest(out) -> str:
    if isinstance(out, pd.DataFrame):
        text = out.to_csv(float_format=lambda v: float(v).hex())
        text += repr(list(out.dtypes))
        return hashlib.sha256(text.encode()).hexdigest()[:16]
    return hashlib.sha256(np.ascontiguousarray(out).tobytes()).hexdigest()[:16]


def _imputers():
    for name in sorted(IMPUTERS):
        # AutoImputer: no time budget (its skips would depend on the machine's
        # speed) and small candidates
        extra = dict(time_budget=None, candidate_params=SMALL) if name == "auto" else {}
        yield name, lambda name=name, extra=extra: make_imputer(
            name, SMALL, random_state=0, device="cpu", **extra
        )
    yield "adapter", lambda: SklearnImputerAdapter(KNNImputer(n_neighbors=3))


def digests() -> dict[str, dict[str, str]]:
    torch.set_num_threads(1)
    result: dict[str, dict[str, str]] = {}
    for name, build in _imputers():
        row: dict[str, str] = {}
        for data_name, X in (("frame", _table()), ("array", _array())):
            est = build()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                row[f"{data_name}.fit_transform"] = _digest(est.fit_transform(X))
                row[f"{data_name}.transform"] = _digest(est.transform(X))
                try:
                    draws = est.sample(X, n_draws=2, random_state=3)
                except NotImplementedError:
                    draws = None
                if draws is not None:
                    row[f"{data_name}.sample"] = "/".join(_digest(d) for d in draws)
                if hasattr(est, "score_samples"):
                    row[f"{data_name}.score_samples"] = _digest(est.score_samples(X))
        result[name] = row
        print(name, "done", file=sys.stderr)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--save", action="store_true", help="write the reference")
    mode.add_argument("--check", action="store_true", help="compare with it")
    parser.add_argument("--reference", type=Path, default=REFERENCE)
    args = parser.parse_args(argv)
    now = digests()
    if args.save:
        args.reference.parent.mkdir(parents=True, exist_ok=True)
        args.reference.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        print(f"wrote {args.reference}")
        return 0
    saved = json.loads(args.reference.read_text())
    changed = [
        f"{name}: {key}"
        for name in sorted(set(saved) | set(now))
        for key in sorted(set(saved.get(name, {})) | set(now.get(name, {})))
        if saved.get(name, {}).get(key) != now.get(name, {}).get(key)
    ]
    if changed:
        print("changed outputs:\n  " + "\n  ".join(changed))
        return 1
    print(f"all {sum(map(len, now.values()))} outputs identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
