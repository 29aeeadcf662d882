"""tests/e2e/test_queue_bench.py - what one commit costs in the queue alone:
MSG_SMTPD_MSG_COMMIT to MSG_QUEUE_MSG_COMMITTED round trips against the
real homemx-queue (test_queue_roles.Rig plays smtpd and lookup), so the
commit protocol of queue/spool.c is timed without SMTP, delivery or
lookup in the way. scripts/bench runs it (for two builds, alternating,
with --compare-build) and reports medians.

Two loads:
  single   one commit at a time (one SMTP session): every commit pays a
           whole flush, so this is the flush latency of the protocol
  burst20  20 commits sent at once (20 sessions ending DATA together):
           they share flushes (group commit); the time per commit

p50/p90 are of one sample: a commit (single) or a whole burst (burst20);
per_commit_ms is the total time over the number of commits.
Skipped unless HOMEMX_BENCH=1; prints one line per load:
    commit-latency load=single n=200 p50_ms=1.20 p90_ms=4.10 per_commit_ms=1.60
HOMEMX_BENCH_N sets the commits per load (default 200).
"""
import os
import statistics
import time
import unittest

from test_queue_roles import BODY, QUEUE_OK, Rig

N = int(os.environ.get("HOMEMX_BENCH_N", "200"))
BURST = 20


def open_bodies(rig, n, req):
    ids = []
    for i in range(n):
        st, msgid, fd = rig.open_body(req=req + i)
        assert st == QUEUE_OK, st
        os.write(fd, BODY)
        os.close(fd)
        ids.append(msgid)
    return ids


def commit_all(rig, ids, req):
    """Sends every COMMIT, then reads every reply; seconds taken."""
    t0 = time.perf_counter()
    for i, msgid in enumerate(ids):
        rig.commit_frame(msgid, ["kim@example.test"], req=req + i)
    for _ in ids:
        st, _, _ = rig.committed()
        assert st == QUEUE_OK, st
    return time.perf_counter() - t0


def report(load, samples, total):
    samples = sorted(samples)
    p90 = samples[min(len(samples) - 1, int(0.9 * len(samples)))]
    print(f"\ncommit-latency load={load} n={total} p50_ms={statistics.median(samples) * 1000:.2f} "
          f"p90_ms={p90 * 1000:.2f} per_commit_ms={sum(samples) * 1000 / total:.2f}", end="")


@unittest.skipUnless(os.environ.get("HOMEMX_BENCH"), "set HOMEMX_BENCH=1 to measure")
class CommitLatency(unittest.TestCase):
    def test_commit_latency(self):
        rig = Rig()
        req = 1
        try:
            single = []
            for _ in range(N):
                ids = open_bodies(rig, 1, req)
                single.append(commit_all(rig, ids, req + 1))
                req += 2
            report("single", single, N)
            bursts = []
            for _ in range(max(1, N // BURST)):
                ids = open_bodies(rig, BURST, req)
                bursts.append(commit_all(rig, ids, req + BURST))
                req += 2 * BURST
            report(f"burst{BURST}", bursts, len(bursts) * BURST)
            print()
        finally:
            rig.stop()
            rig.cleanup()


if __name__ == "__main__":
    unittest.main()
