"""``g2rec train RUN_DIR``: the interest-conditioned generator or a baseline generator."""

from __future__ import annotations

from pathlib import Path

import typer

from g2rec.pipeline import PriorGrid, choose_graph_prior, make_ensemble, train

from .ui import JsonOption, progress_bar, show_summary, user_errors

SUMMARY_KEYS = ["model", "name", "head", "profiles", "epochs", "best_epoch", "valid_ndcg10", "valid_recall10",
                "parameters", "samples_per_second", "train_seconds", "peak_memory_mb", "graph_prior",
                "valid_ndcg10_with_prior"]


def train_command(
    run_dir: Path = typer.Argument(..., metavar="RUN_DIR", help="Run folder (after `g2rec tokenize` for g2rec and tiger)."),
    model: str = typer.Option("g2rec", help="g2rec | sasrec (items head, no interest context) | tiger (TIGER's encoder-decoder "
                                            "over plain semantic IDs) | soda-tiger (tiger with SODA's distributional alignment) | g2rec-tiger (the encoder-decoder over "
                                            "prototype-supervised IDs with interest profiles) | etegrec (tiger with its RQ-VAE tokenizer trained "
                                            "end to end, ETEGRec) | soda-etegrec (etegrec with SODA's loss) | tiger-mlp (the sids head over the same codes)."),
    head: str | None = typer.Option(None, help="items (score every item; default) | sids (semantic IDs, trie beam search)."),
    profiles: str | None = typer.Option(None, help="g2rec: add | interleave | none (default; how interest profiles enter); g2rec-tiger: add (default) | none."),
    item_input: str | None = typer.Option(None, help="id (item embedding) | sid (merged semantic-ID codes)."),
    profile_weight: float | None = typer.Option(None, help="lambda of the profile loss (default 0 for g2rec, 1 otherwise; 0 = off)."),
    item_init: str | None = typer.Option(None, help="g2rec: start item embeddings from `g2rec embed` vectors of this method (e.g. lightgcn; default none)."),
    block: str | None = typer.Option(None, help="Transformer block: gpt (pre-LayerNorm; default) | ligr (gated pre-norm, SwiGLU)."),
    ff_mult: int | None = typer.Option(None, help="Feed-forward width as a multiple of --dim (default 4)."),
    loss: str | None = typer.Option(None, help="items head: ce (full softmax; default but for g2rec) | sampled (sampled softmax; g2rec's default) | gbce."),
    negatives: int | None = typer.Option(None, help="--loss sampled / gbce: negatives drawn, per batch or per position (default 256)."),
    negatives_per: str | None = typer.Option(None, help="--loss sampled / gbce: batch (drawn once, shared by its positions; default but for g2rec) | position (drawn for each; g2rec's default)."),
    sampler: str | None = typer.Option(None, help="--loss sampled: uniform (default) | popularity | in-batch (logQ-corrected)."),
    gbce_t: float | None = typer.Option(None, help="--loss gbce: calibration t in [0, 1] (default 0.75)."),
    max_len: int | None = typer.Option(None, help="History items read (default 50; tiger 20)."),
    dim: int | None = typer.Option(None, help="Model width (default 128 for tiger, 64 for g2rec, sasrec and tiger-mlp)."),
    layers: int | None = typer.Option(None, help="Transformer blocks (default 2; g2rec 1)."),
    heads: int | None = typer.Option(None, help="Attention heads (default 2; g2rec 1, tiger 6)."),
    encoder_layers: int | None = typer.Option(None, help="tiger: encoder layers (default 4)."),
    decoder_layers: int | None = typer.Option(None, help="tiger: decoder layers (default 4)."),
    head_dim: int | None = typer.Option(None, help="tiger: width of each attention head (default 64)."),
    user_tokens: int | None = typer.Option(None, help="tiger: hashed user tokens, user index mod N (default 2000; 0 = none)."),
    codes_from: str | None = typer.Option(None, help="tiger, soda-tiger, etegrec: the `g2rec embed` vectors their codes quantize (default sasrec)."),
    codes_method: str | None = typer.Option(None, help="tiger, soda-tiger: rkmeans (residual k-means; default) | rqvae (TIGER's RQ-VAE) for the plain codes."),
    soda_weight: float | None = typer.Option(None, help="soda-tiger, soda-etegrec: lambda of SODA's loss (default 0.01)."),
    soda_beta: float | None = typer.Option(None, help="soda-tiger, soda-etegrec: SODA's scale beta (default 10)."),
    soda_tau: float | None = typer.Option(None, help="soda-tiger: SODA's soft-code temperature, in units of each level's mean squared residual (default 1)."),
    sia_weight: float | None = typer.Option(None, help="etegrec: mu, the sequence-item alignment's weight (default 1e-4)."),
    psa_weight: float | None = typer.Option(None, help="etegrec: lambda, the preference-semantic alignment's weight (default 3e-4)."),
    psa_tau: float | None = typer.Option(None, help="etegrec: temperature of the preference-semantic InfoNCE (default 0.07)."),
    tokenizer_lr: float | None = typer.Option(None, help="etegrec: learning rate of the tokenizer's epochs (default 1e-4)."),
    cycle: int | None = typer.Option(None, help="etegrec: epochs per cycle, the first training the tokenizer (default 2)."),
    warm_epochs: int | None = typer.Option(None, help="etegrec: epochs before the alignment losses switch on (default 10)."),
    tokenizer_epochs: int | None = typer.Option(None, help="etegrec: the tokenizer trains in cycles up to this epoch, "
                                                           "then stays frozen (default 100)."),
    encoder_input: str | None = typer.Option(None, help="tiger: codes (every code of every history item, TIGER's; default) | "
                                                        "merged (one merged token per history item, GenRec's token merger)."),
    dropout: float | None = typer.Option(None, help="Dropout (default 0.2 for g2rec, 0.3 for sasrec and tiger-mlp, 0.1 for tiger)."),
    item_dropout: float | None = typer.Option(None, help="Dropout on the item embedding table in training, one mask per "
                                                         "step for the inputs and the tied output (default 0.2 for g2rec, 0 otherwise)."),
    epochs: int | None = typer.Option(None, help="Most epochs (default 200)."),
    patience: int | None = typer.Option(None, help="Stop after this many epochs without a better validation score (default 25 for g2rec, 15 otherwise)."),
    select: str | None = typer.Option(None, help="Validation metric that picks the checkpoint and stops training: "
                                                 "ndcg10 (NDCG@10; default) | recall10 (Recall@10)."),
    valid_exclude_history: bool | None = typer.Option(None, "--valid-exclude-history/--valid-keep-history",
                                                      help="Validate with the user's own items out of the ranking "
                                                           "(default: kept, the project's protocol)."),
    batch_size: int | None = typer.Option(None, help="Training batch size (default 128 for g2rec, 256 otherwise)."),
    lr: float | None = typer.Option(None, help="AdamW learning rate (default 1e-3)."),
    weight_decay: float | None = typer.Option(None, help="AdamW weight decay (default 0)."),
    beam: int | None = typer.Option(None, help="sids head: beam width for validation and decoding (default 20)."),
    seed: int | None = typer.Option(None, help="Random seed (default 0): same seed, same model."),
    threads: int | None = typer.Option(None, help="torch threads (default: all cores)."),
    windows: str | None = typer.Option(None, help="all (every training transition a target; default) | last "
                                                  "(each user's last max-len items only) | prefixes (each transition "
                                                  "its own sample; tiger's, and its default)."),
    ntp: str | None = typer.Option(None, help="point (the next item is the target; default) | page (GenRec's page-wise "
                                              "NTP: every item of the next page; needs a run built with --page-gap)."),
    device: str | None = typer.Option(None, help="cpu (default) | cuda | cuda:N: where training and validation run "
                                                 "(evaluate, tune-prior and recommend run on the CPU)."),
    name: str | None = typer.Option(None, help="Model folder name under RUN_DIR/models (default MODEL-HEAD)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the last checkpoint of this model."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a model already trained under this name (weights, curve, metrics)."),
    graph_prior: bool | None = typer.Option(None, "--graph-prior/--no-graph-prior",
                                            help="g2rec items head: choose the graph prior's weight on validation after training (default on)."),
    json_out: bool = JsonOption,
):
    """Train with validation NDCG@10 or Recall@10 each epoch, early stopping, atomic checkpoints and --resume."""
    with user_errors():
        with progress_bar(not json_out) as progress:
            summary = train(run_dir, model, name, resume, progress, graph_prior, overwrite=overwrite, head=head, profiles=profiles,
                            item_input=item_input, profile_weight=profile_weight, item_init=item_init, block=block,
                            ff_mult=ff_mult, loss=loss, negatives=negatives, negatives_per=negatives_per,
                            sampler=sampler, gbce_t=gbce_t, max_len=max_len,
                            dim=dim, layers=layers, heads=heads, encoder_layers=encoder_layers,
                            decoder_layers=decoder_layers, head_dim=head_dim, user_tokens=user_tokens,
                            encoder_input=encoder_input, codes_from=codes_from,
                            codes_method=codes_method, soda_weight=soda_weight,
                            soda_beta=soda_beta, soda_tau=soda_tau, sia_weight=sia_weight, psa_weight=psa_weight,
                            psa_tau=psa_tau, tokenizer_lr=tokenizer_lr, cycle=cycle, warm_epochs=warm_epochs,
                            tokenizer_epochs=tokenizer_epochs, dropout=dropout, item_dropout=item_dropout, epochs=epochs, patience=patience, batch_size=batch_size, lr=lr,
                            weight_decay=weight_decay, beam=beam, seed=seed, threads=threads, windows=windows,
                            device=device, select=select, valid_exclude_history=valid_exclude_history, ntp=ntp)
    show_summary(f"train {summary['name']} -> {run_dir}/models/{summary['name']}", summary, SUMMARY_KEYS, json_out)


def tune_prior_command(
    run_dir: Path = typer.Argument(..., metavar="RUN_DIR", help="Run folder."),
    model: str = typer.Option(..., help="A trained items-head model (models/NAME)."),
    name: str | None = typer.Option(None, help="Write the result to a copy models/NAME (default: the model itself)."),
    grid: list[float] | None = typer.Option(None, help="Weights to try, repeatable (default 0 0.25 0.5 1 2 3 4; "
                                                       "`--grid 0` makes a copy without the prior)."),
    history: list[int] | None = typer.Option(None, help="Recent items that vote, repeatable (default 1 3 10)."),
    decay: list[float] | None = typer.Option(None, help="Decay per older history item, repeatable (default 0.5 0.7)."),
    eps: list[float] | None = typer.Option(None, help="Floor inside the log, repeatable (default 1e-5 1e-3)."),
    sampled: int | None = typer.Option(None, help="Choose on the sampled-N validation protocol (e.g. 99) "
                                                  "instead of full ranking."),
    metric: str = typer.Option("ndcg10", help="Validation metric maximized: ndcg10 | recall10."),
    exclude_history: bool = typer.Option(False, "--exclude-history",
                                         help="Choose with the user's own items out of the ranking (as evaluate --exclude-history)."),
    graph_from: Path | None = typer.Option(None, help="Take the prior's graph from this run folder (built from the "
                                                      "same log and splits, e.g. with another --builder); default this run's."),
    json_out: bool = JsonOption,
):
    """Choose the graph prior (weight, history, decay, eps) of a trained items-head model on validation NDCG@10."""
    with user_errors(), progress_bar(not json_out) as progress:
        given = {"alpha": grid, "history": history, "decay": decay, "eps": eps}
        prior_grid = PriorGrid(**{k: tuple(v) for k, v in given.items() if v})
        summary = choose_graph_prior(run_dir, model, name, prior_grid, progress=progress, sampled=sampled,
                                     metric=metric, graph_from=graph_from, exclude_history=exclude_history)
    flat = {k: summary[k] for k in ("model", "graph_prior", "history", "decay", "eps", "valid_ndcg10")}
    show_summary(f"tune-prior {model} -> {run_dir}/models/{summary['model']}", summary if json_out else flat, list(flat), json_out)


def ensemble_command(
    run_dir: Path = typer.Argument(..., metavar="RUN_DIR", help="Run folder."),
    members: list[str] = typer.Option(..., help="A trained model (models/NAME), items or sids head, repeatable: at least two."),
    name: str = typer.Option(..., help="Model folder name of the ensemble under RUN_DIR/models."),
    json_out: bool = JsonOption,
):
    """Score several trained models as one (mean log-probabilities over all items); prints its validation metrics."""
    with user_errors(), progress_bar(not json_out) as progress:
        summary = make_ensemble(run_dir, members, name, progress=progress)
    show_summary(f"ensemble {name} -> {run_dir}/models/{name}", summary, list(summary), json_out)
