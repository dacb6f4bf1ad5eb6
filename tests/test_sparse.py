"""torch_csr: the CSR tensor it builds, its optional invariant check, and no construction notices."""

import warnings

import pytest
import torch

from g2rec.sparse import torch_csr


def test_torch_csr_builds_the_matrix_quietly_and_checks_on_request():
    indptr, indices, values = torch.tensor([0, 2, 2, 3]), torch.tensor([0, 2, 1]), torch.tensor([1.0, 2.0, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch 2.11+: "checks are implicitly disabled", CSR "beta"
        for check in (False, True):
            m = torch_csr(indptr, indices, values, (3, 3), check=check)
            assert m.layout == torch.sparse_csr
            assert torch.equal(m.to_dense(), torch.tensor([[1.0, 0, 2], [0, 0, 0], [0, 3, 0]]))
    assert not torch.sparse.check_sparse_tensor_invariants.is_enabled()  # the global setting is left as it was
    with pytest.raises(RuntimeError, match="col_indices"):
        torch_csr(indptr, torch.tensor([0, 5, 1]), values, (3, 3), check=True)
