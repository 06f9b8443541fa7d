#!/usr/bin/env python3
"""Real-Linux capture for cgmon's differential test (`npm run golden:linux`).

Builds a small Linux guest from Debian packages (the distribution kernel that
linux-image-amd64 points at, plus busybox-static in an initramfs that loads
qemu_fw_cfg so `-device vmcoreinfo` is filled), boots it in real QEMU 7.2
(TCG, 2 vCPUs, KASLR on) once with 5-level paging (`-cpu max`) and once with
4-level (`-cpu max,la57=off`), stops it, runs battery.txt through QMP
human-monitor-command and writes QEMU's ELF and kdump-zlib dumps. Everything
goes to the git-ignored cache/ next to this file; a complete capture is reused
unless --force. Stdlib only; every QEMU started is killed by its own PID.
"""
import argparse
import json
import os
import re
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "data", "src"))
from qmplib import QEMU, QMP, Qemu  # noqa: E402
sys.path.insert(0, HERE)
from image import build_initrd, log, prepare_guest  # noqa: E402

CACHE = os.environ.get("CGMON_LINUX_CACHE", os.path.join(HERE, "cache"))
MODES = {"la57": "max", "la48": "max,la57=off"}
MEM = "256M"
APPEND = "console=ttyS0 panic=-1 quiet"
PHYS_MASK = 0x000FFFFFFFFFF000


# ------------------------------------------------------------------ battery

def battery_lines():
    lines = []
    for raw in open(os.path.join(HERE, "battery.txt")):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cpu = 0
        m = re.match(r"@(\d+)\s+(.*)", line)
        if m:
            cpu, line = int(m.group(1)), m.group(2)
        lines.append((cpu, line))
    return lines


def symbol_names(lines):
    names = set()
    for _, line in lines:
        names.update(re.findall(r"(?:sym|val):([A-Za-z_][A-Za-z0-9_]*)", line))
    return names


class Guest:
    """Resolves battery placeholders against the stopped guest through HMP."""

    def __init__(self, qmp, syms):
        self.qmp = qmp
        self.syms = syms

    def hmp(self, line, cpu=0):
        args = {"command-line": line}
        if cpu:
            args["cpu-index"] = cpu
        lines = self.qmp.cmd_raw({"execute": "human-monitor-command", "arguments": args}, timeout=600)
        obj = json.loads(lines[-1]) if lines else {}
        if "return" not in obj:
            raise RuntimeError("%s -> %r" % (line, obj))
        return obj["return"]

    def qword(self, addr, phys=False):
        out = self.hmp("%s /1xg 0x%x" % ("xp" if phys else "x", addr))
        m = re.search(r":\s+0x([0-9a-f]{16})", out)
        if not m:
            raise RuntimeError("cannot read 0x%x: %r" % (addr, out))
        return int(m.group(1), 16)

    def ref(self, kind, name):
        m = re.fullmatch(r"([A-Za-z0-9_]+)(?:\+0x([0-9a-f]+))?", name)
        if m.group(1) not in self.syms:
            raise LookupError(name)
        base = self.syms[m.group(1)]
        if kind == "val":
            base = self.qword(base)
        return base + int(m.group(2) or "0", 16)

    def table(self, cpu, depth, va):
        regs = self.hmp("info registers", cpu)
        cr3 = int(re.search(r"CR3=([0-9a-f]+)", regs).group(1), 16)
        cr4 = int(re.search(r"CR4=([0-9a-f]+)", regs).group(1), 16)
        levels = 5 if cr4 & (1 << 12) else 4
        table = cr3 & PHYS_MASK
        for d in range(levels):
            if d == depth:
                return table
            entry = self.qword(table + 8 * ((va >> (12 + 9 * (levels - 1 - d))) & 511), phys=True)
            if not entry & 1 or (d > 0 and entry & 0x80):
                return None
            table = entry & PHYS_MASK
        return None

    def expand(self, line):
        def sub(m):
            body = m.group(1)
            t = re.fullmatch(r"table:(\d+):(\d+):(sym|val):(.+)", body)
            if t:
                addr = self.table(int(t.group(1)), int(t.group(2)), self.ref(t.group(3), t.group(4)))
                if addr is None:
                    raise LookupError(body)
                return "0x%x" % addr
            kind, name = body.split(":", 1)
            return "0x%x" % self.ref(kind, name)
        try:
            return re.sub(r"\{([^}]+)\}", sub, line)
        except LookupError:
            return None


# ------------------------------------------------------------------ one run

def wait_serial(path, proc, timeout=300.0):
    t0 = time.time()
    while time.time() - t0 < timeout:
        text = open(path, errors="replace").read() if os.path.exists(path) else ""
        if "CGMON-READY" in text:
            return text
        if not proc.alive():
            raise SystemExit("QEMU exited before the guest was ready; see " + path)
        time.sleep(0.2)
    raise SystemExit("guest not ready after %ds; see %s" % (timeout, path))


def capture_mode(mode, guest, initrd, out):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    serial, sock = os.path.join(out, "serial.log"), os.path.join(out, "qmp.sock")
    argv = [QEMU, "-machine", "pc", "-accel", "tcg", "-cpu", MODES[mode], "-smp", "2", "-m", MEM,
            "-display", "none", "-nodefaults", "-no-reboot", "-serial", "file:" + serial,
            "-kernel", guest["vmlinuz"], "-initrd", initrd, "-append", APPEND,
            "-device", "vmcoreinfo", "-qmp", "unix:%s,server=on,wait=off" % sock]
    t0 = time.time()
    with Qemu(argv, out, os.path.join(out, "qemu.log")) as q:
        text = wait_serial(serial, q)
        boot = time.time() - t0
        syms = {m.group(1): int(m.group(2), 16) for m in re.finditer(r"CGMON-SYM (\S+) ([0-9a-f]+)", text)}
        qmp = QMP(sock)
        qmp.greeting()
        qmp.execute("qmp_capabilities")
        time.sleep(1.0)  # let both vCPUs settle in the idle loop
        qmp.execute("stop")
        g = Guest(qmp, syms)
        records, skipped = [], []
        for cpu, line in battery_lines():
            cmd = g.expand(line)
            if cmd is None:
                skipped.append(line)
                continue
            t1 = time.time()
            records.append({"cpu": cpu, "cmd": cmd, "src": line, "out": g.hmp(cmd, cpu)})
            if time.time() - t1 > 5:
                log("%s took %.0fs" % (line, time.time() - t1))
        for fmt, name in (("elf", "dump.elf"), ("kdump-zlib", "dump.kdump-zlib")):
            obj, _ = qmp.execute("dump-guest-memory", paging=False, protocol="file:" + os.path.join(out, name),
                                 format=fmt)
            if "return" not in obj:
                raise SystemExit("dump-guest-memory %s: %r" % (fmt, obj))
        qmp.close()
    with open(os.path.join(out, "hmp.jsonl"), "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    meta = {"mode": mode, "cpu": MODES[mode], "mem": MEM, "smp": 2, "argv": argv,
            "release": re.search(r"CGMON-UNAME (\S+)", text).group(1),
            "vmcoreinfo": "CGMON-VMCOREINFO" in text, "symbols": {k: "0x%x" % v for k, v in sorted(syms.items())},
            "records": len(records), "skipped": skipped, "boot_s": round(boot, 1),
            "total_s": round(time.time() - t0, 1)}
    json.dump(meta, open(os.path.join(out, "meta.json"), "w"), indent=1)
    return meta


# ------------------------------------------------------------------ summary

def summary(guest, metas):
    qemu = os.popen(QEMU + " --version").readline().strip()
    lines = ["# Last real-Linux capture (written by capture.py; the data is in cache/)", "",
             "- QEMU: " + qemu, "- kernel: %s %s (release %s)" % (guest["package"], guest["version"],
                                                                   metas[0]["release"]),
             "- guest: -m %s -smp 2, TCG, KASLR on, busybox initramfs, qemu_fw_cfg loaded" % MEM,
             "- host load average at the end: %.1f (2 cores; boot and total times grow with it)" % os.getloadavg()[0],
             ""]
    lines += ["| run | -cpu | records | skipped lines | KASLR startup_64 | vmcoreinfo | boot s | total s |",
              "|---|---|---|---|---|---|---|---|"]
    for m in metas:
        lines.append("| %s | %s | %d | %d | %s | %s | %s | %s |" % (
            m["mode"], m["cpu"], m["records"], len(m["skipped"]), m["symbols"].get("startup_64"),
            "filled" if m["vmcoreinfo"] else "missing", m["boot_s"], m["total_s"]))
    skipped = ["- %s: left out `%s` (no such symbol or table)" % (m["mode"], line) for m in metas for line in m["skipped"]]
    lines += [""] + skipped if skipped else []
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="capture again even if the cache is complete")
    ap.add_argument("modes", nargs="*", default=list(MODES))
    args = ap.parse_args()
    done = os.path.join(CACHE, "COMPLETE")
    if os.path.exists(done) and not args.force:
        log("cache complete (%s); --force captures again" % CACHE)
        return
    if os.path.exists(done):
        os.unlink(done)
    t0 = time.time()
    guest = prepare_guest(CACHE)
    initrd = os.path.join(CACHE, "initrd.gz")
    build_initrd(guest["busybox"], guest["fwcfg"], symbol_names(battery_lines()), initrd)
    metas = []
    for mode in args.modes:
        log("booting", mode)
        metas.append(capture_mode(mode, guest, initrd, os.path.join(CACHE, mode)))
        log("%s: %d records, boot %.1fs" % (mode, metas[-1]["records"], metas[-1]["boot_s"]))
    text = summary(guest, metas)
    open(os.path.join(HERE, "SUMMARY.md"), "w").write(text)
    open(done, "w").write(json.dumps({"modes": args.modes, "seconds": round(time.time() - t0, 1)}) + "\n")
    log("done in %.0fs" % (time.time() - t0))


if __name__ == "__main__":
    main()
