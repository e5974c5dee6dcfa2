#!/usr/bin/python3
"""A courier's handheld in Python: a foreign client of Daybreak's edge protocol, version 1.

Not part of Daybreak's build: plain python3 (standard library) and pyzmq (Debian: python3-zmq).
It speaks to a `daybreak gateway` the way any third-party handheld would:

* a DEALER socket with CURVE: the gateway's public key and the courier's own key pair, Z85;
* every request is two frames, [8-byte little-endian uint64 correlation id][UTF-8 JSON body];
  the reply carries the same id; the gateway's pushes carry id 0 (kept aside in `pushes`);
* every body has "v": 1 and "type"; keys are snake_case; times are ISO-8601 with an offset.

`ReportQueue` is the handheld's store-and-forward queue: a JSON file holding the device id, the
device's next sequence number and every report not yet acknowledged. Reports are queued first
(online or not) and sent oldest first in `reports` batches of at most 100; what the ack says is
applied, duplicate or refused leaves the queue; a gap (`gap` result or a `sequence_gap` error)
resends from `last_seq + 1`.

Run as a program it plays a scripted courier scenario (see `Scenario`) and prints one JSON line
per step; exit status 0 only when every expected outcome happened.

    python3 Tools/clients/handheld.py --endpoint tcp://127.0.0.1:5555 --server-key KEY \\
        --public-key PUB --secret-key SEC --courier vehicle:v1 --order sd-1 --foreign-label DBK:sd-2

Each option can be given in the environment instead: HANDHELD_ENDPOINT, HANDHELD_SERVER_KEY,
HANDHELD_ENDPOINT2, HANDHELD_SERVER_KEY2, HANDHELD_PUBLIC_KEY, HANDHELD_SECRET_KEY,
HANDHELD_COURIER, HANDHELD_ORDER, HANDHELD_FOREIGN_LABEL, HANDHELD_DEVICE, HANDHELD_QUEUE.
"""

import argparse
import datetime
import hashlib
import itertools
import json
import os
import struct
import sys
import tempfile
import time

try:
    import zmq
except ImportError:  # pragma: no cover - reported to the caller, who decides whether to skip
    sys.stderr.write("handheld.py: the pyzmq module is missing (Debian: apt-get install python3-zmq; "
                     "it installs for /usr/bin/python3)\n")
    sys.exit(3)

VERSION = 1
MAX_BATCH = 100
# Statuses after which a report leaves the queue: the gateway has decided on it for good.
SETTLED = ("applied", "duplicate", "refused")


class EdgeError(Exception):
    """An `error` reply: code, message, field, last_seq."""

    def __init__(self, body):
        self.body = body
        self.code = body.get("code")
        self.message = body.get("message", "")
        self.field = body.get("field")
        self.last_seq = body.get("last_seq")
        super().__init__("%s%s: %s" % (self.code, " at %s" % self.field if self.field else "", self.message))


class Handheld:
    """One CURVE connection to a gateway with the courier's key pair."""

    def __init__(self, endpoint, server_key, public_key, secret_key, timeout=30.0, context=None):
        self.endpoint = endpoint
        self.context = context or zmq.Context.instance()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.curve_serverkey = server_key.encode("ascii")
        self.socket.curve_publickey = public_key.encode("ascii")
        self.socket.curve_secretkey = secret_key.encode("ascii")
        # ZMTP heartbeats like the gateway's own clients (welcome says heartbeat_ms).
        self.socket.setsockopt(zmq.HEARTBEAT_IVL, 10_000)
        self.socket.setsockopt(zmq.HEARTBEAT_TIMEOUT, 30_000)
        self.socket.connect(endpoint)
        self.timeout = timeout
        self.correlation = itertools.count(1)
        self.pushes = []       # bodies pushed by the gateway (correlation id 0)
        self.late = 0          # replies to requests that had already timed out

    def close(self):
        self.socket.close(linger=0)

    def request(self, type_, timeout=None, **fields):
        """Sends `type_` with `fields`; returns the reply body (a dict). An `error` reply raises
        EdgeError; no reply within the timeout raises TimeoutError (an unknown key gets none)."""
        body = {"v": VERSION, "type": type_}
        body.update({k: v for k, v in fields.items() if v is not None})
        cid = next(self.correlation)
        self.socket.send_multipart([struct.pack("<Q", cid), json.dumps(body, separators=(",", ":")).encode("utf-8")])
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.socket.poll(int(left * 1000) + 1, zmq.POLLIN):
                if time.monotonic() >= deadline:
                    raise TimeoutError("no reply to %s (correlation %d) from %s within %.0f s" % (type_, cid, self.endpoint, timeout or self.timeout))
                continue
            frames = self.socket.recv_multipart()
            if len(frames) != 2 or len(frames[0]) != 8:
                raise ValueError("not an edge reply: %d frames" % len(frames))
            got = struct.unpack("<Q", frames[0])[0]
            reply = json.loads(frames[1].decode("utf-8"))
            if got == 0:
                self.pushes.append(reply)
                continue
            if got != cid:
                self.late += 1
                continue
            if reply.get("v") != VERSION:
                raise ValueError("reply of version %r" % reply.get("v"))
            if reply.get("type") == "error":
                raise EdgeError(reply)
            return reply


class ReportQueue:
    """The handheld's persistent store-and-forward queue of reports (a JSON file)."""

    def __init__(self, path, device):
        self.path = path
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                state = json.load(f)
            if state["device"] != device:
                raise ValueError("queue %s belongs to device %s, not %s" % (path, state["device"], device))
        else:
            state = {"device": device, "next_seq": 1, "pending": []}
        self.device = state["device"]
        self.next_seq = state["next_seq"]
        self.pending = state["pending"]
        self.save()

    def save(self):
        """Writes the whole queue atomically (a crash leaves the old file or the new one)."""
        directory = os.path.dirname(os.path.abspath(self.path))
        fd, tmp = tempfile.mkstemp(prefix=".queue-", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"device": self.device, "next_seq": self.next_seq, "pending": self.pending}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def add(self, kind, at, **fields):
        """Queues a report with the device's next sequence number; returns it."""
        report = {"seq": self.next_seq, "at": at, "kind": kind}
        report.update({k: v for k, v in fields.items() if v is not None})
        self.next_seq += 1
        self.pending.append(report)
        self.save()
        return report

    def flush(self, handheld, batch=MAX_BATCH, start=0, log=None):
        """Sends every pending report, oldest first, in batches of at most `batch` (starting with the
        batch at index `start` of the queue: a handheld that lost its first batch on the air).
        Returns the statuses by seq, in the order received. Stops at an `unavailable` answer
        (the reports stay queued) and raises on anything else unexpected."""
        batch = max(1, min(batch, MAX_BATCH))
        statuses = []
        index = start
        rounds = 0
        while self.pending:
            rounds += 1
            if rounds > 10_000:
                raise RuntimeError("flush does not converge")
            index = min(index, len(self.pending) - 1)
            chunk = [self.pending[index]]
            for r in self.pending[index + 1:]:
                if len(chunk) == batch or r["seq"] != chunk[-1]["seq"] + 1:
                    break
                chunk.append(r)
            try:
                ack = handheld.request("reports", device=self.device, reports=chunk)
            except EdgeError as e:
                if e.code == "sequence_gap" and e.last_seq is not None:
                    if log:
                        log("gap", sent_from=chunk[0]["seq"], last_seq=e.last_seq)
                    statuses.append((chunk[0]["seq"], "gap"))
                    index = self._resend_from(e.last_seq)
                    continue
                raise
            if ack.get("type") != "reports.ack":
                raise ValueError("expected reports.ack, got %s" % ack.get("type"))
            settled = set()
            gap_at = None
            for result in ack["results"]:
                statuses.append((result["seq"], result["status"]))
                if result["status"] in SETTLED:
                    settled.add(result["seq"])
                elif result["status"] == "gap":
                    gap_at = (result.get("error") or {}).get("last_seq", ack["last_seq"])
                    break
                else:  # unavailable: the effect is unknown; keep it queued, try later
                    self._drop(settled)
                    if log:
                        log("unavailable", seq=result["seq"])
                    return statuses
            self._drop(settled)
            if log:
                log("batch", seqs=[r["seq"] for r in chunk], statuses=[r["status"] for r in ack["results"]], last_seq=ack["last_seq"])
            if gap_at is not None:
                index = self._resend_from(gap_at)
            else:
                index = 0
        return statuses

    def _drop(self, seqs):
        if seqs:
            self.pending = [r for r in self.pending if r["seq"] not in seqs]
            self.save()

    def _resend_from(self, last_seq):
        """The gateway has applied everything up to `last_seq`: those leave the queue; sending goes
        on with `last_seq + 1`, which must be queued (else reports were lost for good)."""
        self._drop({r["seq"] for r in self.pending if r["seq"] <= last_seq})
        if self.pending and self.pending[0]["seq"] != last_seq + 1:
            raise RuntimeError("the gateway wants seq %d but the queue starts at %d" % (last_seq + 1, self.pending[0]["seq"]))
        return 0


def iso(t):
    return t.isoformat(timespec="seconds")


class Scenario:
    """The scripted courier: online pickup, an offline stretch, replay through a new connection
    (exactly once), refusals for another courier's parcel."""

    def __init__(self, args):
        self.a = args
        self.failures = []
        self.context = zmq.Context()

    def log(self, step, ok=True, **fields):
        line = {"step": step, "ok": ok}
        line.update(fields)
        print(json.dumps(line, sort_keys=True), flush=True)

    def expect(self, condition, step, what, **fields):
        if not condition:
            self.failures.append("%s: %s" % (step, what))
            self.log(step, ok=False, expected=what, **fields)
        return condition

    def connect(self, endpoint, server_key):
        return Handheld(endpoint, server_key, self.a.public_key, self.a.secret_key, timeout=self.a.timeout, context=self.context)

    def at(self, minutes):
        return iso(self.start + datetime.timedelta(minutes=minutes))

    def run(self):
        a = self.a
        self.start = datetime.datetime.fromisoformat(a.start)
        order, foreign_label = a.order, a.foreign_label
        foreign = foreign_label[4:] if foreign_label.startswith("DBK:") else foreign_label
        foreign = foreign.split("/")[0]
        if os.path.exists(a.queue):
            os.remove(a.queue)
        queue = ReportQueue(a.queue, a.device)

        # 1. Online: hello, shift, manifest, scan, pickup.
        hh = self.connect(a.endpoint, a.server_key)
        welcome = hh.request("hello", versions=[VERSION], client="daybreak-python-handheld/1")
        self.log("hello", gateway=welcome.get("gateway"), role=welcome.get("role"), scope=welcome.get("scope"))
        self.expect(welcome.get("type") == "welcome" and welcome.get("role") == "courier" and welcome.get("scope") == a.courier,
                    "hello", "welcome as courier %s" % a.courier, got=welcome)
        depot = {"lat": 37.50, "lon": 127.03}
        queue.add("shift_started", self.at(0), position=depot)
        st = queue.flush(hh, log=lambda s, **f: self.log("shift." + s, **f))
        self.expect(st == [(1, "applied")], "shift_started", "seq 1 applied", statuses=st)

        manifest = hh.request("manifest.get")["manifest"]
        pickup = [s for s in manifest["stops"] if s["kind"] == "pickup" and order in s["orders"]]
        self.log("manifest", version=manifest["version"], etag=manifest["etag"], stops=len(manifest["stops"]))
        self.expect(manifest["courier"] == a.courier and pickup, "manifest", "a pickup stop for %s" % order, manifest=manifest)
        label = pickup[0]["labels"][pickup[0]["orders"].index(order)] if pickup else "DBK:" + order
        self.expect(label == "DBK:" + order, "manifest", "label DBK:%s" % order, label=label)
        unchanged = hh.request("manifest.get", if_none_match=manifest["etag"])
        self.expect(unchanged["type"] == "manifest.unchanged", "manifest.unchanged", "unchanged for the same etag", got=unchanged["type"])

        scan = hh.request("scan", label=label)
        self.log("scan", order=scan.get("order"), action=scan.get("action"))
        self.expect(scan["type"] == "scan.ok" and scan["order"] == order and scan["action"] == "load", "scan", "load %s" % order, got=scan)

        queue.add("picked_up", self.at(185), orders=[order])
        st = queue.flush(hh, log=lambda s, **f: self.log("pickup." + s, **f))
        self.expect(st == [(2, "applied")], "picked_up", "seq 2 applied", statuses=st)
        scan2 = hh.request("scan", label=label)
        self.expect(scan2.get("action") == "deliver", "scan.on_board", "the parcel now scans as deliver", got=scan2)

        # 2. Offline: the socket is gone; everything the courier does is queued on disk.
        hh.close()
        self.log("offline", queue=a.queue)
        photo = ("photo of parcel %s at the door, %s" % (order, self.at(217))).encode("utf-8")
        digest = hashlib.sha256(photo).hexdigest()
        route = [(37.4995, 127.0290), (37.4990, 127.0284), (37.4984, 127.0279)]
        for i, (lat, lon) in enumerate(route):
            queue.add("position", self.at(195 + 7 * i), position={"lat": lat, "lon": lon})
        queue.add("arrived", self.at(215), stop="delivery", orders=[order])
        queue.add("position", self.at(216), position={"lat": 37.4979, "lon": 127.0276})
        queue.add("delivered", self.at(217), order=order,
                  proof={"kind": "photo", "reference": "photos/%s.jpg" % order, "sha256": digest})
        queue.add("position", self.at(220), position={"lat": 37.4990, "lon": 127.0300})
        offline = [dict(r) for r in queue.pending]
        self.log("queued", seqs=[r["seq"] for r in offline], kinds=[r["kind"] for r in offline], photo_sha256=digest)
        self.expect(len(offline) >= 5, "queued", "five or more offline reports")

        # The app restarts: the queue comes back from its file.
        queue = ReportQueue(a.queue, a.device)
        self.expect([r["seq"] for r in queue.pending] == [r["seq"] for r in offline], "reloaded", "the queue survives a restart",
                    pending=[r["seq"] for r in queue.pending])

        # 3. Back online with a NEW socket (to the second gateway when there is one).
        endpoint2, key2 = (a.endpoint2, a.server_key2) if a.endpoint2 else (a.endpoint, a.server_key)
        hh = self.connect(endpoint2, key2)
        welcome2 = hh.request("hello", versions=[VERSION], client="daybreak-python-handheld/1")
        self.log("reconnected", gateway=welcome2.get("gateway"), endpoint=endpoint2)
        first = a.batch if a.lose_first_batch and a.batch < len(queue.pending) else 0
        st = queue.flush(hh, batch=a.batch, start=first, log=lambda s, **f: self.log("replay." + s, **f))
        applied = [seq for seq, s in st if s == "applied"]
        others = [(seq, s) for seq, s in st if s not in ("applied", "gap")]
        self.expect(sorted(applied) == [r["seq"] for r in offline] and not others, "replay",
                    "every offline report applied exactly once", statuses=st)
        if first:
            self.expect(any(s == "gap" for _, s in st), "replay", "the out-of-order batch answered with a gap", statuses=st)
        self.expect(not queue.pending, "replay", "the queue is empty", pending=queue.pending)
        after = hh.request("manifest.get")["manifest"]
        self.expect(order not in after["on_board"], "delivered", "%s no longer on board" % order, on_board=after["on_board"])

        # 4. Deliberate second replay of the same reports: nothing happens twice.
        dup = []
        for i in range(0, len(offline), a.batch):
            ack = hh.request("reports", device=a.device, reports=offline[i:i + a.batch])
            dup += [r["status"] for r in ack["results"]]
            last_seq = ack["last_seq"]
        self.log("replayed_again", statuses=dup, last_seq=last_seq)
        self.expect(dup == ["duplicate"] * len(offline) and last_seq == offline[-1]["seq"], "replayed_again",
                    "all duplicates, last_seq %d" % offline[-1]["seq"], statuses=dup, last_seq=last_seq)

        # 5. Another courier's parcel: the scan is refused naming it; a delivery report is refused.
        try:
            r = hh.request("scan", label=foreign_label)
            self.expect(False, "scan.foreign", "not_on_manifest", got=r)
        except EdgeError as e:
            self.log("scan.foreign", code=e.code, message=e.message)
            self.expect(e.code == "not_on_manifest" and foreign in e.message, "scan.foreign",
                        "not_on_manifest naming %s" % foreign, code=e.code, message=e.message)
        before = hh.request("manifest.get")["manifest"]
        bad = queue.add("delivered", self.at(225), order=foreign,
                        proof={"kind": "photo", "reference": "photos/%s.jpg" % foreign, "sha256": hashlib.sha256(b"not mine").hexdigest()})
        acks = []
        st = queue.flush(hh, log=lambda s, **f: acks.append(f) or self.log("foreign." + s, **f))
        self.expect(st == [(bad["seq"], "refused")], "delivered.foreign", "seq %d refused" % bad["seq"], statuses=st)
        self.expect(not queue.pending, "delivered.foreign", "a refused report leaves the queue", pending=queue.pending)
        again = hh.request("manifest.get")["manifest"]
        self.expect(again["etag"] == before["etag"] and foreign not in again["on_board"], "delivered.foreign",
                    "the manifest did not change", before=before["etag"], after=again["etag"])

        pushes = len(hh.pushes)
        hh.close()
        self.context.term()
        self.log("done", ok=not self.failures, device=a.device, order=order, foreign=foreign,
                 offline_seqs=[r["seq"] for r in offline], refused_seq=bad["seq"], last_seq=bad["seq"], pushes=pushes,
                 failures=self.failures)
        return not self.failures


def main(argv=None):
    env = os.environ.get
    p = argparse.ArgumentParser(description="A scripted courier handheld for Daybreak's edge protocol.")
    p.add_argument("--endpoint", default=env("HANDHELD_ENDPOINT"))
    p.add_argument("--server-key", default=env("HANDHELD_SERVER_KEY"))
    p.add_argument("--endpoint2", default=env("HANDHELD_ENDPOINT2"), help="the gateway to reconnect to (default: --endpoint)")
    p.add_argument("--server-key2", default=env("HANDHELD_SERVER_KEY2"))
    p.add_argument("--public-key", default=env("HANDHELD_PUBLIC_KEY"))
    p.add_argument("--secret-key", default=env("HANDHELD_SECRET_KEY"))
    p.add_argument("--courier", default=env("HANDHELD_COURIER"), help="vehicle:ID or rider:ID")
    p.add_argument("--order", default=env("HANDHELD_ORDER"), help="the courier's order to deliver")
    p.add_argument("--foreign-label", default=env("HANDHELD_FOREIGN_LABEL"), help="another courier's parcel label (DBK:<order>)")
    p.add_argument("--device", default=env("HANDHELD_DEVICE", "py-hh-1"))
    p.add_argument("--queue", default=env("HANDHELD_QUEUE", "handheld-queue.json"), help="the queue's JSON file")
    p.add_argument("--start", default=env("HANDHELD_START", "2026-12-02T10:05:00+09:00"), help="the shift's start (ISO-8601)")
    p.add_argument("--batch", type=int, default=MAX_BATCH, help="reports per batch on replay (at most 100)")
    p.add_argument("--lose-first-batch", action="store_true", help="on replay, send the second batch first (a gap, then a resend)")
    p.add_argument("--timeout", type=float, default=30.0)
    a = p.parse_args(argv)
    missing = [n for n in ("endpoint", "server_key", "public_key", "secret_key", "courier", "order", "foreign_label") if not getattr(a, n)]
    if missing:
        p.error("missing: " + ", ".join("--" + n.replace("_", "-") for n in missing))
    if a.endpoint2 and not a.server_key2:
        p.error("--endpoint2 needs --server-key2 (each gateway has its own key)")
    a.batch = max(1, min(a.batch, MAX_BATCH))
    try:
        ok = Scenario(a).run()
    except (EdgeError, TimeoutError, ValueError, RuntimeError, KeyError, zmq.ZMQError) as e:
        print(json.dumps({"step": "aborted", "ok": False, "error": "%s: %s" % (type(e).__name__, e)}), flush=True)
        sys.stderr.write("handheld.py: aborted: %s: %s\n" % (type(e).__name__, e))
        return 2
    if not ok:
        sys.stderr.write("handheld.py: expected outcomes did not happen (see the lines with \"ok\": false)\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
