"""A module's parameters as one flat vector, and that vector's split into parameter-server shards."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import torch
from torch import nn


class FlatParams:
    """Binds a module's parameters to one flat vector in their dtype (float32 for the project's networks).

    The parameters become views of one contiguous buffer, so `set` is a single copy. Bind a module after
    any `.to(...)`/`.float()`, which would replace the views, and bind it once.
    """

    def __init__(self, module: nn.Module) -> None:
        params = list(module.parameters())
        if not params:
            raise ValueError(f"{type(module).__name__} has no parameters")
        dtypes = {p.dtype for p in params}
        if len(dtypes) != 1:
            raise ValueError(f"parameters of mixed dtypes {sorted(map(str, dtypes))} cannot share one vector")
        self.size = sum(p.numel() for p in params)
        self._params = params
        self._flat = torch.empty(self.size, dtype=params[0].dtype)
        self._flat_np = self._flat.numpy()
        self.dtype = self._flat_np.dtype
        offset = 0
        with torch.no_grad():
            for p in params:
                view = self._flat[offset : offset + p.numel()].view_as(p)
                view.copy_(p)
                p.data = view
                offset += p.numel()

    def get(self) -> np.ndarray:
        """A copy of the parameters."""
        self._check_bound()
        return self._flat_np.copy()

    def set(self, flat: np.ndarray) -> None:
        """Copy `flat` into the module's parameters."""
        self._check_bound()
        self._check(flat)
        np.copyto(self._flat_np, flat)

    def grad(self) -> np.ndarray:
        """The gradient left in the parameters by `backward`, in the layout of `get`."""
        grads = [p.grad for p in self._params]
        if any(g is None for g in grads):
            raise RuntimeError("some parameters have no gradient: run backward first")
        return torch.cat([g.reshape(-1) for g in grads]).numpy()

    def _check(self, flat: np.ndarray) -> None:
        if not isinstance(flat, np.ndarray) or flat.shape != (self.size,) or flat.dtype != self.dtype:
            got = f"{flat.dtype} {flat.shape}" if isinstance(flat, np.ndarray) else type(flat).__name__
            raise ValueError(f"expected a {self.dtype} vector of shape ({self.size},), got {got}")
        if not np.isfinite(flat).all():
            raise ValueError("parameter vector has NaN or infinite entries")

    def _check_bound(self) -> None:
        if self._params[0].data_ptr() != self._flat.data_ptr():
            raise RuntimeError("the module's parameters left this FlatParams (bound again, or moved)")


class ShardLayout:
    """Splits a flat vector of `size` entries into `shards` contiguous slices of near-equal sizes."""

    def __init__(self, size: int, shards: int) -> None:
        if not 1 <= shards <= size:
            raise ValueError(f"need 1 <= shards <= size, got shards={shards}, size={size}")
        self.size = size
        self.shards = shards
        base, extra = divmod(size, shards)
        bounds = [i * base + min(i, extra) for i in range(shards + 1)]
        self.slices: tuple[slice, ...] = tuple(slice(a, b) for a, b in pairwise(bounds))

    def split(self, flat: np.ndarray) -> list[np.ndarray]:
        """The shards' parts of `flat`, as views."""
        if flat.shape != (self.size,):
            raise ValueError(f"expected a vector of shape ({self.size},), got {flat.shape}")
        return [flat[s] for s in self.slices]

    def join(self, parts: Sequence[np.ndarray]) -> np.ndarray:
        """The flat vector made of one part per shard, in shard order."""
        sizes = [s.stop - s.start for s in self.slices]
        if [np.shape(p) for p in parts] != [(n,) for n in sizes]:
            raise ValueError(
                f"expected {self.shards} parts of sizes {sizes}, got {[np.shape(p) for p in parts]}"
            )
        return np.concatenate(parts)
