#!/usr/bin/env python3
"""Regenerates test/unit/data/x-i-edge.txt: QEMU 7.2's `x /i` of hand-picked
immediate and displacement encodings (x-i-edge-cases.txt) in 64-, 32- and 16-bit
code. The bytes are placed at 0x3000000 with -device loader in a golden scenario
guest (d-lm4: long mode, b-pg32: 32-bit) or at reset with -S (real mode)."""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "data", "src"))
from qmplib import QEMU, QMP, Qemu  # noqa: E402

SCEN = os.path.join(HERE, "..", "data", "scenarios")
RUNS = {64: ("d-lm4", False), 32: ("b-pg32", False), 16: ("d-lm4", True)}


def sections():
    cur, out = None, {}
    for line in open(os.path.join(HERE, "x-i-edge-cases.txt")):
        line = line.strip()
        if line.startswith("@"):
            cur = int(line[1:])
            out[cur] = []
        elif line and not line.startswith("#"):
            out[cur].append(bytes(int(h, 16) for h in line.split()))
    return out


def qemu_lines(size, cases, tmp):
    scen, reset = RUNS[size]
    blob, sock = os.path.join(tmp, "blob.bin"), os.path.join(tmp, "qmp.sock")
    open(blob, "wb").write(b"".join(cases))
    argv = [QEMU, "-machine", "pc", "-accel", "tcg", "-cpu", "max", "-m", "64M", "-smp", "1",
            "-display", "none", "-nodefaults", "-no-reboot", "-kernel", os.path.join(SCEN, scen, "guest.elf"),
            "-device", "loader,file=%s,addr=0x3000000,force-raw=on" % blob,
            "-qmp", "unix:%s,server=on,wait=off" % sock] + (["-S"] if reset else [])
    with Qemu(argv, tmp, os.path.join(tmp, "qemu.log")):
        q = QMP(sock)
        q.greeting()
        q.execute("qmp_capabilities")
        if not reset:
            time.sleep(1.5)  # the scenario guest reaches its hlt loop
            q.execute("stop")
        out, _ = q.hmp("xp /%di 0x3000000" % len(cases))
        q.close()
    return out.replace("\r\n", "\n")


def main():
    tmp = "/tmp/cgmon-x-i-edge-%d" % os.getpid()
    os.makedirs(tmp, exist_ok=True)
    text = ["# QEMU 7.2 `xp /i` of test/golden/linux/x-i-edge-cases.txt (regenerate: python3",
            "# test/golden/linux/x_i_edge.py). \"@N\" sets the code size of the lines after it."]
    for size, cases in sections().items():
        text.append("@%d" % size)
        text.append(qemu_lines(size, cases, tmp).rstrip("\n"))
    open(os.path.join(HERE, "..", "..", "unit", "data", "x-i-edge.txt"), "w").write("\n".join(text) + "\n")


if __name__ == "__main__":
    main()
