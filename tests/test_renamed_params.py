"""Parameters renamed in 0.2: the old names still work for one release,
warn, and give the same fitted imputer as the new ones."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from deepimpute.imputers import IMPUTERS
from instances import TINY, tiny

#: (imputer, old name, new name, a value other than the default)
RENAMES = [
    ("vae", "n_importance", "n_draws", 5),
    ("miwae", "n_importance", "n_draws", 5),
    ("miwae", "n_samples", "n_train_draws", 2),
    ("factvae", "n_importance", "n_draws", 5),
    ("vsae", "n_importance", "n_draws", 5),
    ("vsae", "n_target_samples", "n_target_draws", 3),
    ("vsae", "n_train_samples", "n_train_draws", 2),
    ("rvi", "beta", "kl_weight", 0.5),
    ("rvi", "impute_draws", "n_draws", 2),
    ("vad", "beta", "kl_weight", 0.5),
    ("vad", "impute_draws", "n_draws", 2),
    ("misgan", "n_draws_impute", "n_draws", 2),
]
#: settings under which the renamed parameter changes the imputation
SETTINGS = {"vsae": dict(impute="importance", warmup_epochs=1)}


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    X[:, 2] += X[:, 0]
    X[rng.random(X.shape) < 0.2] = np.nan
    return X


def _imputer(name, **params):
    imp = tiny(name)
    # instances.tiny may set a new name; back to its default, so that only
    # ``params`` sets a renamed parameter
    defaults = IMPUTERS[name]().get_params()
    news = {new for _, _, new, _ in RENAMES}
    imp.set_params(**{k: defaults[k] for k in TINY.get(name, {}) if k in news})
    return imp.set_params(**SETTINGS.get(name, {}), **params)


def test_the_list_covers_every_declared_rename():
    declared = {
        (name, old, new)
        for name, cls in IMPUTERS.items()
        for old, new in cls._renamed.items()
    }
    assert declared == {(n, o, w) for n, o, w, _ in RENAMES}


@pytest.mark.parametrize(
    "name, old, new, value", RENAMES, ids=lambda p: str(p)
)
def test_old_name_warns_and_fits_as_the_new_one(name, old, new, value):
    X = _data()
    with pytest.warns(FutureWarning, match=f"'{old}' was renamed '{new}' in 0.2"):
        via_old = _imputer(name, **{old: value}).fit(X)
    via_new = _imputer(name, **{new: value}).fit(X)  # no warning (errors are on)
    # the core received the value under its one name
    assert getattr(via_old.module_, new) == getattr(via_new.module_, new) == value
    np.testing.assert_array_equal(via_old.transform(X), via_new.transform(X))
    # fit_transform warns as well
    with pytest.warns(FutureWarning, match=f"'{old}' was renamed"):
        _imputer(name, **{old: value}).fit_transform(X)


@pytest.mark.parametrize(
    "name, old, new, value", RENAMES, ids=lambda p: str(p)
)
def test_setting_both_names_is_an_error(name, old, new, value):
    imp = _imputer(name, **{old: value, new: value})
    with pytest.raises(ValueError, match=f"set '{new}' only; '{old}' is its"):
        imp.fit(_data())


@pytest.mark.parametrize("name", sorted({n for n, *_ in RENAMES}))
def test_old_names_are_parameters_until_removed(name):
    olds = [(old, value) for n, old, _, value in RENAMES if n == name]
    imp = IMPUTERS[name]()
    params = imp.get_params()
    assert all(params[old] == "deprecated" for old, _ in olds)
    imp.set_params(**dict(olds))
    copy = clone(imp)
    assert all(copy.get_params()[old] == value for old, value in olds)
    with pytest.raises(ValueError, match="must be"):
        IMPUTERS[name](**{olds[0][0]: "nonsense"}).fit(_data())
