#!/usr/bin/env python3
"""Capture QEMU 7.2's kdump-zlib dump of a golden scenario (issue 18).

Boots scenarios/<name>/guest.elf exactly as capture.py's run 1 does (argv from
capture-meta.json, QMP on a unix socket only), waits until the guest halts at
halted_at, then asks QEMU for `dump-guest-memory` in format kdump-zlib
(flattened, the only kdump form QEMU 7.2 writes) and then in format elf. Both
are kept, from the same run, as scenarios/<name>/kdump-run.kdump-zlib.gz and
scenarios/<name>/kdump-run.elf.gz (gzip only to keep the repository small;
cgmon's -load-dump accepts gzip): a few bytes of BIOS-owned RAM differ from
run to run, so the pair, not dump.elf.gz, shows one guest state twice.

Usage: kdump_capture.py [scenario ...]   (default: d-lm4 b-pg32)
"""
import gzip
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.dirname(HERE)


class Qmp:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        for _ in range(100):
            try:
                self.s.connect(path)
                break
            except OSError:
                time.sleep(0.05)
        self.f = self.s.makefile("rw")
        json.loads(self.f.readline())
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        self.f.flush()
        while True:
            r = json.loads(self.f.readline())
            if "return" in r or "error" in r:
                return r


def capture(name):
    sc = os.path.join(DATA, "scenarios", name)
    meta = json.load(open(os.path.join(sc, "capture-meta.json")))
    halt = int(meta["halted_at"], 16)
    run = tempfile.mkdtemp(prefix="kdump-cap-")
    argv = [a for a in meta["argv_run1"]]
    # run 1 also opened a gdb port; only QMP is needed here.
    if "-gdb" in argv:
        i = argv.index("-gdb")
        del argv[i:i + 2]
    argv = [os.path.join(sc, "guest.elf") if a.endswith("guest.elf") else a for a in argv]
    qmp_path = os.path.join(run, "qmp.sock")
    argv = [re.sub(r"unix:[^,]*qmp\.sock", "unix:" + qmp_path, a) for a in argv]
    p = subprocess.Popen(argv, cwd=run)
    try:
        m = Qmp(qmp_path)
        for _ in range(600):
            out = m.cmd("human-monitor-command", **{"command-line": "info registers"})["return"]
            mm = re.search(r"[RE]IP=([0-9a-f]+)", out)
            if mm and int(mm.group(1), 16) == halt and "HLT=1" in out:
                break
            time.sleep(0.1)
        else:
            raise SystemExit("guest did not halt")
        for fmt, fn in (("elf", "d.elf"), ("kdump-zlib", "d.kdump")):
            r = m.cmd("dump-guest-memory", paging=False, protocol="file:" + os.path.join(run, fn), format=fmt)
            assert "return" in r, r
        for fn, out in (("d.kdump", "kdump-run.kdump-zlib.gz"), ("d.elf", "kdump-run.elf.gz")):
            with open(os.path.join(run, fn), "rb") as src, gzip.open(os.path.join(sc, out), "wb", 9) as dst:
                shutil.copyfileobj(src, dst)
        print(f"{name}: kdump-run.* written (kdump {os.path.getsize(os.path.join(run, 'd.kdump'))} bytes)")
    finally:
        p.kill()
        p.wait()
        shutil.rmtree(run, ignore_errors=True)


for n in sys.argv[1:] or ["d-lm4", "b-pg32"]:
    capture(n)
