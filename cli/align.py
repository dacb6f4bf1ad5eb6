"""``g2rec align RUN_DIR --model NAME --reward MODEL``: GRPO-SR preference alignment of a
semantic-ID generator against an items-head reward model."""

from __future__ import annotations

from pathlib import Path

import typer

from g2rec.pipeline import align

from .ui import JsonOption, progress_bar, show_summary, user_errors

SUMMARY_KEYS = ["model", "aligned_from", "reward", "steps", "queries", "valid_reward@1", "valid_reward@10",
                "valid_hr@10", "valid_hr@50", "valid_har", "align_seconds", "peak_memory_mb"]


def align_command(
    run_dir: Path = typer.Argument(..., metavar="RUN_DIR", help="Run folder."),
    model: str = typer.Option(..., help="The trained semantic-ID generator to align (models/NAME: tiger, tiger-mlp, "
                                        "g2rec --head sids)."),
    reward: str = typer.Option(..., help="The frozen items-head model whose next-item probability is the reward "
                                         "(models/MODEL: sasrec, g2rec)."),
    name: str | None = typer.Option(None, help="Folder of the aligned model (default MODEL-grpo-sr; -grpo with "
                                               "--nll-weight 0, -nogate with --no-gate)."),
    group_size: int | None = typer.Option(None, help="Code sequences sampled per query (default 8)."),
    temperature: float | None = typer.Option(None, help="Sampling temperature (default 1)."),
    nll_weight: float | None = typer.Option(None, help="alpha of the NLL term on the page's items (default 0.1; "
                                                       "0 = plain GRPO)."),
    gate: bool | None = typer.Option(None, "--gate/--no-gate", help="GenRec's gate: no reward for a non-item or "
                                                                     "an irrelevant item (default on)."),
    gate_tau: float | None = typer.Option(None, help="The gate's threshold, in units of 1 / items (default 1)."),
    anchor_positives: bool | None = typer.Option(None, "--anchor-positives/--no-anchor-positives",
                                                 help="The page's own items get the group's best reward (default on)."),
    epochs: int | None = typer.Option(None, help="Passes over the training queries (default 1)."),
    steps: int | None = typer.Option(None, help="Stop after this many steps (default: --epochs over the queries)."),
    batch_size: int | None = typer.Option(None, help="Queries per step (default 64)."),
    lr: float | None = typer.Option(None, help="AdamW learning rate (default 1e-4)."),
    seed: int | None = typer.Option(None, help="Random seed (default 0): same seed, same model."),
    threads: int | None = typer.Option(None, help="torch threads (default: all cores)."),
    checkpoint_every: int | None = typer.Option(None, help="Steps between checkpoints and log lines (default 100)."),
    device: str | None = typer.Option(None, help="cpu (default) | cuda | cuda:N."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the last checkpoint of this alignment."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a model already aligned under this name."),
    json_out: bool = JsonOption,
):
    """Align a semantic-ID generator with GRPO-SR (GenRec): sampled groups, group-relative advantages, gated rewards, NLL anchor."""
    with user_errors(), progress_bar(not json_out) as progress:
        summary = align(run_dir, model, reward, name=name, resume=resume, overwrite=overwrite, progress=progress,
                        group_size=group_size, temperature=temperature, nll_weight=nll_weight, gate=gate,
                        gate_tau=gate_tau, anchor_positives=anchor_positives, epochs=epochs, steps=steps, batch_size=batch_size,
                        lr=lr, seed=seed, threads=threads, checkpoint_every=checkpoint_every, device=device)
    show_summary(f"align {summary['model']} -> {run_dir}/models/{summary['model']}", summary, SUMMARY_KEYS, json_out)
