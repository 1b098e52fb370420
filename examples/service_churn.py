"""service_churn.py: a request handler's allocations, memory flat.

The second workload of the leak-hunting benchmark (bench/leak-bench.sh -w):
where alloc_churn.py does nothing but allocate (one allocation every few
hundred instructions, the worst case for any allocation tracer), this one
does what a JSON web service does per request, with the work between
allocations that such code has.  One iteration (i = the iteration number)
is one request:
  * decode one of 16 request bodies (JSON, about 1.3 KB: an id, a user,
    tags and 12 line items) with json.loads;
  * keep the line items with a quantity, total them, and build a response
    dict (sorted unique tags, per-item subtotals);
  * encode it with json.dumps and format a log line;
  * keep the response in a ring of RING slots, where it replaces (frees)
    the one made RING requests before.
Nothing is kept beyond the ring: live memory is bounded and steady.

usage: the same as alloc_churn.py (--iterations N | --seconds S,
--threads T); `elapsed:` covers the request loop only.
"""
import json
import sys
import time

import alloc_churn

RING = 256
BODIES = 16


def make_body(k):
    """Request body k: fixed content, so every run decodes the same."""
    return json.dumps({
        "id": f"req-{k:04d}",
        "user": {"name": f"user{k}", "id": 1000 + k, "admin": k % 5 == 0},
        "tags": ["web", "json", f"t{k % 3}", "web", f"shard-{k % 4}"],
        "items": [
            {"sku": f"SKU-{k}-{j}", "qty": (j * 7 + k) % 4,
             "price": round(1.25 + j * 0.5 + k * 0.01, 2),
             "note": "gift" if j % 5 == 0 else ""}
            for j in range(12)
        ],
    })


BODY_TEXT = [make_body(k) for k in range(BODIES)]


def serve(first, count, stop_at=None):
    """Handle requests first, first+1, ...: `count` of them, or until
    time.perf_counter() passes stop_at.  Returns how many were handled."""
    ring = [None] * RING
    i = first
    end = first + count if count is not None else None
    while True:
        if end is not None:
            if i >= end:
                break
        elif (i & 63) == 0 and time.perf_counter() >= stop_at:
            break
        req = json.loads(BODY_TEXT[i % BODIES])
        items = [it for it in req["items"] if it["qty"] > 0]
        lines = [{"sku": it["sku"], "subtotal": round(it["qty"] * it["price"], 2)}
                 for it in items]
        resp = {
            "id": req["id"],
            "user": req["user"]["name"],
            "tags": sorted(set(req["tags"])),
            "lines": lines,
            "total": round(sum(line["subtotal"] for line in lines), 2),
        }
        out = json.dumps(resp)
        log = f"{req['id']} {resp['user']} {len(lines)} {len(out)}"
        ring[i % RING] = (out, log)
        i += 1
    ring.clear()
    return i - first


if __name__ == "__main__":
    sys.exit(alloc_churn.main(
        work=serve,
        description="A JSON request handler's steady-state allocations."))
