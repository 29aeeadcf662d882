"""benchlib/outbound.py - the outbound runs: concurrent authenticated
submission, rounds that alternate the servers, the DKIM signing cost, the
--trace breakdown, and their report.
"""
import email.utils
import os
import re
import smtplib
import ssl
import statistics
import sys
import threading
import time

from benchlib.base import (BenchError, DOMAIN, GlobalTimeout, HELO, SMALL, log, pctl, run,
                           run_e2e_bench, tree_cpu)
from benchlib.outbound_world import (DOVECOT, DovecotAuth, HomemxRelayServer, OPENDKIM,
                                     OPENDKIM_GENKEY, OPENSSL, OUT_RCPT, OpenDkim,
                                     PostfixRelayServer, SUB_PASSWORD, SUB_USER, Sink,
                                     make_tls_cert)
from benchlib.servers import HomemxServer


def out_message(i):
    """About 1 KB, with Date and Message-ID (so both servers sign the same
    header set), From the authenticated user."""
    head = (f"From: Kim <{SUB_USER}>\r\nTo: <{OUT_RCPT}>\r\n"
            f"Subject: outbound bench {i}\r\nDate: {email.utils.formatdate()}\r\n"
            f"Message-ID: <bench.{i}.{os.getpid()}@{DOMAIN}>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n")
    line = "x" * 70 + "\r\n"
    return (head + line * max(1, (SMALL - len(head)) // len(line))).encode()


def submission_session(port, tls_mode, ctx):
    """A logged-in SMTP session: STARTTLS (587 style) or implicit TLS (465
    style), then AUTH (smtplib picks PLAIN or LOGIN)."""
    if tls_mode == "tls":
        s = smtplib.SMTP_SSL("127.0.0.1", port, local_hostname=HELO, timeout=60, context=ctx)
    else:
        s = smtplib.SMTP("127.0.0.1", port, local_hostname=HELO, timeout=60)
    try:
        if tls_mode != "tls":
            s.starttls(context=ctx)
        s.login(SUB_USER, SUB_PASSWORD.decode())
    except BaseException:
        s.close()
        raise
    return s


def send_timed(s, msg, times):
    """One message over a logged-in session, as smtplib's sendmail() sends
    it (MAIL with SIZE, RCPT, DATA, the dot-stuffed body), but with each
    reply waited for separately so that `times` (a dict of lists, or None)
    gets the seconds each step took from the client's side."""
    t0 = time.perf_counter()
    opts = [f"size={len(msg)}"] if s.has_extn("size") else []
    code, resp = s.mail(SUB_USER, opts)
    if code != 250:
        raise BenchError(f"MAIL FROM refused: {code} {resp!r}")
    t1 = time.perf_counter()
    code, resp = s.rcpt(OUT_RCPT)
    if code not in (250, 251):
        raise BenchError(f"recipient refused: {code} {resp!r}")
    t2 = time.perf_counter()
    code, resp = s.docmd("data")
    if code != 354:
        raise BenchError(f"DATA refused: {code} {resp!r}")
    t3 = time.perf_counter()
    body = smtplib._quote_periods(msg)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    s.send(body + b".\r\n")
    code, resp = s.getreply()
    if code != 250:
        raise BenchError(f"message refused: {code} {resp!r}")
    t4 = time.perf_counter()
    if times is not None:
        for k, a, b in (("mail", t0, t1), ("rcpt", t1, t2), ("data", t2, t3), ("dot", t3, t4)):
            times.setdefault(k, []).append(b - a)


def submit_load(port, tls_mode, count, sessions, per_session, deadline, first_id=0,
                times=None):
    """Submit `count` messages over up to `sessions` concurrent sessions of
    `per_session` messages each (a session: TLS, AUTH, the messages, QUIT).
    Returns seconds until the last one was accepted; a rejection or error
    stops everything and raises BenchError.  times: see send_timed()."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    lock = threading.Lock()
    state = {"next": 0, "accepted": 0}
    errors = []
    stop = threading.Event()

    def take():
        with lock:
            k = min(per_session, count - state["next"])
            first = state["next"]
            state["next"] += max(k, 0)
            return first, k

    def worker():
        mine = {} if times is not None else None
        while not stop.is_set():
            first, k = take()
            if k <= 0:
                break
            try:
                s = submission_session(port, tls_mode, ctx)
                try:
                    for i in range(first, first + k):
                        if stop.is_set():
                            return
                        send_timed(s, out_message(first_id + i), mine)
                        with lock:
                            state["accepted"] += 1
                    s.quit()
                finally:
                    s.close()
            except Exception as e:           # noqa: BLE001 - reported below
                errors.append(e)
                stop.set()
                return
        if mine:
            with lock:
                for k, v in mine.items():
                    times.setdefault(k, []).extend(v)

    threads = [threading.Thread(target=worker, daemon=True)
               for _ in range(max(1, min(sessions, -(-count // per_session))))]
    t0 = time.monotonic()
    try:
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.1)
                deadline.left()
    finally:
        stop.set()
    if errors:
        raise BenchError(f"submission failed after {state['accepted']}/{count} accepted: "
                         f"{errors[0]!r}")
    return time.monotonic() - t0


TRACE_SUBMISSION = re.compile(
    r"trace=submission .*?body_ms=([\d.]+) from_ms=([\d.]+) sign_ms=([\d.]+) "
    r"commit_ms=([\d.]+) eod_ms=([\d.]+)")
TRACE_DKIM = re.compile(r"event=dkim_sign .*?result=ok .*?ms=([\d.]+)")
TRACE_FLUSH = re.compile(r"group flush: (\d+) envelopes, (\d+) flush calls, in ([\d.]+) ms")


def homemx_trace(logfile, offset, into):
    """Adds the per-stage figures homemx logged since `offset` (homemxd -D)
    to the lists of `into`: submission's end of DATA (submission/message.c:
    From: check, signature round trip, copy + commit), dkimsign's own time
    per request, and the queue's group flushes (envelopes, ms)."""
    try:
        with open(logfile, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
    except OSError:
        return
    for m in TRACE_SUBMISSION.finditer(text):
        for k, v in zip(("body", "from", "sign", "commit", "eod"), m.groups()):
            into.setdefault("srv_" + k, []).append(float(v) / 1000)
    for m in TRACE_DKIM.finditer(text):
        into.setdefault("dkimsign", []).append(float(m.group(1)) / 1000)
    for m in TRACE_FLUSH.finditer(text):
        into.setdefault("flush_batch", []).append(int(m.group(1)))
        into.setdefault("flush", []).append(float(m.group(3)) / 1000)


class OutboundSetup:
    """One server of the outbound scenario, started and warmed up, with its
    own sink and helpers (Dovecot, OpenDKIM), kept running while the rounds
    of every server alternate."""

    def __init__(self, label, res):
        self.label, self.res = label, res
        self.srv = self.sink = None
        self.helpers = []
        self.lists = {"subs": [], "dones": [], "cpus": [], "clients": [], "breakdown": []}

    def roots(self):
        return [self.srv.root_pid()] + [h.proc.pid for h in self.helpers
                                        if h.proc is not None]


def relay_warmup(st, args, deadline):
    """A few messages must reach the sink: the path works."""
    srv, sink = st.srv, st.sink
    port = srv.subs_port if args.submission == "tls" else srv.sub_port
    warm = max(1, args.out_warmup)
    base = sink.mesg
    try:
        submit_load(port, args.submission, warm, 1, warm, deadline, first_id=10**6)
    except BenchError as e:
        raise BenchError(f"warm-up submission failed: {e}\n" + srv.progress()) from None
    sink.wait_count(base + warm, deadline, limit=30, progress=srv.progress)


def relay_round(st, args, deadline, r):
    """Round r: submit args.count_out messages and time until the sink has
    them all; the medians so far go into st.res after every round, so that
    a global timeout keeps what was measured."""
    srv, sink, res, L = st.srv, st.sink, st.res, st.lists
    port = srv.subs_port if args.submission == "tls" else srv.sub_port
    n = args.count_out
    base = sink.mesg
    times = res.setdefault("times", {}) if args.trace else None
    log_off = None
    if args.trace and isinstance(srv, HomemxServer):
        try:
            log_off = os.path.getsize(srv.logfile)
        except OSError:
            log_off = None
    cpu0, client0 = tree_cpu(st.roots()), os.times()
    t0 = time.monotonic()
    sub = submit_load(port, args.submission, n, args.out_sessions, args.out_per_session,
                      deadline, first_id=r * n, times=times)
    done = sink.wait_count(base + n, deadline, limit=max(120, 2 * sub), t0=t0,
                           progress=srv.progress)
    cpu1 = tree_cpu(st.roots())
    by = {k: v - cpu0.get(k, 0) for k, v in cpu1.items()}
    cpu = sum(by.values())
    client = os.times()
    client = client.user + client.system - client0.user - client0.system
    time.sleep(0.3)          # anything beyond N would be a duplicate
    if sink.mesg != base + n:
        res["note"] = f"sink got {sink.mesg - base} messages for {n} submitted"
    if log_off is not None:
        homemx_trace(srv.logfile, log_off, times)
    L["subs"].append(n / sub)
    L["dones"].append(n / done)
    L["cpus"].append(cpu * 1000 / n)
    top = sorted(((v, k) for k, v in by.items() if v > 0), reverse=True)[:8]
    L["breakdown"].append(", ".join(f"{k} {v * 1000 / n:.2f}" for v, k in top))
    L["clients"].append(client * 1000 / n)
    log(f"{srv.name:17} outbound round {r + 1}/{args.out_rounds}: {n} msgs submitted in "
        f"{sub:.2f}s ({n / sub:.0f}/s), all at the sink after {done:.2f}s "
        f"= {n / done:.0f} msgs/s; CPU {cpu * 1000 / n:.2f} ms/msg "
        f"(client {client * 1000 / n:.2f}); {load_note()}")
    res["rounds"] = len(L["dones"])
    res["submitted"] = statistics.median(L["subs"])
    res["delivered"] = statistics.median(L["dones"])
    res["range"] = (min(L["dones"]), max(L["dones"]))
    res["all"] = list(L["dones"])
    res["cpu"] = statistics.median(L["cpus"])
    res["cpu_by"] = (L["breakdown"][L["cpus"].index(res["cpu"])] if res["cpu"] in L["cpus"]
                     else L["breakdown"][-1])
    res["client_cpu"] = statistics.median(L["clients"])


def load_note():
    """The machine's load average now (other work on the box skews every
    figure: the report says how busy it was)."""
    try:
        with open("/proc/loadavg") as f:
            return "load " + " ".join(f.read().split()[:3])
    except OSError:
        return "load ?"


def dkim_cost(args, deadline):
    """The per-message cost of DKIM signing: tests/e2e/test_dkim_bench.py
    (MSG_SIGN_ASK round trips to the real homemx-dkimsign: IPC, fork of the
    signing child, libopendkim) and, for the bare algorithms, openssl speed.
    Returns (list of (algs, size, ms, msgs/s), raw dict, problems)."""
    rows, raw, problems = [], {}, []
    if args.build and os.path.exists(os.path.join(args.build, "homemx-dkimsign")):
        text, status = run_e2e_bench("test_dkim_bench", args.build, 300, deadline,
                                     HOMEMX_BENCH_N=str(args.dkim_n))
        for m in re.finditer(r"dkim-cost algs=(\S+) size=(\d+) n=\d+ ms_per_msg=([\d.]+) "
                             r"msgs_per_s=(\d+)", text):
            rows.append((m.group(1), int(m.group(2)), float(m.group(3)), int(m.group(4))))
        if not rows:
            problems.append("tests/e2e/test_dkim_bench.py gave no figures (exit "
                            f"{status}):\n{text[-1500:]}")
    else:
        problems.append(f"no homemx-dkimsign in {args.build}: signing cost not measured")
    cp = run([OPENSSL, "speed", "-seconds", "1", "-mr", "rsa2048", "ed25519"],
             min(60, deadline.left()), check=False)
    for line in cp.stdout.decode(errors="replace").splitlines():
        f = line.split(":")
        try:
            if line.startswith("+F2:") and f[2] == "2048":       # rsa: bits, sign/s, verify/s
                raw["rsa-2048"] = 1000 / float(f[3])
            elif line.startswith("+F") and len(f) >= 6 and f[3].lower() == "ed25519":
                raw["ed25519"] = 1000 / float(f[4])
        except (ValueError, IndexError, ZeroDivisionError):
            pass
    if not raw:
        problems.append("openssl speed gave no figures")
    return rows, raw, problems


def setup_outbound(label, args, tmp, deadline, pw, tls, started):
    """Starts the sink, the helpers and the server for `label` and warms it
    up; returns its OutboundSetup.  started(obj) registers what to stop."""
    res = {}
    st = OutboundSetup(label, res)
    res["desc"] = {"homemx": "homemx (dkimsign: rsa+ed25519)",
                   "postfix": "postfix (no DKIM)"}.get(label, label)
    st.sink = Sink(tmp, re.sub(r"[^a-z0-9]+", "-", label))
    started(st.sink).start(deadline)
    if label == "homemx":
        srv = HomemxRelayServer(tmp, args.build, st.sink.port, tls, args.out_concurrency)
        if args.trace:
            srv.extra_args = ("-D",)
        if not srv.available():
            raise BenchError(f"not built: {srv.daemon} / {srv.mxctl}")
    else:
        sasl_port = milter = None
        if os.access(DOVECOT, os.X_OK):
            dc = started(DovecotAuth(tmp, re.sub(r"[^a-z0-9]+", "-", label)))
            try:
                dc.start(deadline)
                st.helpers.append(dc)
                sasl_port = dc.port
                res["auth"] = f"AUTH via Dovecot SASL, Argon2id ({dc.note})"
            except BenchError as e:
                if isinstance(e, GlobalTimeout):
                    raise
                log(f"{label}: no Dovecot SASL ({e}); relaying for mynetworks")
        if sasl_port is None:
            res["auth"] = "NO AUTH: relay allowed by permit_mynetworks (over TLS)"
        if label == "postfix+opendkim":
            for tool in (OPENDKIM, OPENDKIM_GENKEY):
                if not os.access(tool, os.X_OK):
                    raise BenchError(f"missing {tool} (apt-get install opendkim "
                                     "opendkim-tools)")
            algs = ("rsa", "ed25519") if args.opendkim_sign == "both" else ("rsa",)
            addresses = []
            for alg in algs:
                od = started(OpenDkim(tmp, args.opendkim_socket, alg))
                od.start(deadline)
                st.helpers.append(od)
                addresses.append(od.address)
            milter = ", ".join(addresses)
            res["desc"] = (f"postfix + OpenDKIM ({'+'.join(algs)}, {len(algs)} "
                           f"milter{'s' if len(algs) > 1 else ''}, {args.opendkim_socket})")
        srv = PostfixRelayServer(tmp, pw.pw_uid, pw.pw_gid, label, st.sink.port, tls,
                                 args.out_concurrency, sasl_port, milter)
    st.srv = srv
    started(srv).start(deadline)
    relay_warmup(st, args, deadline)
    return st


def outbound_failed(label, res, e, args):
    """Notes a server's failure in its result (a global timeout is raised
    again by the caller)."""
    if isinstance(e, GlobalTimeout):
        if "delivered" in res:
            res["note"] = (f"only {res['rounds']}/{args.out_rounds} rounds: "
                           "the global --timeout ran out")
        else:
            res["error"] = "not finished: the global --timeout ran out"
        return
    res["error"] = str(e)
    what = "homemx OUTBOUND PATH DOES NOT WORK" if label == "homemx" else label
    first = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
    log(f"{what}: FAILED: {first}")
    if label != "homemx":          # homemx's details come at the end
        print(str(e), file=sys.stderr, flush=True)


def bench_outbound(args, tmp, deadline, pw, cleanups, results, dkim):
    """The outbound relay scenario: every server is started (each with its
    own sink) and warmed up, then the rounds alternate between the servers
    (homemx, Postfix, Postfix + OpenDKIM, homemx, ...) so that a change in
    the machine's load hits all of them alike; fills `results` (label ->
    dict) and `dkim` as it goes."""
    tls = make_tls_cert(tmp, deadline)
    runs = []
    if not args.postfix_only:
        runs.append("homemx")
    if not args.homemx_only:
        runs.append("postfix")
        if not args.no_opendkim:
            runs.append("postfix+opendkim")
    mark = len(cleanups)

    def started(obj):
        cleanups.append(obj)
        return obj
    setups = []
    try:
        for label in runs:
            try:
                st = setup_outbound(label, args, tmp, deadline, pw, tls, started)
                results[label] = st.res
                setups.append(st)
            except BenchError as e:
                res = results.setdefault(label, {"desc": label})
                outbound_failed(label, res, e, args)
                if isinstance(e, GlobalTimeout):
                    raise
        for r in range(args.out_rounds):
            for st in setups:
                if "error" in st.res:
                    continue
                try:
                    relay_round(st, args, deadline, r)
                except BenchError as e:
                    outbound_failed(st.label, st.res, e, args)
                    if isinstance(e, GlobalTimeout):
                        raise
        for st in setups:
            if "error" not in st.res:
                st.res["signed"] = st.sink.signatures()
                log(f"{st.srv.name:17} DKIM at the sink: {st.res['signed']}")
    finally:
        while len(cleanups) > mark:
            obj = cleanups[-1]
            try:
                obj.stop()
            except Exception as e:          # noqa: BLE001 - keep cleaning up
                log(f"stopping {type(obj).__name__}: {e!r}")
            cleanups.pop()
    if not args.postfix_only and not args.no_dkim_cost:
        log("measuring the DKIM signing cost (tests/e2e/test_dkim_bench.py, openssl speed)")
        dkim.update(zip(("rows", "raw", "problems"), dkim_cost(args, deadline)))


def report_trace(results):
    """--trace: where a message waits, from the client's side (each SMTP
    step, every server) and from homemx's own debug lines (end of DATA,
    dkimsign, group flush)."""
    steps = (("mail", "MAIL FROM -> 250"), ("rcpt", "RCPT TO -> 250"),
             ("data", "DATA -> 354"), ("dot", "body + dot -> 250"),
             ("srv_body", "  homemx: 354 .. final dot"),
             ("srv_from", "  homemx: From: check (lookup)"),
             ("srv_sign", "  homemx: signature (dkimsign round trip)"),
             ("dkimsign", "  homemx:   of which dkimsign's own work"),
             ("srv_commit", "  homemx: spool copy + commit (queue)"),
             ("flush", "  homemx:   group flush (queue)"),
             ("srv_eod", "  homemx: final dot .. 250 (all of the above)"))
    traced = {k: r["times"] for k, r in results.items() if r.get("times")}
    if not traced:
        return
    print()
    print("trace (--trace; homemxd -D): ms per message, mean / median / p90, measured rounds")
    print(f"{'step':<46}" + "".join(f"{k:>24}" for k in traced))
    for key, what in steps:
        if not any(key in t for t in traced.values()):
            continue
        cells = []
        for t in traced.values():
            v = t.get(key, [])
            cells.append(f"{statistics.mean(v) * 1000:7.2f} {pctl(v, .5) * 1000:7.2f} "
                         f"{pctl(v, .9) * 1000:7.2f}" if v else "-")
        print(f"{what:<46}" + "".join(f"{c:>24}" for c in cells))
    for k, t in traced.items():
        b = t.get("flush_batch")
        if b:
            print(f"  {k}: {len(b)} group flushes, {statistics.mean(b):.2f} envelopes each "
                  f"on average (commits and envelope updates)")


def report_outbound(results, dkim, args):
    if not results and not dkim:
        return
    print()
    print(f"outbound relay: {args.count_out} msgs of ~1 KB from {SUB_USER} to {OUT_RCPT}, "
          f"submitted on {'465-style implicit TLS' if args.submission == 'tls' else '587-style STARTTLS'}"
          f" + AUTH,\n  {args.out_sessions} concurrent sessions x {args.out_per_session} "
          f"msgs/session, {args.out_concurrency} connections to the sink "
          f"(smtp-sink on loopback);\n  msgs/s from the first connection until the sink had "
          f"all of them, median of {args.out_rounds} round(s)")
    w = max([34] + [len(r.get("desc", "")) + 1 for r in results.values()])
    print(f"{'server':<{w}}{'submitted/s':>12} {'delivered/s':>12} {'(range)':>12} "
          f"{'CPU ms/msg':>11}   DKIM at the sink")
    print("-" * (w + 86))
    for r in results.values():
        if "error" in r or "delivered" not in r:
            err = r.get("error", "").strip() or "not measured"
            print(f"{r.get('desc', '?'):<{w}}{'FAILED':>12} {'':>12} {'':>12} {'':>11}   "
                  f"{err.splitlines()[0]}")
            continue
        lo, hi = r.get("range", (0, 0))
        print(f"{r.get('desc', '?'):<{w}}{r.get('submitted', 0):12.0f} "
              f"{r.get('delivered', 0):12.0f} {f'{lo:.0f}-{hi:.0f}':>12} "
              f"{r.get('cpu', 0):11.2f}   {r.get('signed', '')}"
              + (f"  [{r['note']}]" if r.get("note") else ""))
    if any("client_cpu" in r for r in results.values()):
        print("  CPU ms/msg: user+system CPU of the server's whole process tree (Postfix: "
              "with its Dovecot and OpenDKIM) per message, median round; the load "
              "generator used " + ", ".join(f"{k} {r['client_cpu']:.2f}"
                                            for k, r in results.items()
                                            if "client_cpu" in r) + " ms/msg")
    for k, r in results.items():
        if r.get("cpu_by"):
            print(f"    {k}: {r['cpu_by']}")
    auth = {r.get("auth") for k, r in results.items() if k.startswith("postfix") and r.get("auth")}
    for a in sorted(auth):
        print(f"  postfix: {a}")
    for k, r in results.items():
        if r.get("all"):
            print(f"    {k}: delivered/s by round " + ", ".join(f"{v:.0f}" for v in r["all"]))
    h = results.get("homemx", {}).get("delivered")
    hc = results.get("homemx", {}).get("cpu")
    for key, what in (("postfix", "postfix without DKIM"),
                      ("postfix+opendkim", "postfix + OpenDKIM")):
        p = results.get(key, {}).get("delivered")
        pc = results.get(key, {}).get("cpu")
        if key in results:
            print(f"ratio homemx/{what}: delivered/s " + (f"{h / p:.2f}" if h and p else "n/a")
                  + ", CPU per message " + (f"{hc / pc:.2f}" if hc and pc else "n/a"))
    report_trace(results)
    if dkim:
        print()
        print("DKIM signing cost per message (homemx-dkimsign, one MSG_SIGN_ASK round trip "
              "at a time: IPC + signing child + libopendkim):")
        for algs, size, ms, rate in dkim.get("rows", []):
            print(f"  {algs:28} {size / 1024:6.1f} KB  {ms:6.2f} ms/msg  ({rate} msgs/s)")
        by = {(a, s): ms for a, s, ms, _ in dkim.get("rows", [])}
        for size in sorted({s for _, s, _, _ in dkim.get("rows", [])}):
            r, e = by.get(("rsa-sha256", size)), by.get(("ed25519-sha256", size))
            if r and e:
                print(f"  RSA costs {r - e:+.2f} ms/msg over Ed25519 at {size / 1024:.1f} KB "
                      f"(x{r / e:.2f})")
        raw = dkim.get("raw", {})
        if raw:
            print("  the bare signature (openssl speed, one core): " + ", ".join(
                f"{k} {v:.3f} ms" for k, v in sorted(raw.items())))
        for p in dkim.get("problems", []):
            print(f"  NOTE: {p}")
    print(flush=True)
