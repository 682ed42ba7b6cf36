"""scikit-learn's estimator checks over every registered imputer."""

import pytest
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_global_output_transform_pandas,
    check_global_set_output_transform_polars,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_set_output_transform_polars,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    parametrize_with_checks,
)

from instances import all_tiny, expected_failed


@parametrize_with_checks(
    all_tiny(), expected_failed_checks=expected_failed, xfail_strict=True
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


EXTRA_CHECKS = [
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_global_output_transform_pandas,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    check_dataframe_column_names_consistency,
    # skipped without polars (the optional extra)
    check_set_output_transform_polars,
    check_global_set_output_transform_polars,
]


@pytest.mark.parametrize("estimator", all_tiny(), ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("check", EXTRA_CHECKS, ids=lambda c: c.__name__)
def test_sklearn_extra_checks(estimator, check):
    check(type(estimator).__name__, estimator)
