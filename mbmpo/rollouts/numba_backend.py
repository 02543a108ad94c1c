"""Imagined rollouts compiled with numba for the CPU: each thread takes an equal share of the trajectories
and runs it, in blocks of trajectories of one model, through the whole horizon in compiled code, the
policy, the model, the reward and the termination of a step fused, the layers in register-blocked loops.

Compiled once per machine: numba caches the machine code on disk, and one compilation serves every
ensemble size, number of trajectories and horizon.
"""

from __future__ import annotations

import math
import statistics
import time

import numba
import numpy as np
import torch
from numba import njit, prange
from torch import Tensor

from ..dynamics import DynamicsEnsemble
from ..envs import Task
from ..policy import LOG_2PI, GaussianPolicy
from .row_rewards import TASK_CODES, reward_and_done
from .trajectories import Trajectories

MAX_BLOCK_ROWS = 128
"""Most trajectories one thread steps together: their activations stay in cache."""

TANH, RELU, IDENTITY = 0, 1, 2
"""Activation codes of _dense."""

TILE = 4
"""_dense takes TILE rows by TILE units at a time; packed layers and blocks are padded to multiples of it."""

LANES = 16
"""Floats in a vector register; the inputs of a packed MLP are padded to a multiple of it, so that the
first layer's dot products need no scalar remainder."""

WIDE = 4
"""A first layer with at least WIDE times as many units as (padded) inputs, such as a model's 23 -> 512, is
packed transposed and run by _dense_wide: its dot products are too short for _dense's vector sums."""


@njit(cache=True)
def _padded(size, multiple):
    """The least multiple of `multiple` at least `size`."""
    return size + (-size) % multiple


@njit(cache=True, inline="always")
def _activate(value, activation):
    """The activation of code `activation` at value."""
    if activation == TANH:
        # From one exponential, 4x faster here than libm's tanh and within 2e-7 of it; beyond ±9, tanh
        # is 1 in float32. The float32 constants keep the arithmetic in float32.
        e = math.exp(np.float32(2.0) * min(max(value, np.float32(-9.0)), np.float32(9.0)))
        return (e - np.float32(1.0)) / (e + np.float32(1.0))
    if activation == RELU:
        return max(value, np.float32(0.0))
    return value


@njit(fastmath={"reassoc", "contract"}, cache=True)
def _dense(x, weight, bias, activation):
    """activation(x @ weightᵀ + bias) for x (rows, inputs) and weight (units, inputs), rows and units
    multiples of TILE. A 4 x 4 tile's 16 dot products run as 16 sums that the compiler keeps in vector
    registers, so each value loaded serves four products; reassociating the sums lets it vectorise them."""
    rows, units = x.shape[0], weight.shape[0]
    out = np.empty((rows, units), dtype=np.float32)
    for u in range(0, units, TILE):
        for r in range(0, rows, TILE):
            s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = np.float32(0.0)
            s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = np.float32(0.0)
            for i in range(x.shape[1]):
                a0, a1, a2, a3 = x[r, i], x[r + 1, i], x[r + 2, i], x[r + 3, i]
                b0, b1, b2, b3 = weight[u, i], weight[u + 1, i], weight[u + 2, i], weight[u + 3, i]
                s00, s01, s02, s03 = s00 + a0 * b0, s01 + a0 * b1, s02 + a0 * b2, s03 + a0 * b3
                s10, s11, s12, s13 = s10 + a1 * b0, s11 + a1 * b1, s12 + a1 * b2, s13 + a1 * b3
                s20, s21, s22, s23 = s20 + a2 * b0, s21 + a2 * b1, s22 + a2 * b2, s23 + a2 * b3
                s30, s31, s32, s33 = s30 + a3 * b0, s31 + a3 * b1, s32 + a3 * b2, s33 + a3 * b3
            out[r, u], out[r, u + 1], out[r, u + 2], out[r, u + 3] = s00, s01, s02, s03
            out[r + 1, u], out[r + 1, u + 1], out[r + 1, u + 2], out[r + 1, u + 3] = s10, s11, s12, s13
            out[r + 2, u], out[r + 2, u + 1], out[r + 2, u + 2], out[r + 2, u + 3] = s20, s21, s22, s23
            out[r + 3, u], out[r + 3, u + 1], out[r + 3, u + 2], out[r + 3, u + 3] = s30, s31, s32, s33
    for r in range(rows):
        for u in range(units):
            out[r, u] = _activate(out[r, u] + bias[u], activation)
    return out


@njit(fastmath={"reassoc", "contract"}, cache=True)
def _dense_wide(x, weight_t, bias, activation):
    """activation(x @ weight_t + bias) for x (rows, inputs) and weight_t (inputs, units), rows a multiple of
    2 and inputs of 8. Two rows' sums over all units stay in cache while eight inputs at a time are added
    in, each pass over the units a vector loop of eight products per sum."""
    rows, inputs, units = x.shape[0], x.shape[1], weight_t.shape[1]
    out = np.empty((rows, units), dtype=np.float32)
    for r in range(0, rows, 2):
        out[r], out[r + 1] = bias, bias
        for i in range(0, inputs, 8):
            p0, p1, p2, p3, p4, p5, p6, p7 = x[r, i : i + 8]
            q0, q1, q2, q3, q4, q5, q6, q7 = x[r + 1, i : i + 8]
            for u in range(units):
                w0, w1, w2, w3 = weight_t[i, u], weight_t[i + 1, u], weight_t[i + 2, u], weight_t[i + 3, u]
                w4, w5, w6, w7 = (
                    weight_t[i + 4, u],
                    weight_t[i + 5, u],
                    weight_t[i + 6, u],
                    weight_t[i + 7, u],
                )
                out[r, u] += ((p0 * w0 + p1 * w1) + (p2 * w2 + p3 * w3)) + (
                    (p4 * w4 + p5 * w5) + (p6 * w6 + p7 * w7)
                )
                out[r + 1, u] += ((q0 * w0 + q1 * w1) + (q2 * w2 + q3 * w3)) + (
                    (q4 * w4 + q5 * w5) + (q6 * w6 + q7 * w7)
                )
        for u in range(units):
            out[r, u] = _activate(out[r, u], activation)
            out[r + 1, u] = _activate(out[r + 1, u], activation)
    return out


step_reward = njit(cache=True)(reward_and_done)
"""reward_and_done compiled for the CPU."""


@njit(cache=True)
def _advance_row(
    r, k, n, t, states, delta, delta_mean, delta_std, low, high, task, bound, actions, rewards, dones, ended,
    state, next_state, clipped,
):  # fmt: skip
    """The model's step of row r of `states` (trajectory n of model k) at time t, from the row's normalised
    delta: the next state clamped to the states seen, the reward and the termination written out, and
    the row moved on unless it ended. state, next_state and clipped are scratch rows."""
    obs_dim, act_dim = delta_mean.shape[0], actions.shape[3]
    for j in range(obs_dim):
        state[j] = states[r, j]
        value = state[j] + delta[r, j] * delta_std[j] + delta_mean[j]
        next_state[j] = min(max(value, low[j]), high[j])
    for j in range(act_dim):
        clipped[j] = min(max(actions[k, n, t, j], -bound), bound)
    reward, terminated = step_reward(task, state, clipped, next_state)
    if ended[r]:
        rewards[k, n, t] = 0.0
        dones[k, n, t] = False
    else:
        rewards[k, n, t] = reward
        dones[k, n, t] = terminated
        ended[r] = terminated
        if not terminated:
            states[r, :obs_dim] = next_state


@njit(cache=True)
def _mlp(x, weights, biases, k, hidden_activation):
    """Model k's pass of a packed MLP over the rows of x, hidden_activation between layers. A layer whose
    weight's second dimension is not the width of its input was packed transposed (see _packed)."""
    h = x
    for i in range(len(weights)):
        activation = IDENTITY if i == len(weights) - 1 else hidden_activation
        weight = weights[i][k]
        if weight.shape[1] == h.shape[1]:
            h = _dense(h, weight, biases[i][k], activation)
        else:
            h = _dense_wide(h, weight, biases[i][k], activation)
    return h


@njit(cache=True)
def _run_block(
    k, lo, hi, model_w, model_b, in_mean, in_std, delta_mean, delta_std, low, high,
    policy_w, policy_b, log_std, start, noise, task, bound, obs, actions, rewards, dones, log_probs,
):  # fmt: skip
    """Trajectories lo..hi-1 of model k through the whole horizon, written into the output arrays. The
    block's rows are padded to a multiple of TILE and its MLP inputs to the packed layers' width, with
    zeros that are stepped and never read."""
    horizon, act_dim, obs_dim = noise.shape[2], noise.shape[3], start.shape[2]
    rows = hi - lo
    padded = _padded(rows, TILE)
    states = np.zeros((padded, _padded(obs_dim, LANES)), dtype=np.float32)
    states[:rows, :obs_dim] = start[k, lo:hi]
    inputs = np.zeros((padded, _padded(obs_dim + act_dim, LANES)), dtype=np.float32)
    ended = np.zeros(rows, dtype=np.bool_)
    state = np.empty(obs_dim, dtype=np.float32)
    next_state = np.empty(obs_dim, dtype=np.float32)
    clipped = np.empty(act_dim, dtype=np.float32)
    sigma = np.exp(log_std[k])
    log_prob_const = -log_std[k].sum() - 0.5 * act_dim * LOG_2PI
    for t in range(horizon):
        mean = _mlp(states, policy_w, policy_b, k, TANH)
        for r in range(rows):
            n = lo + r
            squares = 0.0
            for j in range(act_dim):
                z = noise[k, n, t, j]
                action = mean[r, j] + sigma[j] * z
                actions[k, n, t, j] = action
                applied = min(max(action, -bound), bound)
                inputs[r, obs_dim + j] = (applied - in_mean[obs_dim + j]) / in_std[obs_dim + j]
                squares += z * z
            log_probs[k, n, t] = -0.5 * squares + log_prob_const
            for j in range(obs_dim):
                obs[k, n, t, j] = states[r, j]
                inputs[r, j] = (states[r, j] - in_mean[j]) / in_std[j]
        delta = _mlp(inputs, model_w, model_b, k, RELU)
        for r in range(rows):
            _advance_row(
                r, k, lo + r, t, states, delta, delta_mean, delta_std, low, high, task, bound, actions,
                rewards, dones, ended, state, next_state, clipped,
            )  # fmt: skip


@njit(parallel=True, cache=True)
def _rollout_kernel(
    model_w, model_b, in_mean, in_std, delta_mean, delta_std, low, high, policy_w, policy_b, log_std,
    start, noise, task, bound, threads, obs, actions, rewards, dones, log_probs,
):  # fmt: skip
    """Thread i takes the i-th of `threads` equal shares of the K·N trajectories (model after model), in
    blocks of at most MAX_BLOCK_ROWS trajectories of one model."""
    models, n = start.shape[0], start.shape[1]
    total = models * n
    for thread in prange(threads):
        position, end = thread * total // threads, (thread + 1) * total // threads
        while position < end:
            k, lo = position // n, position % n
            hi = min(n, lo + end - position, lo + MAX_BLOCK_ROWS)
            _run_block(
                k, lo, hi, model_w, model_b, in_mean, in_std, delta_mean, delta_std, low, high,
                policy_w, policy_b, log_std, start, noise, task, bound, obs, actions, rewards, dones,
                log_probs,
            )  # fmt: skip
            position += hi - lo


@njit(parallel=True, cache=True)
def _act_and_normalise(
    k, lo, rows, policy_w, policy_b, log_std, states, noise, t, bound, in_mean, in_std, obs, actions,
    log_probs, inputs,
):  # fmt: skip
    """The policy's step for the first `rows` rows of `states` (trajectories lo.. of model k; the rows
    padded to a multiple of TILE) at time t: actions and their log-probabilities written out, and the
    model's normalised inputs into `inputs`."""
    obs_dim, act_dim = obs.shape[3], actions.shape[3]
    sigma = np.exp(log_std[k])
    log_prob_const = -log_std[k].sum() - 0.5 * act_dim * LOG_2PI
    blocks = (rows + MAX_BLOCK_ROWS - 1) // MAX_BLOCK_ROWS
    for block in prange(blocks):
        first, last = block * MAX_BLOCK_ROWS, min(rows, (block + 1) * MAX_BLOCK_ROWS)
        mean = _mlp(states[first : first + _padded(last - first, TILE)], policy_w, policy_b, k, TANH)
        for r in range(first, last):
            n = lo + r
            squares = 0.0
            for j in range(act_dim):
                z = noise[k, n, t, j]
                action = mean[r - first, j] + sigma[j] * z
                actions[k, n, t, j] = action
                applied = min(max(action, -bound), bound)
                inputs[r, obs_dim + j] = (applied - in_mean[obs_dim + j]) / in_std[obs_dim + j]
                squares += z * z
            log_probs[k, n, t] = -0.5 * squares + log_prob_const
            for j in range(obs_dim):
                obs[k, n, t, j] = states[r, j]
                inputs[r, j] = (states[r, j] - in_mean[j]) / in_std[j]


@njit(parallel=True, cache=True)
def _advance(
    k, lo, delta, delta_mean, delta_std, low, high, task, bound, states, ended, t, actions, rewards, dones,
):  # fmt: skip
    """The model's step for the rows of `states` (trajectories lo.. of model k) at time t, from its
    normalised deltas: rewards and terminations written out, and the states moved on."""
    rows, obs_dim, act_dim = ended.shape[0], delta_mean.shape[0], actions.shape[3]
    blocks = (rows + MAX_BLOCK_ROWS - 1) // MAX_BLOCK_ROWS
    for block in prange(blocks):
        state = np.empty(obs_dim, dtype=np.float32)
        next_state = np.empty(obs_dim, dtype=np.float32)
        clipped = np.empty(act_dim, dtype=np.float32)
        for r in range(block * MAX_BLOCK_ROWS, min(rows, (block + 1) * MAX_BLOCK_ROWS)):
            _advance_row(
                r, k, lo + r, t, states, delta, delta_mean, delta_std, low, high, task, bound, actions,
                rewards, dones, ended, state, next_state, clipped,
            )  # fmt: skip


BLAS_CHUNK_ROWS = 2048
"""Most trajectories of one model the BLAS path steps together: their activations stay in cache."""


def _blas_rollout(
    model_w, model_b, in_mean, in_std, delta_mean, delta_std, low, high, policy_w, policy_b, log_std,
    start, noise, task, bound, obs, actions, rewards, dones, log_probs,
):  # fmt: skip
    """The same steps as _rollout_kernel, with the model's layer products as BLAS calls (torch.addmm on
    torch's threads) over chunks of up to BLAS_CHUNK_ROWS trajectories of one model, and the policy, the
    normalisation, the reward and the termination in compiled code between them."""
    models, n, horizon, obs_dim = start.shape[0], start.shape[1], noise.shape[2], start.shape[2]
    width = _padded(obs_dim + noise.shape[3], LANES)
    # addmm takes (inputs, units): a transposed first layer (see _packed) as it is, the others transposed.
    layers = [
        [
            (
                torch.from_numpy(w[k]) if i == 0 and w.shape[2] != width else torch.from_numpy(w[k]).t(),
                torch.from_numpy(b[k]),
            )
            for i, (w, b) in enumerate(zip(model_w, model_b, strict=True))
        ]
        for k in range(models)
    ]
    for k in range(models):
        for lo in range(0, n, BLAS_CHUNK_ROWS):
            rows = min(BLAS_CHUNK_ROWS, n - lo)
            padded = _padded(rows, TILE)
            states = np.zeros((padded, _padded(obs_dim, LANES)), dtype=np.float32)
            states[:rows, :obs_dim] = start[k, lo : lo + rows]
            inputs = np.zeros((padded, width), dtype=np.float32)
            ended = np.zeros(rows, dtype=np.bool_)
            hidden = [torch.empty(padded, w.shape[1]) for w, _ in layers[k]]
            for t in range(horizon):
                _act_and_normalise(
                    k, lo, rows, policy_w, policy_b, log_std, states, noise, t, bound, in_mean, in_std, obs,
                    actions, log_probs, inputs,
                )  # fmt: skip
                h = torch.from_numpy(inputs)
                for i, (weight, bias) in enumerate(layers[k]):
                    torch.addmm(bias, h, weight, out=hidden[i])
                    h = hidden[i] if i == len(layers[k]) - 1 else hidden[i].relu_()
                _advance(
                    k, lo, h.numpy(), delta_mean, delta_std, low, high, task, bound, states, ended, t,
                    actions, rewards, dones,
                )  # fmt: skip


def _packed(pairs: list[tuple[Tensor, Tensor]]) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Weights (K, out, in) and biases (K, 1, out) as tuples of contiguous float32 arrays, weights
    (K, units, inputs) and biases (K, units), in _dense's layout: the MLP's inputs padded with zeros to a
    multiple of LANES, each layer's units to a multiple of TILE and the next layer's inputs to match, so
    the padding changes no output. A wide first layer (WIDE) is packed transposed, (K, inputs, units), in
    _dense_wide's layout."""
    weights, biases = [], []
    inputs = _padded(pairs[0][0].shape[2], LANES)
    for layer, (weight, bias) in enumerate(pairs):
        models, fan_out, fan_in = weight.shape
        units = _padded(fan_out, TILE)
        packed_w = np.zeros((models, units, inputs), dtype=np.float32)
        packed_w[:, :fan_out, :fan_in] = weight.detach().numpy()
        packed_b = np.zeros((models, units), dtype=np.float32)
        packed_b[:, :fan_out] = bias.detach().reshape(models, fan_out).numpy()
        if layer == 0 and units >= WIDE * inputs:
            packed_w = np.ascontiguousarray(packed_w.transpose(0, 2, 1))
        weights.append(packed_w)
        biases.append(packed_b)
        inputs = units
    # Tuples, not numba's typed lists: those compile their methods in every process.
    return tuple(weights), tuple(biases)


def numba_rollout(
    ensemble: DynamicsEnsemble,
    policy: GaussianPolicy,
    params: Tensor,
    start_states: Tensor,
    noise: Tensor,
    task: Task,
    path: str | None = None,
) -> Trajectories:
    """The Rollout interface, on numba's threads (numba.get_num_threads()) and, on the BLAS path, torch's.
    `path` ("fused" or "blas") forces a path; by default calibration chooses (_calibrated_path)."""
    if task.env_id not in TASK_CODES:
        raise ValueError(f"task: the numba backend has no reward for {task.env_id!r}; use the torch backend")
    weights = ensemble.snapshot()
    model_w, model_b = _packed(weights.layers)
    policy_layers, log_std = policy.layers(params.detach().contiguous())
    # θ holds the policy's weights as (K, in, out).
    policy_w, policy_b = _packed([(weight.transpose(1, 2), bias) for weight, bias in policy_layers])
    stats = [
        t.numpy().astype(np.float32)
        for t in (weights.input_mean, weights.input_std, weights.delta_mean, weights.delta_std)
    ]
    low, high = weights.obs_low.numpy(), weights.obs_high.numpy()
    start = np.ascontiguousarray(start_states.numpy(), dtype=np.float32)
    draws = np.ascontiguousarray(noise.numpy(), dtype=np.float32)
    k, n, horizon, act_dim = draws.shape
    obs = np.empty((k, n, horizon, start.shape[2]), dtype=np.float32)
    actions = np.empty((k, n, horizon, act_dim), dtype=np.float32)
    rewards = np.empty((k, n, horizon), dtype=np.float32)
    dones = np.empty((k, n, horizon), dtype=np.bool_)
    log_probs = np.empty((k, n, horizon), dtype=np.float32)
    inputs = (
        model_w, model_b, *stats, low, high, policy_w, policy_b,
        np.ascontiguousarray(log_std.detach().reshape(k, act_dim).numpy()),
    )  # fmt: skip
    task_code, bound = TASK_CODES[task.env_id], np.float32(task.action_bound)
    chosen = path or _calibrated_path(inputs, start, draws, task_code, bound)
    run = PATHS[chosen]
    run(*inputs, start, draws, task_code, bound, obs, actions, rewards, dones, log_probs)
    return Trajectories(*(torch.from_numpy(a) for a in (obs, actions, rewards, dones, log_probs)))


def _fused(*args) -> None:
    _rollout_kernel(*args[:15], numba.get_num_threads(), *args[15:])


PATHS = {"fused": _fused, "blas": _blas_rollout}
"""The numba backend's two ways through a rollout: the fused kernel (every product in compiled loops)
and the BLAS path (the model's products as BLAS calls); both step the same arithmetic."""

CHOICES: dict[tuple, str] = {}
"""The path calibration chose, by the sizes it was chosen for (see _calibrated_path)."""


def _calibrated_path(inputs: tuple, start: np.ndarray, noise: np.ndarray, task_code: int, bound) -> str:
    """The faster path for rollouts of this size on this machine, timed on first use of each size: both
    paths step up to BLAS_CHUNK_ROWS trajectories of every model once, three times each, interleaved;
    the median wins. Sizes share a choice by the layer shapes, K, the power of two at or above
    min(N, BLAS_CHUNK_ROWS), and the thread counts."""
    models, n = start.shape[:2]
    rows = min(n, BLAS_CHUNK_ROWS)
    shapes = tuple(w.shape for w in (*inputs[0], *inputs[8]))
    key = (shapes, 1 << (rows - 1).bit_length(), numba.get_num_threads(), torch.get_num_threads())
    if key not in CHOICES:
        start, noise = start[:, :rows], np.ascontiguousarray(noise[:, :rows, :1])
        outputs = [
            np.empty((models, rows, 1, start.shape[2]), np.float32),
            np.empty((models, rows, 1, noise.shape[3]), np.float32),
            np.empty((models, rows, 1), np.float32),
            np.empty((models, rows, 1), np.bool_),
            np.empty((models, rows, 1), np.float32),
        ]
        times: dict[str, list[float]] = {name: [] for name in PATHS}
        for _ in range(4):
            for name, run in PATHS.items():
                started = time.perf_counter()
                run(*inputs, start, noise, task_code, bound, *outputs)
                times[name].append(time.perf_counter() - started)
        # The first round compiles or loads the code.
        CHOICES[key] = min(PATHS, key=lambda name: statistics.median(times[name][1:]))
    return CHOICES[key]
