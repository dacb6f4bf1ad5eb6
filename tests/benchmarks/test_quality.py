"""benchmarks/quality.py: each recipe row's network, and the head-to-head target lines."""

import json

import pytest

MODELS = {
    "knn": None,
    "sasrec-a": {"train": {"model": "sasrec"}},
    "sasrec-b": {"train": {"model": "sasrec", "seed": 1}},
    "sasrec-x2": {"ensemble": ["sasrec-a", "sasrec-b"]},
    "sasrec-a-prior": {"tune_prior": "sasrec-a"},
    "g2rec-a": {"train": {"model": "g2rec", "graph_prior": False}},
    "g2rec-b": {"train": {}},                                   # g2rec by default, prior searched
    "tiger": {"train": {"model": "tiger"}},
    "both": {"ensemble": ["sasrec-a", "g2rec-a"]},
}


def test_model_family_follows_tune_prior_and_ensembles(load_benchmark):
    q = load_benchmark("quality")
    family = {m: q.model_family(MODELS, m) for m in MODELS}
    assert family["knn"] is None and q.model_family(MODELS, "not-in-recipe") is None
    assert family["sasrec-a"] == {"network": "sasrec", "prior": False}
    assert family["sasrec-x2"] == {"network": "sasrec", "prior": False}
    assert family["sasrec-a-prior"] == {"network": "sasrec", "prior": True}
    assert family["g2rec-a"] == {"network": "g2rec", "prior": False}
    assert family["g2rec-b"] == {"network": "g2rec", "prior": True}
    assert family["both"]["network"] == "mixed"


def test_every_row_of_the_issue_datasets_has_a_network(load_benchmark):
    q = load_benchmark("quality")
    for name in ("toys", "scientific", "ml-100k"):
        recipe = q.load_recipes()[name]
        assert recipe["ahead_of"] == {"metric": "ndcg@10", "networks": ["sasrec", "tiger", "tiger-mlp"]}
        for model in recipe["models"]:
            family = q.model_family(recipe["models"], model)
            assert (family is None) == (model in ("popularity", "knn")), model
            assert family is None or family["network"] in ("sasrec", "g2rec", "tiger", "tiger-mlp", "mixed")
    toys = q.load_recipes()["toys"]["models"]
    assert q.model_family(toys, "g2rec-items-d128-x3-prior-tuned") == {"network": "g2rec", "prior": True}
    assert q.model_family(toys, "sasrec-tiger")["network"] == "mixed"


def row(valid: float, test: float) -> dict:
    return {"training": {"valid_ndcg10": valid}, "full-ranking": {"ndcg@10": test}}


def test_head_to_head_picks_on_validation_and_needs_both_splits(load_benchmark):
    q = load_benchmark("quality")
    rows = {"knn": {"training": None, "full-ranking": {"ndcg@10": 0.9}},
            "g2rec-a": row(0.050, 0.080),          # best g2rec on test, not on validation
            "g2rec-b": row(0.060, 0.045),          # validation's pick
            "sasrec-a": row(0.040, 0.040), "sasrec-b": row(0.030, 0.070), "sasrec-x2": row(0.045, 0.042),
            "sasrec-a-prior": row(0.061, 0.044),   # behind g2rec on test, ahead on validation
            "tiger": row(0.070, 0.050),            # ahead of g2rec on both
            "both": row(0.099, 0.099)}
    data, recipe = {"rows": rows}, {"ahead_of": {"metric": "ndcg@10", "networks": ["sasrec", "tiger"]}, "models": MODELS}
    lines = q.head_to_head(data, recipe)
    assert lines[1] == "  - g2rec: g2rec-b (validation 0.0600, the pick of 2 configurations): test 0.0450"
    plain, prior, tiger = lines[2:5]
    assert plain.startswith("  - sasrec: sasrec-x2 (validation 0.0450, the pick of 3 configurations): test 0.0420")
    assert plain.endswith("+0.0030 on test, +0.0150 on validation: met")
    assert prior.startswith("  - sasrec + g2rec's graph prior: sasrec-a-prior (validation 0.0610, its only configuration)")
    assert prior.endswith("+0.0010 on test, -0.0010 on validation: **level: the splits disagree**")
    assert tiger.endswith("-0.0050 on test, -0.0100 on validation: **not met**")
    assert lines[5] == "  - (1 ensembles of different networks count on neither side)" and lines[6] == ""
    assert "0.9" not in "".join(lines) and "0.099" not in "".join(lines)   # baselines and mixed rows never picked
    assert q.head_to_head(data, {"models": MODELS}) == [] and q.head_to_head(data, None) == []


def test_default_rows_train_todays_defaults_and_older_rows_keep_theirs(load_benchmark):
    q = load_benchmark("quality")
    recipes = q.load_recipes()
    for name in ("beauty", "toys", "scientific", "ml-100k"):
        run = recipes[name]["run"]
        assert q.row_command(recipes[name], "g2rec") == f"g2rec train {run} --model g2rec --threads 1 --name g2rec"
    older = q.row_command(recipes["beauty"], "g2rec-items-add")   # trained on the defaults of its day
    assert all(flag in older.split() for flag in ("--loss", "ce", "--layers", "2", "--profiles", "add"))


def test_a_run_tokenized_otherwise_than_its_recipe_stops_the_benchmark(load_benchmark, tmp_path):
    q = load_benchmark("quality")
    params = {"embedding": "sasrec", "gamma": 1.0, "seed": 0}
    (tmp_path / "manifest.json").write_text(json.dumps({"stages": {"tokenize": {"params": params}}}))
    q.check_tokenized(tmp_path, {"tokenize": {"embedding": "sasrec", "gamma": 1.0}}, "g2rec tokenize RUN")
    with pytest.raises(SystemExit, match=r"embedding 'sasrec' \(recipe: 'lightgcn'\): run `g2rec tokenize RUN"):
        q.check_tokenized(tmp_path, {"tokenize": {"embedding": "lightgcn"}}, "g2rec tokenize RUN")
