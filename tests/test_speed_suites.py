"""The speed suites of issue 33's measurement: kernels per step, row-table memory."""

from __future__ import annotations

import argparse

import pytest
import torch


def test_op_counter_counts_the_kernels_of_a_linear_step():
    from benchmarks.perf.step_kernels import OpCounter

    lin = torch.nn.Linear(3, 2)
    x = torch.randn(4, 3)
    with OpCounter() as count:
        lin(x).sum().backward()
    assert count.ops["addmm"] == 1  # the forward
    assert count.ops["mm"] == 1  # the weight's gradient (x needs none)
    assert "t" in count.ops and count.kernels() < sum(count.ops.values())


@pytest.mark.parametrize("method", ["vsae", "factvae"])
def test_grouped_steps_launch_as_many_kernels_whatever_the_attributes(method):
    from benchmarks.perf.step_kernels import measure

    narrow, wide = measure(method, 7, 600), measure(method, 14, 600)
    assert (narrow["n_attributes"], wide["n_attributes"]) == (7, 14)
    assert wide["width"] > narrow["width"]
    assert wide["kernels_per_step"] == narrow["kernels_per_step"]
    assert narrow["kernels_per_step"] > narrow["mlp_kernels_per_step"] > 0


@pytest.mark.slow
def test_row_memory_state_halves_with_bfloat16_tables():
    from benchmarks.perf import measure_point
    from benchmarks.perf.row_memory import RowMemory

    args = argparse.Namespace(quick=True, overrides={"batch_size": 256}, epochs=1,
                              limit_seconds=60.0)
    rows = {}
    for dtype in ("float32", "bfloat16"):
        (row,) = measure_point(RowMemory(args), dict(imputer="vad", row_dtype=dtype,
                                                     n_rows=300))
        rows[dtype] = row
        assert row["epochs"] == 1 and row["fit_seconds"] > 0
    f32, bf16 = rows["float32"], rows["bfloat16"]
    # table + two moments in the row dtype, a float32 step count per row
    assert f32["state_bytes_per_row"] - 4 == 2 * (bf16["state_bytes_per_row"] - 4)
    assert f32["state_mb"] == pytest.approx(300 * f32["state_bytes_per_row"] / 2**20)


def test_before_after_pairs_seeds_and_flags_a_shift_beyond_seed_noise():
    import pandas as pd

    from benchmarks.quality.before_after import paired

    def frame(errors, imputer="vsae-default"):
        return pd.DataFrame(dict(dataset="yeast", mechanism="mcar", rate=0.5,
                                 imputer=imputer, seed=range(len(errors)),
                                 nrmse_per_feature=errors))

    before = pd.concat([frame([1.0, 1.2, 1.4]), frame([0.5, 0.5, 0.5], "oracle")])
    # seed 2 missing from the rerun: only seeds 0 and 1 are paired
    close = paired(before, frame([1.05, 1.15]))
    assert len(close) == 1 and close.seeds.iloc[0] == 2
    assert close["diff"].iloc[0] == pytest.approx(0.0)
    assert bool(close.within.iloc[0])
    far = paired(before, frame([2.0, 2.2, 2.4]))
    assert far["diff"].iloc[0] == pytest.approx(1.0) and not bool(far.within.iloc[0])
