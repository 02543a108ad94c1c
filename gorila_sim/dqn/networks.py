"""Q-networks: an MLP for vector observations and the Nature DQN CNN for Atari frames."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from gymnasium import spaces
from torch import nn


def set_torch_threads() -> None:
    """Run torch on one thread: many small forward passes are far slower on oversubscribed threads."""
    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)


def mlp_q_network(obs_dim: int, n_actions: int, hidden: Sequence[int] = (120, 84)) -> nn.Module:
    """A ReLU MLP from an observation vector to one Q-value per action."""
    layers: list[nn.Module] = []
    width = obs_dim
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size
    layers.append(nn.Linear(width, n_actions))
    return nn.Sequential(*layers)


class NatureCNN(nn.Module):
    """The Q-network of Mnih et al. (2015) on stacks of uint8 84x84 frames, scaled to [0, 1] inside."""

    def __init__(self, n_actions: int, in_channels: int = 4, channels_last: bool = False) -> None:
        super().__init__()
        self.channels_last = channels_last
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, 32, kernel_size=8, stride=4),
            nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=4, stride=2),
            nn.ReLU(),
            nn.Conv2d(64, 64, kernel_size=3, stride=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, 512),
            nn.ReLU(),
            nn.Linear(512, n_actions),
        )

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            frames = frames.permute(0, 3, 1, 2)
        return self.layers(frames.float() / 255.0)


def nature_cnn_q_network(n_actions: int, in_channels: int = 4, channels_last: bool = False) -> nn.Module:
    """The Nature DQN CNN: input (N, C, 84, 84) uint8 frames, or (N, 84, 84, C) with `channels_last`."""
    return NatureCNN(n_actions, in_channels, channels_last)


def q_network_for(
    observation_space: spaces.Space, action_space: spaces.Space, hidden: Sequence[int] = (120, 84)
) -> nn.Module:
    """The MLP for a 1-D Box observation space, the CNN for uint8 (C, 84, 84) or (84, 84, C) frames."""
    if not isinstance(action_space, spaces.Discrete) or action_space.start != 0:
        raise ValueError(f"DQN needs a Discrete action space starting at 0, got {action_space}")
    n_actions = int(action_space.n)
    if isinstance(observation_space, spaces.Box):
        shape = observation_space.shape
        if len(shape) == 1:
            return mlp_q_network(shape[0], n_actions, hidden)
        is_frames = len(shape) == 3 and observation_space.dtype == np.uint8
        if is_frames and shape[1:] == (84, 84):
            return nature_cnn_q_network(n_actions, in_channels=shape[0])
        if is_frames and shape[:2] == (84, 84):
            return nature_cnn_q_network(n_actions, in_channels=shape[2], channels_last=True)
    raise ValueError(
        f"no Q-network for observation space {observation_space}: "
        "expected a 1-D Box or a uint8 Box of shape (C, 84, 84) or (84, 84, C)"
    )
