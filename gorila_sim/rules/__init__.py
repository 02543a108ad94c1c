"""Robustness rules of Gorila's parameter server and learners, the alternatives, and the optimisers."""

from .errors import RuleError
from .optimisers import SGD, AdaGrad, Adam, Optimiser, RMSProp
from .outliers import NoOutlierRule, OutlierRule, RunningMeanStd
from .registry import INTERFACES, RULES, build
from .staleness import (
    DelayCompensated,
    ExponentialPenalty,
    HardThreshold,
    NoStaleness,
    StalenessRule,
    StalenessScaled,
    StaleSynchronous,
)

__all__ = [
    "INTERFACES",
    "RULES",
    "SGD",
    "AdaGrad",
    "Adam",
    "DelayCompensated",
    "ExponentialPenalty",
    "HardThreshold",
    "NoOutlierRule",
    "NoStaleness",
    "Optimiser",
    "OutlierRule",
    "RMSProp",
    "RuleError",
    "RunningMeanStd",
    "StaleSynchronous",
    "StalenessRule",
    "StalenessScaled",
    "build",
]
