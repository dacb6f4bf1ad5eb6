"""torch sparse CSR tensors built in one place, so torch's construction notices stay quiet.

torch (2.11 and later) warns at the first sparse tensor of a process that its invariant checks
are "implicitly disabled" unless the caller opts in or out through
``torch.sparse.check_sparse_tensor_invariants``; it also notes that CSR support is "beta".
"""

from __future__ import annotations

import warnings


def torch_csr(indptr, indices, values, shape: tuple[int, int], check: bool = False):
    """A ``shape`` torch sparse CSR tensor from torch tensors ``indptr (n+1,)``, ``indices (nnz,)``
    and ``values (nnz,)``. ``check``: validate the CSR invariants once, here (``RuntimeError``
    when they do not hold); off for large matrices built from arrays scipy already validated."""
    import torch

    with warnings.catch_warnings(), torch.sparse.check_sparse_tensor_invariants(enable=check):
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(indptr, indices, values, size=shape)
