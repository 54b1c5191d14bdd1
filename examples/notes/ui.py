"""The notes front-end: untrusted, runs in the sandbox and can do nothing
but what policy.json grants (list, read, save, delete notes; hear about
changes).

    capgate run --policy examples/notes/policy.json -- python3 -I $PWD/examples/notes/ui.py demo
    ... ui.py list | read ID | save ID TEXT | delete ID
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "client", "python"))
import capgate  # noqa: E402

gw = capgate.connect()
gw.on("notes:changed", lambda ch, ev: print("  (event: %s %s)" %
                                            (ev["id"], ev["change"])))


def run(cmd, *args):
    try:
        if cmd == "list":
            print("notes:", ", ".join(gw.invoke("notes:list", {})) or "(none)")
        elif cmd == "read":
            print("%s: %s" % (args[0], gw.invoke("notes:read",
                                                 {"id": args[0]})["text"]))
        elif cmd == "save":
            gw.invoke("notes:save", {"id": args[0], "text": " ".join(args[1:])})
            print("saved", args[0])
        elif cmd == "delete":
            print("deleted" if gw.invoke("notes:delete", {"id": args[0]})
                  else "no such note", args[0])
        else:
            print("unknown command", cmd)
            return 2
    except capgate.Error as e:
        print("error:", e.code)
        return 1
    gw.poll(0.05)
    return 0


if sys.argv[1:] == ["demo"]:
    status = 0
    for step in (["save", "groceries", "milk, bread"], ["save", "todo", "write", "docs"],
                 ["list"], ["read", "groceries"], ["delete", "groceries"],
                 ["list"], ["read", "groceries"]):
        print(">", " ".join(step))
        status |= run(*step)
    run("delete", "todo")
    sys.exit(0 if status == 1 else 1)   # the last read must fail
sys.exit(run(*sys.argv[1:]) if len(sys.argv) > 1 else 2)
