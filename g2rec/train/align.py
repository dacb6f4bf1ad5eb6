"""GRPO-SR: preference alignment of a semantic-ID generator (GenRec, section 2.3).

For a query (a history ``S_u`` that a page ``D+`` of items followed in training), the policy
``pi_theta`` (the trained generator) samples a group of ``G`` code sequences
``o_1..o_G`` level by level (no trie: a sample may be no item). A frozen reward model (an
items-head model: GenRec's similarity model) gives each a preference ``r^pref_i in [0, 1]``,
its next-item probability ``p(o_i | S_u)``. GenRec's gate keeps only relevant, real items,

.. math::
    r_i = G_i \\, r^{pref}_i, \\qquad G_i = 1[o_i \\text{ is an item}] \\; 1[p(o_i \\mid S_u) > \\tau],

and the items of the page itself are anchored to the best reward of the group,
``r~_i = r_max`` for ``o_i in D+`` (eq. 7). Without the gate (the ablation), a code sequence
that is no item is rated by what the reward model can recognize of it: the mean preference of
the items that share its longest valid prefix. Advantages are group-relative,

.. math::
    \\hat A_i = \\frac{\\tilde r_i - \\operatorname{mean}_j \\tilde r_j}{\\operatorname{std}_j \\tilde r_j + \\epsilon},

and the loss (eq. 8) is the one-step policy gradient with the ratio ``pi / sg(pi)`` (value 1,
gradient that of ``log pi``) per code, plus ``alpha`` times the NLL of the page's items:

.. math::
    L = -\\frac{1}{G} \\sum_i \\frac{1}{|o_i|} \\sum_t \\frac{\\pi_\\theta(o_{i,t} \\mid \\cdot)}
        {\\operatorname{sg}(\\pi_\\theta(o_{i,t} \\mid \\cdot))} \\hat A_i
        \\; - \\; \\alpha \\, \\operatorname{mean}_{v \\in D^+} \\sum_t \\log \\pi_\\theta(v_t \\mid \\cdot)

(``alpha = 0``: plain GRPO). Sampling and the loss run with dropout off. Step ``s`` draws its
samples from a generator seeded by ``(seed, s)`` and epoch ``e`` shuffles the queries by
``(seed, e)``, so a run resumed from the checkpoint after step ``s`` replays the steps after it
exactly as the straight run does.

Shapes: ``B`` queries, ``G`` samples each, ``L`` code levels, ``I`` items, ``P`` page items.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..atomic import sweep_stale
from ..config import check_fields
from ..data.pages import next_page_targets
from ..data.sequences import Sequences
from ..errors import ConfigError
from ..measure import peak_memory_mb
from ..tokenize.trie import SIDTrie
from .checkpoint import load_checkpoint, save_checkpoint
from .loop import kept_log_lines, training_device

LOG = logging.getLogger(__name__)


@dataclass
class AlignConfig:
    group_size: int = 8            # G code sequences sampled per query
    temperature: float = 1.0       # sampling temperature of the policy
    nll_weight: float = 0.1        # alpha of the NLL regularizer on the page's items (0 = plain GRPO)
    gate: bool = True              # GenRec's gate: no reward for a non-item or an item the reward model finds irrelevant
    gate_tau: float = 1.0          # the gate's threshold tau, in units of the uniform probability 1 / I
    anchor_positives: bool = True  # the page's own items get the group's best reward (eq. 7)
    epochs: int = 1                # passes over the training queries
    steps: int | None = None       # stop after this many steps instead (a budget; None = the epochs')
    batch_size: int = 64           # queries per step
    lr: float = 1e-4               # AdamW learning rate
    seed: int = 0
    threads: int = 0               # torch threads (0 = all cores)
    checkpoint_every: int = 100    # steps between checkpoints (and log lines)
    device: str = "cpu"

    def __post_init__(self):
        check_fields(self)
        training_device(self.device)
        for name in ("group_size", "epochs", "batch_size", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)} must be >= 1")
        if self.steps is not None and self.steps < 1:
            raise ConfigError(f"steps={self.steps} must be >= 1 (or None: the epochs decide)")
        if self.group_size < 2:
            raise ConfigError(f"group_size={self.group_size}: group-relative advantages need at least 2 samples")
        if self.temperature <= 0 or self.lr <= 0 or self.nll_weight < 0 or self.gate_tau < 0 or self.threads < 0:
            raise ConfigError(f"need temperature > 0, lr > 0, nll_weight >= 0, gate_tau >= 0, threads >= 0 (got "
                              f"{self.temperature}, {self.lr}, {self.nll_weight}, {self.gate_tau}, {self.threads})")


def alignment_queries(train: Sequences, max_len: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The training queries: each history that closes a page (an item, without pages) followed
    by a next page of the same user. Returns ``hist (N, max_len)`` left-padded with ``I``,
    ``positives (N, P)`` the next page's items padded with ``I``, and ``users (N,)``."""
    pad = train.num_items
    pages = train.pages if train.pages is not None else np.arange(train.num_interactions)
    targets = next_page_targets(pages, train.offsets, train.items, pad)          # (M, P)
    rows = np.flatnonzero(targets[:, 0] != pad)
    users = train.users[rows]
    pos = rows[:, None] - max_len + 1 + np.arange(max_len)
    pos = np.where(pos >= train.offsets[users][:, None], pos, -1)
    hist = np.where(pos >= 0, train.items[np.maximum(pos, 0)], pad).astype(np.int64)
    return hist, targets[rows], users


@torch.no_grad()
def sample_codes(decoder, state, levels: int, group: int, temperature: float,
                 generator: torch.Generator) -> torch.Tensor:
    """``(B, G, L)`` code sequences drawn from the policy, level by level, unconstrained.
    ``decoder, state``: ``model.decoding(histories)`` (the beam-search interface)."""
    codes = []
    for level in range(levels):
        logp = decoder.level_log_probs(state, level) / temperature                 # (B, b, K)
        B, b, K = logp.shape
        probs = torch.softmax(logp, dim=-1).reshape(B * b, K)
        draws = torch.multinomial(probs, group if level == 0 else 1, replacement=True, generator=generator)
        code = draws.reshape(B, group)
        beam = torch.zeros_like(code) if level == 0 else torch.arange(group, device=code.device).expand(B, -1)
        state = decoder.advance(state, beam, level, code)
        codes.append(code)
    return torch.stack(codes, dim=-1)


def prefix_nodes(trie: SIDTrie, item_codes: torch.Tensor) -> torch.Tensor:
    """``(I, L + 1)`` the trie node of every item's prefix of each length (column 0: the root)."""
    node = torch.zeros(len(item_codes), dtype=torch.long)
    nodes = [node]
    for level in range(trie.levels):
        node = trie.child(node, item_codes[:, level].cpu())
        nodes.append(node)
    return torch.stack(nodes, dim=1)


def code_rewards(prefs: torch.Tensor, codes: torch.Tensor, trie: SIDTrie, item_prefixes: torch.Tensor,
                 gate: bool, tau: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Rewards of sampled code sequences and the items they are.

    Args:
        prefs: ``(B, I)`` the reward model's next-item probabilities.
        codes: ``(B, G, L)`` sampled code sequences.
        trie: the items' SID trie; ``item_prefixes``: its :func:`prefix_nodes`.
        gate: GenRec's gate (0 for a non-item or a preference ``<= tau``); without it a
            non-item gets the mean preference of the items sharing its longest valid prefix.
        tau: the gate's threshold on the probability.

    Returns:
        ``rewards (B, G)`` float and ``items (B, G)`` long (``-1`` = no item).
    """
    B, G, L = codes.shape
    flat = codes.reshape(B * G, L).cpu()
    node = deepest = torch.zeros(B * G, dtype=torch.long)
    depth = torch.zeros(B * G, dtype=torch.long)                            # levels matched by a real prefix
    for level in range(L):
        node = trie.child(node, flat[:, level])
        deepest = torch.where(node >= 0, node, deepest)
        depth += node >= 0
    items = trie.items(node).view(B, G).to(prefs.device)
    valid = items >= 0
    pref = prefs.gather(1, items.clamp_min(0)) * valid
    if gate:
        return pref * (pref > tau), items
    # the ungated reward model rates a non-item by the items that share its longest valid prefix
    share = (item_prefixes.T[depth] == deepest[:, None]).to(prefs.device)                 # (B G, I)
    rows = torch.arange(B, device=prefs.device).repeat_interleave(G)
    prefix_mean = (prefs[rows] * share).sum(1) / share.sum(1).clamp_min(1)
    return torch.where(valid, pref, prefix_mean.view(B, G)), items


def group_advantages(rewards: torch.Tensor, items: torch.Tensor, positives: torch.Tensor | None,
                     eps: float = 1e-6) -> torch.Tensor:
    """``(B, G)`` group-relative advantages ``(r~ - mean) / (std + eps)`` of ``rewards (B, G)``;
    with ``positives (B, P)`` (the page's items; the padding ``I`` is no sample's item), a sample that is one of them gets its group's best reward first (eq. 7). A group of
    equal rewards has advantages 0."""
    if positives is not None:
        hit = (items[:, :, None] == positives[:, None, :]).any(-1) & (items >= 0)
        rewards = torch.where(hit, rewards.max(dim=1, keepdim=True).values, rewards)
    mean, std = rewards.mean(dim=1, keepdim=True), rewards.std(dim=1, keepdim=True, unbiased=False)
    return (rewards - mean) / (std + eps)


def grpo_sr_loss(token_log_probs: torch.Tensor, advantages: torch.Tensor, positive_log_probs: torch.Tensor,
                 positive_mask: torch.Tensor, nll_weight: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eq. 8: ``token_log_probs (B, G, L)`` of the samples, ``advantages (B, G)``,
    ``positive_log_probs (B, P, L)`` of the page's items (``positive_mask (B, P)``: real ones).
    Returns ``(loss, policy term, nll term)``."""
    ratio = torch.exp(token_log_probs - token_log_probs.detach())                     # value 1
    policy = -(ratio * advantages[..., None]).mean(-1).mean(-1).mean()
    nll_each = -positive_log_probs.sum(-1)                                            # (B, P)
    weight = positive_mask.float()
    nll = ((nll_each * weight).sum(1) / weight.sum(1).clamp_min(1)).mean()
    return policy + nll_weight * nll, policy.detach(), nll.detach()


def _seed(seed: int, step: int) -> int:
    return seed * 1_000_003 + step


def align_step(policy, reward, optimizer, trie: SIDTrie, item_prefixes: torch.Tensor, batch, config: AlignConfig,
               generator: torch.Generator) -> dict:
    """One GRPO-SR update on ``batch = (histories (B, T), page items (B, P), users (B,))``
    (padded with ``I``): sample the groups, rate them, step the optimizer. Returns the step's
    mean reward, share of samples that are items, share that hit the page, and the two terms."""
    hist, pos, users = batch
    pad = policy.num_items
    width = max(int((hist != pad).sum(1).max()), 1)
    hist = hist[:, -width:]                                                          # no all-padding columns
    with torch.no_grad():
        decoder, start = policy.decoding(hist, users)
        codes = sample_codes(decoder, start, trie.levels, config.group_size, config.temperature, generator)  # (B, G, L)
        prefs = torch.exp(reward.item_log_probs(hist[:, -min(width, reward.config.max_len):]))
        rewards, items = code_rewards(prefs, codes, trie, item_prefixes, config.gate, config.gate_tau / pad)
        adv = group_advantages(rewards, items, pos if config.anchor_positives else None)
    lp = policy.token_log_probs(hist, torch.cat([codes, policy.codes[pos]], dim=1), users)  # (B, G + P, L)
    loss, policy_term, nll = grpo_sr_loss(lp[:, :config.group_size], adv, lp[:, config.group_size:], pos != pad,
                                          config.nll_weight)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    hit = (items[:, :, None] == pos[:, None, :]).any(-1)
    return {"reward": float(rewards.mean()), "valid": float((items >= 0).float().mean()),
            "hit": float(hit.float().mean()), "policy": float(policy_term), "nll": float(nll)}


def align(policy: torch.nn.Module, reward: torch.nn.Module, trie: SIDTrie, queries, config: AlignConfig,
          folder, resume: bool = False, progress=None) -> dict:
    """Align ``policy`` (a semantic-ID generator: ``decoding``, ``token_log_probs``, ``codes``)
    with GRPO-SR against the frozen items-head ``reward`` on ``queries``
    (:func:`alignment_queries`). Writes ``folder/checkpoint.safetensors`` every
    ``checkpoint_every`` steps and at the end (``resume`` continues from it) and
    ``folder/align_log.jsonl``; returns the final state."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sweep_stale(folder)
    device = training_device(config.device)
    if config.threads:
        torch.set_num_threads(config.threads)
    policy.to(device).eval()
    reward.to(device).eval()
    for p in reward.parameters():
        p.requires_grad_(False)
    optimizer = torch.optim.AdamW(policy.parameters(), lr=config.lr, weight_decay=0.0)
    hist, positives, users = (torch.from_numpy(a).to(device) for a in queries)
    item_prefixes = prefix_nodes(trie, policy.codes[:-1])                          # codes without the padding row
    per_epoch = (len(hist) + config.batch_size - 1) // config.batch_size
    total = per_epoch * config.epochs if config.steps is None else config.steps
    state = {"step": 0, "seconds": 0.0, "history": [], "config": asdict(config)}
    log = folder / "align_log.jsonl"
    if resume:
        state = load_checkpoint(folder / "checkpoint.safetensors", policy, optimizer)
        log.write_text("".join(kept_log_lines(log, state["step"], key="step")))
    elif log.exists():
        log.unlink()
    sums, tick = {}, time.perf_counter()
    while state["step"] < total:
        step = state["step"] + 1
        epoch, b = divmod(step - 1, per_epoch)
        order = torch.randperm(len(hist), generator=torch.Generator().manual_seed(_seed(config.seed, epoch + 1)))
        idx = order[b * config.batch_size:(b + 1) * config.batch_size].to(device)
        generator = torch.Generator(device=device).manual_seed(_seed(config.seed, step))
        stats = align_step(policy, reward, optimizer, trie, item_prefixes, (hist[idx], positives[idx], users[idx]),
                           config, generator)
        sums = {k: sums.get(k, 0.0) + v for k, v in stats.items()}
        state["step"] = step
        if progress is not None:
            progress("align", step, total)
        if step % config.checkpoint_every == 0 or step == total:
            steps_done = step - (state["history"][-1]["step"] if state["history"] else 0)
            seconds = time.perf_counter() - tick
            record = {"step": step, "epoch": epoch + 1, **{k: round(v / steps_done, 5) for k, v in sums.items()},
                      "seconds": round(seconds, 2), "peak_memory_mb": round(peak_memory_mb(), 1)}
            LOG.info("align step %d/%d: reward %.5f, valid samples %.3f, page hits %.3f, policy %.4f, nll %.4f, %.1f s",
                     step, total, record["reward"], record["valid"], record["hit"], record["policy"], record["nll"],
                     seconds)
            state["seconds"] += seconds
            state["history"].append(record)
            with open(log, "a") as f:  # before the checkpoint: a resume drops lines past its step
                f.write(json.dumps(record) + "\n")
            save_checkpoint(folder / "checkpoint.safetensors", policy, optimizer, state)
            sums, tick = {}, time.perf_counter()
    return state
