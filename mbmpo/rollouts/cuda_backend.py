"""Imagined rollouts on the GPU. Up to KERNEL_MAX_TRAJECTORIES trajectories per model, one numba CUDA kernel:
a thread block takes ROWS trajectories of one model through the whole horizon, the policy, the model, the
reward and the termination of every step fused, the activations in shared memory; each thread computes a
unit of a layer (in a narrow layer, part of a unit's inputs) for all ROWS trajectories. Beyond that, the
torch reference on the GPU, whose batched matrix products win once there is enough work per step.

Networks travel as one packed parameter row per model, the policy's own layout (for each layer its weight
(in, out) row by row, then its bias; the policy's log σ last), so that threads reading consecutive units
read consecutive weights.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from numba import cuda, float32
from torch import Tensor

from ..dynamics import DynamicsEnsemble
from ..envs import Task
from ..policy import LOG_2PI, GaussianPolicy
from .row_rewards import TASK_CODES, reward_and_done
from .torch_backend import torch_rollout
from .trajectories import Trajectories

KERNEL_MAX_TRAJECTORIES = 1000
"""Most trajectories per model that gpu_rollout gives the fused kernel (on an H100: the kernel 1.8x torch at
1,000 per model, torch 1.1x the kernel at 2,000)."""

ROWS = 8
"""Trajectories one thread block steps together (each thread keeps ROWS sums in registers)."""

THREADS = 256
"""Threads per block."""

SHARED_BYTES = 48 * 1024
"""Shared memory a block may use without opting in to more."""

TANH, RELU, LINEAR = 0, 1, 2

_compile_failure: str | None = None
"""Why the kernel could not be compiled in this process (numba-cuda broken against the installed numpy,
say), once it has failed; gpu_rollout then runs torch on the GPU."""

_reward_and_done = cuda.jit(device=True)(reward_and_done)


@cuda.jit(device=True)
def _layer(theta, k, offset, n_in, n_out, x, y, activation):
    """y[u·ROWS + r] = activation(Σ_i x[i·ROWS + r] · W[i, u] + b[u]), W and b packed in theta[k] from
    offset; the offset after the layer."""
    tid, threads = cuda.threadIdx.x, cuda.blockDim.x
    weights, bias = theta[k, offset:], theta[k, offset + n_in * n_out :]
    # A narrow layer splits each unit's inputs into `splits` strided parts, one thread each, so that
    # every thread works; the parts' sums land in y part after part and are added up below.
    splits = max(1, threads // n_out)
    for job in range(tid, n_out * splits, threads):
        unit, part = job % n_out, job // n_out
        sums = cuda.local.array(ROWS, float32)
        for r in range(ROWS):
            sums[r] = 0.0
        for i in range(part, n_in, splits):
            weight = weights[i * n_out + unit]
            for r in range(ROWS):
                sums[r] += x[i * ROWS + r] * weight
        for r in range(ROWS):
            y[job * ROWS + r] = sums[r]
    cuda.syncthreads()
    for j in range(tid, n_out * ROWS, threads):
        value = bias[j // ROWS]
        for part in range(splits):
            value += y[part * n_out * ROWS + j]
        if activation == TANH:
            value = math.tanh(value)
        elif activation == RELU:
            value = max(value, float32(0.0))
        y[j] = value
    cuda.syncthreads()
    return offset + n_in * n_out + n_out


@cuda.jit(device=True)
def _mlp(theta, k, sizes, x, y, hidden_activation):
    """The MLP of theta[k] on x (sizes[0], ROWS), y the other buffer: the output lands in x after an
    even number of layers, in y after an odd one (`_output`)."""
    offset = 0
    for i in range(sizes.shape[0] - 1):
        activation = hidden_activation if i < sizes.shape[0] - 2 else LINEAR
        offset = _layer(theta, k, offset, sizes[i], sizes[i + 1], x, y, activation)
        x, y = y, x


@cuda.jit(device=True)
def _output(sizes, x, y):
    """The buffer that holds the output of `_mlp(..., sizes, x, y, ...)`."""
    return x if (sizes.shape[0] - 1) % 2 == 0 else y


@cuda.jit(cache=True)
def _rollout_kernel(
    model, model_sizes, in_mean, in_std, delta_mean, delta_std, low, high, policy, policy_sizes,
    start, noise, task, bound, width, obs, actions, rewards, dones, log_probs,
):  # fmt: skip
    """Block (x, y) rolls out trajectories ROWS·x to ROWS·x + ROWS − 1 of model y into the outputs."""
    k, lo, tid, threads = cuda.blockIdx.y, cuda.blockIdx.x * ROWS, cuda.threadIdx.x, cuda.blockDim.x
    n, horizon, act_dim, obs_dim = noise.shape[1], noise.shape[2], noise.shape[3], start.shape[2]
    log_std = policy.shape[1] - act_dim
    # Activations (features, ROWS) in a and b; states, next states and clipped actions (ROWS, features).
    shared = cuda.shared.array(0, float32)
    a_end = width * ROWS
    b_end = 2 * a_end
    states_end = b_end + obs_dim * ROWS
    nexts_end = states_end + obs_dim * ROWS
    clipped_end = nexts_end + act_dim * ROWS
    a, b = shared[:a_end], shared[a_end:b_end]
    states, nexts = shared[b_end:states_end], shared[states_end:nexts_end]
    clipped, ended = shared[nexts_end:clipped_end], shared[clipped_end : clipped_end + ROWS]
    for i in range(tid, obs_dim * ROWS, threads):
        r, j = i // obs_dim, i % obs_dim
        states[i] = start[k, lo + r, j] if lo + r < n else 0.0
    for r in range(tid, ROWS, threads):
        ended[r] = 0.0
    cuda.syncthreads()
    for t in range(horizon):
        for i in range(tid, obs_dim * ROWS, threads):
            j, r = i // ROWS, i % ROWS
            a[i] = states[r * obs_dim + j]
        cuda.syncthreads()
        _mlp(policy, k, policy_sizes, a, b, TANH)
        mean = _output(policy_sizes, a, b)
        if tid < ROWS:
            r = tid
            squares, log_std_sum = 0.0, 0.0
            for j in range(act_dim):
                z = noise[k, lo + r, t, j] if lo + r < n else 0.0
                action = mean[j * ROWS + r] + math.exp(policy[k, log_std + j]) * z
                clipped[r * act_dim + j] = min(max(action, -bound), bound)
                squares += z * z
                log_std_sum += policy[k, log_std + j]
                if lo + r < n:
                    actions[k, lo + r, t, j] = action
            if lo + r < n:
                log_probs[k, lo + r, t] = -0.5 * squares - log_std_sum - 0.5 * act_dim * LOG_2PI
        cuda.syncthreads()
        for i in range(tid, (obs_dim + act_dim) * ROWS, threads):
            j, r = i // ROWS, i % ROWS
            if j < obs_dim:
                value = states[r * obs_dim + j]
                if lo + r < n:
                    obs[k, lo + r, t, j] = value
            else:
                value = clipped[r * act_dim + j - obs_dim]
            a[i] = (value - in_mean[j]) / in_std[j]
        cuda.syncthreads()
        _mlp(model, k, model_sizes, a, b, RELU)
        delta = _output(model_sizes, a, b)
        for i in range(tid, obs_dim * ROWS, threads):
            r, j = i // obs_dim, i % obs_dim
            value = states[i] + delta[j * ROWS + r] * delta_std[j] + delta_mean[j]
            nexts[i] = min(max(value, low[j]), high[j])
        cuda.syncthreads()
        if tid < ROWS and lo + tid < n:
            r = tid
            reward, terminated = _reward_and_done(
                task,
                states[r * obs_dim : (r + 1) * obs_dim],
                clipped[r * act_dim : (r + 1) * act_dim],
                nexts[r * obs_dim : (r + 1) * obs_dim],
            )
            if ended[r] != 0.0:
                rewards[k, lo + r, t] = 0.0
                dones[k, lo + r, t] = 0
            else:
                rewards[k, lo + r, t] = reward
                dones[k, lo + r, t] = terminated
                if terminated:
                    ended[r] = 1.0
                else:
                    for j in range(obs_dim):
                        states[r * obs_dim + j] = nexts[r * obs_dim + j]
        cuda.syncthreads()


def _packed(layers: list[tuple[Tensor, Tensor]]) -> np.ndarray:
    """Weights (K, out, in) and biases (K, 1, out) as one float32 row per model, layer after layer, each
    weight transposed to (in, out) as the kernel reads it."""
    models = layers[0][0].shape[0]
    parts = []
    for weight, bias in layers:
        parts += [weight.detach().transpose(1, 2).reshape(models, -1), bias.detach().reshape(models, -1)]
    return np.ascontiguousarray(torch.cat(parts, dim=1).numpy(), dtype=np.float32)


def buffer_width(ensemble: DynamicsEnsemble, policy: GaussianPolicy) -> int:
    """Features (or partial sums, one per thread) an activation buffer holds for each trajectory."""
    return max(*ensemble.sizes, *policy.sizes, THREADS)


def shared_bytes(width: int, obs_dim: int, act_dim: int) -> int:
    """Dynamic shared memory of one block: two activation buffers, states, next states, actions, flags."""
    return 4 * ROWS * (2 * width + 2 * obs_dim + act_dim + 1)


def kernel_refusal(ensemble: DynamicsEnsemble, policy: GaussianPolicy, task: Task) -> str | None:
    """Why the fused kernel cannot roll out this ensemble, policy and task; None if it can."""
    if not cuda.is_available():
        return "numba's CUDA target finds no GPU"
    if _compile_failure is not None:
        return f"numba-cuda could not compile the kernel here ({_compile_failure})"
    if task.env_id not in TASK_CODES:
        return f"task: the CUDA kernel has no reward for {task.env_id!r}"
    width = buffer_width(ensemble, policy)
    memory = shared_bytes(width, ensemble.obs_dim, ensemble.act_dim)
    if memory > SHARED_BYTES:
        return (
            f"model_hidden: layers of {width} units need {memory} bytes of shared memory, over {SHARED_BYTES}"
        )
    return None


def gpu_rollout(
    ensemble: DynamicsEnsemble,
    policy: GaussianPolicy,
    params: Tensor,
    start_states: Tensor,
    noise: Tensor,
    task: Task,
) -> Trajectories:
    """The Rollout interface on the GPU: the fused kernel up to KERNEL_MAX_TRAJECTORIES trajectories per
    model where it can run them, else the torch reference on the GPU; inputs and results on the CPU. If the
    kernel fails on its first use, a warning says why and torch takes over for the rest of the process."""
    global _compile_failure
    if start_states.shape[1] <= KERNEL_MAX_TRAJECTORIES and kernel_refusal(ensemble, policy, task) is None:
        try:
            return cuda_rollout(ensemble, policy, params, start_states, noise, task)
        except Exception as error:
            if _rollout_kernel.overloads:
                raise
            _compile_failure = f"{type(error).__name__}: {error}"
            warnings.warn(
                f"{kernel_refusal(ensemble, policy, task)}; imagined rollouts go on with torch on the GPU",
                RuntimeWarning,
                stacklevel=2,
            )
    return torch_rollout(ensemble, policy, params, start_states, noise, task, device="cuda")


def cuda_rollout(
    ensemble: DynamicsEnsemble,
    policy: GaussianPolicy,
    params: Tensor,
    start_states: Tensor,
    noise: Tensor,
    task: Task,
) -> Trajectories:
    """The Rollout interface as the fused kernel; inputs and results on the CPU. ValueError where
    kernel_refusal gives a reason."""
    refusal = kernel_refusal(ensemble, policy, task)
    if refusal is not None:
        raise ValueError(refusal)
    weights = ensemble.snapshot()
    width = buffer_width(ensemble, policy)
    k, n, horizon, act_dim = noise.shape
    obs_dim = start_states.shape[2]
    memory = shared_bytes(width, obs_dim, act_dim)
    to_gpu = [
        cuda.to_device(np.ascontiguousarray(x, dtype=dtype))
        for x, dtype in (
            (_packed(weights.layers), np.float32),
            (ensemble.sizes, np.int64),
            (weights.input_mean.numpy(), np.float32),
            (weights.input_std.numpy(), np.float32),
            (weights.delta_mean.numpy(), np.float32),
            (weights.delta_std.numpy(), np.float32),
            (weights.obs_low.numpy(), np.float32),
            (weights.obs_high.numpy(), np.float32),
            (params.detach().numpy(), np.float32),
            (policy.sizes, np.int64),
            (start_states.numpy(), np.float32),
            (noise.numpy(), np.float32),
        )
    ]
    outputs = [
        cuda.device_array(shape, dtype=dtype)
        for shape, dtype in (
            ((k, n, horizon, obs_dim), np.float32),
            ((k, n, horizon, act_dim), np.float32),
            ((k, n, horizon), np.float32),
            ((k, n, horizon), np.uint8),
            ((k, n, horizon), np.float32),
        )
    ]
    grid = ((n + ROWS - 1) // ROWS, k)
    _rollout_kernel[grid, THREADS, 0, memory](
        *to_gpu, TASK_CODES[task.env_id], np.float32(task.action_bound), width, *outputs
    )
    obs, actions, rewards, dones, log_probs = (torch.from_numpy(x.copy_to_host()) for x in outputs)
    return Trajectories(obs, actions, rewards, dones.bool(), log_probs)
