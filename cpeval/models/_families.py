"""Binomial and Poisson families as lme4's C++ ``glmFamily`` computes them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = ["EPS", "GlmFamily"]

EPS = np.finfo(float).eps


@dataclass(frozen=True)
class GlmFamily:
    """Link and variance functions as lme4's C++ ``glmFamily`` computes them
    (with its clamps: a logit mean in ``[eps, 1 - eps]``, a probit mean at most
    ``1 - eps``, a log mean and the logit ``mu'(eta)`` and binomial variance at
    least ``eps``; ``eps`` the machine epsilon)."""

    name: str
    link: str

    def linkfun(self, mu: np.ndarray) -> np.ndarray:
        if self.link == "logit":
            return special.logit(mu)
        if self.link == "probit":
            return special.ndtri(mu)
        return np.log(mu)

    def linkinv(self, eta: np.ndarray) -> np.ndarray:
        if self.link == "logit":
            return np.clip(special.expit(eta), EPS, 1 - EPS)
        if self.link == "probit":
            return np.minimum(special.ndtr(eta), 1 - EPS)
        return np.maximum(np.exp(eta), EPS)

    def mu_eta(self, eta: np.ndarray) -> np.ndarray:
        if self.link == "logit":
            p = special.expit(eta)
            return np.maximum(p * (1 - p), EPS)
        if self.link == "probit":
            return np.exp(-0.5 * eta**2) / np.sqrt(2 * np.pi)
        return np.maximum(np.exp(eta), EPS)

    def variance(self, mu: np.ndarray) -> np.ndarray:
        if self.name == "binomial":
            return np.maximum(mu * (1 - mu), EPS)
        return mu
