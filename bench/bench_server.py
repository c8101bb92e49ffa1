"""Load check of the synthesis server on loopback: N concurrent clients for a bounded time.

    python bench/bench_server.py [--model_file packed.zip] [--clients 4] [--duration_s 20] \\
        [--num_workers 1] [--max_queue 4] [--text "..."]

Starts ``espkit.bin.tts_server`` on 127.0.0.1 (a free port) with ``--model_file`` (default: a packed
tiny untrained FastSpeech2 with a tiny vocoder, built under a temporary directory from the test
helpers: its figures are the server's overhead, not a real model's speed), then:

1. time to first audio of a 5-sentence text: a streamed ``GET /api/tts``, from the request to the
   first PCM bytes after the WAV header, and to the end of the stream (median of 5);
2. ``--clients`` threads each sending ``POST /api/tts`` (one sentence, WAV) back to back for
   ``--duration_s`` seconds: requests/s, p50/p95 latency of the 200s, and the count of every other
   status. With ``--clients`` at most ``num_workers + max_queue`` no request may fail (503 included);
   the script exits 1 if one does. Above the bound, 503s are expected and counted.

Every request goes to 127.0.0.1 only; both loops are bounded in count and time, and the server is
stopped at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Dict, List, Optional

REPO = Path(__file__).resolve().parents[1]
FIVE_SENTENCES = "ab ba cab. bca cb ab. a b c cab. cc aa bab. acab ba ab."
ONE_SENTENCE = "ab ba cab bca"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tiny_model(root: Path) -> Path:
    """A packed tiny untrained FastSpeech2 + vocoder (the tests' helper)."""
    sys.path.insert(0, str(REPO / "test" / "helpers"))
    from tiny_server import make_packed_models

    return make_packed_models(root)["fs2"]


def start_server(model_file: Path, port: int, args: argparse.Namespace, log_path: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "espkit.bin.tts_server", "--model_file", f"bench={model_file}"]
    command += ["--port", str(port), "--num_workers", str(args.num_workers), "--max_queue", str(args.max_queue)]
    command += ["--log_level", "WARNING"]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    server = subprocess.Popen(command, stdout=open(log_path, "w"), stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"tts_server exited with {server.returncode}: {log_path.read_text()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("tts_server did not answer /healthz within 120 s")


def first_audio(port: int, text: str) -> Dict[str, float]:
    """Seconds to the first PCM bytes of a streamed WAV of ``text`` and to its end."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    start = time.perf_counter()
    connection.request("GET", "/api/tts?" + urllib.parse.urlencode({"text": text}))
    response = connection.getresponse()
    if response.status != 200:
        raise RuntimeError(f"GET /api/tts: {response.status} {response.read()[:300]!r}")
    received, first = 0, None
    while True:
        chunk = response.read1(65536)
        if not chunk:
            break
        received += len(chunk)
        if first is None and received > 44:
            first = time.perf_counter() - start
    return {"first_s": first or float("nan"), "total_s": time.perf_counter() - start, "bytes": received}


def client_loop(port: int, stop_at: float, latencies: List[float], statuses: Dict[int, int], lock: threading.Lock):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    body = json.dumps({"text": ONE_SENTENCE})
    while time.monotonic() < stop_at:
        start = time.perf_counter()
        try:
            connection.request("POST", "/api/tts", body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            status = -1
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        elapsed = time.perf_counter() - start
        with lock:
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200:
                latencies.append(elapsed)


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model_file", type=Path, default=None, help="Packed model zip (default: a tiny one)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--duration_s", type=float, default=20.0)
    parser.add_argument("--num_workers", type=int, default=1)
    parser.add_argument("--max_queue", type=int, default=4)
    parser.add_argument("--text", default=None, help="The 5-sentence text (default: one in the tiny model's letters)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        model_file = args.model_file or tiny_model(Path(tmp) / "models")
        port = free_port()
        server = start_server(model_file, port, args, Path(tmp) / "server.log")
        try:
            text = args.text or FIVE_SENTENCES
            first_audio(port, text)  # warm-up
            runs = [first_audio(port, text) for _ in range(5)]
            latencies: List[float] = []
            statuses: Dict[int, int] = {}
            lock = threading.Lock()
            stop_at = time.monotonic() + args.duration_s
            threads = [
                threading.Thread(target=client_loop, args=(port, stop_at, latencies, statuses, lock))
                for _ in range(args.clients)
            ]
            start = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - start
        finally:
            server.terminate()
            server.wait(30)
    bound = args.num_workers + args.max_queue
    failed = sum(count for status, count in statuses.items() if status != 200)
    print(f"model: {args.model_file or 'tiny untrained FastSpeech2 + tiny vocoder'}")
    print(f"clients {args.clients}, num_workers {args.num_workers}, max_queue {args.max_queue} (bound {bound})")
    print(
        f"time to first audio, 5 sentences: median {1000 * statistics.median(r['first_s'] for r in runs):.1f} ms "
        f"(whole stream {1000 * statistics.median(r['total_s'] for r in runs):.1f} ms)"
    )
    print(
        f"requests/s: {len(latencies) / elapsed:.1f}; latency p50 {1000 * percentile(latencies, 0.5):.1f} ms, "
        f"p95 {1000 * percentile(latencies, 0.95):.1f} ms; statuses {dict(sorted(statuses.items()))}"
    )
    if args.clients <= bound and failed:
        print(f"FAILED: {failed} request(s) failed below the queue bound", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
