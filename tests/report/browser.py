"""Open a page in Debian's headless Chromium and read back how its images rendered."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
INSTALL = "apt-get install -y chromium (Debian; the README's test command does it)"

# appended to a copy of the page: after the load event, each <img>'s state written into the DOM, with
# its decoded pixels drawn on a canvas: the share of opaque pixels (a PNG cut short still reports
# its header's size, but decodes with transparent rows missing) and of pixels that are not white
PROBE = """<script>
window.addEventListener("load", () => {
  const out = document.createElement("pre");
  out.id = "image-probe";
  out.textContent = JSON.stringify([...document.images].map(img => {
    const state = {src: img.getAttribute("src"), complete: img.complete, width: img.naturalWidth,
                   height: img.naturalHeight, shown: img.getBoundingClientRect().width, opaque: 0, inked: 0};
    if (img.complete && img.naturalWidth > 0) {
      const canvas = document.createElement("canvas");
      canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
      const ctx = canvas.getContext("2d");
      ctx.drawImage(img, 0, 0);
      const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      let opaque = 0, inked = 0;
      for (let i = 0; i < px.length; i += 4) {
        if (px[i + 3] === 255) opaque++;
        if (px[i + 3] > 0 && px[i] + px[i + 1] + px[i + 2] < 600) inked++;
      }
      state.opaque = opaque / (px.length / 4); state.inked = inked / (px.length / 4);
    }
    return state;
  }));
  document.body.appendChild(out);
});
</script>"""


def chromium() -> str:
    """The browser's path; the test fails (never skips) without it, saying how to install it."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail(f"chromium is not installed: {INSTALL}")
    return path


def _run(args: list[str], timeout: int = 90) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                              text=True, timeout=timeout, check=False)


def rendered_images(page: Path) -> list[dict]:
    """Per ``<img>`` of ``page``: ``src``, ``complete``, natural ``width``/``height``, the
    on-screen width, and the shares of ``opaque`` and ``inked`` (not white) pixels, as Chromium
    loaded and decoded it (from ``file://``, relative links resolved)."""
    probe = page.with_name(f".probe-{page.name}")
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    try:
        result = _run(["--window-size=1280,1000", "--allow-file-access-from-files", "--dump-dom",
                       probe.resolve().as_uri()])
    finally:
        probe.unlink()
    found = re.search(r'<pre id="image-probe">(.*?)</pre>', result.stdout, re.DOTALL)
    assert found, f"chromium printed no probe (exit {result.returncode}): {result.stderr[-2000:]}"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def screenshot(page: Path, out: Path, height: int = 3000) -> Path:
    """A full-width PNG screenshot of ``page``."""
    result = _run([f"--window-size=1280,{height}", f"--screenshot={out}", page.resolve().as_uri()])
    assert out.exists(), f"no screenshot (exit {result.returncode}): {result.stderr[-2000:]}"
    return out
