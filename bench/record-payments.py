#!/usr/bin/env python3
"""Quick check of recordPayment over real HTTP against a running `cabinet serve --demo`.

    python3 bench/record-payments.py [URL] [--requests N] [--concurrency C] [--spread]

Records N payments of 1.00 on the demo contract (or, with --spread, on N/C fresh contracts, one per worker)
and prints commands/s and latency percentiles. The project's full benchmark (issue 7) supersedes this.
"""
import argparse
import json
import statistics
import threading
import time
import urllib.request
import uuid


def gql(url, query, variables=None, token=None):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(url, body, {"content-type": "application/json"})
    if token:
        req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url", nargs="?", default="http://127.0.0.1:8080/graphql")
    p.add_argument("--requests", type=int, default=500)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--spread", action="store_true")
    a = p.parse_args()
    token = gql(a.url, 'mutation { login(input: { email: "admin@demo.local", password: "demo-password-123" }) { token } }')[
        "data"]["login"]["token"]
    r = gql(a.url, '{ businessDate { date } companies(search: "Демо") { edges { node { id } } } }', token=token)
    today = r["data"]["businessDate"]["date"]
    company = r["data"]["companies"]["edges"][0]["node"]["id"]
    demo = gql(a.url, "query($c: UUID!) { contracts(companyId: $c) { edges { node { id } } } }", {"c": company},
               token)["data"]["contracts"]["edges"][0]["node"]["id"]

    def fresh_contract():
        n = "BENCH-" + uuid.uuid4().hex[:12]
        r = gql(a.url, "mutation($i: ConcludeContractInput!) { concludeContract(input: $i) { contract { id } } }", {
            "i": {"companyId": company, "number": n, "date": today, "contactEmail": "a@b.ru",
                  "subject": {"kind": "станок", "make": "M", "model": "X", "year": 2025, "serialNumber": n},
                  "price": "3600000", "advance": {"percent": "10"}, "termMonths": 48, "annualRate": "18",
                  "firstDueDate": today, "scheduleKind": "ANNUITY", "redemption": "1000",
                  "penalty": {"ratePerDay": "0.1", "baseIncludesVat": True, "paymentDayCounts": True}}}, token)
        return r["data"]["concludeContract"]["contract"]["id"]

    contracts = [fresh_contract() if a.spread else demo for _ in range(a.concurrency)]
    latencies, errors = [], []
    lock = threading.Lock()
    per_worker = a.requests // a.concurrency

    def worker(i):
        for _ in range(per_worker):
            t = time.perf_counter()
            r = gql(a.url, "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { position debt { total } } }",
                    {"i": {"contractId": contracts[i], "amount": "1.00", "date": today,
                           "bankReference": uuid.uuid4().hex, "purpose": "LEASING_PAYMENT"}}, token)
            dt = time.perf_counter() - t
            with lock:
                latencies.append(dt)
                if r.get("errors"):
                    errors.append(r["errors"][0]["extensions"].get("code"))

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(a.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    print(f"{len(latencies)} recordPayment, concurrency {a.concurrency}, "
          f"{'spread over ' + str(a.concurrency) + ' contracts' if a.spread else 'one contract'}: "
          f"{len(latencies) / elapsed:.0f} cmd/s, p50 {q[49] * 1000:.1f} ms, p95 {q[94] * 1000:.1f} ms, "
          f"p99 {q[98] * 1000:.1f} ms, errors {len(errors)} {sorted(set(errors))}")


if __name__ == "__main__":
    main()
