"""The protocol test vectors against the Python client library."""
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "client", "python"))
import capgate as cg  # noqa: E402

doc = json.load(open(os.path.join(here, "frames.json"), encoding="utf-8"))
failures = 0
for v in doc["accept"]:
    key = bytes.fromhex(v["key"])
    want = bytes.fromhex(v["datagram"])
    got = cg.seal(key, v["direction"], v["seq"], v["type"], v["request_id"],
                  v["channel"].encode(), v["body"].encode("utf-8"), v["status"],
                  v["nfds"])
    f = cg.open_frame(key, v["direction"], want, v["seq"], v["nfds"])
    ok = (got == want and f.type == v["type"] and f.seq == v["seq"] and
          f.request_id == v["request_id"] and f.status == v["status"] and
          f.channel == v["channel"] and f.body.decode() == v["body"] and
          f.nfds == v["nfds"])
    if not ok:
        failures += 1
        print("FAIL accept", v["name"])
for v in doc["reject"]:
    try:
        cg.open_frame(bytes.fromhex(v["key"]), v["direction"],
                      bytes.fromhex(v["datagram"]), v["expected_seq"],
                      v["nfds_received"])
        err = "accepted"
    except cg.TransportError as e:
        err = str(e)
    if err != v["error"]:
        failures += 1
        print("FAIL reject", v["name"], "got", err, "want", v["error"])
print("python: %d accepted, %d rejected vectors, %d failures" %
      (len(doc["accept"]), len(doc["reject"]), failures))
sys.exit(1 if failures else 0)
