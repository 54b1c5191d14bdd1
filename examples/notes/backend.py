"""The notes backend: trusted, started by the gateway, stores one file per
note in NOTES_DIR. It sees only requests the gateway has already checked
against the policy (ids match ^[a-z0-9][a-z0-9-]{0,39}$, texts are at most
10,000 characters), but checks the id again before it names a file:
defence in depth costs one line."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "client", "python"))
import capgate  # noqa: E402

ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
DIR = os.path.abspath(os.environ.get("NOTES_DIR", "data"))
os.makedirs(DIR, exist_ok=True)
be = capgate.Backend()


def path_of(note_id):
    if not isinstance(note_id, str) or not ID.match(note_id):
        raise capgate.BackendError("invalid")
    return os.path.join(DIR, note_id + ".txt")


def list_notes(data, caller):
    return sorted(n[:-4] for n in os.listdir(DIR)
                  if n.endswith(".txt") and ID.match(n[:-4]))


def read_note(data, caller):
    try:
        with open(path_of(data["id"]), encoding="utf-8") as f:
            return {"id": data["id"], "text": f.read()}
    except FileNotFoundError:
        raise capgate.BackendError("failed")


def save_note(data, caller):
    path = path_of(data["id"])
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(data["text"])
    os.replace(tmp, path)
    be.emit("notes:changed", {"id": data["id"], "change": "saved"})
    return True


def delete_note(data, caller):
    try:
        os.unlink(path_of(data["id"]))
    except FileNotFoundError:
        return False
    be.emit("notes:changed", {"id": data["id"], "change": "deleted"})
    return True


be.handle("notes:list", list_notes)
be.handle("notes:read", read_note)
be.handle("notes:save", save_note)
be.handle("notes:delete", delete_note)
be.serve_forever()
