"""tests/e2e/test_smtpd_dialogs.py - plays every tests/dialogs/*.dialog.

Owns: the dialog file format (tests/dialogs/README) and its runner. Each
file is one hostile or odd conversation against one shared daemon; each
becomes its own test method, named after the file, so a failure names the
dialog and the line.
"""

import glob
import os
import re
import socket
import time
import unittest

from harness import BUILD, Homemx, SMTPClient

HERE = os.path.dirname(os.path.abspath(__file__))
DIALOGS = sorted(glob.glob(os.path.join(os.path.dirname(HERE), "dialogs", "*.dialog")))


def unescape(text):
    """\\r \\n \\t \\0 \\xHH \\\\ -> bytes; everything else as UTF-8."""
    out = bytearray()
    i = 0
    raw = text.encode()
    while i < len(raw):
        c = raw[i:i + 1]
        if c != b"\\" or i + 1 == len(raw):
            out += c
            i += 1
            continue
        n = raw[i + 1:i + 2]
        if n == b"x":
            out.append(int(raw[i + 2:i + 4], 16))
            i += 4
            continue
        out += {b"r": b"\r", b"n": b"\n", b"t": b"\t", b"0": b"\0", b"\\": b"\\"}.get(n, b"\\" + n)
        i += 2
    return bytes(out)


class Dialog:
    def __init__(self, path):
        self.path = path
        self.steps = []       # (lineno, op, arg)
        self.expect_mail = []  # (address, bytes)
        self.expect_none = []  # addresses
        with open(path, encoding="utf-8") as f:
            for no, line in enumerate(f, 1):
                line = line.rstrip("\n")
                if not line or line.startswith("#"):
                    continue
                op, arg = line[:2], line[3:] if len(line) > 3 else ""
                if op == "M:":
                    addr, _, text = arg.partition(" ")
                    self.expect_mail.append((addr, unescape(text)))
                elif op == "N:":
                    self.expect_none.append(arg.strip())
                elif op in ("C:", "R:", "S:", "S~", "X:", "W:"):
                    self.steps.append((no, op, arg))
                else:
                    raise ValueError(f"{path}:{no}: unknown line {line!r}")


class TestDialogs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(os.path.join(BUILD, "homemxd")):
            raise unittest.SkipTest("homemxd not built")
        if not os.path.exists(os.path.join(BUILD, "mxctl")):
            raise unittest.SkipTest("mxctl is not built yet: cannot provision users")
        cls.h = Homemx(extra_conf="max_message_size 64K\nmax_errors 20",
                       users=[("kim@example.test", "secret")],
                       aliases=[("postmaster@example.test", "kim@example.test")])
        try:
            cls.h.start()
        except BaseException:
            cls.h.stop(check_sanitizers=False)
            cls.h.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        cls.h.cleanup()

    def play(self, path):
        d = Dialog(path)
        name = os.path.basename(path)
        addrs = {a for a, _ in d.expect_mail} | set(d.expect_none)
        before = {a: len(self.h.messages(a)) for a in addrs}
        c = SMTPClient(self.h.smtp_port)
        try:
            for no, op, arg in d.steps:
                where = f"{name}:{no}"
                if op == "C:":
                    c.send(arg.encode() + b"\r\n")
                elif op == "R:":
                    c.send(unescape(arg))
                elif op == "W:":
                    time.sleep(float(arg))
                elif op == "X:":
                    self.assertTrue(c.closed(), f"{where}: connection still open")
                else:
                    try:
                        code, text = c.reply()
                    except (EOFError, socket.timeout) as e:
                        self.fail(f"{where}: no reply ({e})")
                    if op == "S:":
                        self.assertTrue(text.startswith(arg), f"{where}: got {text!r}, want {arg!r}...")
                    else:
                        self.assertRegex(text, re.compile(arg, re.S), where)
        finally:
            c.close()
        for addr, text in d.expect_mail:
            msgs = self.h.wait_messages(addr, before[addr] + 1)
            new = msgs[before[addr]:]
            self.assertTrue(any(text in m for m in new), f"{name}: no new message for {addr} "
                            f"contains {text!r}; got {new!r}"[:2000])
        if d.expect_none:
            self.h.wait_queue_empty()   # all the dialog got accepted is delivered
            for addr in d.expect_none:
                self.assertEqual(len(self.h.messages(addr)), before[addr],
                                 f"{name}: unexpected message for {addr}")


def make_test(path):
    def test(self):
        self.play(path)
    return test


for _path in DIALOGS:
    _name = "test_" + re.sub(r"\W", "_", os.path.basename(_path)[:-len(".dialog")])
    setattr(TestDialogs, _name, make_test(_path))


if __name__ == "__main__":
    unittest.main()
