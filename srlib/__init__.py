"""Data-driven signal regions for model-agnostic searches for new physics.

The method of Yi, Alison and Kuusela (arXiv:2409.06960): learn the density ratio
:math:`\\gamma = p_{4b}/p_{3b}` and its smoothed version :math:`\\tilde\\gamma` with
classifiers, and take as signal region the events where :math:`\\gamma/\\tilde\\gamma`
is largest.
"""

import logging

from srlib.baseline import BaselineSelection, baseline_selection, delta_r_window, x_hh
from srlib.events import Events, concatenate_events, jet_column_names
from srlib.hh4b import DataDrivenRegion, HH4bConfig, find_signal_region
from srlib.inference import (
    estimate_background,
    poisson_gaussian_p_value,
    run_search_repeat,
    run_search_study,
)
from srlib.io import (
    read_events,
    read_hdf5,
    read_parquet,
    read_root,
    write_events,
    write_hdf5,
    write_parquet,
    write_root,
)
from srlib.kinematics import dijet_pairings, four_jet_mass, normalize_symmetry
from srlib.network import (
    FourJetNetwork,
    NetworkCheckpoint,
    NetworkConfig,
    RepresentationHead,
    canonicalise_jets,
    count_parameters,
    load_network,
    save_network,
)
from srlib.ratio import (
    DensityRatioEstimator,
    MLPClassifier,
    TrainingConfig,
    TrainingHistory,
    noise_scale_from_range,
    predict_logits,
    resolve_device,
    train_classifier,
)
from srlib.region import (
    ConcentrationCurve,
    concentration_curve,
    default_region_sizes,
    select_signal_region,
    signal_region_score,
    signal_region_threshold,
    summarize_curves,
)
from srlib.sensitivity import choose_eta_one_se, sweep_eta
from srlib.simulation import (
    BackgroundModel,
    DetectorModel,
    SignalModel,
    ThreeTagModel,
    simulate_samples,
)
from srlib.study import ToyRepeatResult, run_toy_repeat, toy_peak_window
from srlib.sweep import (
    RepeatFailure,
    SweepError,
    SweepResult,
    local_cluster,
    run_sweep,
)
from srlib.toy import GaussianToy

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "DataDrivenRegion",
    "HH4bConfig",
    "find_signal_region",
    "choose_eta_one_se",
    "estimate_background",
    "poisson_gaussian_p_value",
    "run_search_repeat",
    "run_search_study",
    "sweep_eta",
    "RepeatFailure",
    "SweepError",
    "SweepResult",
    "local_cluster",
    "run_sweep",
    "read_hdf5",
    "read_parquet",
    "read_root",
    "write_hdf5",
    "write_parquet",
    "write_root",
    "BackgroundModel",
    "BaselineSelection",
    "DetectorModel",
    "Events",
    "SignalModel",
    "ThreeTagModel",
    "baseline_selection",
    "concatenate_events",
    "delta_r_window",
    "dijet_pairings",
    "four_jet_mass",
    "jet_column_names",
    "normalize_symmetry",
    "read_events",
    "simulate_samples",
    "write_events",
    "x_hh",
    "ConcentrationCurve",
    "DensityRatioEstimator",
    "FourJetNetwork",
    "NetworkCheckpoint",
    "NetworkConfig",
    "RepresentationHead",
    "canonicalise_jets",
    "count_parameters",
    "load_network",
    "save_network",
    "GaussianToy",
    "MLPClassifier",
    "ToyRepeatResult",
    "TrainingConfig",
    "TrainingHistory",
    "__version__",
    "concentration_curve",
    "default_region_sizes",
    "noise_scale_from_range",
    "predict_logits",
    "resolve_device",
    "run_toy_repeat",
    "select_signal_region",
    "signal_region_score",
    "signal_region_threshold",
    "summarize_curves",
    "toy_peak_window",
    "train_classifier",
]
