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
# # HH to 4b: how the signal region depends on the noise scale $\eta$
#
# The smoothed ratio $\tilde\gamma$ is trained on the representation $\zeta$ plus
# Gaussian noise of sd $\eta$ times the range of each coordinate. Yi, Alison and
# Kuusela (arXiv:2409.06960, Figure 3, right) show concentration curves for
# $\eta \in \{0.01, 0.1, 1\}$ and name two failure modes: with too little noise
# $\tilde\gamma \approx \gamma$ and the score $\log\gamma - \log\tilde\gamma$ is
# noise; with too much, $\tilde\gamma$ also flattens the smooth 3b/4b difference
# and the SR follows $\gamma$ alone.
#
# Aims:
#
# - measure the concentration curves on the paper's grid and on a finer one, as
#   mean ± sd over repeats, reusing the networks of the previous chapter so that
#   only the small $\tilde\gamma$ head is retrained per $\eta$;
# - measure both failure modes with numbers that need no truth labels;
# - choose $\eta$ from the data alone, by a held-out criterion on $\tilde\gamma$,
#   and compare that choice with the $\eta$ that the truth labels say is best.

# %% tags=["parameters"]
n_3b = 100_000  # 3b events per repeat, as in the previous chapter
signal_ratios = [0.02, 0.05, 0.1]  # signal ratios epsilon of the repeats
eta = 0.1  # noise scale the repeats were trained with (part of their cache key)
etas = [0.003, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0]  # noise scales swept
repeats = 3  # repeats (seeds seed, seed + 1, ...) per signal ratio
seed = 0  # first seed
max_epochs = 20  # network training epochs of the repeats (part of their cache key)
width = 6  # channel width of the network
device = "auto"  # "auto" uses CUDA when present, else the CPU
progress = False  # show training progress bars
results_dir = "_build/results/hh4b"  # trained repeats, shared with other chapters
output_dir = "_build/outputs/03_eta_sensitivity"  # figures and results.json go here

# %%
import logging
import time
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from srlib import hh4b, plots, sensitivity
from srlib.region import default_region_sizes
from srlib.report import write_results

logging.basicConfig(level=logging.WARNING)
output = Path(output_dir)
output.mkdir(parents=True, exist_ok=True)
pd.set_option("display.precision", 3)

base = hh4b.HH4bConfig(n_3b=n_3b, eta=eta, width=width)
base = replace(
    base, network_training=replace(base.network_training, max_epochs=max_epochs)
)
configs = {eps: replace(base, signal_ratio=eps) for eps in signal_ratios}
seeds = [seed + i for i in range(repeats)]
reported_sizes = (0.01, 0.05, 0.1, 0.2)
paper_etas = [e for e in (0.01, 0.1, 1.0) if e in etas]

# %% [markdown]
# ## The repeats and the sweep
#
# The repeats are those of the previous chapter (same configurations and seeds);
# `run_hh4b_study` reads them from `results_dir` and trains only those that are
# missing. For each repeat, `sensitivity.sweep_eta` rebuilds the events, loads
# the trained network and retrains the $\tilde\gamma$ head at every $\eta$ with
# the repeat's head seed, so the curves differ only through $\eta$.

# %%
started = time.perf_counter()
table = hh4b.run_hh4b_study(
    configs.values(), seeds, results_dir, device=device, progress=progress
)
study_seconds = time.perf_counter() - started

started = time.perf_counter()
sweeps = {
    (eps, s): sensitivity.sweep_eta(
        configs[eps], s, results_dir, etas, device=device, progress=progress
    )
    for eps in signal_ratios
    for s in seeds
}
sweep_seconds = time.perf_counter() - started
print(
    f"repeats: {study_seconds:.0f} s (0 when read from disk); sweep of "
    f"{len(etas)} noise scales over {len(sweeps)} repeats: {sweep_seconds:.0f} s"
)

# %% [markdown]
# The sweep time above counts simulation of the events, the representation and
# one small head per $\eta$, unless the sweep was read back from `results_dir`.
#
# ## Concentration curves on the paper's grid

# %%
sizes = default_region_sizes()
curves = {
    key: dict(zip(sweep.etas, sweep.curves(sizes), strict=True))
    for key, sweep in sweeps.items()
}
gamma_only = {
    key: hh4b.curves_from_table(
        table[(table["signal_ratio"] == key[0]) & (table["seed"] == key[1])], "gamma"
    )[0]
    for key in sweeps
}

fig, axes = plt.subplots(
    1,
    len(signal_ratios),
    figsize=(4.6 * len(signal_ratios), 4.3),
    sharey=True,
    layout="constrained",
)
for ax, eps in zip(np.atleast_1d(axes), signal_ratios, strict=True):
    drawn = {
        rf"$\eta$ = {e:g}": [curves[(eps, s)][e] for s in seeds] for e in paper_etas
    }
    drawn[r"$\gamma$ alone"] = [gamma_only[(eps, s)] for s in seeds]
    plots.plot_concentration_curves(drawn, ax=ax, log_x=True)
    ax.set_title(rf"$\epsilon$ = {eps:g}, n = {n_3b:,}")
fig.savefig(output / "figure3_right.png", dpi=120)
plt.show()

# %% [markdown]
# Each panel shows the mean over the repeats with a ±1 sd band, on a log axis
# that enlarges the small SRs where a search is most sensitive. The dotted
# diagonal is a region blind to the signal.
#
# ## Signal share against $\eta$

# %%
rows = []
for (eps, s), by_eta in curves.items():
    for e, curve in by_eta.items():
        for size in reported_sizes:
            rows.append(
                {
                    "signal_ratio": eps,
                    "seed": s,
                    "eta": e,
                    "P4b(SR)": size,
                    "S(SR)": curve.signal_share_at(size),
                }
            )
    for size in reported_sizes:
        rows.append(
            {
                "signal_ratio": eps,
                "seed": s,
                "eta": np.inf,
                "P4b(SR)": size,
                "S(SR)": gamma_only[(eps, s)].signal_share_at(size),
            }
        )
shares = pd.DataFrame(rows)
summary = (
    shares.groupby(["signal_ratio", "eta", "P4b(SR)"])["S(SR)"]
    .agg(["mean", "std"])
    .reset_index()
)

fig, axes = plt.subplots(
    1,
    len(signal_ratios),
    figsize=(4.6 * len(signal_ratios), 4.0),
    sharey=True,
    layout="constrained",
)
for ax, eps in zip(np.atleast_1d(axes), signal_ratios, strict=True):
    for size in (0.05, 0.1, 0.2):
        rows_eps = summary[
            (summary["signal_ratio"] == eps)
            & (summary["P4b(SR)"] == size)
            & np.isfinite(summary["eta"])
        ]
        line = ax.errorbar(
            rows_eps["eta"],
            rows_eps["mean"],
            yerr=rows_eps["std"],
            marker="o",
            capsize=3,
            label=f"SR of {size:.0%}",
        )
        reference = summary[
            (summary["signal_ratio"] == eps)
            & (summary["P4b(SR)"] == size)
            & ~np.isfinite(summary["eta"])
        ]["mean"].iloc[0]
        ax.axhline(reference, color=line.lines[0].get_color(), linestyle="--", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel(r"noise scale $\eta$")
    ax.set_title(rf"$\epsilon$ = {eps:g}")
np.atleast_1d(axes)[0].set_ylabel(r"$S(\mathcal{X}_s)$, mean ± sd over repeats")
np.atleast_1d(axes)[0].legend(fontsize="small", title=r"dashed: $\gamma$ alone")
fig.savefig(output / "share_vs_eta.png", dpi=120)
plt.show()

summary.pivot_table(
    index=["signal_ratio", "eta"], columns="P4b(SR)", values="mean"
).rename(index={np.inf: "gamma alone"})

# %% [markdown]
# The points are the signal share of SRs holding 5, 10 and 20 % of the 4b events
# at each $\eta$; the dashed line of the same colour is the region ranked by
# $\gamma$ alone, the limit $\eta \to \infty$ where $\tilde\gamma$ is flat. The
# table lists the means at 1, 5, 10 and 20 % (the row `gamma alone` is that
# limit).
#
# ## The two failure modes, without truth labels
#
# Three numbers per $\eta$, averaged over all repeats: the correlation of
# $\log\gamma$ with $\log\tilde\gamma$ on the held-out 4b events (near 1 when
# $\tilde\gamma \approx \gamma$), the sd of $\log\tilde\gamma$ over that of
# $\log\gamma$ (near 0 when $\tilde\gamma$ is flattened), and the share of the
# 5 % SR that the 5 % region of $\gamma$ alone also holds.

# %%
diagnostics = pd.concat(
    [
        sensitivity.smoothing_diagnostics(sweep, 0.05).assign(
            signal_ratio=key[0], seed=key[1]
        )
        for key, sweep in sweeps.items()
    ],
    ignore_index=True,
)
diagnostic_means = diagnostics.groupby("eta")[
    ["corr(log gamma, log gamma~)", "sd ratio", "overlap with gamma-only SR"]
].mean()
diagnostic_means

# %%
smallest, largest = min(etas), max(etas)
low, high = diagnostic_means.loc[smallest], diagnostic_means.loc[largest]
print(
    f"eta = {smallest:g}: corr(log gamma, log gamma~) = "
    f"{low['corr(log gamma, log gamma~)']:.2f}, sd ratio = {low['sd ratio']:.2f}, "
    f"overlap with the gamma-only SR = {low['overlap with gamma-only SR']:.0%}."
)
print(
    f"eta = {largest:g}: corr = {high['corr(log gamma, log gamma~)']:.2f}, "
    f"sd ratio = {high['sd ratio']:.2f}, overlap with the gamma-only SR = "
    f"{high['overlap with gamma-only SR']:.0%}."
)

# %% [markdown]
# The printed lines give both ends of the grid. A correlation near 1 with an sd
# ratio near 1 at small $\eta$ is the first failure mode ($\tilde\gamma$ copies
# $\gamma$); an sd ratio near 0 with an overlap near 100 % at large $\eta$ is the
# second (the SR is the region of $\gamma$ alone).
#
# ## Choosing $\eta$ from the data
#
# The label-free rule reads the held-out cross-entropy of $\tilde\gamma$, used as a
# 4b-versus-3b classifier on clean $\zeta$, on the held-out 3b and 4b events. It
# takes the largest $\eta$ whose cross-entropy lies within one paired standard
# error of the lowest: the most smoothing that the held-out events do not reject.
# The truth-based best $\eta$ is the grid point with the highest signal share at
# $P_{4b}(\mathcal X_s) = 5\,\%$, per repeat.

# %%
choice_rows = []
cross_entropy_rows = []
for (eps, s), sweep in sweeps.items():
    values, errors = sweep.cross_entropy()
    chosen = sensitivity.choose_eta_one_se(sweep.etas, values, errors)
    at_5 = np.array([c.signal_share_at(0.05) for c in sweep.curves(sizes)])
    best = float(sweep.etas[np.argmax(at_5)])
    index = {float(e): k for k, e in enumerate(sweep.etas)}
    choice_rows.append(
        {
            "signal_ratio": eps,
            "seed": s,
            "best eta (truth)": best,
            "chosen eta (no labels)": chosen,
            "S at best": at_5.max(),
            "S at chosen": at_5[index[chosen]],
            f"S at eta = {eta:g}": at_5[index[eta]] if eta in index else np.nan,
            "S gamma alone": gamma_only[(eps, s)].signal_share_at(0.05),
        }
    )
    for e, value, error in zip(sweep.etas, values, errors, strict=True):
        cross_entropy_rows.append(
            {
                "signal_ratio": eps,
                "seed": s,
                "eta": e,
                "excess": value - values.min(),
                "se": error,
            }
        )
choices = pd.DataFrame(choice_rows)
cross_entropies = pd.DataFrame(cross_entropy_rows)
choices

# %%
fig, ax = plt.subplots(figsize=(6.5, 4.2), layout="constrained")
for (eps, s), group in cross_entropies.groupby(["signal_ratio", "seed"]):
    color = f"C{signal_ratios.index(eps)}"
    ax.plot(
        group["eta"],
        1e3 * group["excess"],
        marker="o",
        color=color,
        alpha=0.8,
        label=rf"$\epsilon$ = {eps:g}" if s == seeds[0] else None,
    )
ax.set_xscale("log")
ax.set_yscale("symlog", linthresh=0.01)
ax.set_ylim(bottom=0)
ax.set_xlabel(r"noise scale $\eta$")
ax.set_ylabel(r"held-out cross-entropy $-$ lowest (mnat)")
ax.set_title(r"held-out fit of $\tilde\gamma$, one line per repeat")
ax.legend(fontsize="small")
fig.savefig(output / "held_out_cross_entropy.png", dpi=120)
plt.show()

# %%
lowest_cross_entropy = [
    float(sweep.cross_entropy()[0].min()) for sweep in sweeps.values()
]
print(
    "The lowest held-out cross-entropy per repeat lies between "
    f"{min(lowest_cross_entropy):.4f} and {max(lowest_cross_entropy):.4f} nat, "
    f"against log 2 = {np.log(2):.4f} nat for a classifier that cannot tell 3b "
    "from 4b; the largest excess over the lowest value on the grid is "
    f"{1e3 * cross_entropies['excess'].max():.2f} mnat."
)

# %% [markdown]
# The rule works with differences measured on the same events, so their paired
# standard error, not the spread between repeats, decides.


# %%
def log_spread(values: pd.Series) -> tuple[float, float]:
    """Return the geometric mean and the sd of log10 over repeats."""
    logs = np.log10(values.to_numpy())
    return float(10 ** logs.mean()), float(logs.std(ddof=1)) if len(logs) > 1 else 0.0


choice_summary = []
for eps, group in choices.groupby("signal_ratio"):
    best_mean, best_sd = log_spread(group["best eta (truth)"])
    chosen_mean, chosen_sd = log_spread(group["chosen eta (no labels)"])
    mean_curve = summary[
        (summary["signal_ratio"] == eps)
        & (summary["P4b(SR)"] == 0.05)
        & np.isfinite(summary["eta"])
    ].set_index("eta")["mean"]
    choice_summary.append(
        {
            "signal_ratio": eps,
            "best eta of the mean": float(mean_curve.idxmax()),
            "best eta (geo. mean)": best_mean,
            "best eta sd(log10)": best_sd,
            "chosen eta (geo. mean)": chosen_mean,
            "chosen eta sd(log10)": chosen_sd,
            "S at best (mean)": group["S at best"].mean(),
            "S at chosen (mean)": group["S at chosen"].mean(),
            "S at chosen (sd)": group["S at chosen"].std(ddof=1),
            "S gamma alone (mean)": group["S gamma alone"].mean(),
        }
    )
choice_summary = pd.DataFrame(choice_summary)
choice_summary

# %%
loss = choices["S at best"] - choices["S at chosen"]
same_point = float(
    np.mean(choices["best eta (truth)"] == choices["chosen eta (no labels)"])
)
print(
    f"Over {len(choices)} repeats the label-free choice lands on the truth-based best "
    f"grid point in {same_point:.0%} of them; it gives up {loss.mean():.3f} "
    f"(max {loss.max():.3f}) of signal share at P4b = 5 % against that best."
)
print(
    "The truth-based best itself is optimistic: it picks the maximum of "
    f"{len(etas)} noisy values per repeat."
)

# %% [markdown]
# The column "best eta of the mean" is the grid point with the highest signal
# share at 5 % averaged over the repeats, which is less noisy than the per-repeat
# best.
#
# The "best" $\eta$ is chosen on the same events on which its signal share is
# measured, so it is biased upward by the noise between grid points; the
# label-free choice is not. The gap between the two is therefore an upper bound
# on what the rule loses.

# %% [markdown]
# ## Does smoothing help at these sizes?
#
# The paired gain of the SR at the trained $\eta$ over $\gamma$ alone, in signal
# share at 5 %, per repeat and then as mean ± sd over the repeats of each
# $\epsilon$. The verdict rule: smoothing helps (or hurts) when the mean gain lies
# more than two standard errors (sd over $\sqrt{\text{repeats}}$) above (or
# below) zero; otherwise the repeats cannot tell.

# %%
choices["gain over gamma alone"] = (
    choices[f"S at eta = {eta:g}"] - choices["S gamma alone"]
)
gains = choices.groupby("signal_ratio")["gain over gamma alone"].agg(
    ["mean", "std", "count"]
)
gains["se"] = gains["std"] / np.sqrt(gains["count"])
gains["verdict"] = np.where(
    gains["mean"] > 2 * gains["se"],
    "helps",
    np.where(gains["mean"] < -2 * gains["se"], "hurts", "no clear effect"),
)
shares_at_5 = choices.groupby("signal_ratio")[
    [f"S at eta = {eta:g}", "S gamma alone"]
].mean()
for eps, row in gains.iterrows():
    print(
        f"epsilon = {eps:g}: S(5 %) at eta = {eta:g} is "
        f"{shares_at_5.loc[eps, f'S at eta = {eta:g}']:.1%} against "
        f"{shares_at_5.loc[eps, 'S gamma alone']:.1%} for gamma alone, a paired gain "
        f"of {row['mean']:+.3f} +- {row['std']:.3f} (sd): smoothing {row['verdict']}."
    )

# %%
records = {
    "n_3b": n_3b,
    "eta_trained": eta,
    "etas": list(map(float, etas)),
    "repeats": repeats,
    "sweep_seconds": sweep_seconds,
    "shares": summary.replace({np.inf: -1.0}).to_dict(orient="records"),
    "choices": choices.to_dict(orient="records"),
    "choice_summary": choice_summary.to_dict(orient="records"),
    "diagnostics": diagnostic_means.reset_index().to_dict(orient="records"),
    "fraction_chosen_equals_best": same_point,
    "mean_share_loss_of_choice": float(loss.mean()),
    "gain_over_gamma_alone": gains.reset_index().to_dict(orient="records"),
}
write_results(records, output)

# %% [markdown]
# ## Summary
#
# Every line below is computed from this run. The label-free rule keeps up
# with the truth-based best at an $\epsilon$ when its mean loss of signal
# share at 5 % lies within two standard errors of zero, and falls short
# otherwise.

# %%
lines = []
for eps, row in gains.iterrows():
    lines.append(
        f"Smoothing at epsilon = {eps:g}: S(5 %) {shares_at_5.loc[eps].iloc[0]:.1%} at "
        f"eta = {eta:g} against {shares_at_5.loc[eps, 'S gamma alone']:.1%} for gamma "
        f"alone, paired gain {row['mean']:+.3f} +- {row['std']:.3f}: {row['verdict']}."
    )
lines.append(
    "Best eta of the mean curve at P4b = 5 %: "
    + ", ".join(
        f"{r['best eta of the mean']:g} (epsilon = {r['signal_ratio']:g})"
        for _, r in choice_summary.iterrows()
    )
    + "; the per-repeat best scatters with sd of log10(eta) "
    + ", ".join(f"{v:.2f}" for v in choice_summary["best eta sd(log10)"])
    + "."
)
loss_by_eps = choices.assign(loss=loss).groupby("signal_ratio")["loss"]
falls_short = []
for eps, group in loss_by_eps:
    se = group.std(ddof=1) / np.sqrt(len(group)) if len(group) > 1 else 0.0
    row = choice_summary.set_index("signal_ratio").loc[eps]
    verdict = "falls short" if group.mean() > 2 * se else "keeps up"
    if verdict == "falls short":
        falls_short.append(eps)
    lines.append(
        f"Label-free eta at epsilon = {eps:g}: geometric mean "
        f"{row['chosen eta (geo. mean)']:.3g}, S(5 %) {row['S at chosen (mean)']:.1%} "
        f"against {row['S at best (mean)']:.1%} at the per-repeat best: {verdict}."
    )
lines.append(
    f"The label-free choice equals the per-repeat best in "
    f"{round(same_point * len(choices))} of {len(choices)} repeats and loses "
    f"{loss.mean():.3f} of signal share at 5 % on average."
)
low_row, high_row = diagnostic_means.loc[smallest], diagnostic_means.loc[largest]
lines.append(
    f"Too little noise (eta = {smallest:g}): corr(log gamma, log gamma~) "
    f"{low_row['corr(log gamma, log gamma~)']:.2f}, sd ratio {low_row['sd ratio']:.2f}."
)
lines.append(
    f"Too much noise (eta = {largest:g}): sd ratio {high_row['sd ratio']:.2f}, "
    f"overlap with the SR of gamma alone {high_row['overlap with gamma-only SR']:.0%}."
)
for eps in signal_ratios:
    at_5_eps = summary[
        (summary["signal_ratio"] == eps) & (summary["P4b(SR)"] == 0.05)
    ].set_index("eta")["mean"]
    lines.append(
        f"S(5 %) at epsilon = {eps:g}: {at_5_eps.loc[smallest]:.1%} at eta = "
        f"{smallest:g}, {at_5_eps.loc[eta]:.1%} at {eta:g}, "
        f"{at_5_eps.loc[largest]:.1%} at {largest:g}, "
        f"{at_5_eps.loc[np.inf]:.1%} for gamma alone."
    )
print("\n".join(f"- {line}" for line in lines))
if falls_short and max(falls_short) == max(signal_ratios):
    print(
        "\nThe rule falls short at the largest epsilon. The held-out fit rewards a "
        "gamma~ that also fits the signal bump, and the larger the signal's part of "
        "the 3b/4b difference, the more the rule is pulled to small eta, into the "
        "first failure mode. A label-free rule that does not reward fitting the "
        "signal remains to be found."
    )

# %% [markdown]
# The `eta` in the parameters is the noise scale the repeats were trained with;
# it is part of their cache key, so the sweep reuses the networks of the previous
# chapter only when `eta`, `n_3b`, `width` and `max_epochs` match its run.
