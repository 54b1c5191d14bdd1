"""The second window of the client-to-client test: answers every message
on chat:to-side with an echo on chat:to-main; stops at "bye"."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "client", "python"))
import capgate  # noqa: E402

gw = capgate.connect()
done = []


def on_message(channel, msg):
    if msg.get("text") == "bye":
        done.append(True)
        return
    gw.send("chat:to-main", {"echo": msg["text"], "me": gw.welcome["client"]})


gw.on("chat:to-side", on_message)
while not done:
    gw.poll(0.1)
