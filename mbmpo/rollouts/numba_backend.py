"""Imagined rollouts compiled with numba for the CPU: each thread takes an equal share of the trajectories
and runs it, in blocks of trajectories of one model, through the whole horizon in compiled code, the
policy, the model, the reward and the termination of a step fused, the matrix products in BLAS.

Compiled once per machine: numba caches the machine code on disk, and one compilation serves every
ensemble size, number of trajectories and horizon.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import torch
from numba import njit, prange
from numba.typed import List
from threadpoolctl import threadpool_limits
from torch import Tensor

from ..dynamics import DynamicsEnsemble
from ..envs import Task
from ..policy import LOG_2PI, GaussianPolicy
from .row_rewards import TASK_CODES, reward_and_done
from .trajectories import Trajectories

MAX_BLOCK_ROWS = 256
"""Most trajectories one thread steps together: their activations stay in cache, BLAS stays efficient."""


step_reward = njit(cache=True)(reward_and_done)
"""reward_and_done compiled for the CPU."""


@njit(cache=True)
def _mlp(x, weights, biases, k, hidden_activation):
    """Model k's pass of an MLP over the columns of x (features, rows): activation 0 tanh, 1 ReLU between
    layers. Column-major batches make W @ x, which BLAS does faster than x @ Wᵀ for a few rows."""
    h = x
    for i in range(len(weights)):
        weight, bias = weights[i][k], biases[i][k]
        out = np.empty((weight.shape[0], h.shape[1]), dtype=np.float32)
        np.dot(weight, h, out)
        last = i == len(weights) - 1
        for unit in range(out.shape[0]):
            for r in range(out.shape[1]):
                value = out[unit, r] + bias[unit]
                if not last:
                    value = math.tanh(value) if hidden_activation == 0 else max(value, 0.0)
                out[unit, r] = value
        h = out
    return h


@njit(cache=True)
def _run_block(
    k, lo, hi, model_w, model_b, in_mean, in_std, delta_mean, delta_std, low, high,
    policy_w, policy_b, log_std, start, noise, task, bound, obs, actions, rewards, dones, log_probs,
):  # fmt: skip
    """Trajectories lo..hi-1 of model k through the whole horizon, written into the output arrays."""
    horizon, act_dim, obs_dim = noise.shape[2], noise.shape[3], start.shape[2]
    rows = hi - lo
    states = np.ascontiguousarray(start[k, lo:hi].T)  # (obs_dim, rows), a column per trajectory
    ended = np.zeros(rows, dtype=np.bool_)
    inputs = np.empty((obs_dim + act_dim, rows), dtype=np.float32)
    state = np.empty(obs_dim, dtype=np.float32)
    next_state = np.empty(obs_dim, dtype=np.float32)
    clipped = np.empty(act_dim, dtype=np.float32)
    sigma = np.exp(log_std[k])
    log_prob_const = -log_std[k].sum() - 0.5 * act_dim * LOG_2PI
    for t in range(horizon):
        mean = _mlp(states, policy_w, policy_b, k, 0)
        for r in range(rows):
            n = lo + r
            squares = 0.0
            for j in range(act_dim):
                z = noise[k, n, t, j]
                action = mean[j, r] + sigma[j] * z
                actions[k, n, t, j] = action
                inputs[obs_dim + j, r] = min(max(action, -bound), bound)
                squares += z * z
            log_probs[k, n, t] = -0.5 * squares + log_prob_const
            for j in range(obs_dim):
                obs[k, n, t, j] = states[j, r]
                inputs[j, r] = states[j, r]
        for j in range(obs_dim + act_dim):
            for r in range(rows):
                inputs[j, r] = (inputs[j, r] - in_mean[j]) / in_std[j]
        delta = _mlp(inputs, model_w, model_b, k, 1)
        for r in range(rows):
            n = lo + r
            for j in range(obs_dim):
                state[j] = states[j, r]
                value = state[j] + delta[j, r] * delta_std[j] + delta_mean[j]
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
                    states[:, r] = next_state


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


def _arrays(pairs: list[tuple[Tensor, Tensor]]) -> tuple[List, List]:
    """Weights (K, in, out) and biases (K, 1, out) as numba lists of contiguous float32 arrays: the
    weights transposed to (K, out, in), the biases as (K, out)."""
    weights, biases = List(), List()
    for weight, bias in pairs:
        weights.append(np.ascontiguousarray(weight.detach().transpose(1, 2).numpy(), dtype=np.float32))
        biases.append(
            np.ascontiguousarray(bias.detach().reshape(bias.shape[0], -1).numpy(), dtype=np.float32)
        )
    return weights, biases


def numba_rollout(
    ensemble: DynamicsEnsemble,
    policy: GaussianPolicy,
    params: Tensor,
    start_states: Tensor,
    noise: Tensor,
    task: Task,
) -> Trajectories:
    """The Rollout interface, on numba's threads (numba.get_num_threads())."""
    if task.env_id not in TASK_CODES:
        raise ValueError(f"task: the numba backend has no reward for {task.env_id!r}; use the torch backend")
    weights = ensemble.snapshot()
    model_w, model_b = _arrays(weights.layers)
    policy_layers, log_std = policy.layers(params.detach().contiguous())
    policy_w, policy_b = _arrays(policy_layers)
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
    # The threads are numba's; BLAS must not start its own inside them.
    with threadpool_limits(limits=1, user_api="blas"):
        _rollout_kernel(
            model_w, model_b, *stats, low, high, policy_w, policy_b,
            np.ascontiguousarray(log_std.detach().reshape(k, act_dim).numpy()), start, draws,
            TASK_CODES[task.env_id], np.float32(task.action_bound),
            numba.get_num_threads(), obs, actions, rewards, dones, log_probs,
        )  # fmt: skip
    return Trajectories(*(torch.from_numpy(a) for a in (obs, actions, rewards, dones, log_probs)))
