"""GRPO-SR: group-relative advantages, the gate, the loss's gradient, exact resume."""

import json
import shutil

import numpy as np
import pytest
import torch

from g2rec import train
from g2rec.errors import ConfigError
from g2rec.pipeline import align, evaluate_rewards
from g2rec.pipeline.models import load_trained
from g2rec.pipeline.runfolder import RunFolder
from g2rec.tokenize.trie import SIDTrie
from g2rec.model.encdec import EncoderDecoderConfig, SIDEncoderDecoder
from g2rec.model.generator import Generator, GeneratorConfig, InterestContext
from g2rec.train.align import (
    AlignConfig,
    align_step,
    code_rewards,
    group_advantages,
    grpo_sr_loss,
    prefix_nodes,
    sample_codes,
)


def test_group_relative_advantages():
    rewards = torch.tensor([[1.0, 2.0, 3.0, 2.0], [0.5, 0.5, 0.5, 0.5]])
    items = torch.tensor([[4, 5, 6, -1], [1, 2, 3, 4]])
    adv = group_advantages(rewards, items, None)
    std = float(np.sqrt(0.5))  # population std of 1, 2, 3, 2
    assert torch.allclose(adv[0], torch.tensor([-1 / std, 0.0, 1 / std, 0.0]), atol=1e-5)
    assert torch.equal(adv[1], torch.zeros(4))  # a group of equal rewards teaches nothing
    # the page's own item (5) is anchored to the group's best reward before normalizing
    anchored = group_advantages(rewards, items, torch.tensor([[5, 9], [9, 9]]))
    r = torch.tensor([1.0, 3.0, 3.0, 2.0])
    assert torch.allclose(anchored[0], (r - r.mean()) / (r.std(unbiased=False) + 1e-6), atol=1e-6)
    # padding never anchors a non-item
    assert torch.equal(group_advantages(rewards, items, torch.tensor([[-1], [-1]])), adv)


def trie_and_prefs():
    codes = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1], [1, 2]])               # 5 items, (L = 2)
    trie = SIDTrie.build(codes.numpy(), (2, 3))
    prefs = torch.tensor([[0.4, 0.3, 0.2, 0.05, 0.05]])
    return codes, trie, prefs


def test_the_gate_gives_no_reward_to_invalid_codes():
    codes, trie, prefs = trie_and_prefs()
    samples = torch.tensor([[[0, 0], [0, 2], [1, 1], [1, 2]]])                  # item 0, no item, item 3, item 4
    tau = 0.06
    gated, items = code_rewards(prefs, samples, trie, prefix_nodes(trie, codes), gate=True, tau=tau)
    assert items.tolist() == [[0, -1, 3, 4]]
    assert torch.allclose(gated, torch.tensor([[0.4, 0.0, 0.0, 0.0]]))          # non-item and p <= tau: 0
    free, _ = code_rewards(prefs, samples, trie, prefix_nodes(trie, codes), gate=False, tau=tau)
    # ungated: an item keeps its preference, the non-item (0, 2) gets the mean of prefix 0's items
    assert torch.allclose(free, torch.tensor([[0.4, (0.4 + 0.3) / 2, 0.05, 0.05]]))


def test_the_loss_is_the_policy_gradient_plus_the_nll():
    logits = torch.randn(2, 3, 2, requires_grad=True)                            # (B, G, L) free "log-probs"
    adv = torch.tensor([[1.0, -1.0, 0.0], [0.5, 0.5, -1.0]])
    pos = torch.randn(2, 2, 2, requires_grad=True)
    mask = torch.tensor([[True, False], [True, True]])
    loss, policy, nll = grpo_sr_loss(logits, adv, pos, mask, nll_weight=0.5)
    assert float(policy) == pytest.approx(-float(adv.mean()))                   # the ratio's value is 1
    reference = -(adv[..., None] * logits).mean(-1).mean() + 0.5 * torch.stack(
        [-pos[0, 0].sum(), -(pos[1, 0].sum() + pos[1, 1].sum()) / 2]).mean()
    g1 = torch.autograd.grad(loss, (logits, pos))
    g2 = torch.autograd.grad(reference, (logits, pos))
    assert all(torch.allclose(a, b) for a, b in zip(g1, g2))


def test_bad_options_fail_naming_them():
    with pytest.raises(ConfigError, match="at least 2"):
        AlignConfig(group_size=1)
    with pytest.raises(ConfigError, match="steps=0"):
        AlignConfig(steps=0)


class Killed(Exception):
    pass


def test_alignment_resumes_exactly(trained_run, tmp_path):
    trained_run = shutil.copytree(trained_run, tmp_path / "run")  # the shared run keeps its latest model
    train(trained_run, "g2rec", head="sids", profiles="none", profile_weight=0.0, epochs=1, max_len=10, dim=16,
          threads=1, name="sids-for-align")
    options = dict(group_size=4, batch_size=16, steps=6, checkpoint_every=2, threads=1, lr=1e-3)
    straight = align(trained_run, "sids-for-align", "sasrec-items", name="straight", **options)

    def kill_at_5(stage, done, total):
        if stage == "align" and done == 5:
            raise Killed
    with pytest.raises(Killed):
        align(trained_run, "sids-for-align", "sasrec-items", name="resumed", progress=kill_at_5, **options)
    resumed = align(trained_run, "sids-for-align", "sasrec-items", name="resumed", resume=True, **options)
    run = RunFolder(trained_run)
    a, b = load_trained(run, "straight")[0], load_trained(run, "resumed")[0]
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name
    log = [json.loads(line) for line in (run.model_folder("resumed") / "align_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [2, 4, 6]
    assert {k: v for k, v in straight.items() if "seconds" not in k and "memory" not in k} == \
        {k: v for k, v in resumed.items() if "seconds" not in k and "memory" not in k} | {"model": "straight"}
    base = load_trained(run, "sids-for-align")[0]
    assert any(not torch.equal(x, y) for x, y in zip(base.state_dict().values(), a.state_dict().values()))
    metrics = evaluate_rewards(trained_run, "straight", "sasrec-items", split="valid")["metrics"]
    assert 0 <= metrics["reward@1"] <= metrics["reward@10"] <= 1 and 0 <= metrics["har"] <= 1
    with pytest.raises(ConfigError, match="items-head"):
        align(trained_run, "sids-for-align", "sids-for-align", name="x", **options)


@pytest.mark.parametrize("network", ["decoder-only", "encoder-decoder"])
def test_samples_follow_the_policy_and_a_step_moves_it(network):
    """Ancestral sampling draws each code sequence with the policy's probability, through the
    beam-search interface of both generators; one GRPO-SR step changes the policy."""
    torch.manual_seed(0)
    n, codes = 12, torch.stack([torch.arange(12) % 3, torch.arange(12) // 3], 1)        # (12, 2), sizes (3, 4)
    if network == "decoder-only":
        policy = Generator(n, GeneratorConfig(head="sids", item_input="sid", profiles="none", profile_weight=0.0,
                                              max_len=4, dim=16, dropout=0.0), InterestContext(codes=codes, codebook_sizes=(3, 4)))
    else:
        policy = SIDEncoderDecoder(n, EncoderDecoderConfig(max_len=4, dim=16, encoder_layers=1, decoder_layers=1, heads=2,
                                                            head_dim=8, ff_mult=2, dropout=0.0, user_tokens=0), codes, (3, 4))
    policy.eval()
    trie = SIDTrie.build(codes.numpy(), (3, 4))
    hist = torch.tensor([[n, 1, 2, 3]])
    draws = sample_codes(*policy.decoding(hist), 2, 20000, 1.0, torch.Generator().manual_seed(1))   # (1, 20000, 2)
    every = torch.cartesian_prod(torch.arange(3), torch.arange(4))                                   # all 12 sequences
    with torch.no_grad():
        expected = policy.token_log_probs(hist, every[None]).sum(-1).exp()[0]
    seen = torch.tensor([((draws[0] == s).all(1)).float().mean() for s in every])
    assert torch.allclose(seen, expected, atol=0.012)
    reward = Generator(n, GeneratorConfig(profiles="none", profile_weight=0.0, max_len=4, dim=8), InterestContext()).eval()
    before = [p.detach().clone() for p in policy.parameters()]
    optimizer = torch.optim.AdamW(policy.parameters(), lr=1e-2)
    batch = (torch.tensor([[n, 1, 2, 3], [n, n, 4, 5]]), torch.tensor([[6, n], [7, 8]]), torch.tensor([0, 1]))
    stats = align_step(policy, reward, optimizer, trie, prefix_nodes(trie, codes), batch, AlignConfig(group_size=4),
                       torch.Generator().manual_seed(0))
    assert 0 <= stats["valid"] <= 1 and stats["nll"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, policy.parameters()))
