import numpy as np
import pytest
import torch
from gymnasium import spaces

from gorila_sim.dqn import mlp_q_network, nature_cnn_q_network, q_network_for, set_torch_threads
from gorila_sim.dqn.networks import NatureCNN


def test_set_torch_threads_is_idempotent():
    set_torch_threads()
    set_torch_threads()
    assert torch.get_num_threads() == 1


def test_mlp_shape_and_layers():
    network = mlp_q_network(4, 2)
    widths = [(m.in_features, m.out_features) for m in network if isinstance(m, torch.nn.Linear)]
    assert widths == [(4, 120), (120, 84), (84, 2)]
    assert sum(isinstance(m, torch.nn.ReLU) for m in network) == 2
    assert network(torch.randn(7, 4)).shape == (7, 2)
    assert mlp_q_network(3, 5, hidden=()).forward(torch.randn(2, 3)).shape == (2, 5)


def test_nature_cnn_on_uint8_frames():
    torch.manual_seed(0)
    network = nature_cnn_q_network(6)
    convs = [
        (m.out_channels, m.kernel_size, m.stride) for m in network.modules() if isinstance(m, torch.nn.Conv2d)
    ]
    assert convs == [(32, (8, 8), (4, 4)), (64, (4, 4), (2, 2)), (64, (3, 3), (1, 1))]
    assert sum(p.numel() for p in network.parameters()) == 1_687_206
    frames = torch.randint(0, 256, (3, 4, 84, 84), dtype=torch.uint8)
    with torch.no_grad():
        q = network(frames)
        scaled = network.layers(frames.float() / 255.0)
    assert q.shape == (3, 6)
    torch.testing.assert_close(q, scaled)


def test_channels_last_cnn_matches_channels_first():
    first = nature_cnn_q_network(4, in_channels=3)
    last = nature_cnn_q_network(4, in_channels=3, channels_last=True)
    last.load_state_dict(first.state_dict())
    frames = torch.randint(0, 256, (2, 3, 84, 84), dtype=torch.uint8)
    with torch.no_grad():
        torch.testing.assert_close(last(frames.permute(0, 2, 3, 1)), first(frames))


def test_q_network_for_picks_the_architecture():
    vector = q_network_for(spaces.Box(-1.0, 1.0, shape=(4,)), spaces.Discrete(2))
    assert vector(torch.randn(5, 4)).shape == (5, 2)
    small = q_network_for(spaces.Box(-1.0, 1.0, shape=(3,)), spaces.Discrete(2), hidden=(8,))
    assert sum(p.numel() for p in small.parameters()) == 3 * 8 + 8 + 8 * 2 + 2

    first = q_network_for(spaces.Box(0, 255, shape=(4, 84, 84), dtype=np.uint8), spaces.Discrete(6))
    last = q_network_for(spaces.Box(0, 255, shape=(84, 84, 1), dtype=np.uint8), spaces.Discrete(3))
    assert isinstance(first, NatureCNN) and not first.channels_last
    assert isinstance(last, NatureCNN) and last.channels_last
    with torch.no_grad():
        assert first(torch.zeros(2, 4, 84, 84, dtype=torch.uint8)).shape == (2, 6)
        assert last(torch.zeros(2, 84, 84, 1, dtype=torch.uint8)).shape == (2, 3)


@pytest.mark.parametrize(
    ("observation_space", "action_space", "match"),
    [
        (spaces.Box(-1.0, 1.0, shape=(4,)), spaces.Box(-1.0, 1.0, shape=(2,)), "Discrete action space"),
        (spaces.Box(-1.0, 1.0, shape=(4,)), spaces.MultiDiscrete([2, 2]), "Discrete action space"),
        (spaces.Box(-1.0, 1.0, shape=(4,)), spaces.Discrete(3, start=1), "starting at 0"),
        (spaces.Discrete(16), spaces.Discrete(4), "observation space Discrete"),
        (spaces.Box(-1.0, 1.0, shape=(4, 4)), spaces.Discrete(2), "observation space Box"),
        (spaces.Box(0, 255, shape=(4, 64, 64), dtype=np.uint8), spaces.Discrete(2), "84"),
        (spaces.Box(0.0, 1.0, shape=(4, 84, 84)), spaces.Discrete(2), "uint8"),
    ],
)
def test_q_network_for_rejects_other_spaces(observation_space, action_space, match):
    with pytest.raises(ValueError, match=match):
        q_network_for(observation_space, action_space)
