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
# # Results: our numbers beside the paper's claims
#
# This page reads the `results.json` that each chapter wrote and sets what we
# measured beside what Yi, Alison and Kuusela (arXiv:2409.06960) claim, point by
# point. Every number below comes from a chapter's run; a chapter that has not
# run shows as "not run". The sizes are those of each chapter's run (the book uses
# $n = 10^5$ and 3 repeats where the paper uses up to $10^6$ and 10 repeats), so
# a disagreement can come from the smaller samples; the text says where.

# %% tags=["parameters"]
chapters_dir = "_build/outputs"  # folder holding NN_name/results.json per chapter
output_dir = "_build/outputs/06_results"  # figure and results.json of this page

# %%
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

output = Path(output_dir)
output.mkdir(parents=True, exist_ok=True)
pd.set_option("display.max_colwidth", None)
pd.set_option("display.precision", 3)


def load(stem: str) -> dict | None:
    """Return a chapter's results, or None when it has not run."""
    path = Path(chapters_dir) / stem / "results.json"
    return json.loads(path.read_text()) if path.exists() else None


toy = load("01_toy_gaussian")
training = load("02_hh4b_training")
sensitivity = load("03_eta_sensitivity")
comparison = load("04_baseline_comparison")
available = {
    "01_toy_gaussian": toy is not None,
    "02_hh4b_training": training is not None,
    "03_eta_sensitivity": sensitivity is not None,
    "04_baseline_comparison": comparison is not None,
}
available

# %%
claims: list[dict] = []


def claim(point: str, paper: str, ours: str, verdict: str) -> None:
    claims.append({"point": point, "paper": paper, "ours": ours, "verdict": verdict})


def not_run(point: str, paper: str, stem: str) -> None:
    claim(point, paper, f"not run ({stem} has no results.json)", "not run")


# %% [markdown]
# ## The toy of Figure 2

# %%
paper = "the largest gamma misses the signal at zeta = 7; gamma/gamma~ peaks on it"
if toy is None:
    not_run("Figure 2 (toy)", paper, "01_toy_gaussian")
else:
    shares = toy["signal_share_mean"]
    error = abs(toy["learned_peak_mean"] - 7.0)
    claim(
        "Figure 2 (toy)",
        paper,
        f"learned peak {toy['learned_peak_mean']:.2f} +- {toy['learned_peak_sd']:.2f}"
        f" (exact {toy['exact_peak']:.2f}); S at 5 %: gamma/gamma~ "
        f"{shares['signal_share_5pct']:.2f}, gamma alone "
        f"{shares['gamma_only_signal_share_5pct']:.2f}",
        "agrees"
        if error < 0.5
        and shares["signal_share_5pct"] > shares["gamma_only_signal_share_5pct"]
        else "differs",
    )

# %% [markdown]
# ## Figure 3, left and centre: signal ratio and sample size


# %%
def share_at(rows: list[dict], size: float, **match) -> float:
    """Return the mean signal share of the one row with this size and labels."""
    found = [
        r
        for r in rows
        if r["P4b(SR)"] == size and all(r.get(k) == v for k, v in match.items())
    ]
    if len(found) != 1:
        raise ValueError(f"expected one row for {match} at {size}, got {len(found)}")
    row = found[0]
    return row.get("S(SR) mean", row.get("mean"))


paper = "the SR concentrates signal better at higher signal ratio epsilon"
if training is None:
    not_run("Figure 3 left", paper, "02_hh4b_training")
else:
    ratios = sorted({r["signal_ratio"] for r in training["left"]})
    values = [
        share_at(training["left"], 0.05, signal_ratio=e, ranking="gamma/gamma~")
        for e in ratios
    ]
    claim(
        "Figure 3 left",
        paper,
        ", ".join(
            f"eps {e:g}: S(5 %) {v:.3f}" for e, v in zip(ratios, values, strict=True)
        ),
        "agrees" if np.all(np.diff(values) > 0) else "differs",
    )

paper = "more events help at a fixed small epsilon"
if training is None:
    not_run("Figure 3 centre", paper, "02_hh4b_training")
else:
    sizes_n = sorted({r["n_3b"] for r in training["centre"]})
    values = [
        share_at(training["centre"], 0.05, n_3b=n, ranking="gamma/gamma~")
        for n in sizes_n
    ]
    claim(
        "Figure 3 centre",
        paper,
        ", ".join(
            f"n {n:,}: S(5 %) {v:.3f}" for n, v in zip(sizes_n, values, strict=True)
        )
        + f"; larger-n curve above at {training['centre_fraction_of_sizes_above']:.0%}"
        " of sizes",
        "agrees" if values[-1] > values[0] else "differs",
    )

# %% [markdown]
# ## Figure 3, right: the noise scale

# %%
paper = "eta = 0.1 beats 0.01 and 1"
if sensitivity is None:
    not_run("Figure 3 right", paper, "03_eta_sensitivity")
    eta_rows = []
else:
    eta_rows = [r for r in sensitivity["shares"] if r["P4b(SR)"] == 0.05]
    for eps in sorted({r["signal_ratio"] for r in eta_rows}):
        grid = {
            r["eta"]: r["mean"]
            for r in eta_rows
            if r["signal_ratio"] == eps and r["eta"] in (0.01, 0.1, 1.0)
        }
        best = max(grid, key=grid.get)
        claim(
            f"Figure 3 right, eps {eps:g}",
            paper,
            "S(5 %) by eta: "
            + ", ".join(f"{e:g}: {v:.3f}" for e, v in sorted(grid.items())),
            "agrees" if best == 0.1 else "differs",
        )

    summary = pd.DataFrame(sensitivity["choice_summary"])
    claim(
        "best eta and data-driven eta (ours only)",
        "the paper picks eta by hand and gives no rule",
        "; ".join(
            f"eps {r['signal_ratio']:g}: best of the mean curve "
            f"{r['best eta of the mean']:g}, per-repeat best "
            f"{r['best eta (geo. mean)']:.2g} "
            f"(sd log10 {r['best eta sd(log10)']:.2f}), chosen "
            f"{r['chosen eta (geo. mean)']:.2g} (sd log10 "
            f"{r['chosen eta sd(log10)']:.2f}), S(5 %) {r['S at best (mean)']:.3f}"
            f" vs {r['S at chosen (mean)']:.3f}"
            for r in summary.to_dict(orient="records")
        ),
        "new",
    )

    diagnostics = {r["eta"]: r for r in sensitivity["diagnostics"]}
    low, high = diagnostics[min(diagnostics)], diagnostics[max(diagnostics)]
    claim(
        "failure modes",
        "too small eta: gamma~ = gamma; too large: low-frequency part flattened",
        f"eta {min(diagnostics):g}: corr(log gamma, log gamma~) "
        f"{low['corr(log gamma, log gamma~)']:.2f}, sd ratio {low['sd ratio']:.2f}; "
        f"eta {max(diagnostics):g}: sd ratio {high['sd ratio']:.2f}, overlap with "
        f"the gamma-only SR {high['overlap with gamma-only SR']:.0%}",
        "see text",
    )

# %% [markdown]
# ## Figure 4: the mass-window baseline, and the references the paper lacks

# %%
paper = (
    "the baseline wins at large P4b; at small P4b the two are comparable, or the"
    " data-driven SR is slightly better"
)
if comparison is None:
    not_run("Figure 4", paper, "04_baseline_comparison")
else:
    rows = comparison["shares"]
    for eps in sorted({r["signal_ratio"] for r in rows}):
        ours = {
            s: share_at(rows, s, signal_ratio=eps, method="data-driven SR")
            for s in (0.01, 0.05, 0.2)
        }
        window = {
            s: share_at(rows, s, signal_ratio=eps, method="mass window (X_HH)")
            for s in (0.01, 0.05, 0.2)
        }
        agree = window[0.2] > ours[0.2] and ours[0.01] >= 0.8 * window[0.01]
        claim(
            f"Figure 4, eps {eps:g}",
            paper,
            "S data-driven vs mass window at P4b "
            + ", ".join(
                f"{s:.0%}: {ours[s]:.3f} vs {window[s]:.3f}" for s in (0.01, 0.05, 0.2)
            ),
            "agrees" if agree else "differs",
        )

    at_5 = comparison["at_5pct"]
    claim(
        "oracle and gamma alone (ours only)",
        "not in the paper",
        "; ".join(
            f"eps {r['signal_ratio']:g}: S(5 %) oracle {r['S oracle']:.3f}, "
            f"gamma alone {r['S gamma alone']:.3f}, gain of smoothing "
            f"{r['gamma/gamma~ - gamma (mean)']:+.3f} +- "
            f"{r['gamma/gamma~ - gamma (sd)']:.3f}"
            for r in at_5
        ),
        "new",
    )

    ablation = comparison["ablation_representation"]
    names = sorted({r["method"] for r in ablation if "gamma/" in r["method"]})
    claim(
        "representation (ours only)",
        "the paper uses the pairing-aware network and does not ablate it",
        f"eps {comparison['ablation_signal_ratio']:g}, S(5 %): "
        + "; ".join(
            f"{name.removesuffix(': gamma/gamma~')} "
            f"{share_at(ablation, 0.05, method=name):.3f}"
            for name in names
        ),
        "new",
    )

    mismatch = pd.DataFrame(comparison["mismatch"])
    means = mismatch.groupby(["scale", "ranking"])["S(5%)"].mean().unstack()
    claim(
        "3b/4b mismatch (ours only)",
        "the method relies on the 3b/4b difference being smooth",
        "S(5 %) gamma/gamma~ vs gamma alone by strength: "
        + "; ".join(
            f"{s:g}: {r['gamma/gamma~']:.3f} vs {r['gamma']:.3f}"
            for s, r in means.iterrows()
        ),
        "new",
    )

# %%
claims_table = pd.DataFrame(claims)
claims_table

# %% [markdown]
# The verdict "agrees" or "differs" is computed from the numbers in the row, with
# these rules: Figure 2 agrees when the learned peak lies within 0.5 of the signal
# centre and $\gamma/\tilde\gamma$ beats $\gamma$ alone at 5 %; Figure 3 left when
# $S$ at 5 % rises with $\epsilon$; Figure 3 centre when the larger $n$ gives the
# larger $S$ at 5 %; Figure 3 right when $\eta = 0.1$ has the highest mean $S$ at
# 5 % of the paper's grid; Figure 4 when the window beats the data-driven SR at
# 20 % and the data-driven SR reaches at least 80 % of the window's $S$ at 1 %.
# Rows marked "new" report checks the paper does not make.

# %% [markdown]
# ## Where we agree, where we differ, and why
#
# The figures quoted here are those of the book's run ($n = 10^5$, 3 repeats);
# the table above holds the numbers of whatever run produced the chapters'
# results.
#
# - **Where the method works, it works as the paper says.** At
#   $\epsilon = 0.05$ the SR at $\eta = 0.1$ holds 42 % of the signal in 5 % of
#   the 4b events, beats both $\gamma$ alone (30 %) and the mass window (28 %),
#   and $\eta = 0.1$ is the best of the paper's grid. At $\epsilon = 0.1$ it
#   holds 43 %, next to the oracle's 44 % and the ceiling of 50 %, and there
#   $\eta = 0.1$ and 1 tie within the noise (0.431 and 0.429). In small SRs it
#   beats the window, which matches the paper's "comparable, or even slightly
#   better when the SR is small"; the window wins in large SRs at
#   $\epsilon = 0.05$, as in the paper's Figure 4. At $\epsilon = 0.1$ the
#   data-driven SR stays ahead up to 20 % (0.737 against 0.701), which is why
#   that row reads "differs".
# - **Small signals.** At $\epsilon = 0.02$ and $n = 10^5$ the data-driven SR
#   finds nothing (5.5 % at 5 %, a blind region holds 5 %), while the window
#   holds 34 %. The paper's text does not give the $\epsilon$ of its Figure 4,
#   and it reports that a larger $n$ helps at a small fixed $\epsilon$. Our
#   training chapter agrees: at $\epsilon = 0.02$, $n = 3 \times 10^5$ lifts the
#   5 % SR from 5.5 % to 16 % of the signal. We did not run $n = 10^6$, so our
#   "differs" at $\epsilon = 0.02$ is a statement about $n = 10^5$ only.
# - **What smoothing buys.** The paper motivates $\tilde\gamma$ by a smooth
#   3b/4b difference that misleads $\gamma$. In our simulator that happens at
#   $\epsilon = 0.05$ (gain $+0.13$) but not at $\epsilon = 0.1$, where the
#   signal dominates the 3b/4b difference. The mismatch sweep shows the other
#   side: with no mismatch $\gamma$ alone is optimal, and at two to four times
#   the default mismatch neither ranking finds the signal at $n = 10^5$.
# - **The noise scale.** Both failure modes the paper names show up with
#   numbers: at $\eta \le 0.02$, $\log\tilde\gamma$ copies $\log\gamma$
#   (correlation 0.99), and at $\eta \ge 0.5$ it is flat (sd 12 % of
#   $\log\gamma$'s or less) and the SR is that of $\gamma$ alone. The paper
#   chooses $\eta$ by looking at the signal; our label-free rule works at
#   $\epsilon = 0.05$ but picks too little noise at $\epsilon = 0.1$.
# - **What the paper does not check.** The pairing-aware network is essential:
#   a plain MLP on the same jets finds no signal. The baseline's spread over
#   repeats, which the paper calls ignorable, is 0.005 to 0.009 in $S$ at 5 %
#   in our held-out samples, against 0.016 to 0.107 for the data-driven SR.

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), layout="constrained")
if comparison is None:
    axes[0].text(0.5, 0.5, "04_baseline_comparison not run", ha="center")
else:
    frame = pd.DataFrame(comparison["shares"])
    frame = frame[frame["P4b(SR)"] == 0.05]
    methods = list(dict.fromkeys(frame["method"]))
    ratios = sorted(frame["signal_ratio"].unique())
    width = 0.8 / len(methods)
    for k, method in enumerate(methods):
        rows = frame[frame["method"] == method].set_index("signal_ratio").loc[ratios]
        axes[0].bar(
            np.arange(len(ratios)) + (k - (len(methods) - 1) / 2) * width,
            rows["mean"],
            width,
            yerr=rows["std"].fillna(0),
            capsize=3,
            label=method,
        )
    axes[0].set_xticks(np.arange(len(ratios)), [rf"$\epsilon$ = {e:g}" for e in ratios])
    axes[0].axhline(0.05, color="grey", ls=":", label="no enrichment")
    axes[0].set_ylabel(r"$S(\mathcal{X}_s)$ at $P_{4b}$ = 5 %")
    axes[0].legend(fontsize="small")
    axes[0].set_title("Figure 4 at 5 %: mean ± sd over repeats")
if sensitivity is None:
    axes[1].text(0.5, 0.5, "03_eta_sensitivity not run", ha="center")
else:
    frame = pd.DataFrame(eta_rows)
    for eps, rows in frame[frame["eta"] > 0].groupby("signal_ratio"):
        axes[1].errorbar(
            rows["eta"],
            rows["mean"],
            yerr=rows["std"].fillna(0),
            marker="o",
            capsize=3,
            label=rf"$\epsilon$ = {eps:g}",
        )
    for e in (0.01, 0.1, 1.0):
        axes[1].axvline(e, color="grey", lw=0.8, ls="--")
    axes[1].set_xscale("log")
    axes[1].set_xlabel(r"noise scale $\eta$ (dashed: the paper's grid)")
    axes[1].set_ylabel(r"$S(\mathcal{X}_s)$ at $P_{4b}$ = 5 %")
    axes[1].legend(fontsize="small")
    axes[1].set_title("Figure 3 right at 5 %")
fig.savefig(output / "results_summary.png", dpi=120)
plt.show()

# %%
records = {"available": available, "claims": claims}
(output / "results.json").write_text(json.dumps(records, indent=2))
