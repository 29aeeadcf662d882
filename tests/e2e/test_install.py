"""e2e: homemx installed as a Debian service.

- `make install DESTDIR=...`: the layout and the modes, an existing
  homemx.conf and jail never replaced, PREFIX moving the programs (and the
  directory homemxd runs its roles from) but not /etc or /var;
- the installed unit passes `systemd-analyze verify` (with its man pages
  and programs in place);
- `mxctl setup DOMAIN HOSTNAME` in the installed tree: names checked with
  the field named, no config replaced without --force (then kept as
  .old, the DKIM keys kept), the records and next steps printed;
- the installed tree started as conf/systemd/homemx.service says, with its
  sandbox (tests/e2e/installed.py: systemd is not PID 1 here, so the
  unit's commands run in a private mount and network namespace with the
  DESTDIR overlaid on /usr, /etc and /var): READY=1 on NOTIFY_SOCKET once
  every role runs from /usr/lib/homemx, the bounding set and no_new_privs
  in force, a message on port 25 in the Maildir, a submitted one signed,
  the unit's reload, SIGTERM draining to exit 0.
- the man pages: `mandoc -T lint` clean, every setting of lib/config*.c in
  homemx.conf(5), every mxctl command in mxctl(8), every homemxd option in
  homemxd(8).
"""

import grp
import os
import re
import shlex
import shutil
import smtplib
import ssl
import subprocess
import tempfile
import unittest

import harness
from harness import BUILD, REPO, WAIT, assert_no_sanitizer_reports
from installed import InstalledTree, read_unit, unit_value
from netns import Topology, can_use_netns, in_netns

ROLES = harness.ROLES
DOMAIN, HOST = "example.test", "mx.example.test"


def make_install(destdir, *args):
    """make install into destdir from the build under test; never builds
    (the tree is built), so this is a copy."""
    san = ["SAN=1"] if os.path.basename(BUILD) == "build-asan" else []
    return subprocess.run(["make", "--no-print-directory", "install", f"O={BUILD}",
                           f"DESTDIR={destdir}", *san, *args],
                          cwd=REPO, capture_output=True, text=True, timeout=WAIT * 4)


def mode(path):
    return os.stat(path).st_mode & 0o7777


class InstallLayoutTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="hmx-install-")
        cls.dest = os.path.join(cls.dir, "dest")
        p = make_install(cls.dest)
        if p.returncode != 0:
            raise AssertionError(f"make install failed:\n{p.stdout}\n{p.stderr}")
        cls.output = p.stdout

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def path(self, p):
        return os.path.join(self.dest, p.lstrip("/"))

    def test_layout_and_modes(self):
        expected = {
            "/usr/sbin/homemxd": 0o755, "/usr/sbin/mxctl": 0o755,
            "/usr/share/man/man8/homemxd.8": 0o644, "/usr/share/man/man8/mxctl.8": 0o644,
            "/usr/share/man/man5/homemx.conf.5": 0o644,
            "/etc/homemx/homemx.conf.example": 0o644,
            "/usr/share/doc/homemx/examples/dovecot/99-homemx.conf": 0o644,
            "/usr/lib/systemd/system/homemx.service": 0o644,
            "/usr/lib/systemd/system/homemx-doctor.service": 0o644,
            "/usr/lib/systemd/system/homemx-doctor.timer": 0o644,
            "/etc/fail2ban/filter.d/homemx.conf": 0o644,
            "/etc/fail2ban/jail.d/homemx.conf": 0o644,
            "/var/spool/homemx": 0o755, "/var/lib/homemx": 0o755, "/var/mail/homemx": 0o755,
        }
        expected.update({f"/usr/lib/homemx/homemx-{r}": 0o755 for r in ROLES})
        for p, m in expected.items():
            self.assertTrue(os.path.exists(self.path(p)), p)
            self.assertEqual(oct(mode(self.path(p))), oct(m), p)
        # Programs an admin runs are in sbin; the roles are not in PATH.
        # sendmail(8) is homemx-sendmail, and sendmail and mailq where
        # nothing was.
        self.assertEqual(sorted(os.listdir(self.path("/usr/sbin"))),
                         ["homemx-sendmail", "homemxd", "mailq", "mxctl", "sendmail"])
        self.assertEqual(os.readlink(self.path("/usr/sbin/sendmail")), "homemx-sendmail")
        self.assertEqual(os.readlink(self.path("/usr/sbin/mailq")), "homemx-sendmail")
        self.assertEqual(os.readlink(self.path("/usr/share/man/man8/sendmail.8")),
                         "homemx-sendmail.8")
        sm = os.stat(self.path("/usr/sbin/homemx-sendmail"))
        self.assertFalse(sm.st_mode & 0o4000, "sendmail must never be setuid")
        try:
            gid = grp.getgrnam("homemx-send").gr_gid
        except KeyError:
            gid = None      # no group on this host: not setgid, and make says so
        if gid is not None and os.geteuid() == 0:
            self.assertEqual((oct(mode(self.path("/usr/sbin/homemx-sendmail"))), sm.st_gid),
                             (oct(0o2755), gid))
        else:
            self.assertIn("homemx-sendmail is not setgid", self.output)
        self.assertEqual(sorted(os.listdir(self.path("/usr/lib/homemx"))),
                         sorted(f"homemx-{r}" for r in ROLES))
        # The config is written by mxctl setup, never by make install;
        # Dovecot's config is Dovecot's: the homemx part is an example.
        self.assertFalse(os.path.exists(self.path("/etc/homemx/homemx.conf")))
        self.assertFalse(os.path.exists(self.path("/etc/dovecot")))
        self.assertIn("mxctl setup DOMAIN HOSTNAME", self.output)
        with open(self.path("/usr/lib/systemd/system/homemx.service")) as f:
            self.assertIn("ExecStart=/usr/sbin/homemxd ", f.read())
        with open(self.path("/etc/fail2ban/jail.d/homemx.conf")) as f:
            jail = f.read()
        self.assertRegex(jail, r"(?m)^enabled\s*=\s*false$")
        self.assertRegex(jail, r"(?m)^filter\s*=\s*homemx$")

    def test_admin_files_are_never_replaced(self):
        dest = os.path.join(self.dir, "again")     # a tree of its own
        self.assertEqual(make_install(dest).returncode, 0)
        mine = {"etc/homemx/homemx.conf": "# my config\nhostname mx.mine.test\n",
                "etc/fail2ban/jail.d/homemx.conf": "[homemx]\nenabled = true\n"}
        for p, text in mine.items():
            with open(os.path.join(dest, p), "w") as f:
                f.write(text)
        with open(os.path.join(dest, "etc/homemx/homemx.conf.example"), "w") as f:
            f.write("stale\n")
        p = make_install(dest)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"kept {dest}/etc/homemx/homemx.conf", p.stdout)
        for path, text in mine.items():
            with open(os.path.join(dest, path)) as f:
                self.assertEqual(f.read(), text, path)
        # What is ours is brought up to date.
        with open(os.path.join(dest, "etc/homemx/homemx.conf.example")) as f, \
                open(os.path.join(REPO, "conf/homemx.conf.example")) as g:
            self.assertEqual(f.read(), g.read())

    def test_another_mtas_sendmail_is_kept(self):
        dest = os.path.join(self.dir, "other-mta")
        os.makedirs(os.path.join(dest, "usr/sbin"))
        with open(os.path.join(dest, "usr/sbin/sendmail"), "w") as f:
            f.write("#!/bin/sh\n# postfix's\n")
        p = make_install(dest)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"kept {dest}/usr/sbin/sendmail (another MTA's)", p.stdout)
        with open(os.path.join(dest, "usr/sbin/sendmail")) as f:
            self.assertEqual(f.read(), "#!/bin/sh\n# postfix's\n")
        self.assertTrue(os.path.exists(os.path.join(dest, "usr/sbin/homemx-sendmail")))
        self.assertFalse(os.path.exists(os.path.join(dest, "usr/share/man/man8/sendmail.8")))

    def test_prefix_moves_programs_and_role_directory_only(self):
        # make -n: what it would do, without rebuilding the shared build
        # (a new PREFIX recompiles homemxd with the new role directory).
        p = subprocess.run(["make", "-n", "--no-print-directory", "install", f"O={BUILD}",
                            "PREFIX=/opt/hmx", "DESTDIR=/dest"],
                           cwd=REPO, capture_output=True, text=True, timeout=WAIT)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout
        for moved in ("/dest/opt/hmx/sbin", "/dest/opt/hmx/lib/homemx",
                      "/dest/opt/hmx/share/man/man8", "/dest/opt/hmx/lib/systemd/system",
                      "s|/usr/sbin/homemxd|/opt/hmx/sbin/homemxd|g",
                      "s|/usr/sbin/mxctl|/opt/hmx/sbin/mxctl|g",
                      "/dest/opt/hmx/share/doc/homemx/examples/dovecot"):
            self.assertIn(moved, out)
        self.assertIn('HOMEMX_LIBEXECDIR "%s"', out)
        self.assertIn("'/opt/hmx/lib/homemx'", out)
        for fixed in ("/dest/etc/homemx", "/dest/etc/fail2ban/filter.d", "/dest/var/spool/homemx",
                      "/dest/var/lib/homemx", "/dest/var/mail/homemx"):
            self.assertIn(fixed, out)
        self.assertNotIn("/dest/opt/hmx/etc", out)

    @unittest.skipUnless(shutil.which("fail2ban-client") and os.path.isdir("/etc/fail2ban"),
                         "fail2ban not installed")
    def test_fail2ban_reads_the_installed_jail(self):
        # The machine's fail2ban config with ours added and switched on:
        # fail2ban's own reader makes the jail of it (journal backend,
        # homemx.service's entries, the filter's expressions).
        conf = os.path.join(self.dir, "fail2ban")
        shutil.copytree("/etc/fail2ban", conf, symlinks=True)
        shutil.copy(self.path("/etc/fail2ban/filter.d/homemx.conf"), os.path.join(conf, "filter.d"))
        with open(self.path("/etc/fail2ban/jail.d/homemx.conf")) as f:
            jail = re.sub(r"(?m)^enabled\s*=\s*false$", "enabled = true", f.read())
        with open(os.path.join(conf, "jail.d", "homemx.conf"), "w") as f:
            f.write(jail)
        p = subprocess.run(["fail2ban-client", "-c", conf, "-d"], capture_output=True,
                           text=True, timeout=WAIT)
        self.assertIn("['add', 'homemx', 'systemd']", p.stdout, p.stderr[-2000:])
        self.assertIn("['set', 'homemx', 'addjournalmatch', '_SYSTEMD_UNIT=homemx.service']",
                      p.stdout)
        self.assertIn("event=auth sess=", p.stdout)

    @unittest.skipIf(os.path.exists("/usr/lib/homemx"), "homemx is installed on this machine")
    def test_installed_homemxd_runs_roles_from_the_libexec_directory(self):
        # Outside the overlay /usr/lib/homemx does not exist: the installed
        # homemxd names the directory it was built for, not its own.
        conf = os.path.join(self.dir, "check.conf")
        with open(conf, "w") as f:
            f.write(f"hostname {HOST}\nlisten smtp 127.0.0.1:{harness.free_port()}\n")
        p = subprocess.run([self.path("/usr/sbin/homemxd"), "-P", "-f", conf],
                           capture_output=True, text=True, timeout=WAIT)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("cannot execute /usr/lib/homemx/homemx-", p.stderr)

    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze not installed")
    def test_unit_passes_systemd_analyze_verify(self):
        ok, why = can_use_netns()
        if not ok:
            self.skipTest(why)
        topo = Topology().start()
        tree = InstalledTree(self.dest, os.path.join(self.dir, "verify"), topo.mta)
        try:
            p = tree.run("systemd-analyze verify /usr/lib/systemd/system/homemx.service "
                         "/usr/lib/systemd/system/homemx-doctor.service "
                         "/usr/lib/systemd/system/homemx-doctor.timer")
        finally:
            tree.close()
            topo.stop()
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stderr.strip(), "")

    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze not installed")
    def test_verify_can_fail(self):
        # The same check on the unit outside the installed tree: its
        # programs and man pages are missing there, and verify says so.
        p = subprocess.run(["systemd-analyze", "verify",
                            os.path.join(REPO, "conf/systemd/homemx.service")],
                           capture_output=True, text=True, timeout=WAIT)
        if os.path.exists("/usr/sbin/homemxd"):
            self.skipTest("homemx is installed on this machine")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("/usr/sbin/homemxd", p.stderr)


class SetupArgumentsTest(unittest.TestCase):
    """mxctl setup refuses bad input before it writes anything."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="hmx-setup-")
        self.conf = os.path.join(self.dir, "homemx.conf")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def setup_cmd(self, *args):
        return subprocess.run([os.path.join(BUILD, "mxctl"), "-f", self.conf, "setup", *args],
                              capture_output=True, text=True, timeout=WAIT)

    def test_each_error_names_its_field(self):
        cases = [
            (("exa mple.test", HOST), "domain 'exa mple.test'"),
            ((DOMAIN, "mx"), "hostname 'mx': expected a fully qualified name such as mx.example.test"),
            ((DOMAIN, "mx..example.test"), "hostname 'mx..example.test'"),
            ((DOMAIN, HOST, "--cert", "/etc/ssl/x.pem"), "--cert and --key go together"),
            ((DOMAIN, HOST, "--cert", "x.pem", "--key", "/k.pem"), "--cert 'x.pem': expected an absolute path"),
        ]
        for args, message in cases:
            p = self.setup_cmd(*args)
            self.assertEqual(p.returncode, 1, (args, p.stderr))
            self.assertIn(message, p.stderr, args)
        self.assertEqual(os.listdir(self.dir), [])
        p = self.setup_cmd(DOMAIN)
        self.assertEqual(p.returncode, 2)
        self.assertIn("setup DOMAIN HOSTNAME", p.stderr)

    def test_an_existing_config_is_not_replaced(self):
        with open(self.conf, "w") as f:
            f.write("# mine\n")
        p = self.setup_cmd(DOMAIN, HOST)
        self.assertEqual(p.returncode, 1)
        self.assertIn("exists already: use --force", p.stderr)
        with open(self.conf) as f:
            self.assertEqual(f.read(), "# mine\n")
        self.assertEqual(os.listdir(self.dir), ["homemx.conf"])


def dkim_signatures(message):
    return re.findall(rb"(?mi)^DKIM-Signature:.*?\bd=([^;\s]+)", message)


class InstalledServiceTest(unittest.TestCase):
    """The installed tree, set up with mxctl setup and run as the unit."""

    @classmethod
    def setUpClass(cls):
        ok, why = can_use_netns()
        if not ok:
            raise unittest.SkipTest(why)
        cls.dir = tempfile.mkdtemp(prefix="hmx-service-")
        os.chmod(cls.dir, 0o755)
        cls.dest = os.path.join(cls.dir, "dest")
        cls.topo = cls.tree = None
        try:
            p = make_install(cls.dest)
            if p.returncode != 0:
                raise AssertionError(f"make install failed:\n{p.stderr}")
            cls.topo = Topology().start()
            cls.tree = InstalledTree(cls.dest, os.path.join(cls.dir, "run"), cls.topo.mta)
            cls.first_setup()
            cls.tree.start_service()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def first_setup(cls):
        t = cls.tree
        # No resolver of this machine: DNS goes to the discard port.
        no_dns = "echo 'dns_server 127.0.0.1:9' >> /etc/homemx/homemx.conf"
        cls.setup = t.run(f"mxctl setup {DOMAIN} {HOST} && {no_dns}")
        if cls.setup.returncode != 0:
            raise AssertionError(f"mxctl setup failed:\n{cls.setup.stdout}\n{cls.setup.stderr}")
        cls.again = t.run(f"mxctl setup {DOMAIN} {HOST}")
        cls.forced = t.run(f"mxctl setup {DOMAIN} {HOST} --force && {no_dns}")
        users = t.run(f"mxctl user add kim@{DOMAIN} && "
                      f"mxctl alias add postmaster@{DOMAIN} kim@{DOMAIN}", input="secret\n")
        if users.returncode != 0:
            raise AssertionError(f"mxctl user add failed:\n{users.stderr}")

    @classmethod
    def tearDownClass(cls):
        if cls.tree is not None:
            cls.tree.close()
        if cls.topo is not None:
            cls.topo.stop()
        if not os.environ.get("HOMEMX_KEEP"):
            shutil.rmtree(cls.dir, ignore_errors=True)

    def path(self, p):
        return os.path.join(self.dest, p.lstrip("/"))

    def smtp(self, port):
        with in_netns(self.topo.mta):
            return smtplib.SMTP("127.0.0.1", port, timeout=WAIT)

    def maildir_new(self):
        return self.path(f"/var/mail/homemx/{DOMAIN}/kim/new")

    def wait_mail(self, needle):
        def found():
            try:
                names = os.listdir(self.maildir_new())
            except FileNotFoundError:
                return None
            for n in names:
                with open(os.path.join(self.maildir_new(), n), "rb") as f:
                    data = f.read()
                if needle in data:
                    return data
            return None
        return self.tree.wait_for(found, what=f"{needle!r} in {self.maildir_new()}")

    # -- mxctl setup ---------------------------------------------------------
    def test_setup_wrote_config_certificate_keys_and_printed_records(self):
        out = self.setup.stdout
        for line in (f"{DOMAIN}. IN MX 10 {HOST}.",
                     f'{DOMAIN}. IN TXT "v=spf1 mx -all"',
                     f'_dmarc.{DOMAIN}. IN TXT "v=DMARC1; p=reject; rua=mailto:postmaster@{DOMAIN}"',
                     "systemctl enable --now homemx", f"mxctl user add you@{DOMAIN}",
                     "--deploy-hook \"systemctl reload homemx\"", f'"mxctl dns {DOMAIN}"',
                     '"mxctl doctor"', "systemctl enable --now homemx-doctor.timer"):
            self.assertIn(line, out)
        records = {k: v for k, v in harness.dkim_show_records(out).items() if "._domainkey." in k}
        self.assertEqual(sorted(records), [f"mx1-ed25519._domainkey.{DOMAIN}",
                                           f"mx1-rsa._domainkey.{DOMAIN}"])
        with open(self.path("/etc/homemx/homemx.conf")) as f:
            conf = f.read()
        for line in (f"hostname {HOST}", "listen smtp *:25", "listen submission *:587",
                     "listen submissions *:465", f"domain {DOMAIN}",
                     "tls_certificate /etc/homemx/tls/fullchain.pem"):
            self.assertIn(line + "\n", conf)
        self.assertEqual(mode(self.path("/etc/homemx/tls/privkey.pem")), 0o600)
        self.assertEqual(mode(self.path("/etc/homemx/homemx.conf")), 0o644)
        # homemxd -P gave the key directory to the dkimsign user.
        st = os.stat(self.path(f"/var/lib/homemx/dkim/{DOMAIN}/mx1.rsa.pem"))
        self.assertEqual(mode(self.path(f"/var/lib/homemx/dkim/{DOMAIN}/mx1.rsa.pem")), 0o600)
        import pwd
        self.assertEqual(pwd.getpwuid(st.st_uid).pw_name, "_hmx-dkim")
        # Dovecot's passwd-file, kept by the installed mxctl (setUpClass
        # added kim), and how to use it
        self.assertIn("dovecot_passwd_file /var/lib/homemx/dovecot/passwd\n", conf)
        passwd = self.path("/var/lib/homemx/dovecot/passwd")
        with open(passwd) as f:
            self.assertRegex(f.read(), rf"\Akim@{re.escape(DOMAIN)}:\{{ARGON2ID\}}\$argon2id\$[^\n]+\n\Z")
        self.assertEqual(mode(passwd), 0o640)
        self.assertEqual(mode(os.path.dirname(passwd)), 0o2750)
        self.assertIn("cp /usr/share/doc/homemx/examples/dovecot/99-homemx.conf /etc/dovecot/conf.d/",
                      out)

    def test_setup_again_needs_force_and_keeps_keys_and_old_config(self):
        self.assertEqual(self.again.returncode, 1)
        self.assertIn("/etc/homemx/homemx.conf exists already: use --force", self.again.stderr)
        self.assertEqual(self.forced.returncode, 0, self.forced.stderr)
        self.assertIn("(kept: they existed)", self.forced.stdout)
        with open(self.path("/etc/homemx/homemx.conf.old")) as f:
            self.assertIn("dns_server 127.0.0.1:9", f.read())
        # The same keys: the records printed the second time are the first ones.
        self.assertEqual(harness.dkim_show_records(self.forced.stdout),
                         harness.dkim_show_records(self.setup.stdout))

    # -- the service ------------------------------------------------------------
    def test_ready_once_every_role_runs_from_libexec(self):
        t = self.tree
        self.assertTrue(any("READY=1" in m.split("\n") for m in t.notified), t.notified)
        self.assertIn(f"event=ready role=supervisor roles={len(ROLES)}", t.log())
        roles = harness.children_of(t.service.pid)
        exes = sorted(os.readlink(f"/proc/{pid}/exe") for pid in roles)
        self.assertEqual(exes, sorted(f"/usr/lib/homemx/homemx-{r}" for r in ROLES))
        self.assertEqual(os.readlink(f"/proc/{t.service.pid}/exe"), "/usr/sbin/homemxd")

    def test_unit_sandbox_is_in_force(self):
        t = self.tree
        unit = read_unit(t.unit_path())
        with open(f"/proc/{t.service.pid}/status") as f:
            status = dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)
        caps = unit_value(unit, "CapabilityBoundingSet").split()
        bits = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2,
                "CAP_FOWNER": 3, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7,
                "CAP_SETPCAP": 8, "CAP_NET_BIND_SERVICE": 10, "CAP_SYS_CHROOT": 18}
        self.assertEqual(int(status["CapBnd"], 16), sum(1 << bits[c] for c in caps))
        self.assertEqual(int(status["CapEff"], 16), sum(1 << bits[c] for c in caps))
        self.assertEqual(status["NoNewPrivs"].strip(), "1")
        mounts = {}
        with open(f"/proc/{t.service.pid}/mountinfo") as f:
            for line in f:
                fields = line.split()
                mounts[fields[4]] = fields[5].split(",")
        for ro in ("/", "/usr", "/etc", "/var"):
            self.assertIn("ro", mounts[ro], ro)
        for rw in unit_value(unit, "ReadWritePaths").split() + ["/tmp"]:
            self.assertIn("rw", mounts[rw], rw)

    def test_mail_on_port_25_reaches_the_maildir(self):
        s = self.smtp(25)
        s.sendmail("someone@example.org", [f"kim@{DOMAIN}"],
                   b"From: someone@example.org\r\nSubject: installed\r\n\r\nport 25 works\r\n")
        s.quit()
        self.wait_mail(b"port 25 works")

    def test_submission_is_signed_and_delivered(self):
        s = self.smtp(587)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s.starttls(context=ctx)
        s.login(f"kim@{DOMAIN}", "secret")
        s.sendmail(f"kim@{DOMAIN}", [f"postmaster@{DOMAIN}"],
                   f"From: kim@{DOMAIN}\r\nTo: postmaster@{DOMAIN}\r\nSubject: signed\r\n\r\n"
                   "submitted\r\n".encode())
        s.quit()
        data = self.wait_mail(b"submitted")
        self.assertEqual(dkim_signatures(data), [DOMAIN.encode(), DOMAIN.encode()])

    def test_mailq_prints_the_queue(self):
        # the installed mailq link runs the installed mxctl (next to it)
        # with the default config: the same text as mxctl queue list
        t = self.tree
        want = t.run_in_service(["/usr/sbin/mxctl", "queue", "list"])
        self.assertEqual(want.returncode, 0, want.stderr)
        got = t.run_in_service(["/usr/sbin/mailq"])
        self.assertEqual((got.returncode, got.stdout), (0, want.stdout), got.stderr)

    def test_reload_as_the_unit_does_it(self):
        t = self.tree
        unit = read_unit(t.unit_path())
        check, hup = unit.get(("Service", "ExecReload"))
        p = t.run_in_service(shlex.split(check))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("/etc/homemx/homemx.conf: OK", p.stdout)
        before = t.count("event=reload role=supervisor")
        argv = shlex.split(hup.replace("$MAINPID", str(t.service.pid)))
        subprocess.run(argv, check=True, timeout=WAIT)
        t.wait_log("event=reload role=supervisor", start_count=before)
        t.wait_log("event=tls_reload certificate=/etc/homemx/tls/fullchain.pem", n=2)

    def test_zz_sigterm_drains(self):
        # Named to run last: unittest orders a class's tests by name.
        t = self.tree
        self.assertEqual(t.stop_service(), 0, t.log()[-3000:])
        self.assertIn("event=shutdown role=supervisor state=done", t.log())
        self.assertIn("STOPPING=1", t.notified)
        assert_no_sanitizer_reports(t.log() + t.stderr_text(), t.log_path)


class ManPageTest(unittest.TestCase):
    MAN = os.path.join(REPO, "man")

    def read(self, name):
        with open(os.path.join(self.MAN, name)) as f:
            return f.read()

    @staticmethod
    def source(path):
        with open(os.path.join(REPO, path)) as f:
            return f.read()

    def settings_in_source(self):
        """Every directive homemx.conf accepts, read off the parser."""
        names = set(re.findall(r'^\s*\{ "([a-z0-9_]+)",\s+P_[A-Z]+,', self.source("lib/config.c"), re.M))
        for f in ("lib/config.c", "lib/config_screen.c", "lib/config_scan.c"):
            names |= set(re.findall(r'strcmp\(w\[0\], "([a-z0-9_]+)"\)', self.source(f)))
        kinds = re.search(r"kind_names\[SCAN_KINDS\] = \{(.*?)\}", self.source("lib/config_scan.c"), re.S)
        names |= set(re.findall(r'"([a-z]+)"', kinds.group(1)))
        return names

    def test_every_setting_is_documented(self):
        settings = self.settings_in_source()
        self.assertGreater(len(settings), 50)    # the parsing above found them
        page = self.read("homemx.conf.5")
        documented = set(re.findall(r"^\.It Ic ([a-z0-9_]+)", page, re.M))
        self.assertEqual(sorted(settings - documented), [], "settings missing from homemx.conf(5)")
        self.assertEqual(sorted(documented - settings), [], "homemx.conf(5) names unknown settings")

    def test_every_weight_is_documented(self):
        weights = set(re.findall(r'X\(W_[A-Z0-9_]+,\s*"([a-z0-9_]+)"', self.source("lib/config_screen.h")))
        self.assertGreater(len(weights), 30)
        page = self.read("homemx.conf.5")
        documented = set(re.findall(r"^\.It Cm ([a-z0-9_]+)", page, re.M))
        self.assertEqual(sorted(weights - documented), [], "weights missing from homemx.conf(5)")
        self.assertEqual(sorted(documented - weights), [], "homemx.conf(5) names unknown weights")

    def test_every_mxctl_command_is_documented(self):
        rows = re.findall(r'^\s*\{ "([a-z]+)",\s*(?:"([a-z]+)"|NULL),', self.source("admin/mxctl.c"), re.M)
        self.assertGreater(len(rows), 10)
        page = self.read("mxctl.8")
        for noun, verb in rows:
            want = f"Cm {noun} {verb}".strip() if verb else f"Cm {noun}"
            self.assertRegex(page, rf"(?m)^\.It {re.escape(want)}\b", f"mxctl {noun} {verb}")

    def test_every_homemxd_option_is_documented(self):
        p = subprocess.run([os.path.join(BUILD, "homemxd"), "-h"], capture_output=True, text=True)
        flags = set(re.findall(r"(?<![\w-])-([A-Za-z])\b", p.stderr))
        self.assertEqual(len(flags), 6, p.stderr)     # -f -d -n -P -S -D
        page = self.read("homemxd.8")
        for flag in flags:
            self.assertRegex(page, rf"(?m)^\.It Fl {flag}\b", f"homemxd -{flag}")

    @unittest.skipUnless(shutil.which("mandoc"), "mandoc not installed")
    def test_mandoc_lint_is_clean(self):
        pages = sorted(os.path.join(self.MAN, n) for n in os.listdir(self.MAN))
        p = subprocess.run(["mandoc", "-T", "lint", "-W", "style", *pages],
                           capture_output=True, text=True)
        # Our own pages are "not found" until installed; nothing else may be said.
        own = re.compile(r"STYLE: referenced manual not found: Xr (homemxd 8|mxctl 8|homemx\.conf 5)")
        said = [line for line in (p.stdout + p.stderr).splitlines() if not own.search(line)]
        self.assertEqual(said, [])
        self.assertIn(p.returncode, (0, 1))     # 1: only the style messages above


if __name__ == "__main__":
    unittest.main()
