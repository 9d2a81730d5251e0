# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Testing for a signal in the data-driven signal region
#
# Yi, Alison and Kuusela (arXiv:2409.06960) stop once the signal region (SR) is
# chosen, and leave the test of $H_0: \epsilon = 0$ against $H_1: \epsilon > 0$
# (their equation 2) to future work. This chapter adds that test: it estimates
# the 4b background in the SR from the 3b events, compares it with the observed
# 4b count, and checks whether the p-values can be trusted when there is no
# signal.
#
# Aims:
#
# - state the model behind the background estimate and the test, with its
#   assumptions;
# - calibrate the test under $\epsilon = 0$ over many seeds: are the p-values
#   uniform, and is the false-positive rate (FPR) at $\alpha = 0.05$ near 5 %?
# - measure the power of the test as $\epsilon$ grows at fixed $n$;
# - do both for the mass-window SR ($X_{HH} < 1.6$ with its CR ring) as the
#   baseline.

# %% tags=["parameters"]
n_3b = 10_000  # 3b events per repeat; the 4b sample is as large
calibration_repeats = 100  # seeds with no signal (epsilon 0)
power_signal_ratios = [0.05, 0.1, 0.2]  # epsilon values of the power curve
power_repeats = 20  # seeds per epsilon of the power curve
control_repeats = 40  # seeds with identical 3b and 4b backgrounds and no signal
max_epochs = 2  # upper limit of network training epochs
signal_size = 0.05  # share of the 4b weight in the data-driven SR
control_size = 0.10  # share of the 4b weight in the CR just below it
n_bootstrap = 200  # bootstrap replicates for the statistical error
alpha = 0.05  # test size for the false-positive rate and the power
seed = 5000  # first seed; the power curve uses seeds after the calibration ones
device = "cpu"  # the trainings are small, so the CPU is fastest
results_dir = "_build/results/hh4b"  # finished repeats stay here; reruns skip them
output_dir = "_build/outputs/05_hypothesis_test"  # figures and results.json go here

# %%
import logging
import time
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from srlib import hh4b, inference
from srlib.report import write_results
from srlib.simulation import ThreeTagModel

logging.basicConfig(level=logging.WARNING)
output = Path(output_dir)
output.mkdir(parents=True, exist_ok=True)
pd.set_option("display.precision", 3)
started = time.perf_counter()

base = hh4b.HH4bConfig(n_3b=n_3b, signal_ratio=0.0)
base = replace(
    base, network_training=replace(base.network_training, max_epochs=max_epochs)
)
search = {
    "signal_size": signal_size,
    "control_size": control_size,
    "methods": ("classifier", "smoothed", "flat"),
    "n_bootstrap": n_bootstrap,
    "device": device,
}
held_out = round(n_3b * (1 - base.gamma_fraction - base.smoothed_fraction))
print(f"4b events counted per repeat: about {held_out // 2}")

# %% [markdown]
# ## The model and its assumptions
#
# **Splits.** Each repeat simulates $n$ 3b and $n$ 4b events and splits them as
# the training chapter does: 75 % train the network ($\gamma$ and the
# representation $\zeta$), 6.25 % train the smoothed head ($\tilde\gamma$), and
# 18.75 % are held out. The held-out events are split at random into two
# halves. The *selection* half sets the score thresholds of the SR and the
# control region (CR) and trains the CR classifier. The *counting* half supplies
# the observed 4b count in the SR and the 3b events for the background estimate.
# No counted event helps to choose the SR, so under $H_0$ the count is a fresh
# Poisson draw given the region.
#
# **Regions.** Events are ranked by $\log\gamma - \log\tilde\gamma$. The SR
# contains the top `signal_size` of the selection half's 4b weight, and the CR the
# next `control_size`, just below it in the same ranking. The CR is cut into a
# lower and an upper half at its median score.
#
# **Background.** The expected 4b count in the SR is the CR's 4b count,
# transferred to the SR by the 3b events reweighted with a ratio $r$:
#
# $$\hat b = N_{4b}(\mathrm{CR})\,
#   \frac{\sum_{3b \in \mathrm{SR}} r(x)}{\sum_{3b \in \mathrm{CR}} r(x)}.$$
#
# Three choices of $r$ are compared:
#
# - `classifier`: a small network (two hidden layers of 16) trained on 4b
#   against 3b events in the selection half's CR, on the pooled representation
#   $\zeta$ (6 numbers per event). We chose $\zeta$ over the jets because it is
#   the summary that the network learned for telling 4b from 3b, and its low
#   dimension keeps a classifier trained on the small CR stable;
# - `smoothed`: $\tilde\gamma$ itself, which by construction blurs out a
#   localised signal;
# - `flat`: $r = 1$, a plain transfer factor, as a reference.
#
# The statistical error is a Poisson bootstrap over the counting half's 3b
# events and CR 4b events. It leaves out the variance of the trainings. The
# systematic error is the non-closure of the same transfer from the lower to the
# upper CR half, beyond the statistical error of that non-closure.
#
# **Test.** The SR count is $N \sim \text{Poisson}(b)$ with $b$ constrained by a
# Gaussian of mean $\hat b$ and sd $\sigma_b$ (statistical and systematic errors
# in quadrature), truncated at 0. The p-value is $P(N \ge n_{obs})$ averaged
# over that Gaussian (the Cousins-Highland p-value), and $Z = \Phi^{-1}(1-p)$.
#
# **Assumptions.** (1) The 3b sample contains no signal. (2) The ratio of the 4b
# to the 3b background, after reweighting by $r$, is the same in the SR as in
# the CR; this is what the transfer extrapolates. (3) The CR contains little
# signal; signal there inflates $\hat b$ and costs power. (4) The count is
# Poisson, which needs unit 4b weights. The data-driven SR strains assumption
# (2): it is chosen where $\gamma/\tilde\gamma$ is largest, so under $H_0$ it
# collects the events where the learned $\gamma$ is high, and the background
# 4b/3b ratio may be higher there than in the CR just below. (5) $\hat b$ is
# close enough to Gaussian, with an error that does not depend much on its own
# fluctuation; with a few tens of events in the SR this is only rough. The
# calibration below measures how far these assumptions fail.
#
# ## Calibration under $\epsilon = 0$

# %%
calibration_seeds = [seed + i for i in range(calibration_repeats)]
calibration = inference.run_search_study(
    [base], calibration_seeds, results_dir, **search
)
print(
    f"{calibration_repeats} repeats, {calibration['seconds'].mean():.1f} s each "
    "(from disk on a rerun)"
)
calibration.groupby(["region", "method"])[
    ["observed", "expected", "stat_error", "syst_error"]
].mean()

# %% [markdown]
# The table gives the mean observed count, the mean expected count and its mean
# errors over the repeats. By construction the SR and CR of a counting half hold
# about `signal_size` and `control_size` of its 4b events:

# %%
relative_stat = (calibration["stat_error"] / calibration["expected"]).groupby(
    calibration["region"]
)
print(
    f"data-driven SR: about {signal_size * held_out / 2:.0f} 4b events in the SR and "
    f"{control_size * held_out / 2:.0f} in the CR per counting half; mean relative "
    "statistical error of the expected count: "
    + ", ".join(
        f"{region} {value:.0%}" for region, value in relative_stat.mean().items()
    )
    + "."
)

# %% [markdown]
#
# ### Are the p-values uniform?


# %%
def calibration_table(table: pd.DataFrame) -> pd.DataFrame:
    """Return the KS test against U(0, 1), the FPR at alpha with its binomial
    error, the summed observed over the summed expected count with its standard
    error, and the mean and sd of the pulls."""
    rows = []
    for (region, method), group in table.groupby(["region", "method"]):
        p_values = group["p_value"].to_numpy()
        n = len(p_values)
        fpr = float(np.mean(p_values < alpha))
        # A ratio of sums, because the mean of per-repeat ratios is pulled above
        # 1 by the noise of the expected count in the denominator.
        ratio = group["observed"].sum() / group["expected"].sum()
        residual = group["observed"] - ratio * group["expected"]
        error = np.hypot(group["stat_error"], group["syst_error"])
        pull = (group["observed"] - group["expected"]) / np.sqrt(
            group["expected"] + error**2
        )
        rows.append(
            {
                "region": region,
                "method": method,
                "repeats": n,
                "KS statistic": stats.kstest(p_values, "uniform").statistic,
                "KS p-value": stats.kstest(p_values, "uniform").pvalue,
                "FPR": fpr,
                "FPR error": np.sqrt(alpha * (1 - alpha) / n),
                "(FPR - alpha) / error": (fpr - alpha)
                / np.sqrt(alpha * (1 - alpha) / n),
                "observed/expected": ratio,
                "its sem": residual.std(ddof=1) * np.sqrt(n) / group["expected"].sum(),
                "pull mean": pull.mean(),
                "pull sd": pull.std(ddof=1),
            }
        )
    return pd.DataFrame(rows)


calibration_summary = calibration_table(calibration)
calibration_summary

# %% [markdown]
# The FPR error is the binomial sd $\sqrt{\alpha(1-\alpha)/R}$ of a test that
# keeps its size, over $R$ repeats. A column "(FPR − α)/error" beyond ±2 marks a
# bias. "observed/expected" is the summed observed count over the summed
# expected count; above 1 means the background is underestimated.
# The pull is (observed − expected) / $\sqrt{\hat b + \sigma_b^2}$: its mean
# measures a bias in units of the stated error, and an sd above 1 means the
# stated error is too small.


# %%
def plot_p_value_ecdf(table: pd.DataFrame, ax: plt.Axes) -> plt.Axes:
    """Draw the empirical CDF of the p-values of each method against U(0, 1)."""
    for method, group in table.groupby("method"):
        p_values = np.sort(group["p_value"].to_numpy())
        ecdf = np.arange(1, len(p_values) + 1) / len(p_values)
        ax.step(p_values, ecdf, where="post", label=method)
    grid = np.linspace(0, 1, 101)
    band = 1.36 / np.sqrt(table.groupby("method").size().iloc[0])
    ax.plot(grid, grid, color="black", lw=1, label="uniform")
    ax.fill_between(
        grid, grid - band, grid + band, color="grey", alpha=0.2, label="KS 95 % band"
    )
    ax.axvline(alpha, color="grey", ls=":", lw=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("p-value")
    ax.set_ylabel("share of repeats with a smaller p-value")
    return ax


fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained", sharey=True)
for ax, (region, group) in zip(axes, calibration.groupby("region"), strict=True):
    plot_p_value_ecdf(group, ax)
    ax.set_title(f"{region} SR, $\\epsilon$ = 0, {calibration_repeats} repeats")
axes[0].legend(loc="lower right")
fig.savefig(output / "calibration_ecdf.png", dpi=120)
plt.show()

# %% [markdown]
# A calibrated test follows the diagonal. A curve above it at small p-values
# means too many false positives, and a curve below it means a conservative test.
# The grey band is the 95 % band of the KS test.
#
# ### Where a bias comes from
#
# With `flat` reweighting, observed over expected is the 4b/3b ratio of the
# background in the SR divided by that in the CR: a direct measure of how far
# assumption (2) fails. The other two methods correct it by their ratio. The
# figure shows these ratios per repeat, and the red diamond the ratio of the
# summed counts.

# %%
fig, ax = plt.subplots(figsize=(7.5, 4), layout="constrained")
labels, ratios, pooled = [], [], []
for (region, method), group in calibration.groupby(["region", "method"]):
    labels.append(f"{region}\n{method}")
    ratios.append((group["observed"] / group["expected"]).to_numpy())
    pooled.append(group["observed"].sum() / group["expected"].sum())
ax.boxplot(ratios, tick_labels=labels)
ax.plot(np.arange(1, len(pooled) + 1), pooled, "D", color="tab:red", label="sum / sum")
ax.legend(loc="upper right")
ax.axhline(1, color="black", lw=1)
ax.set_ylabel("observed / expected 4b count in the SR")
ax.set_title(r"$\epsilon$ = 0: how well the transfer closes in the SR")
fig.savefig(output / "calibration_closure.png", dpi=120)
plt.show()

closure = (
    calibration.assign(
        relative_syst=lambda t: t["syst_error"] / t["expected"],
        relative_stat=lambda t: t["stat_error"] / t["expected"],
    )
    .groupby(["region", "method"])
    .agg(
        closure_mean=("closure", "mean"),
        closure_sem=("closure", "sem"),
        closure_error_per_repeat=("closure_error", "mean"),
        relative_stat_error=("relative_stat", "mean"),
        relative_syst_error=("relative_syst", "mean"),
        syst_zero_share=("syst_error", lambda e: float(np.mean(e == 0))),
    )
)
closure

# %% [markdown]
# The boxes give the spread of observed over expected across repeats, with the
# mean as a triangle. The table gives the CR non-closure (upper over lower half,
# minus 1) that feeds the systematic error: its mean over repeats with its
# standard error, the bootstrap error of one repeat's non-closure, the mean
# relative errors of the estimate, and the share of repeats whose systematic
# error is zero.
#
# The printout below reads the calibration against three sources of bias. The
# FPR of a region is called inflated when it lies more than two binomial errors
# above $\alpha$, and the stated error too small when the pull sd exceeds 1 by
# more than two of its standard errors, $1/\sqrt{2(R-1)}$ for $R$ repeats.

# %%
by_key = calibration_summary.set_index(["region", "method"])
pull_sd_error = 1 / np.sqrt(2 * (calibration_repeats - 1))


def calibration_verdict(row: pd.Series) -> str:
    """Describe one region and method by the rules stated above."""
    fpr = "inflated FPR" if row["(FPR - alpha) / error"] > 2 else "FPR within 2 errors"
    pull = (
        "stated error too small"
        if row["pull sd"] - 1 > 2 * pull_sd_error
        else "stated error not too small"
    )
    return (
        f"FPR {row['FPR']:.3f} +- {row['FPR error']:.3f} "
        f"({row['(FPR - alpha) / error']:+.1f} errors, {fpr}), observed/expected "
        f"{row['observed/expected']:.3f} +- {row['its sem']:.3f}, pull sd "
        f"{row['pull sd']:.2f} +- {pull_sd_error:.2f} ({pull})"
    )


for (region, method), row in by_key.iterrows():
    print(f"{region} SR, {method}: {calibration_verdict(row)}.")

# %% [markdown]
# Three mechanisms can make the data-driven SR miss its size, and the lines above
# show how much each one weighs in this run.
#
# - **Errors too small for the data-driven SR.** With `flat` the transfer has no
#   trained part, so a pull sd above 1 there points to the ranking itself: each
#   trained ranking puts into its SR a background whose 4b/3b ratio differs from
#   the CR's by an amount that the bootstrap and the per-repeat closure do not
#   contain. An outside check (a script not kept in the repository, run on
#   2026-12-04 with the book's sizes then, $n = 10^4$ and two epochs) trained 30
#   repeats (seeds 5000 to 5029) and applied each one's SR and CR to one large
#   independent background sample of 60 000 3b and 60 000 4b events. The true
#   SR-to-CR double ratio $D = (N_{4b}/N_{3b})_{SR} / (N_{4b}/N_{3b})_{CR}$
#   averaged 1.054 ± 0.017, with an sd of 0.093 over repeats, of which the
#   large sample's own counts explain only 0.033. The simulator and the network
#   have changed since, so these numbers describe the mechanism, not this run.
# - **Selection on $\tilde\gamma$.** The SR is chosen where
#   $\gamma/\tilde\gamma$ is large, which favours events where $\tilde\gamma$ is
#   low, so reweighting by $\tilde\gamma$ predicts too few SR events by
#   construction: `smoothed` should show observed/expected above 1.
# - **Training variance.** The CR classifier is trained on the selection half's
#   CR, and the bootstrap leaves out the variance of that training, so
#   `classifier` can show a pull sd above that of `flat`.
#
# The per-repeat CR closure cannot catch these effects when one repeat measures
# the non-closure with an error as large as the effect. The table above gives
# that error and the share of repeats whose systematic term is zero.

# %% [markdown]
# ### A control: identical 3b and 4b backgrounds
#
# If the bias comes from the 3b/4b difference that the ranking selects, it
# should vanish when the simulator draws the 3b background from the same
# distribution as the 4b one (no mass or rapidity shift and no light jet). The
# same pipeline runs on such samples below.

# %%
identical = ThreeTagModel(
    mass_exponent_shift=0.0, rapidity_sigma_shift=0.0, n_light_jets=0
)
control_seeds = [seed + 10_000 + i for i in range(control_repeats)]
control = inference.run_search_study(
    [base], control_seeds, results_dir, three_tag=identical, **search
)
control_summary = calibration_table(control)
control_summary

# %% [markdown]
# The control is read with the same rules. A control FPR as high as the
# calibration's would mean that the 3b/4b difference is not the source of the
# extra variance, and one at $\alpha$ would mean that it is. With few repeats the
# two cases may be indistinguishable, and the last printed line states which.

# %%
control_key = control_summary.set_index(["region", "method"])
control_pull_sd_error = 1 / np.sqrt(2 * (control_repeats - 1))
for method in ("classifier", "smoothed", "flat"):
    row = control_key.loc[("data-driven", method)]
    print(
        f"identical backgrounds, data-driven SR, {method}: FPR {row['FPR']:.3f} +- "
        f"{row['FPR error']:.3f} ({row['(FPR - alpha) / error']:+.1f} errors), "
        f"observed/expected {row['observed/expected']:.3f} +- {row['its sem']:.3f}, "
        f"pull sd {row['pull sd']:.2f} +- {control_pull_sd_error:.2f}"
    )
flat_control = control_key.loc[("data-driven", "flat")]
flat_calibration = by_key.loc[("data-driven", "flat")]
fpr_difference = flat_calibration["FPR"] - flat_control["FPR"]
fpr_difference_error = np.hypot(
    flat_calibration["FPR error"], flat_control["FPR error"]
)
print(
    f"With flat, the FPR falls by {fpr_difference:+.3f} +- {fpr_difference_error:.3f} "
    "when the backgrounds are identical: "
    + (
        "the control separates the two"
        if abs(fpr_difference) > 2 * fpr_difference_error
        else "within two errors, so the control neither confirms nor rules out the "
        "3b/4b difference as the source of the extra variance"
    )
    + "."
)

# %%
for region in ("data-driven", "mass window"):
    for method in ("classifier", "smoothed", "flat"):
        row = by_key.loc[(region, method)]
        print(
            f"{region:12s} {method:10s}: KS p = {row['KS p-value']:.3f}, "
            f"FPR {row['FPR']:.3f} +- {row['FPR error']:.3f}"
        )

# %% [markdown]
# With $R$ repeats the binomial error of the FPR is
# $\sqrt{\alpha(1 - \alpha) / R}$, printed beside each FPR. A bias of the summed
# ratio observed/expected is seen more sharply, because every repeat adds to it.
#
# ## Power at fixed $n$

# %%
power_configs = [replace(base, signal_ratio=eps) for eps in power_signal_ratios]
power_seeds = [seed + calibration_repeats + i for i in range(power_repeats)]
power = inference.run_search_study(power_configs, power_seeds, results_dir, **search)
power = pd.concat([calibration, power], ignore_index=True)
power_table = (
    power.groupby(["region", "method", "signal_ratio"])
    .agg(
        power=("p_value", lambda p: float(np.mean(p < alpha))),
        repeats=("p_value", "size"),
        signal_in_sr=("signal_in_sr", "mean"),
        signal_counted=("signal_counted", "mean"),
        expected=("expected", "mean"),
        median_z=("significance", "median"),
    )
    .reset_index()
)
power_table["power error"] = np.sqrt(
    power_table["power"] * (1 - power_table["power"]) / power_table["repeats"]
).clip(lower=1 / power_table["repeats"])
power_table[power_table["method"] == "classifier"]

# %% [markdown]
# Power is the share of repeats with $p < \alpha$; at $\epsilon = 0$ it is the
# FPR. "signal_in_sr" is the mean number of true signal events in the counted SR,
# out of "signal_counted" in the whole counting half. Their ratio is what the SR
# choice achieves, and "expected" is the background that this signal competes
# with.

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 4), layout="constrained", sharey=True)
for ax, method in zip(axes, ("classifier", "smoothed", "flat"), strict=True):
    for region, group in power_table[power_table["method"] == method].groupby("region"):
        ax.errorbar(
            group["signal_ratio"],
            group["power"],
            yerr=group["power error"],
            marker="o",
            capsize=3,
            label=f"{region} SR",
        )
    ax.axhline(alpha, color="grey", ls=":", lw=1, label=rf"$\alpha$ = {alpha:g}")
    ax.set_xlabel(r"signal ratio $\epsilon$")
    ax.set_title(f"background by {method} ratio")
    ax.set_ylim(-0.02, 1.02)
axes[0].set_ylabel(rf"power: share of repeats with p < {alpha:g}")
axes[0].legend(loc="upper left")
fig.suptitle(f"n = {n_3b:,}, {power_repeats} repeats per $\\epsilon$ > 0")
fig.savefig(output / "power_curve.png", dpi=120)
plt.show()

# %% [markdown]
# Each panel puts the data-driven SR beside the mass-window baseline for one
# background method. The error bars are binomial (at least $1/R$ where the
# power is 0 or 1).

# %%
signal_share = power[power["signal_ratio"] > 0].assign(
    share=lambda t: t["signal_in_sr"] / t["signal_counted"]
)
signal_share = signal_share[signal_share["method"] == "flat"]
shares = signal_share.groupby(["region", "signal_ratio"])["share"].agg(["mean", "sem"])
shares

# %% [markdown]
# The table gives the share of the counted signal that lands in each SR, and it
# explains the power curve: a region blind to the signal holds `signal_size` of
# it, and an SR that holds no more cannot reject $H_0$ more often than its FPR.

# %%
flat_power = power_table[power_table["method"] == "flat"].set_index(
    ["region", "signal_ratio"]
)
for (region, eps), row in shares.iterrows():
    beyond_blind = row["mean"] - signal_size > 2 * row["sem"]
    print(
        f"{region} SR at epsilon = {eps:g}: {row['mean']:.1%} +- {row['sem']:.1%} of "
        f"the counted signal ("
        + ("more than" if beyond_blind else "no more than")
        + f" the {signal_size:.0%} of a blind region), power with flat "
        f"{flat_power.loc[(region, eps), 'power']:.2f} +- "
        f"{flat_power.loc[(region, eps), 'power error']:.2f}"
    )

# %% [markdown]
# Where the data-driven SR holds no more signal than a blind region, the network
# trained at these sizes has not learned the signal. An outside check (a script
# not kept in the repository, run on 2026-12-04 with the simulator and network of
# that day) at $n = 4 \times 10^4$, six epochs and $\epsilon = 0.1$ (4 repeats)
# raised the data-driven SR's signal share to 23 %, against 63 % for the mass
# window. The training chapter measures the SR at larger $n$.

# %%
seconds = time.perf_counter() - started
flat_dd = by_key.loc[("data-driven", "flat")]
records = {
    "n_3b": n_3b,
    "max_epochs": max_epochs,
    "calibration_repeats": calibration_repeats,
    "power_repeats": power_repeats,
    "alpha": alpha,
    "signal_size": signal_size,
    "control_size": control_size,
    "counted_4b_per_repeat": held_out // 2,
    "mean_observed_data_driven_eps0": float(
        calibration.loc[calibration["region"] == "data-driven", "observed"].mean()
    ),
    "calibration": calibration_summary.to_dict(orient="records"),
    "identical_backgrounds": control_summary.to_dict(orient="records"),
    "closure": closure.reset_index().to_dict(orient="records"),
    "power": power_table.to_dict(orient="records"),
    "signal_share": shares.reset_index().to_dict(orient="records"),
    "data_driven_flat_ratio": float(flat_dd["observed/expected"]),
    "seconds": seconds,
}
write_results(records, output)
print(f"chapter ran in {seconds:.0f} s (repeats read from disk are not timed)")

# %% [markdown]
# ## Summary
#
# The test counts 4b events in the SR of a counting half that took no part in
# choosing the SR. It compares them with the CR's 4b count transferred to the SR
# by reweighted 3b events, under a Poisson model with a Gaussian-constrained
# background. The lines below are computed from this run with the rules stated
# above.

# %%
lines = []
for region in ("mass window", "data-driven"):
    keeps = [
        method
        for method in ("classifier", "smoothed", "flat")
        if by_key.loc[(region, method), "(FPR - alpha) / error"] <= 2
    ]
    lines.append(
        f"{region} SR at epsilon = 0 over {calibration_repeats} repeats: FPR "
        + ", ".join(
            f"{by_key.loc[(region, m), 'FPR']:.3f} ({m})"
            for m in ("classifier", "smoothed", "flat")
        )
        + f" against {alpha:g} +- {by_key.loc[(region, 'flat'), 'FPR error']:.3f}; "
        + (
            "no method's FPR lies more than two errors above alpha"
            if len(keeps) == 3
            else "FPR more than two errors above alpha with: "
            + ", ".join(m for m in ("classifier", "smoothed", "flat") if m not in keeps)
        )
        + "; pull sd "
        + ", ".join(
            f"{by_key.loc[(region, m), 'pull sd']:.2f} ({m})"
            for m in ("classifier", "smoothed", "flat")
        )
        + "."
    )
lines.append(
    "Observed/expected with smoothed in the data-driven SR: "
    f"{by_key.loc[('data-driven', 'smoothed'), 'observed/expected']:.3f} +- "
    f"{by_key.loc[('data-driven', 'smoothed'), 'its sem']:.3f}."
)
largest_eps = max(power_signal_ratios)
for region in ("data-driven", "mass window"):
    lines.append(
        f"{region} SR: signal share "
        + ", ".join(
            f"{shares.loc[(region, eps), 'mean']:.0%}" for eps in power_signal_ratios
        )
        + f" at epsilon = {', '.join(f'{e:g}' for e in power_signal_ratios)}; power "
        f"with flat at epsilon = {largest_eps:g}: "
        f"{flat_power.loc[(region, largest_eps), 'power']:.2f}."
    )
lines.append(
    f"Sizes: n = {n_3b:,}, max_epochs = {max_epochs}, about {held_out // 2} "
    f"counted 4b events per repeat; the chapter ran in {seconds:.0f} s "
    "(repeats read from disk are not timed)."
)
print("\n".join(f"- {line}" for line in lines))

# %% [markdown]
# Remedies, not built here: a systematic term for the SR-to-CR ratio of the
# background that does not rest on one repeat's closure (measured on a large
# independent background sample, as in the outside check above), a CR classifier
# retrained inside the bootstrap, and a larger CR. `smoothed` should not be used
# with an SR chosen on $\tilde\gamma$.
#
# **Limits.** The bootstrap error leaves out the variance of the trainings, and
# the systematic error from a small CR is itself noisy. The simulator and the
# network of this repository still change, so the outside checks quoted above
# need not match this run. To rerun at larger sizes:
#
# ```
# make notebook NB=05_hypothesis_test \
#     PARAMS=notebooks/params/paper/05_hypothesis_test.yaml
# ```
