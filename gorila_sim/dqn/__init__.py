"""DQN parts: Q-networks, flat parameters and their shards, replay, the loss gradient, the policy."""

from gorila_sim.dqn.gradient import DQNGradient, GradientResult, Policy, linear_epsilon
from gorila_sim.dqn.networks import mlp_q_network, nature_cnn_q_network, q_network_for, set_torch_threads
from gorila_sim.dqn.params import FlatParams, ShardLayout
from gorila_sim.dqn.replay import Batch, ReplayBuffer

__all__ = [
    "Batch",
    "DQNGradient",
    "FlatParams",
    "GradientResult",
    "Policy",
    "ReplayBuffer",
    "ShardLayout",
    "linear_epsilon",
    "mlp_q_network",
    "nature_cnn_q_network",
    "q_network_for",
    "set_torch_threads",
]
