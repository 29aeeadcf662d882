"""benchlib/inbound.py - the inbound scenarios (smtp-source against both
servers, alternating), the latency of one transaction, the commit-protocol
round trips, and their report with the ratios and goals.
"""
import math
import re
import smtplib
import statistics
import time

from benchlib.base import (BenchError, GlobalTimeout, HELO, LARGE, RCPT, SENDER, SMALL,
                           SMTP_SOURCE, count_files, log, run, run_e2e_bench, tree_cpu)
from benchlib.servers import PostfixServer


# Goals homemx is measured against (ratio homemx/Postfix), printed next to
# the ratios: throughput of one session and of 20 sessions, and server CPU
# per message (lower is better, so that goal is an upper bound).
GOAL_1_SESSION = 1.5
GOAL_20_SESSIONS = 2.5
GOAL_CPU = 0.4


# ----------------------------------------------------------------------
# measurements
# ----------------------------------------------------------------------
class Tracker:
    """Counts how many messages each server accepted, to know what must end
    up in its Maildir, and waits for delivery to catch up."""

    def __init__(self):
        self.sent = {}

    def add(self, srv, n):
        self.sent[srv.name] = self.sent.get(srv.name, 0) + n

    def wait_delivered(self, srv, deadline, limit=300, t0=None):
        """Wait until srv's Maildir holds everything accepted so far.
        Returns seconds since t0 (or None) when done; raises on timeout."""
        want = self.sent.get(srv.name, 0)
        end = time.monotonic() + min(limit, deadline.left())
        while True:
            have = count_files(srv.maildir_new)
            if have >= want:
                return None if t0 is None else time.monotonic() - t0
            if time.monotonic() > end:
                extra = ""
                if isinstance(srv, PostfixServer):
                    extra = f", {srv.queue_count()} still queued"
                raise BenchError(f"{srv.name}: only {have}/{want} messages delivered "
                                 f"after {limit}s{extra}\n" + srv.describe_failure())
            time.sleep(0.02)


def smtp_source(srv, sessions, count, size, deadline):
    """Run smtp-source; returns elapsed seconds.  Without -A it aborts on
    the first unexpected reply, so success means all `count` were accepted."""
    cmd = [SMTP_SOURCE, "-s", str(sessions), "-m", str(count), "-l", str(size),
           "-f", SENDER, "-t", RCPT, "-M", HELO, "-C", "3",
           f"inet:127.0.0.1:{srv.port}"]
    t0 = time.monotonic()
    run(cmd, deadline.left())
    return time.monotonic() - t0


def latency(srv, n, deadline):
    """n sequential connect/EHLO/MAIL/RCPT/DATA/QUIT transactions; returns
    (p50, p99) in milliseconds."""
    body = (f"From: <{SENDER}>\r\nTo: <{RCPT}>\r\nSubject: latency probe\r\n"
            "\r\n" + "x" * 70 + "\r\n").encode()
    samples = []
    for _ in range(n):
        deadline.left()
        t0 = time.perf_counter()
        # local_hostname avoids smtplib's socket.getfqdn() (a DNS query).
        with smtplib.SMTP("127.0.0.1", srv.port, local_hostname=HELO, timeout=30) as s:
            s.sendmail(SENDER, [RCPT], body)
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    p99 = samples[max(0, math.ceil(0.99 * len(samples)) - 1)]     # nearest rank
    return statistics.median(samples), p99


def run_scenario(srv, servers, tracker, scenario, deadline, sampler):
    """One run of one scenario against srv: returns (msgs/s, CPU ms/msg).
    msgs/s: count / (smtp-source start .. its end), or for the end-to-end
    scenario .. the last message in the Maildir.  CPU: utime+stime of every
    process of srv's tree (tree_cpu) from the start until the Maildir holds
    every message of the run, so acceptance and delivery both count, for
    both servers alike."""
    label, size, sess, count, e2e = scenario
    # Quiesce: all earlier mail delivered on every server.
    for s in servers:
        tracker.wait_delivered(s, deadline)
    sampler.active = True
    try:
        cpu0 = tree_cpu([srv.root_pid()])
        t0 = time.monotonic()
        elapsed = smtp_source(srv, sess, count, size, deadline)
        tracker.add(srv, count)
        done = tracker.wait_delivered(srv, deadline, t0=t0)
        cpu1 = tree_cpu([srv.root_pid()])
    finally:
        sampler.active = False
    if e2e:
        elapsed = done
    cpu = sum(v - cpu0.get(k, 0) for k, v in cpu1.items())
    return count / elapsed, cpu * 1000 / count


def bench_all(servers, args, deadline, samplers, rows, lat):
    """Run every scenario args.reps times, alternating the servers (h, p,
    h, p, ...) so that a slow phase of this shared machine hits both,
    filling `rows` (one dict per scenario: label, and per server the list
    of msgs/s and of CPU ms/msg) and `lat` (server -> (p50, p99)) as it
    goes, so that partial results survive a GlobalTimeout."""
    tracker = Tracker()
    scenarios = [
        ("a) 1 KB x1 session", SMALL, 1, args.count_small, False),
        ("b) 1 KB x20 sessions", SMALL, 20, args.count_small, False),
        ("c) 100 KB x10 sessions", LARGE, 10, args.count_large, False),
        ("d) end-to-end 1 KB x10 to Maildir", SMALL, 10, args.count_e2e, True),
    ]
    for scenario in scenarios:
        label, count = scenario[0], scenario[3]
        row = {"label": f"{label} ({count} msgs)", "key": label[0]}
        rows.append(row)
        for rep in range(args.reps):
            for srv in servers:
                runs = row.setdefault(srv.name, {"rate": [], "cpu": []})
                try:
                    rate, cpu = run_scenario(srv, servers, tracker, scenario, deadline,
                                             samplers[srv.name])
                except BenchError as e:
                    if isinstance(e, GlobalTimeout):
                        raise
                    log(f"{srv.name:8} {label} run {rep + 1}: FAILED: {e}")
                    tracker.sent[srv.name] = count_files(srv.maildir_new)  # rebaseline
                    continue
                runs["rate"].append(rate)
                runs["cpu"].append(cpu)
                log(f"{srv.name:8} {label} run {rep + 1}/{args.reps}: {count} msgs, "
                    f"{rate:.0f} msgs/s, CPU {cpu:.2f} ms/msg")

    for srv in servers:
        try:
            for s in servers:
                tracker.wait_delivered(s, deadline)
            samplers[srv.name].active = True
            try:
                lat[srv.name] = latency(srv, args.latency_count, deadline)
            finally:
                samplers[srv.name].active = False
            tracker.add(srv, args.latency_count)
            log(f"{srv.name:8} latency: p50 {lat[srv.name][0]:.2f} ms, "
                f"p99 {lat[srv.name][1]:.2f} ms")
        except (BenchError, OSError, smtplib.SMTPException) as e:
            if isinstance(e, GlobalTimeout):
                raise
            log(f"{srv.name:8} latency: FAILED: {e!r}")
            lat[srv.name] = None

    # Final sanity check: everything accepted was delivered.
    for srv in servers:
        try:
            tracker.wait_delivered(srv, deadline, limit=60)
            log(f"{srv.name:8} delivered {count_files(srv.maildir_new)} messages "
                f"in total, as expected")
        except GlobalTimeout:
            raise
        except BenchError as e:
            log(f"{srv.name:8} WARNING: {e}")


def median_of(row, name, what):
    """Median of the runs of one server in one scenario, or None."""
    values = row.get(name, {}).get(what, [])
    return statistics.median(values) if values else None


def goal_note(ratio, goal, higher_is_better=True):
    """'goal >= 1.5x: met' (or 'not met'); '' without a ratio or goal."""
    if ratio is None or goal is None:
        return ""
    met = ratio >= goal if higher_is_better else ratio <= goal
    return f"goal {'>=' if higher_is_better else '<='} {goal}x: {'met' if met else 'NOT met'}"


def report(rows, lat, servers, samplers, names):
    def fmt(v, spec="10.0f"):
        return format(v, spec) if v is not None else format("n/a", ">" + spec.split(".")[0])

    def ratio(h, p):
        return h / p if h is not None and p else None

    rate_goals = {"a": GOAL_1_SESSION, "b": GOAL_20_SESSIONS}
    w = max(len(r["label"]) for r in rows) + 2
    nruns = max((len(r.get(n, {}).get("rate", [])) for r in rows for n in names), default=0)
    print()
    print(f"medians of up to {nruns} runs per server, alternating homemx and Postfix; "
          f"this machine is shared with other work, so the figures are noisy")
    print()
    print(f"{'scenario':<{w}}{'homemx':>10} {'postfix':>10} {'ratio':>8}   msgs/s")
    print("-" * (w + 52))
    for r in rows:
        h, p = median_of(r, "homemx", "rate"), median_of(r, "postfix", "rate")
        q = ratio(h, p)
        print(f"{r['label']:<{w}}{fmt(h)} {fmt(p)} {fmt(q, '8.2f')}   "
              f"{goal_note(q, rate_goals.get(r['key']))}")
    print()
    print(f"{'scenario':<{w}}{'homemx':>10} {'postfix':>10} {'ratio':>8}   "
          f"server CPU ms/msg (accept + deliver)")
    print("-" * (w + 52))
    for r in rows:
        h, p = median_of(r, "homemx", "cpu"), median_of(r, "postfix", "cpu")
        q = ratio(h, p)
        print(f"{r['label']:<{w}}{fmt(h, '10.3f')} {fmt(p, '10.3f')} {fmt(q, '8.2f')}   "
              f"{goal_note(q, GOAL_CPU, higher_is_better=False)}")
    print()
    for r in rows:
        runs = "; ".join(
            f"{n} " + ", ".join(f"{a:.0f}/s {c:.2f}ms" for a, c in
                                zip(r.get(n, {}).get("rate", []), r.get(n, {}).get("cpu", [])))
            for n in names)
        print(f"  runs {r['label']}: {runs}")
    print()
    for n in names:
        v = lat.get(n)
        if v:
            print(f"{n:8} connect..QUIT latency: p50 {v[0]:.2f} ms, p99 {v[1]:.2f} ms")
        else:
            print(f"{n:8} connect..QUIT latency: n/a")
    print()
    for srv in servers:
        s = samplers.get(srv.name)
        if s and s.hwm:
            print(f"{srv.name:8} peak RSS: sum of VmHWM over {len(s.hwm)} processes "
                  f"{s.peak_kb() / 1024:.1f} MiB; max simultaneous sum: VmRSS "
                  f"{s.peak_live_kb() / 1024:.1f} MiB, PSS {s.peak_pss_kb() / 1024:.1f} MiB"
                  f"\n         [{s.summary()}]")
    print(flush=True)


def commit_latency_once(build, deadline):
    """One run of tests/e2e/test_queue_bench.py against build: returns
    {load: (p50_ms, p90_ms, per_commit_ms)}, or raises BenchError."""
    text, status = run_e2e_bench("test_queue_bench", build, 180, deadline)
    got = {m.group(1): (float(m.group(2)), float(m.group(3)), float(m.group(4)))
           for m in re.finditer(r"commit-latency load=(\S+) n=\d+ p50_ms=([\d.]+) "
                                r"p90_ms=([\d.]+) per_commit_ms=([\d.]+)", text)}
    if not got:
        raise BenchError(f"test_queue_bench gave no figures (exit {status}):\n"
                         + text[-1500:])
    return got


def commit_latency(args, deadline):
    """The queue's commit alone, for --build and --compare-build, args.reps
    times alternating; prints the medians."""
    builds = [("build", args.build)]
    if args.compare_build:
        builds.append(("compare", args.compare_build))
    runs = {}
    for rep in range(args.reps):
        for name, build in builds:
            try:
                got = commit_latency_once(build, deadline)
            except BenchError as e:
                if isinstance(e, GlobalTimeout):
                    raise
                log(f"commit latency {build} run {rep + 1}: FAILED: {e}")
                continue
            for load, v in got.items():
                runs.setdefault((name, load), []).append(v)
            log(f"commit latency {build} run {rep + 1}/{args.reps}: " + ", ".join(
                f"{load} p50 {v[0]:.2f} ms, {v[2]:.2f} ms/commit" for load, v in got.items()))
    if not runs:
        return
    print(f"queue commit alone (tests/e2e/test_queue_bench.py), medians of {args.reps} runs:")
    for name, build in builds:
        for load in sorted({k[1] for k in runs if k[0] == name}):
            vals = runs[(name, load)]
            med = [statistics.median(v[i] for v in vals) for i in range(3)]
            print(f"  {build}: {load:8} p50 {med[0]:7.2f} ms  p90 {med[1]:7.2f} ms  "
                  f"{med[2]:6.2f} ms per commit")
    print(flush=True)
