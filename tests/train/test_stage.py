"""train -> evaluate -> recommend through the CLI on real data; recommendations score to the same metrics."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from g2rec_cli.main import app
from safetensors.torch import load_file
from typer.testing import CliRunner

from g2rec import build_graph
from g2rec.data.sequences import TEST
from g2rec.errors import ConfigError
from g2rec.pipeline.context import plain_codes
from g2rec.pipeline.runfolder import RunFolder
from g2rec.pipeline.train import model_options, train
from tests.conftest import MOVIELENS

runner = CliRunner()


@pytest.fixture(scope="module")
def run(tmp_path_factory, shared_data):
    path = tmp_path_factory.mktemp("stage") / "run"
    build_graph(MOVIELENS, path)
    result = runner.invoke(app, ["train", str(path), "--model", "sasrec", "--epochs", "2", "--max-len", "20",
                                 "--dim", "32", "--threads", "1", "--json"])
    assert result.exit_code == 0, result.output
    return path, json.loads(result.stdout)


def test_train_summary_and_artifacts(run):
    path, summary = run
    assert summary["name"] == "sasrec-items" and summary["epochs"] == 2 and summary["valid_ndcg10"] > 0
    folder = path / "models" / "sasrec-items"
    assert {"config.json", "best.safetensors", "checkpoint.safetensors", "train_log.jsonl"} <= {p.name for p in folder.iterdir()}
    assert len((folder / "train_log.jsonl").read_text().splitlines()) == 2
    assert json.loads((path / "manifest.json").read_text())["stages"]["train"]["sasrec-items"]["summary"] == summary


def test_recommendations_score_to_the_evaluated_metrics(run, tmp_path):
    path, _ = run
    result = runner.invoke(app, ["evaluate", str(path), "--model", "sasrec-items", "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)["metrics"]
    assert metrics["protocol"] == "full ranking" and {"recall@10", "ndcg@10", "mrr"} <= set(metrics)
    seq = RunFolder(path).sequences()
    users_file = tmp_path / "users.txt"
    users_file.write_text("\n".join(map(str, seq.user_ids)))
    result = runner.invoke(app, ["recommend", str(path), "--model", "sasrec-items", "--users-file", str(users_file),
                                 "-k", "10", "--upto", "test", "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    test_item = dict(zip(seq.user_ids[seq.users[seq.split == TEST]].tolist(), seq.item_ids[seq.items[seq.split == TEST]].tolist()))
    hits = [test_item[r["user"]] in r["items"] for r in lines]
    assert len(lines) == seq.num_users and set(lines[0]) >= {"user", "items", "scores"}
    assert np.mean(hits) == pytest.approx(metrics["recall@10"], abs=1e-4)


def test_baselines_unknown_users_and_models(run):
    path, _ = run
    result = runner.invoke(app, ["evaluate", str(path), "--model", "knn", "--sampled", "99", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["metrics"]["protocol"] == "sampled-99"
    result = runner.invoke(app, ["recommend", str(path), "--model", "sasrec-items", "--user", "no-such-user"])
    assert result.exit_code == 2 and "unknown user 'no-such-user'" in result.stderr
    result = runner.invoke(app, ["evaluate", str(path), "--model", "g2rec-items"])
    assert result.exit_code == 2 and "no trained model 'g2rec-items'" in result.stderr
    result = runner.invoke(app, ["train", str(path), "--model", "g2rec", "--profiles", "add"])
    assert result.exit_code == 2 and "g2rec tokenize" in result.stderr
    result = runner.invoke(app, ["train", str(path), "--model", "sasrec", "--head", "sids"])
    assert result.exit_code == 2 and "fixes head" in result.stderr


# one small encoder-decoder layer each way, large batches: the CLI path of every encoder-decoder in seconds
ENCDEC = ["--encoder-layers", "1", "--decoder-layers", "1", "--heads", "2", "--head-dim", "16", "--batch-size", "1024"]


def test_g2rec_sids_and_tiger_heads(run):
    path, _ = run
    for args in (["embed", str(path), "--method", "sasrec", "--epochs", "1", "--no-evaluate"],
                 ["tokenize", str(path), "--num-prototypes", "8", "--codebook-size", "16", "--no-leiden"]):
        result = runner.invoke(app, [*args, "--json"])
        assert result.exit_code == 0, result.output
    small = {"g2rec": ["--head", "sids"], "tiger-mlp": ["--head", "sids"],
             "tiger": [*ENCDEC],
             "soda-tiger": [*ENCDEC, "--encoder-input", "merged", "--soda-weight", "0.1"],
             "g2rec-tiger": [*ENCDEC],
             "etegrec": [*ENCDEC, "--warm-epochs", "0", "--epochs", "2"],  # a tokenizer epoch, then a generator one
             "soda-etegrec": [*ENCDEC, "--warm-epochs", "0", "--epochs", "2", "--encoder-input", "merged"]}
    for model, options in small.items():
        max_len = {"g2rec": "20", "tiger-mlp": "10"}.get(model, "5")  # g2rec-sids joins an ensemble with sasrec (20) below
        epochs = [] if "--epochs" in options else ["--epochs", "1"]
        result = runner.invoke(app, ["train", str(path), "--model", model, *options, *epochs, "--beam", "5",
                                     "--max-len", max_len, "--dim", "32", "--threads", "2", "--json"])
        assert result.exit_code == 0, result.output
        name = f"{model}-sids"
        result = runner.invoke(app, ["evaluate", str(path), "--model", name, "--json"])
        metrics = json.loads(result.stdout)["metrics"]
        assert metrics["hallucination_rate"] == 0.0 and metrics["recall@20"] > 0
        if model not in ("g2rec", "tiger"):  # the other protocols, once per decoder (MLP head, encoder-decoder)
            continue
        free = json.loads(runner.invoke(app, ["evaluate", str(path), "--model", name, "--unconstrained", "--json"]).stdout)
        assert 0.0 <= free["metrics"]["hallucination_rate"] <= 1.0
        sampled = json.loads(runner.invoke(app, ["evaluate", str(path), "--model", name, "--sampled", "99", "--json"]).stdout)
        assert sampled["metrics"]["protocol"] == "sampled-99" and 0 < sampled["metrics"]["ndcg@10"] <= 1
    # ETEGRec resumes exactly: one epoch, then the second from the checkpoint, as two straight
    once = ["train", str(path), "--model", "etegrec", *ENCDEC, "--warm-epochs", "0", "--beam", "5", "--max-len", "5",
            "--dim", "32", "--threads", "2", "--name", "etegrec-resumed", "--json"]
    for extra in (["--epochs", "1"], ["--epochs", "2", "--resume"]):
        result = runner.invoke(app, [*once, *extra])
        assert result.exit_code == 0, result.output
    straight, resumed = (load_file(path / "models" / n / "checkpoint.safetensors") for n in ("etegrec-sids", "etegrec-resumed"))
    assert straight.keys() == resumed.keys() and "model.codes" in straight
    assert all(torch.equal(straight[k], resumed[k]) for k in straight if k.startswith("model."))
    # TIGER's tokenizer: RQ-VAE codes of any embed method's vectors (SODA needs residual k-means codebooks)
    result = runner.invoke(app, ["train", str(path), "--model", "tiger", *small["tiger"], "--codes-method", "rqvae",
                                 "--codes-from", "sasrec", "--epochs", "1", "--beam", "5", "--max-len", "5", "--dim", "32",
                                 "--threads", "2", "--name", "tiger-rqvae", "--json"])
    assert result.exit_code == 0, result.output
    with np.load(path / "models" / "tiger-rqvae" / "codes.npz") as z:
        assert str(z["fingerprint"]).endswith(":rqvae") and "codebooks" not in z.files
        assert len(np.unique(z["codes"], axis=0)) == len(z["codes"])
    result = runner.invoke(app, ["train", str(path), "--model", "soda-tiger", "--codes-method", "rqvae"])
    assert result.exit_code == 2 and "codes_method='rkmeans'" in result.stderr
    result = runner.invoke(app, ["train", str(path), "--model", "tiger", "--codes-from", "nosuch", "--epochs", "1",
                                 "--name", "tiger-nosuch"])
    assert result.exit_code == 2 and "nosuch" in result.stderr
    result = runner.invoke(app, ["train", str(path), "--model", "tiger", "--soda-weight", "0.1"])
    assert result.exit_code == 2 and "fixes soda_weight; use --model soda-tiger or g2rec-tiger" in result.stderr
    # TIGER's plain codes: kept while the vectors they came from are the same, remade when not
    codes = path / "models" / "tiger-sids" / "codes.npz"
    first, stamp = np.load(codes)["codes"], codes.stat().st_mtime_ns
    plain_codes(RunFolder(path), codes.parent, fresh=True)
    assert codes.stat().st_mtime_ns == stamp
    vectors = path / "embeddings" / "sasrec.npy"
    original = vectors.read_bytes()
    np.save(vectors, np.load(vectors)[:, ::-1] * 2)
    RunFolder(path).record("embed", "sasrec", None, files=["embeddings/sasrec.npy"])  # as a new `embed` does
    plain_codes(RunFolder(path), codes.parent, fresh=True)
    assert codes.stat().st_mtime_ns != stamp
    vectors.write_bytes(original)
    RunFolder(path).record("embed", "sasrec", None, files=["embeddings/sasrec.npy"])
    assert np.array_equal(plain_codes(RunFolder(path), codes.parent, fresh=True)[0], first)
    lines = runner.invoke(app, ["recommend", str(path), "--model", "g2rec-sids", "--user", "1", "-k", "5", "--json"]).stdout
    rec = json.loads(lines)
    assert len(rec["items"]) == 5 and rec["interests"] and rec["interests"][0]["central_items"]
    # either head joins an ensemble: the SID head scores every item by its code sequence (no beam)
    result = runner.invoke(app, ["ensemble", str(path), "--members", "sasrec-items", "--members", "g2rec-sids",
                                 "--name", "items-and-sids", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    valid = json.loads(runner.invoke(app, ["evaluate", str(path), "--model", "items-and-sids", "--split", "valid",
                                           "--json"]).stdout)["metrics"]
    assert valid["ndcg@10"] == pytest.approx(out["valid_ndcg10"], abs=1e-5) and valid["ndcg@10"] > 0
    assert out["valid_ndcg10"] not in out["member_valid_ndcg10"]


def test_training_device(run):
    """--device: the choices are named; CUDA without a GPU is a clear error; on a GPU (the device
    machine; CI has none) a model trains there and the CPU evaluation of the saved weights agrees
    with the validation the GPU ran (beam search on a GPU: tests/model/test_beam.py)."""
    path, _ = run
    result = runner.invoke(app, ["train", str(path), "--model", "sasrec", "--device", "tpu"])
    assert result.exit_code == 2 and "device" in result.stderr and "cpu, cuda" in result.stderr
    if not torch.cuda.is_available():
        result = runner.invoke(app, ["train", str(path), "--model", "sasrec", "--device", "cuda"])
        assert result.exit_code == 2 and "sees no CUDA GPU" in result.stderr
        return
    # SASRec, and g2rec's network with its profiles
    for name, model in (("sasrec-items-cuda", ["sasrec"]), ("g2rec-cuda", ["g2rec", "--profiles", "add"])):
        result = runner.invoke(app, ["train", str(path), "--model", *model, "--epochs", "2", "--max-len", "20",
                                     "--dim", "32", "--device", "cuda", "--name", name, "--no-graph-prior", "--json"])
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        log = [json.loads(line) for line in (path / "models" / name / "train_log.jsonl").read_text().splitlines()]
        assert log[-1]["gpu_peak_memory_mb"] > 0 and log[-1]["loss"] < log[0]["loss"]
        valid = json.loads(runner.invoke(app, ["evaluate", str(path), "--model", name, "--split", "valid",
                                               "--json"]).stdout)["metrics"]
        assert valid["ndcg@10"] == pytest.approx(summary["valid_ndcg10"], abs=2e-3) and valid["ndcg@10"] > 0


def test_tune_prior_picks_the_best_validation_weight_on_a_copy(run):
    path, summary = run
    grid = ["--grid", "0", "--grid", "1", "--grid", "2", "--history", "3", "--history", "10", "--decay", "0.5",
            "--decay", "1", "--eps", "1e-3", "--eps", "1e-2"]
    result = runner.invoke(app, ["tune-prior", str(path), "--model", "sasrec-items", "--name", "sasrec-prior", "--json", *grid])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    table = out["table"]
    assert len(table) == 3 * 2 * 2 * 2
    best = max(table, key=lambda r: r["ndcg10"])
    assert out["valid_ndcg10"] == best["ndcg10"] and best["ndcg10"] > summary["valid_ndcg10"]
    for row in table:  # alpha = 0 is the model itself, whatever the other knobs
        if row["alpha"] == 0:
            assert row["ndcg10"] == pytest.approx(summary["valid_ndcg10"], abs=1e-5)
    assert len({r["ndcg10"] for r in table if r["alpha"] == 1}) > 1  # history, decay and eps change the prior
    source = json.loads((path / "models" / "sasrec-items" / "config.json").read_text())
    copy = json.loads((path / "models" / "sasrec-prior" / "config.json").read_text())
    assert source["prior"]["weight"] == 0.0
    assert {k: copy["prior"][k] for k in ("history", "decay", "eps")} == \
        {k: out[k] for k in ("history", "decay", "eps")} and copy["prior"]["weight"] == out["graph_prior"]
    # the search's one-pass scoring agrees with a real evaluation of the chosen prior
    valid = json.loads(runner.invoke(app, ["evaluate", str(path), "--model", "sasrec-prior", "--split", "valid",
                                           "--json"]).stdout)["metrics"]
    assert valid["ndcg@10"] == pytest.approx(best["ndcg10"], abs=1e-5)
    rec = json.loads(runner.invoke(app, ["recommend", str(path), "--model", "sasrec-prior", "--user", "1", "-k", "5",
                                         "--json"]).stdout)
    assert len(rec["items"]) == 5
    # chosen on the sampled-99 validation protocol: the search's score is a real sampled evaluation's
    result = runner.invoke(app, ["tune-prior", str(path), "--model", "sasrec-items", "--name", "sasrec-prior-s99",
                                 "--sampled", "99", "--json", *grid])
    assert result.exit_code == 0, result.output
    out99 = json.loads(result.stdout)
    valid99 = json.loads(runner.invoke(app, ["evaluate", str(path), "--model", "sasrec-prior-s99", "--split", "valid",
                                             "--sampled", "99", "--json"]).stdout)["metrics"]
    assert valid99["ndcg@10"] == pytest.approx(out99["valid_ndcg10"], abs=1e-5)
    assert out99["valid_ndcg10"] > 2 * out["valid_ndcg10"]  # 100 candidates, not all items
    record = json.loads((path / "models" / "sasrec-prior-s99" / "config.json").read_text())
    assert record["graph_prior_search"]["protocol"] == "sampled-99"
    # chosen by validation Recall@10: the table's best recall, not its best NDCG
    result = runner.invoke(app, ["tune-prior", str(path), "--model", "sasrec-items", "--name", "sasrec-prior-r",
                                 "--metric", "recall10", "--json", *grid])
    by_recall = json.loads(result.stdout)
    top = max(r["recall10"] for r in by_recall["table"])
    record = json.loads((path / "models" / "sasrec-prior-r" / "config.json").read_text())["graph_prior_search"]
    assert record["metric"] == "Recall@10" and record["valid_recall10"] == top
    assert runner.invoke(app, ["tune-prior", str(path), "--model", "sasrec-items", "--metric", "mrr"]).exit_code == 2
    result = runner.invoke(app, ["train", str(path), "--model", "sasrec", "--graph-prior"])
    assert result.exit_code == 2 and "tune-prior" in result.stderr
    result = runner.invoke(app, ["tune-prior", str(path), "--model", "sasrec-items", "--grid", "-1"])
    assert result.exit_code == 2 and "must be >= 0" in result.stderr


def test_tune_prior_with_the_history_out_of_the_ranking(run):
    """--exclude-history chooses the prior as `evaluate --exclude-history` scores: the search's
    score of the chosen point is a real evaluation's, and above the history-kept one."""
    path, _ = run
    grid = ["--grid", "0", "--grid", "1", "--history", "3", "--decay", "0.5", "--eps", "1e-3"]
    kept = json.loads(runner.invoke(app, ["tune-prior", str(path), "--model", "sasrec-items", "--name", "kept",
                                          "--json", *grid]).stdout)
    result = runner.invoke(app, ["tune-prior", str(path), "--model", "sasrec-items", "--name", "unseen",
                                 "--exclude-history", "--json", *grid])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    valid = json.loads(runner.invoke(app, ["evaluate", str(path), "--model", "unseen", "--split", "valid",
                                           "--exclude-history", "--json"]).stdout)["metrics"]
    assert valid["ndcg@10"] == pytest.approx(out["valid_ndcg10"], abs=1e-5)
    assert all(u["ndcg10"] > k["ndcg10"] for u, k in zip(out["table"], kept["table"]))
    record = json.loads((path / "models" / "unseen" / "config.json").read_text())["graph_prior_search"]
    assert record["exclude_history"] is True
    result = runner.invoke(app, ["tune-prior", str(path), "--model", "sasrec-items", "--exclude-history",
                                 "--sampled", "99", *grid])
    assert result.exit_code == 2 and "exclude_history" in result.stderr


def test_tune_prior_takes_the_graph_of_another_run_of_the_same_log(run, tmp_path):
    from g2rec.data.prepare import PrepareConfig
    from g2rec.graph.build import GraphConfig

    path, _ = run
    window = tmp_path / "window"
    build_graph(MOVIELENS, window, graph=GraphConfig(builder="window"))
    grid = ["--grid", "0", "--grid", "1", "--grid", "2", "--history", "3", "--decay", "0.5", "--eps", "1e-3", "--json"]
    tune = lambda name, *extra: runner.invoke(app, ["tune-prior", str(path), "--model", "sasrec-items", "--name", name,
                                                    *grid, *extra])
    own = json.loads(tune("prior-own").stdout)
    result = tune("prior-window", "--graph-from", str(window))
    assert result.exit_code == 0, result.output
    other = json.loads(result.stdout)
    # the network alone scores the same; the prior's rows differ because its graph does
    assert [r["ndcg10"] for r in other["table"] if r["alpha"] == 0] == [r["ndcg10"] for r in own["table"] if r["alpha"] == 0]
    assert [r["ndcg10"] for r in other["table"] if r["alpha"] > 0] != [r["ndcg10"] for r in own["table"] if r["alpha"] > 0]
    folder = path / "models" / "prior-window"
    record = json.loads((folder / "config.json").read_text())
    assert record["prior_graph"]["from"] == str(window) and record["graph_prior_search"]["graph_from"] == str(window)
    assert (folder / "prior_graph.npz").read_bytes() == (window / "graph.npz").read_bytes()
    # evaluating the copy reads its own graph (the run's would score as prior-own does)
    assert other["graph_prior"] > 0 and other["valid_ndcg10"] != own["valid_ndcg10"]
    valid = json.loads(runner.invoke(app, ["evaluate", str(path), "--model", "prior-window", "--split", "valid",
                                           "--json"]).stdout)["metrics"]
    assert valid["ndcg@10"] == pytest.approx(other["valid_ndcg10"], abs=1e-5)
    # a changed copy is refused, not silently used
    (folder / "prior_graph.npz").write_bytes((path / "graph.npz").read_bytes())
    result = runner.invoke(app, ["evaluate", str(path), "--model", "prior-window", "--split", "valid"])
    assert result.exit_code != 0 and "missing or changed" in result.stderr
    # tuned again on the run's own graph: the copy goes, and the config no longer names it
    assert tune("prior-window").exit_code == 0
    assert not (folder / "prior_graph.npz").exists() and "prior_graph" not in json.loads((folder / "config.json").read_text())
    # a run folder of other splits could hold this run's test interactions in its graph
    temporal = tmp_path / "temporal"
    build_graph(MOVIELENS, temporal, prepare=PrepareConfig(split="temporal"))
    result = tune("prior-temporal", "--graph-from", str(temporal))
    assert result.exit_code != 0 and "sequences differ" in result.stderr and "split" in result.stderr
    assert not (path / "models" / "prior-temporal").exists()


def test_options_are_checked_and_a_resume_keeps_its_own(run):
    """Unknown options are refused by name (Python and CLI alike), presets are fixed, and a resumed
    run keeps the options it was started with."""
    path, _ = run
    with pytest.raises(ConfigError, match="unknown train option.*dimm.*lerning_rate"):
        train(path, model="sasrec", dimm=999, lerning_rate=5.0)
    result = runner.invoke(app, ["train", str(path), "--model", "sasrec", "--profiles", "add"])
    assert result.exit_code == 2 and "fixes profiles" in result.stderr
    args = ["train", str(path), "--model", "g2rec", "--profiles", "none", "--profile-weight", "0", "--epochs", "1",
            "--max-len", "20", "--dim", "32", "--threads", "1", "--no-graph-prior", "--name", "resumed"]
    assert runner.invoke(app, args).exit_code == 0
    assert runner.invoke(app, [*args, "--epochs", "2", "--resume"]).exit_code == 0
    config = path / "models" / "resumed" / "config.json"  # saved before an option existed: it takes its default
    record = json.loads(config.read_text())
    del record["generator"]["gbce_t"]
    config.write_text(json.dumps(record))
    manifest = json.loads((path / "manifest.json").read_text())  # an older g2rec kept no checksums
    del manifest["files"]
    (path / "manifest.json").write_text(json.dumps(manifest))
    assert runner.invoke(app, [*args, "--epochs", "3", "--resume"]).exit_code == 0
    result = runner.invoke(app, [*args[:-2], "--dim", "16", "--name", "resumed", "--resume"])
    assert result.exit_code == 2 and "--resume with other model options" in result.stderr


def test_a_trained_model_is_replaced_only_when_asked(run):
    path, _ = run
    args = ["train", str(path), "--model", "sasrec", "--epochs", "1", "--max-len", "20", "--dim", "32",
            "--threads", "1", "--name", "twice"]
    assert runner.invoke(app, args).exit_code == 0
    assert runner.invoke(app, ["evaluate", str(path), "--model", "twice", "--json"]).exit_code == 0
    folder = path / "models" / "twice"
    weights = (folder / "best.safetensors").read_bytes()
    result = runner.invoke(app, [*args, "--dim", "16"])
    assert result.exit_code == 2 and "already trained there; pass --resume" in result.stderr
    assert (folder / "best.safetensors").read_bytes() == weights and (folder / "metrics.json").exists()
    assert runner.invoke(app, [*args, "--dim", "16", "--overwrite"]).exit_code == 0
    assert not (folder / "metrics.json").exists() and not list(folder.glob("ranks-*.npy"))
    assert json.loads((folder / "config.json").read_text())["generator"]["dim"] == 16


def test_validation_protocol_options_reach_the_curve(run):
    """--valid-exclude-history validates with the user's own items out of the ranking, --select
    recall picks the checkpoint by Recall@10: both recorded in the config and each epoch's line."""
    path, _ = run
    args = ["train", str(path), "--model", "sasrec", "--epochs", "2", "--max-len", "20", "--dim", "32",
            "--threads", "1", "--name", "valid-protocol", "--valid-exclude-history", "--select", "recall10", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    folder = path / "models" / "valid-protocol"
    config = json.loads((folder / "config.json").read_text())["train"]
    assert config["select"] == "recall10" and config["valid_exclude_history"] is True
    log = [json.loads(line) for line in (folder / "train_log.jsonl").read_text().splitlines()]
    assert all(r["valid"]["exclude_history"] for r in log)
    best = max(log, key=lambda r: r["valid"]["Recall@10"])
    assert json.loads(result.stdout)["valid_recall10"] == round(best["valid"]["Recall@10"], 5)
    result = runner.invoke(app, [*args[:-3], "--select", "hr"])
    assert result.exit_code == 2 and "ndcg10, recall10" in result.stderr


def test_a_model_refuses_codes_and_profiles_that_tokenize_changed_since(run, tmp_path):
    """A model records the tokenize outputs it was trained on; once `g2rec tokenize` rewrites them,
    loading or resuming it fails by name instead of decoding with codes it never saw."""
    path, _ = run
    copy = tmp_path / "run"
    shutil.copytree(path, copy)
    tokenize = ["tokenize", str(copy), "--num-prototypes", "8", "--no-leiden", "--json"]
    assert runner.invoke(app, [*tokenize, "--codebook-size", "16"]).exit_code == 0
    args = ["train", str(copy), "--model", "g2rec-tiger", *ENCDEC, "--epochs", "1", "--beam", "5", "--max-len", "5",
            "--dim", "32", "--threads", "2", "--name", "g2t", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    recorded = json.loads((copy / "models" / "g2t" / "config.json").read_text())["tokenize"]
    manifest = json.loads((copy / "manifest.json").read_text())["files"]
    assert {"tokenize/sids.npz", "tokenize/profiles.npy"} <= set(recorded)
    assert all(manifest[rel]["sha256"] == sha for rel, sha in recorded.items())
    assert runner.invoke(app, ["evaluate", str(copy), "--model", "g2t", "--json"]).exit_code == 0
    assert runner.invoke(app, [*tokenize, "--codebook-size", "8"]).exit_code == 0
    for command in (["evaluate", str(copy), "--model", "g2t"], [*args[:-1], "--epochs", "2", "--resume"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2 and "`g2rec tokenize` has changed it since" in result.stderr, result.output
    # a model that reads nothing of tokenize is not concerned
    assert json.loads((copy / "models" / "sasrec-items" / "config.json").read_text()).get("tokenize", {}) == {}
    assert runner.invoke(app, ["evaluate", str(copy), "--model", "sasrec-items", "--json"]).exit_code == 0


def test_g2rec_defaults_to_the_sasrec_ss_backbone_and_its_sids_head_keeps_ce():
    net, train, _ = model_options("g2rec", {})
    assert (net.dim, net.layers, net.heads, net.dropout, net.item_dropout) == (64, 1, 1, 0.2, 0.2)
    assert (net.loss, net.negatives, net.negatives_per, net.profiles, net.profile_weight) == \
        ("sampled", 256, "position", "none", 0.0)
    assert (train.batch_size, train.patience, train.windows) == (128, 25, "all")
    assert model_options("g2rec", {"head": "sids"})[0].loss == "ce"  # sampled softmax is the items head's
    given, _, _ = model_options("g2rec", {"loss": "ce", "profiles": "add", "profile_weight": 1.0, "patience": 5})
    assert (given.loss, given.profiles, given.profile_weight) == ("ce", "add", 1.0)
    assert model_options("sasrec", {})[0].loss == "ce"  # the plain SASRec baseline keeps its own


def _holding(lock, mode):
    """Another process holding ``lock`` (``fcntl.LOCK_EX`` or ``LOCK_SH``) until its stdin closes."""
    code = (f"import fcntl, sys; f = open({str(lock)!r}, 'a'); fcntl.flock(f, fcntl.{mode}); "
            "print('held', flush=True); sys.stdin.read()")
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_evaluate_waits_for_no_training_but_runs_beside_another_evaluation(run):
    path, _ = run
    lock = path / ".model-sasrec-items.lock"
    args = ["evaluate", str(path), "--model", "sasrec-items", "--json"]
    trainer = _holding(lock, "LOCK_EX")  # train, tune-prior and align hold the model's claim exclusively
    try:
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and "training or changing the model 'sasrec-items'" in result.stderr
    finally:
        trainer.communicate("")
    reader = _holding(lock, "LOCK_SH")  # another evaluation of the same model
    try:
        assert runner.invoke(app, args).exit_code == 0
        resumed = runner.invoke(app, ["train", str(path), "--model", "sasrec", "--name", "sasrec-items", "--resume"])
        assert resumed.exit_code == 2 and "evaluating the model 'sasrec-items'" in resumed.stderr
    finally:
        reader.communicate("")
