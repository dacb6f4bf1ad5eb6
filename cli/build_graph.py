"""``g2rec build-graph INPUT -o RUN_DIR``: log -> sequences, splits and co-engagement graph."""

from __future__ import annotations

from pathlib import Path

import typer

from g2rec.pipeline import GraphConfig, PrepareConfig, ReadOptions, build_graph

from .ui import JsonOption, progress_bar, show_summary, user_errors

SUMMARY_KEYS = ["columns", "num_users", "num_items", "num_interactions", "num_edges", "train_interactions",
                "valid_interactions", "test_interactions", "duplicate_rows", "time_ties", "unsorted_users",
                "short_users_dropped", "kcore_dropped", "pages", "mean_page_size", "max_page_size", "sampled_users",
                "isolated_nodes",
                "connected_components", "largest_component", "seconds", "peak_memory_mb"]


def build_graph_command(
    input: str = typer.Argument(..., metavar="INPUT", help="Interaction log: csv/tsv/parquet/jsonl, S3Rec .txt, LC-Rec .json, "
                                          "MovieLens u.data or an on-chain transaction csv; gzip is fine; or a named "
                                          "dataset (beauty, toys, scientific, ml-100k: `g2rec datasets`). With "
                                          "--engine spark, a csv/tsv/parquet/jsonl log may be any path or glob "
                                          "Spark reads (hdfs://, s3a://, a folder of part files)."),
    out: Path = typer.Option(..., "-o", "--out", help="Run folder to create."),
    format: str = typer.Option("auto", help="Input format: auto|csv|tsv|parquet|jsonl|s3rec|lcrec|movielens|onchain."),
    user_col: str | None = typer.Option(None, help="User column (default: guessed, e.g. user_id)."),
    item_col: str | None = typer.Option(None, help="Item column (default: guessed, e.g. item_id)."),
    time_col: str | None = typer.Option(None, help="Time column: unix seconds or ISO dates; 'none' = file order."),
    weight_col: str | None = typer.Option(None, help="Optional numeric weight column (e.g. rating)."),
    event_col: str | None = typer.Option(None, help="Optional event-type column."),
    events: str | None = typer.Option(None, help="Comma-separated event types to keep (needs --event-col)."),
    sep: str | None = typer.Option(None, help="Field delimiter for csv (default: sniffed)."),
    intent: bool = typer.Option(False, help="On-chain: item = receiver:method_id instead of the receiver."),
    keep_failed: bool = typer.Option(False, help="On-chain: keep failed transactions (dropped by default)."),
    split: str = typer.Option("loo", help="loo (last = test, second-to-last = validation), loo-page (the same "
                                          "with pages; needs --page-gap) or temporal."),
    valid_time: float | None = typer.Option(None, help="Temporal split: validation starts here (default: 80% quantile)."),
    test_time: float | None = typer.Option(None, help="Temporal split: test starts here (default: 90% quantile)."),
    min_user_len: int = typer.Option(3, help="Drop users with fewer interactions (loo needs >= 3)."),
    kcore: int = typer.Option(0, help="Keep the k-core of users and items (0 = off)."),
    page_gap: float | None = typer.Option(None, help="Record pages: a user's interactions at most this far apart in "
                                                      "time share one (0 = the same timestamp; default: no pages)."),
    builder: str = typer.Option("sampled", help="sampled (G2Rec: m pairs per user) or window (pairs <= w apart)."),
    eps: float = typer.Option(0.5, help="Sampled: Laplacian accuracy eps of the sparsification bound."),
    delta: float = typer.Option(0.1, help="Sampled: failure probability delta of the bound."),
    pairs_per_user: int | None = typer.Option(None, help="Sampled: fixed m instead of the bound."),
    window: int = typer.Option(5, help="Window: maximum position distance w."),
    weight: str = typer.Option("count", help="Edge weight: count|decay|cosine|pmi."),
    half_life: float | None = typer.Option(None, help="Decay half-life in seconds (positions if the log has no time); default 30 days."),
    min_count: float = typer.Option(0.0, help="Drop pairs seen fewer times."),
    top_k: int | None = typer.Option(None, help="Keep each item's k strongest edges."),
    seed: int = typer.Option(0, help="Random seed (sampled builder)."),
    engine: str = typer.Option("local", help="local | spark: Spark reads the log and maps and reduces the "
                                             "graph's pairs (the same run folder; needs the spark extra)."),
    spark_master: str | None = typer.Option(None, help="Spark master URL for --engine spark (default local[*])."),
    overwrite: bool = typer.Option(False, help="Replace an existing run folder."),
    json_out: bool = JsonOption,
):
    """Build validated sequences, splits and the item-item co-engagement graph (training interactions only)."""
    with user_errors():
        read = ReadOptions(format=format, user_col=user_col, item_col=item_col, time_col=time_col,
                           weight_col=weight_col, event_col=event_col, sep=sep, intent=intent, keep_failed=keep_failed)
        prepare = PrepareConfig(split=split, valid_time=valid_time, test_time=test_time, min_user_len=min_user_len,
                                kcore=kcore, events=events.split(",") if events else None, page_gap=page_gap)
        graph = GraphConfig(builder=builder, eps=eps, delta=delta, pairs_per_user=pairs_per_user, window=window,
                            weight=weight, min_count=min_count, top_k=top_k, seed=seed,
                            **({"half_life": half_life} if half_life is not None else {}))
        with progress_bar(not json_out) as progress:
            summary = build_graph(input, out, read, prepare, graph, overwrite=overwrite, progress=progress,
                                  engine=engine, spark_master=spark_master)
    show_summary(f"build-graph -> {out}", summary, SUMMARY_KEYS, json_out)
