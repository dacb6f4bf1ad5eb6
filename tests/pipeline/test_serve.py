"""`g2rec serve` answering over real HTTP on loopback: known users, new histories, batches, bad requests."""

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from g2rec import Recommender


def call(port: int, path: str, body=None, raw: bytes | None = None):
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture(scope="module")
def server(trained_run):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "g2rec_cli.main", "serve", str(trained_run), "--port", str(port),
                                "--model", "sasrec-items"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while True:
        try:
            if call(port, "/health")[0] == 200:
                break
        except OSError:
            pass
        if process.poll() is not None or time.time() > deadline:
            process.kill()
            pytest.fail(f"g2rec serve did not start: {process.stderr.read()[-2000:]}")
        time.sleep(0.5)
    yield port
    process.terminate()
    process.wait(timeout=30)


def test_health_and_answers_equal_the_library(server, trained_run):
    status, health = call(server, "/health")
    assert status == 200 and health == {"status": "ok", "model": "sasrec-items", "items": 1682, "users": 943}
    rec = Recommender(trained_run, "sasrec-items")
    user = str(rec.seq.user_ids[3])
    status, known = call(server, "/recommend", {"user": user, "k": 5})
    assert status == 200 and known == rec.users([user], k=5)[0]
    history = [str(i) for i in rec.seq.item_ids[:4]] + ["unheard-of"]
    status, new = call(server, "/recommend", {"history": history, "k": 3, "exclude_history": True})
    assert status == 200 and new == rec.histories([history], k=3, exclude_history=True)[0]
    assert new["unknown_items"] == ["unheard-of"] and set(new) == {"items", "scores", "interests", "unknown_items"}
    status, batch = call(server, "/recommend", [{"history": history, "k": 2}, {"user": user}, {"user": user, "k": 1}])
    assert status == 200 and [len(b["items"]) for b in batch] == [2, 10, 1]
    assert batch[2]["items"] == known["items"][:1] and batch[1]["items"][:5] == known["items"]


@pytest.mark.parametrize("body, status, message", [
    ({"user": "ghost"}, 404, "unknown user 'ghost'"),
    ({"usr": "1"}, 400, "unknown field 'usr'"),
    ({"user": "1", "history": []}, 400, "exactly one of"),
    ({}, 400, "exactly one of"),
    ({"history": "50"}, 400, "\"history\" must be a list"),
    ({"user": "1", "k": 0}, 400, "\"k\" must be an integer from 1"),
    ({"user": "1", "k": "5"}, 400, "\"k\" must be an integer"),
    ({"user": "1", "exclude_history": "yes"}, 400, "exclude_history"),
    ([{"user": "1"}, 5], 400, "request 1: expected a JSON object"),
    ([], 400, "a batch holds 1 to"),
    (b"{not json", 400, "the body is not JSON"),
])
def test_bad_requests_get_a_clear_4xx_and_the_server_keeps_serving(server, body, status, message):
    got, answer = call(server, "/recommend", raw=body) if isinstance(body, bytes) else call(server, "/recommend", body)
    assert got == status and message in answer["error"]
    assert call(server, "/recommend", {"user": "1", "k": 1})[0] == 200
