"""tests/e2e/test_dkim_bench.py - the cost of DKIM signing per message,
RSA-2048 vs Ed25519 vs both, measured end to end: MSG_SIGN_ASK round
trips to the real homemx-dkimsign (IPC, key check, fork of the signing
child, libopendkim, answer), one at a time, like the queue and
submission ask.

Skipped unless HOMEMX_BENCH=1 (it takes ~20 s); prints one line per case:
    dkim-cost algs=rsa-sha256 size=2048 n=400 ms_per_msg=2.11 msgs_per_s=474
HOMEMX_BENCH_N sets the messages per case (default 400).
"""
import os
import time
import unittest

from test_dkim import DkimRig, SIGN_OK, verify_all

N = int(os.environ.get("HOMEMX_BENCH_N", "400"))


def message(size):
    head = (b"From: Kim <kim@example.test>\r\nTo: bob@example.net\r\n"
            b"Subject: bench\r\nDate: Sun, 23 Nov 2025 13:34:00 +0000\r\n"
            b"Message-ID: <bench@example.test>\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n\r\n")
    line = b"x" * 76 + b"\r\n"
    return head + line * max(1, (size - len(head)) // len(line))


@unittest.skipUnless(os.environ.get("HOMEMX_BENCH"), "set HOMEMX_BENCH=1 to measure")
class SigningCost(unittest.TestCase):
    def test_cost_per_message(self):
        rig = DkimRig(domains=("example.test", "rsa.test", "ed.test"))
        try:
            for d in ("example.test", "rsa.test", "ed.test"):
                rig.keygen(d)
            os.unlink(os.path.join(rig.keydir, "rsa.test", "mx1.ed25519.pem"))
            os.unlink(os.path.join(rig.keydir, "ed.test", "mx1.rsa.pem"))
            rig.start()
            for size in (2048, 102400):
                msg = message(size)
                for domain, algs in (("rsa.test", "rsa-sha256"), ("ed.test", "ed25519-sha256"),
                                     ("example.test", "rsa-sha256,ed25519-sha256")):
                    st, headers = rig.sign(msg, domain)      # warm: keys loaded
                    self.assertEqual(st, SIGN_OK)
                    self.assertTrue(all(verify_all(headers.encode() + msg, rig.records(domain))))
                    t0 = time.perf_counter()
                    for _ in range(N):
                        st, _ = rig.sign(msg, domain)
                        self.assertEqual(st, SIGN_OK)
                    dt = (time.perf_counter() - t0) / N
                    print(f"\ndkim-cost algs={algs} size={len(msg)} n={N} "
                          f"ms_per_msg={dt * 1000:.2f} msgs_per_s={1 / dt:.0f}", end="")
            print()
        finally:
            rig.stop()
            rig.cleanup()


if __name__ == "__main__":
    unittest.main()
