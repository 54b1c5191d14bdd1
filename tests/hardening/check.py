#!/usr/bin/env python3
"""Checks that the installed binaries were built hardened, as meson.build
asks: position independent, a read-only GOT bound at start (full RELRO),
a non-executable stack, the stack protector and, in optimized builds
without a sanitizer, _FORTIFY_SOURCE's checked libc calls.

    check.py --fortify yes|no --overflow PROBE BINARY...

Each property is read from the ELF file with readelf; a binary that lacks
one fails the test, and the message names the binary and the property.
With --fortify yes, PROBE (overflow.c, built with the project's flags)
must also be stopped by the checked copy when it is made to overflow its
buffer: the referenced __*_chk symbols alone could come from the static
libraries, not from our own code.
"""
import argparse
import re
import signal
import subprocess
import sys


def readelf(args, path):
    r = subprocess.run(["readelf", "-W"] + args + [path], capture_output=True,
                       text=True)
    if r.returncode != 0:
        sys.exit("check.py: readelf %s %s: %s" % (" ".join(args), path,
                                                   r.stderr.strip()))
    return r.stdout


def problems(path, fortify):
    out = []
    header = readelf(["-h"], path)
    if not re.search(r"Type:\s+DYN", header):
        out.append("not position independent (ELF type is not DYN)")
    segments = readelf(["-l"], path)
    if not re.search(r"^\s*GNU_RELRO\s", segments, re.M):
        out.append("no GNU_RELRO segment (RELRO)")
    stack = re.search(r"^\s*GNU_STACK\s.*\s(R?W?E?)\s+0x[0-9a-f]+$", segments, re.M)
    if stack is None:
        out.append("no GNU_STACK segment (the stack would be executable)")
    elif "E" in stack.group(1):
        out.append("executable stack (GNU_STACK flags %s)" % stack.group(1))
    dynamic = readelf(["-d"], path)
    if not re.search(r"\(FLAGS\)\s.*\bBIND_NOW\b|\(FLAGS_1\)\s.*\bNOW\b", dynamic):
        out.append("symbols bound lazily (no BIND_NOW: RELRO is partial)")
    symbols = readelf(["--dyn-syms"], path)
    if "__stack_chk_fail" not in symbols:
        out.append("no stack protector (__stack_chk_fail is not referenced)")
    checked = sorted(set(re.findall(r"\b(__\w+_chk)\b", symbols)) -
                     {"__stack_chk_fail"})
    if fortify and not checked:
        out.append("no _FORTIFY_SOURCE (no __*_chk libc call is referenced)")
    return out, checked


def overflow_stopped(probe):
    """Runs the probe with 8 bytes that fit and 64 that do not."""
    fits = subprocess.run([probe, "1234567"], capture_output=True, text=True)
    if fits.returncode != 0 or fits.stdout != "1234567\n":
        return "the probe fails without an overflow (status %d)" % fits.returncode
    r = subprocess.run([probe, "A" * 64], capture_output=True, text=True)
    if r.returncode != -signal.SIGABRT or "buffer overflow detected" not in r.stderr:
        return ("a 65-byte copy into an 8-byte buffer was not stopped by "
                "_FORTIFY_SOURCE (status %d, stderr %r)" % (r.returncode,
                                                            r.stderr.strip()))
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fortify", choices=("yes", "no"), required=True)
    ap.add_argument("--overflow", required=True)
    ap.add_argument("binaries", nargs="+")
    a = ap.parse_args()
    failed = 0
    if a.fortify == "yes":
        why = overflow_stopped(a.overflow)
        print("FAIL %s: %s" % (a.overflow, why) if why else
              "ok   %s: an overflowing memcpy aborts (_FORTIFY_SOURCE)" % a.overflow)
        failed += why is not None
    for path in a.binaries:
        found, checked = problems(path, a.fortify == "yes")
        for p in found:
            print("FAIL %s: %s" % (path, p))
        if not found:
            print("ok   %s: PIE, full RELRO, NX stack, stack protector%s" % (
                path, ", fortified (%d checked calls: %s)" % (
                    len(checked), " ".join(checked[:6])) if checked else ""))
        failed += bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
