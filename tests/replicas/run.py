#!/usr/bin/env python3
"""Two replicas on one PostgreSQL database behind a real nginx (issue 16, part 5).

    python3 tests/replicas/run.py path/to/exampost [postgres://postgres@127.0.0.1:5432]

Creates a fresh database, seeds the demo into it, starts two `exampost serve`
replicas on free loopback ports (both trusting only 127.0.0.1, nginx's
address, for X-Forwarded-For) and an nginx of its own (not the system one)
that spreads requests over both round-robin. Candidates are told apart by the
loopback SOURCE address their connection is bound to (127.0.0.5, ...): nginx
sees that address and forwards it. Then it checks:

  (a) the per-address lookup limit holds across both replicas: lookups from one
      address alternate between the replicas, each serves fewer than the limit,
      and both refuse once the total reaches it (429 too-many-requests with
      Retry-After), allowing the documented overshoot of about a second's
      worth (one lookup at the pace used); an X-Forwarded-For the client writes
      itself changes nothing; another address is not limited;
  (b) the per-number throttle holds across both: 5 wrong dates of birth for one
      number from one address, spread over both replicas, lock that address out
      of that number on both (429 too-many-guesses); the right date from another
      address still gets in on both, and the locked address still reads another
      number;
  (c) SIGKILL of one replica while scans stream in through nginx loses no
      acknowledged scan: every 200/201 is stored, requests fail only around the
      kill, each failed one succeeds when retried with the same client_event_id,
      and the surviving replica serves everything after it.

Exits 1 on a failed check, 2 on a setup error. Every child is stopped and the
database dropped on the way out. Python 3 standard library only.
"""

import ctypes
import datetime
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LIMIT = 8  # EXAMPOST_LOOKUPS_PER_MINUTE: (b) needs 8 lookups from its guesser
WRONG_PER_ADDRESS = 5  # src/api/throttle.rs
PACE = 1.5  # seconds between rounds of lookups: longer than the 1 s flush
CARRIER = ("8f0c2a1e-0000-4000-8000-000000000003", "demo-vnpost-secret")  # README, demo credentials
SCAN_THREADS = 4
SCAN_BEFORE_KILL = 2.0
SCAN_AFTER_KILL = 3.0
KILL_GRACE = 2.0  # requests may fail only between the kill and this many seconds after it


class CheckFailed(Exception):
    pass


class SetupFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def log(message):
    print(message, flush=True)


# ---------------------------------------------------------------- processes

_libc = None


def _die_with_parent():
    """Children get SIGKILL if this script dies without its finally."""
    try:
        _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:
    _libc = None


class Children:
    def __init__(self):
        self.procs = []

    def start(self, name, argv, env, logfile):
        out = open(logfile, "wb")
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                preexec_fn=_die_with_parent if _libc else None)
        out.close()
        proc.name, proc.logfile = name, logfile
        self.procs.append(proc)
        return proc

    def stop_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 5
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path, lines=25):
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join("    " + line for line in text[-lines:])


# ---------------------------------------------------------------- HTTP

class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def text(self):
        return self.body[:400].decode("utf-8", "replace")


def request(port, method, path, body=None, headers=None, source=None, timeout=15):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        hdrs = {"connection": "close"}
        if body is not None:
            body = json.dumps(body).encode()
            hdrs["content-type"] = "application/json"
        hdrs.update(headers or {})
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def s10(serial, prefix="RR", country="VN"):
    """A valid UPU S10 number (mod-11 check digit) for an 8-digit serial."""
    digits = f"{serial:08d}"
    total = sum(int(d) * w for d, w in zip(digits, (8, 6, 4, 2, 3, 5, 9, 7)))
    check_digit = 11 - total % 11
    check_digit = {10: 0, 11: 5}.get(check_digit, check_digit)
    return f"{prefix}{digits}{check_digit}{country}"


def wait_for_window(needed):
    """Start a test with `needed` seconds left in the current minute (the
    lookup window; hours, the guess lock's window, end on a minute too)."""
    left = 60 - time.time() % 60
    if left < needed:
        log(f"   (waiting {left:.0f} s for a fresh minute window)")
        time.sleep(left + 0.3)


# ---------------------------------------------------------------- the run

class Run:
    def __init__(self, binary, pg_base):
        self.binary = str(Path(binary).resolve())
        self.pg = urllib.parse.urlsplit(pg_base.rstrip("/"))
        self.pg_base = urllib.parse.urlunsplit((self.pg.scheme, self.pg.netloc, "", "", ""))
        self.db = f"exampost_replicas_{os.getpid()}"
        self.db_created = False
        self.tmp = tempfile.mkdtemp(prefix="exampost-replicas-")
        self.children = Children()
        self.secret = secrets.token_hex(32)
        self.names = {}  # upstream "127.0.0.1:port" -> "a" / "b"
        self.summary = []

    # -- setup

    def psql(self, sql, db="postgres"):
        argv = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.pg.hostname or "127.0.0.1",
                "-p", str(self.pg.port or 5432), "-U", self.pg.username or "postgres", "-d", db, "-tAc", sql]
        env = dict(os.environ)
        if self.pg.password:
            env["PGPASSWORD"] = urllib.parse.unquote(self.pg.password)
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SetupFailed(f"psql {sql!r}: {done.stderr.strip()}")
        return done.stdout.strip()

    def env(self, **extra):
        env = dict(os.environ)
        env.update({
            "EXAMPOST_DATABASE_URL": f"{self.pg_base}/{self.db}",
            "EXAMPOST_JWT_SECRET": self.secret,
            "EXAMPOST_LOG": "warn",
        })
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def setup(self):
        self.psql(f'CREATE DATABASE "{self.db}"')
        self.db_created = True
        seeded = subprocess.run([self.binary, "seed"], env=self.env(), capture_output=True, text=True)
        if seeded.returncode != 0:
            raise SetupFailed(f"seed failed: {seeded.stderr.strip()[-2000:]}")

        self.ports = {"a": free_port(), "b": free_port()}
        self.replicas = {}
        for name, port in self.ports.items():
            env = self.env(EXAMPOST_BIND=f"127.0.0.1:{port}", EXAMPOST_TRUSTED_PROXIES="127.0.0.1",
                           EXAMPOST_LOOKUPS_PER_MINUTE=LIMIT, EXAMPOST_SWEEP_SECS=60 if name == "a" else 0,
                           EXAMPOST_WORKERS=2, EXAMPOST_POOL_SIZE=8)
            self.replicas[name] = self.children.start(f"replica {name}", [self.binary, "serve"], env,
                                                      f"{self.tmp}/replica-{name}.log")
            self.names[f"127.0.0.1:{port}"] = name
        for name, port in self.ports.items():
            self.wait_ready(self.replicas[name], port, f"replica {name}")

        self.nginx_port = free_port()
        self.start_nginx()
        self.wait_ready(self.nginx, self.nginx_port, "nginx")

    def wait_ready(self, proc, port, name, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SetupFailed(f"{name} exited with {proc.returncode}:\n{tail(proc.logfile)}")
            try:
                if request(port, "GET", "/readyz", timeout=2).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SetupFailed(f"{name} not ready on port {port} after {seconds} s:\n{tail(proc.logfile)}")

    def start_nginx(self):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(nginx):
            raise SetupFailed("nginx is not installed (apt-get install nginx)")
        template = (Path(__file__).parent / "nginx.conf.in").read_text()
        conf = template
        for key, value in {
            "USER": "user root;" if os.geteuid() == 0 else "",  # else workers drop to nobody
            "TMP": self.tmp,
            "PORT": self.nginx_port,
            "PORT_A": self.ports["a"],
            "PORT_B": self.ports["b"],
        }.items():
            conf = conf.replace("@" + key + "@", str(value))
        conf_path = f"{self.tmp}/nginx.conf"
        Path(conf_path).write_text(conf)
        self.nginx = self.children.start(
            "nginx", [nginx, "-c", conf_path, "-p", self.tmp, "-e", f"{self.tmp}/nginx-error.log"],
            dict(os.environ), f"{self.tmp}/nginx-stdout.log")
        self.nginx.logfile = f"{self.tmp}/nginx-error.log"

    # -- helpers

    def upstream(self, reply):
        """Which replica answered: the last upstream nginx tried."""
        tried = reply.headers.get("x-upstream", "")
        last = tried.split(",")[-1].strip() if tried else ""
        return self.names.get(last, last or "nginx")

    def lookup(self, source, number, date_of_birth, headers=None):
        reply = request(self.nginx_port, "POST", "/api/v1/public/lookup",
                        {"tracking_number": number, "date_of_birth": date_of_birth}, headers=headers, source=source)
        return reply, self.upstream(reply)

    def throttled(self, reply, who, kind, max_wait):
        check(reply.status == 429, f"{who}: expected 429, got {reply.status}: {reply.text()}")
        check(reply.headers.get("content-type", "").startswith("application/problem+json"),
              f"{who}: 429 without problem+json: {reply.headers}")
        check(reply.json().get("type") == kind, f"{who}: expected {kind}, got {reply.text()}")
        wait = reply.headers.get("retry-after", "")
        check(wait.isdigit() and 1 <= int(wait) <= max_wait, f"{who}: Retry-After {wait!r}")
        return int(wait)

    # -- (a) the per-address limit

    def per_address_limit(self):
        wait_for_window(needed=18)
        source = "127.0.0.5"
        seen = []  # (replica, status)
        serial = 90_000_000 + (os.getpid() % 1000) * 1000
        for round_ in range(10):
            for _ in range(2):  # one round: one lookup on each replica (round-robin)
                serial += 1
                reply, replica = self.lookup(source, s10(serial), "2008-01-01")
                check(reply.status in (404, 429),
                      f"(a) lookup {len(seen) + 1} from {source} on {replica}: {reply.status} {reply.text()}")
                if reply.status == 429:
                    self.throttled(reply, f"(a) lookup {len(seen) + 1} on {replica}", "/problems/too-many-requests", 60)
                seen.append((replica, reply.status))
            refused_by = {r for r, status in seen if status == 429}
            if refused_by >= {"a", "b"}:
                break
            time.sleep(PACE)
        trace = " ".join(f"{r}:{s}" for r, s in seen)
        admitted = {r: sum(1 for x, s in seen if x == r and s == 404) for r in ("a", "b")}
        total = sum(admitted.values())
        check({r for r, _ in seen} == {"a", "b"}, f"(a) lookups did not reach both replicas: {trace}")
        for name in ("a", "b"):
            statuses = [s for r, s in seen if r == name]
            if 429 in statuses:
                check(all(s == 429 for s in statuses[statuses.index(429):]),
                      f"(a) replica {name} answered again after refusing: {trace}")
        check({r for r, s in seen if s == 429} == {"a", "b"}, f"(a) not refused on both replicas: {trace}")
        check(total >= LIMIT, f"(a) refused after {total} lookups, before the limit {LIMIT}: {trace}")
        # Two replicas, one lookup each per round, rounds longer than a flush:
        # a replica may not yet know the other's last lookup, so one over.
        check(total <= LIMIT + 1, f"(a) {total} lookups admitted across both, limit {LIMIT} (+1 allowed): {trace}")
        check(max(admitted.values()) < LIMIT,
              f"(a) one replica alone admitted {max(admitted.values())} (limit {LIMIT}): not shared? {trace}")

        # What the client writes in X-Forwarded-For is not believed: nginx appends the real peer.
        forged, replica = self.lookup(source, s10(serial + 1), "2008-01-01", headers={"x-forwarded-for": "203.0.113.9"})
        self.throttled(forged, f"(a) forged X-Forwarded-For on {replica}", "/problems/too-many-requests", 60)
        # Another address is not limited, on either replica.
        other = []
        for n in range(2):
            reply, replica = self.lookup("127.0.0.6", s10(serial + 2 + n), "2008-01-01")
            check(reply.status == 404, f"(a) 127.0.0.6 on {replica}: {reply.status} {reply.text()}")
            other.append(replica)
        check(set(other) == {"a", "b"}, f"(a) 127.0.0.6's lookups went to {other}")
        self.summary.append(
            f"(a) per-address: 127.0.0.5 admitted {total} (a {admitted['a']}, b {admitted['b']}; limit {LIMIT}), "
            f"then 429 on both [{trace}]; forged X-Forwarded-For still 429; 127.0.0.6: 404 on a and b")

    # -- (b) the per-number throttle

    def per_number_throttle(self):
        wait_for_window(needed=8)
        items = lookup_items()
        (number, right), (other_number, other_right) = items[0], items[1]
        guesser, candidate = "127.0.0.7", "127.0.0.8"
        start = datetime.date(2007, 1, 1)
        guessed = []
        for n in range(WRONG_PER_ADDRESS):
            wrong = (start + datetime.timedelta(days=n)).isoformat()
            check(wrong != right, "wrong date equals the right one")
            reply, replica = self.lookup(guesser, number, wrong)
            check(reply.status == 404, f"(b) wrong guess {n + 1} for {number} on {replica}: {reply.status} {reply.text()}")
            guessed.append(replica)
        check(set(guessed) == {"a", "b"}, f"(b) the wrong guesses did not reach both replicas: {guessed}")
        locked_on, waits = [], []
        for _ in range(2):
            reply, replica = self.lookup(guesser, number, right)
            waits.append(self.throttled(reply, f"(b) right date from the guesser on {replica}",
                                        "/problems/too-many-guesses", 3600))
            locked_on.append(replica)
        check(set(locked_on) == {"a", "b"}, f"(b) the locked guesser was tried on {locked_on} only")
        answered_on = []
        for _ in range(2):
            reply, replica = self.lookup(candidate, number, right)
            check(reply.status == 200, f"(b) the candidate ({candidate}) on {replica}: {reply.status} {reply.text()}")
            check(reply.json().get("tracking_number") == number, f"(b) the candidate got {reply.text()}")
            answered_on.append(replica)
        check(set(answered_on) == {"a", "b"}, f"(b) the candidate was answered by {answered_on} only")
        reply, replica = self.lookup(guesser, other_number, other_right)
        check(reply.status == 200, f"(b) the guesser on another number ({replica}): {reply.status} {reply.text()}")
        self.summary.append(
            f"(b) per-number: {WRONG_PER_ADDRESS} wrong dates for {number} from {guesser} "
            f"(a {guessed.count('a')}, b {guessed.count('b')}) -> 429 too-many-guesses on a and b "
            f"(Retry-After {waits[0]} s); right date from {candidate}: 200 on a and b; "
            f"{guesser} on another number: 200")

    # -- (c) killing a replica mid-stream

    def kill_one_replica(self):
        token_reply = request(self.nginx_port, "POST", "/api/v1/auth/token",
                              {"client_id": CARRIER[0], "client_secret": CARRIER[1]}, timeout=30)
        check(token_reply.status == 200, f"(c) carrier token: {token_reply.status} {token_reply.text()}")
        auth = {"authorization": "Bearer " + token_reply.json()["access_token"]}
        items = scan_items()[:SCAN_THREADS]
        check(len(items) == SCAN_THREADS, "(c) not enough in-transit VNPOST items in the demo")
        prefix = f"RPL{os.getpid()}"
        vietnam = datetime.timezone(datetime.timedelta(hours=7))
        sent = []  # dicts: cid, item, body, start, end, status, replica, error
        lock = threading.Lock()
        stop = threading.Event()

        def scan_body(cid, k):
            occurred = datetime.datetime.now(vietnam).replace(microsecond=0) - datetime.timedelta(seconds=1)
            return {"client_event_id": cid, "type": "arrived_office" if k % 2 == 0 else "departed_office",
                    "occurred_at": occurred.isoformat(), "office_code": "VNP-REPL", "office_name": "Replica test"}

        def stream(t, number):
            k = 0
            while not stop.is_set():
                cid = f"{prefix}-{t}-{k}"
                body = scan_body(cid, k)
                record = {"cid": cid, "item": number, "body": body, "start": time.monotonic(),
                          "status": None, "replica": None, "error": None}
                try:
                    reply = request(self.nginx_port, "POST", f"/api/v1/items/{number}/events", body, headers=auth)
                    record["status"], record["replica"] = reply.status, self.upstream(reply)
                    if reply.status not in (200, 201):
                        record["error"] = reply.text()
                except OSError as e:
                    record["error"] = f"{type(e).__name__}: {e}"
                record["end"] = time.monotonic()
                with lock:
                    sent.append(record)
                k += 1

        threads = [threading.Thread(target=stream, args=(t, n), daemon=True) for t, n in enumerate(items)]
        for th in threads:
            th.start()
        time.sleep(SCAN_BEFORE_KILL)
        victim = self.replicas["b"]
        t_kill = time.monotonic()
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        time.sleep(SCAN_AFTER_KILL)
        stop.set()
        for th in threads:
            th.join(timeout=30)
        check(not any(th.is_alive() for th in threads), "(c) a scan stream hung")

        ok = [r for r in sent if r["status"] in (200, 201)]
        failed = [r for r in sent if r["status"] not in (200, 201)]
        before = [r for r in ok if r["end"] < t_kill]
        after = [r for r in ok if r["start"] > t_kill]
        straddled = [r for r in ok if r["start"] <= t_kill <= r["end"]]
        by_replica = lambda rs, name: sum(1 for r in rs if r["replica"] == name)
        check(by_replica(before, "a") > 0 and by_replica(before, "b") > 0,
              f"(c) before the kill scans went to a {by_replica(before, 'a')}, b {by_replica(before, 'b')}")
        check(len(after) >= 10, f"(c) only {len(after)} scans acknowledged after the kill")
        check(all(r["replica"] == "a" for r in after),
              f"(c) after the kill a scan was answered by {[r['replica'] for r in after if r['replica'] != 'a']}")
        for r in failed:
            what = f"{r['cid']} -> {r['status']} {r['error']} (via {r['replica']}, " \
                   f"{r['start'] - t_kill:+.2f}..{r['end'] - t_kill:+.2f} s from the kill)"
            check(r["status"] in (None, 502, 504), f"(c) a scan failed in a way nginx should not answer: {what}")
            check(r["end"] >= t_kill and r["start"] <= t_kill + KILL_GRACE, f"(c) a scan failed away from the kill: {what}")
        late = [r for r in sent if r["start"] > t_kill + KILL_GRACE]
        check(late and all(r["status"] in (200, 201) for r in late), "(c) scans did not all succeed after the kill settled")

        failures = [f"{r['status'] or r['error']} via {r['replica']} at {r['end'] - t_kill:+.2f} s" for r in failed]
        # Retry each failed scan with its own client_event_id: idempotent, so it must now succeed.
        already = 0
        for r in failed:
            reply = None
            for attempt in range(3):
                reply = request(self.nginx_port, "POST", f"/api/v1/items/{r['item']}/events", r["body"], headers=auth)
                if reply.status in (200, 201):
                    break
                time.sleep(0.5)
            check(reply.status in (200, 201), f"(c) retry of {r['cid']}: {reply.status} {reply.text()}")
            already += reply.status == 200
            r["status"], r["replica"] = reply.status, self.upstream(reply)
            ok.append(r)

        # Every acknowledged scan is stored: read each item's timeline from the survivor.
        stored = set()
        for number in items:
            cursor = None
            while True:
                path = f"/api/v1/items/{number}/events?limit=500" + (f"&cursor={cursor}" if cursor else "")
                page = request(self.ports["a"], "GET", path, headers=auth)
                check(page.status == 200, f"(c) timeline of {number}: {page.status} {page.text()}")
                page = page.json()
                stored.update(e["client_event_id"] for e in page["items"] if e["client_event_id"].startswith(prefix))
                cursor = page.get("next_cursor")
                if not cursor:
                    break
        acked = {r["cid"] for r in ok}
        lost = sorted(acked - stored)
        check(not lost, f"(c) {len(lost)} acknowledged scans not stored: {lost[:10]}")
        extra = sorted(stored - {r["cid"] for r in sent})
        check(not extra, f"(c) stored scans that were never sent: {extra[:10]}")
        in_db = int(self.psql(f"SELECT count(*) FROM events WHERE client_event_id LIKE '{prefix}-%'", db=self.db))
        check(in_db == len(acked), f"(c) the database holds {in_db} of the test's scans, {len(acked)} acknowledged")
        check(request(self.nginx_port, "GET", "/readyz").status == 200, "(c) /readyz through nginx after the kill")
        # The kill left every item's event chain whole (`exampost verify` recomputes them all).
        verified = subprocess.run([self.binary, "verify"], env=self.env(), capture_output=True, text=True)
        check(verified.returncode == 0,
              f"(c) exampost verify after the kill: exit {verified.returncode}: "
              f"{(verified.stdout + verified.stderr).strip()[-1500:]}")
        self.summary.append(
            f"(c) SIGKILL of b mid-stream ({SCAN_THREADS} streams): {len(before)} scans acknowledged before "
            f"(a {by_replica(before, 'a')}, b {by_replica(before, 'b')}), {len(after)} after (all by a); "
            f"{len(straddled)} in flight at the kill and answered; {len(failed)} failed around the kill"
            + (f" ({', '.join(failures)})" if failed else "")
            + f", retried with the same client_event_id: {len(failed)} ok ({already} already stored by b); "
            f"stored {len(stored)} of {len(acked)} acknowledged, lost 0; exampost verify: chains whole")

    # -- teardown

    def teardown(self, failed):
        try:
            self.children.stop_all()
            if self.db_created:
                try:
                    self.psql(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
                except SetupFailed as e:
                    log(f"could not drop {self.db}: {e}")
            if failed:
                for proc in self.children.procs:
                    log(f"--- {proc.name}, last lines:\n{tail(proc.logfile)}")
                log(f"--- nginx access log, last lines:\n{tail(f'{self.tmp}/nginx-access.log', 30)}")
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


def demo_items():
    return json.loads((REPO / "fixtures" / "demo.json").read_text())["items"]


def lookup_items():
    """Candidates' items the public lookup shows: (number, date of birth)."""
    return [(it["tracking_number"], it["recipient"]["date_of_birth"]) for it in demo_items()
            if not it.get("confidential") and it["recipient"].get("type") == "candidate"
            and it["recipient"].get("date_of_birth") and it.get("events")]


def scan_items():
    """VNPOST's ordinary items still on their way: they take more scans."""
    return [it["tracking_number"] for it in demo_items()
            if it["carrier_org"] == "VNPOST" and not it.get("confidential")
            and [e["type"] for e in it.get("events", [])][-1:] in (["arrived_office"], ["departed_office"])]


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print("usage: run.py path/to/exampost [postgres://postgres@127.0.0.1:5432]", file=sys.stderr)
        return 2
    binary = sys.argv[1]
    pg_base = sys.argv[2] if len(sys.argv) > 2 else "postgres://postgres@127.0.0.1:5432"
    if not os.access(binary, os.X_OK):
        print(f"not an executable: {binary}", file=sys.stderr)
        return 2

    def on_term(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    started = time.monotonic()
    run = Run(binary, pg_base)
    failed = True
    try:
        run.setup()
        log(f"replicas a :{run.ports['a']} and b :{run.ports['b']} on {run.db}, behind nginx :{run.nginx_port} "
            f"(EXAMPOST_LOOKUPS_PER_MINUTE={LIMIT}, setup {time.monotonic() - started:.1f} s)")
        run.per_address_limit()
        log(run.summary[-1])
        run.per_number_throttle()
        log(run.summary[-1])
        run.kill_one_replica()
        log(run.summary[-1])
        failed = False
    except CheckFailed as e:
        log(f"FAILED: {e}")
        return 1
    except SetupFailed as e:
        log(f"SETUP FAILED: {e}")
        return 2
    finally:
        run.teardown(failed)
    log(f"ok: two replicas behind nginx, {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
