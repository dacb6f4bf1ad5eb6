"""Models of a run folder: the choices of ``g2rec train --model``, building a network over the
run's interest context, and loading a trained model (or an ensemble) from ``models/NAME``.

Models, all the same :class:`~g2rec.model.generator.Generator` code but ``tiger``:

* ``g2rec``: interest profiles (``profiles``), the profile loss, the ``items`` head (scored with
  the graph prior chosen on validation) or the ``sids`` head over the prototype-supervised
  semantic IDs;
* ``sasrec``: the ``items`` head with no interest context;
* ``tiger``: TIGER's encoder-decoder (:class:`~g2rec.model.encdec.SIDEncoderDecoder`) over
  plain residual k-means codes, no graph, no prototypes;
* ``soda-tiger``: ``tiger`` trained with SODA's distributional alignment to its tokenizer
  (``soda_weight``, :mod:`g2rec.model.soda`);
* ``g2rec-tiger``: G2Rec on TIGER's encoder-decoder: the prototype-supervised semantic IDs of
  ``g2rec tokenize`` and each history item's interest profile added to its encoder tokens;
* ``etegrec``: ETEGRec (:class:`~g2rec.model.etegrec.ETEGRec`): ``tiger`` with an RQ-VAE tokenizer
  trained with it by alternation, coupled by the sequence-item and preference-semantic alignments;
* ``soda-etegrec``: ``etegrec`` with SODA's loss on the tokenizer's code distributions (SODA-E);
* ``tiger-mlp``: the generator's ``sids`` head (a per-level MLP over the causal Transformer's
  last state) over the same plain codes;
* ``popularity`` and ``knn`` (item-kNN on the co-engagement graph): nothing to train, only
  evaluated.

A trained model lives in ``RUN_DIR/models/NAME/``: ``config.json`` (``model``, ``generator``:
the :class:`GeneratorConfig`, ``prior``: the :class:`PriorConfig`, ``train``, ``beam``,
``tokenize``: the SHA-256 of the ``g2rec tokenize`` outputs it was trained on, checked at load),
``best.safetensors``, ``checkpoint.safetensors``, ``train_log.jsonl`` and, after ``evaluate``,
``metrics.json`` with the per-query ranks beside it. An ensemble's folder holds only its
``config.json`` (``"model": "ensemble"``, its ``members``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from ..atomic import file_sha256
from ..errors import G2RecError
from ..model.encdec import EncoderDecoderConfig, SIDEncoderDecoder
from ..model.ensemble import Ensemble
from ..model.etegrec import ETEGRec
from ..model.generator import Generator, GeneratorConfig
from ..model.prior import PriorConfig
from ..tokenize.trie import SIDTrie
from ..train.checkpoint import load_checkpoint
from .context import load_context, plain_code_space
from .runfolder import RunFolder
from .tokenize import FOLDER as TOKENS

MODELS = ("g2rec", "sasrec", "tiger", "soda-tiger", "g2rec-tiger", "etegrec", "soda-etegrec", "tiger-mlp")
ENCODER_DECODERS = ("tiger", "soda-tiger", "g2rec-tiger", "etegrec", "soda-etegrec")  # of EncoderDecoderConfig
PLAIN_CODES = ("tiger", "soda-tiger", "tiger-mlp")
BASELINES = ("popularity", "knn")
# what --model sasrec / tiger fix (asking for another value is an error)
PRESETS = {"sasrec": {"head": "items", "profiles": "none", "item_input": "id", "profile_weight": 0.0, "item_init": "none"},
           "tiger": {"soda_weight": 0.0, "profiles": "none"}, "soda-tiger": {"profiles": "none"},
           "etegrec": {"soda_weight": 0.0, "profiles": "none", "tokenizer": "trained", "codes_method": "rqvae"},
           "soda-etegrec": {"profiles": "none", "tokenizer": "trained", "codes_method": "rqvae"},
           "g2rec-tiger": {"soda_weight": 0.0, "codes_from": "sasrec", "codes_method": "rkmeans"},  # tokenize's codes
           "tiger-mlp": {"head": "sids", "profiles": "none", "item_input": "sid", "profile_weight": 0.0, "item_init": "none"}}
# g2rec's own defaults where they differ from GeneratorConfig's and TrainConfig's: the published
# SASRec+SS network trained as RecTools trains it (1 block, 1 head, width 64, dropout 0.2 and
# 0.2 on the item table, 256 negatives per position, batch 128), with the graph prior chosen
# after training. Every window of a long history trains (RecTools keeps each user's last 51
# items: the same on Amazon's short histories). The best single network measured on Beauty,
# Toys and Scientific with the user's items filtered from the ranking (with them kept, a wider
# full-softmax network is ahead on Beauty); the interest profiles cost NDCG@10 on it on all
# three and their loss helps on Beauty only, so they are options (benchmarks/README.md, "The
# published SASRec+SS backbone"). The sampled softmax is the items head's: the sids head keeps
# its CE.
ETEGREC = {"sia_weight": 1e-4, "psa_weight": 3e-4}  # ETEGRec's published code's weights
DEFAULTS = {"g2rec": {"dim": 64, "layers": 1, "heads": 1, "dropout": 0.2, "item_dropout": 0.2, "profiles": "none",
                      "profile_weight": 0.0},
            "soda-tiger": {"soda_weight": 0.01}, "etegrec": ETEGREC, "soda-etegrec": {**ETEGREC, "soda_weight": 0.01},
            "g2rec-tiger": {"profiles": "add"}}
ITEMS_LOSS_DEFAULTS = {"g2rec": {"loss": "sampled", "negatives": 256, "negatives_per": "position"}}  # head="items"
TRAIN_DEFAULTS = {"g2rec": {"batch_size": 128, "patience": 25}}
PRIOR_GRAPH = "prior_graph.npz"  # in a model folder: its prior's graph, when not the run's


def read_config(run: RunFolder, folder: Path) -> dict:
    """A model folder's ``config.json`` (checked against the manifest), or a one-line error naming it."""
    rel = str((folder / "config.json").relative_to(run.path))
    record = run.load_json(rel)
    if not isinstance(record, dict) or not isinstance(record.get("model"), str):
        raise run.damaged(rel, "not a g2rec model config (no 'model')")
    return record


def tokenize_inputs(run: RunFolder) -> dict[str, str]:
    """The ``g2rec tokenize`` outputs ``run`` has read so far (codes, profiles), with their SHA-256:
    what a model built from them records in its ``config.json`` (``tokenize``)."""
    return {rel: sha for rel, sha in sorted(run.read.items()) if rel.startswith(f"{TOKENS}/")}


def check_tokenize_inputs(run: RunFolder, folder: Path, record: dict) -> None:
    """A one-line error when a tokenize output the model in ``folder`` was trained on has changed
    since (``g2rec tokenize`` ran again): its weights no longer match those codes or profiles."""
    files = run.manifest.get("files", {})
    for rel, sha in record.get("tokenize", {}).items():
        if files.get(rel, {}).get("sha256") != sha:
            raise G2RecError(f"{folder}: trained on {run.path / rel} as tokenize wrote it then, and `g2rec tokenize` "
                             f"has changed it since; train the model again (--overwrite), or tokenize again "
                             f"with the options it was trained on")


def clear_metrics(folder: Path) -> None:
    """Remove the evaluations of a model folder (``metrics.json``, ``ranks-*.npy``): the model changed."""
    for path in [folder / "metrics.json", *folder.glob("ranks-*.npy")]:
        path.unlink(missing_ok=True)


def model_files(folder: Path, rel: str) -> list[str]:
    """The files of the model folder ``folder`` that loading it reads (recorded with their
    checksums), named as the run folder names them (``rel``: the model's ``models/NAME``)."""
    names = ("config.json", "best.safetensors", "codes.npz", PRIOR_GRAPH)
    return [f"{rel}/{n}" for n in names if (folder / n).exists()]


def prior_graph(run: RunFolder, folder: Path | None) -> sp.csr_matrix:
    """The ``(I, I)`` graph of the prior of the model in ``folder``: the copy its ``config.json``
    names (``tune-prior --graph-from``, checked against its sha256), else the run's."""
    config = folder / "config.json" if folder is not None else None
    own = read_config(run, folder).get("prior_graph") if config is not None and config.exists() else None
    if not own:
        return run.graph()
    path = folder / own["file"]
    if not path.exists() or file_sha256(path) != own["sha256"]:
        raise G2RecError(f"{path}: the prior's graph named in config.json is missing or changed; "
                         f"run `g2rec tune-prior` again")
    graph = sp.load_npz(path).tocsr()
    if graph.shape != (run.num_items, run.num_items):
        raise G2RecError(f"{path}: shape {graph.shape} does not match {run.num_items} items in the manifest")
    return graph


def build_model(run: RunFolder, kind: str, config: GeneratorConfig | EncoderDecoderConfig, folder: Path | None = None,
                fresh: bool = False) -> tuple[Generator | SIDEncoderDecoder, SIDTrie | None]:
    """The network of ``kind`` over the run's items, with its interest context; and its trie
    (semantic IDs). ``folder``: the model's folder (TIGER keeps its plain codes there; ``fresh``,
    a new training, remakes them if the vectors they came from changed)."""
    codes = "plain" if kind in PLAIN_CODES else "supervised"
    if kind in ENCODER_DECODERS and config.tokenizer == "trained":  # the codes come with the tokenizer
        vectors = np.asarray(run.embeddings(config.codes_from), dtype=np.float32)
        size = min(256, max(2, run.num_items // 4))
        if fresh:
            model = ETEGRec.pretrained(run.num_items, config, vectors, codebook_size=size)
            return model, model.trie()
        return ETEGRec(run.num_items, config, vectors, codebook_size=size), None  # a checkpoint brings the rest
    if kind in ENCODER_DECODERS:
        context = load_context(run, codes=codes, need_profiles=config.profiles != "none", folder=folder,
                               fresh_codes=fresh, plain={"embedding": config.codes_from, "method": config.codes_method})
        space = plain_code_space(run, folder) if config.soda_weight > 0 else None
        model = SIDEncoderDecoder(run.num_items, config, context.codes, context.codebook_sizes, space, context.profiles)
    else:
        context = load_context(run, codes=codes, need_profiles=config.profiles != "none" or config.profile_weight > 0,
                               need_codes=config.head == "sids" or config.item_input == "sid", folder=folder,
                               item_init=config.item_init, fresh_codes=fresh)
        if config.loss == "sampled" and config.sampler != "uniform":  # popularity of the training interactions
            context.item_counts = torch.from_numpy(run.sequences().item_counts())
        model = Generator(run.num_items, config, context)
    trie = SIDTrie.build(context.codes.numpy(), context.codebook_sizes) if config.head == "sids" else None
    return model, trie


def network_config(folder: Path, record: dict) -> GeneratorConfig | EncoderDecoderConfig:
    """The network config a model folder's ``config.json`` records, or a one-line error."""
    try:
        if record["model"] in ENCODER_DECODERS:
            return EncoderDecoderConfig(**record["generator"])
        # the checkpoint replaces the item embedding: no need to read the vectors that started it
        return replace(GeneratorConfig(**record["generator"]), item_init="none")
    except (KeyError, TypeError) as e:
        raise G2RecError(f"{folder}/config.json: not a config of --model {record.get('model')} ({e}); "
                         f"train the model again") from None


def latest_model(run: RunFolder) -> str:
    """The run's most recently finished model (trained, ensembled or prior-tuned: the newest
    ``config.json`` of a model the manifest records), or a one-line error when there is none."""
    stages = run.manifest.get("stages", {})
    names = {*stages.get("train", {}), *stages.get("ensemble", {}), *stages.get("graph-prior", {}), *stages.get("align", {})}
    configs = [(run.model_folder(n) / "config.json", n) for n in names]
    finished = [(config.stat().st_mtime_ns, n) for config, n in configs if config.exists()]
    if not finished:
        raise G2RecError(f"{run.path}: no trained model yet: run `g2rec train {run.path}` (or name a baseline: "
                         f"{' | '.join(BASELINES)})")
    return max(finished)[1]


def load_trained(run: RunFolder, name: str) -> tuple[Generator | Ensemble, SIDTrie | None, dict]:
    """The best checkpoint of ``models/NAME`` with its prior, trie and config (an ensemble: its members)."""
    folder = run.model_folder(name)
    if not (folder / "config.json").exists():
        trained = sorted(run.manifest.get("stages", {}).get("train", {}))
        raise G2RecError(f"{run.path}: no trained model '{name}' (trained: {', '.join(trained) or 'none'}; run `g2rec train`)")
    record = read_config(run, folder)
    try:
        prior = PriorConfig(**record.get("prior", {}))
    except (TypeError, G2RecError) as e:
        raise run.damaged(str((folder / "config.json").relative_to(run.path)), f"a bad prior ({e})") from None
    check_tokenize_inputs(run, folder, record)
    graph = prior_graph(run, folder) if prior.weight > 0 else None
    if record["model"] == "ensemble":  # no weights of its own: its members'
        members = [load_trained(run, member)[0] for member in record["members"]]
        return Ensemble(members, prior, graph).eval(), None, record
    net, trie = build_model(run, record["model"], network_config(folder, record), folder)
    load_checkpoint(run.checked(str((folder / "best.safetensors").relative_to(run.path))), net)
    if isinstance(net, SIDEncoderDecoder):
        trie = net.trie()  # of the codes the weights were trained with
    if isinstance(net, Generator):
        net.attach_prior(prior, graph)
    return net.eval(), trie, record
