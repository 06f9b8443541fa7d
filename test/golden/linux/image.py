"""The real-Linux guest image for capture.py: Debian's distribution kernel (the
package linux-image-amd64 depends on) and busybox-static, fetched with
apt-get download, and a newc initramfs whose init loads qemu_fw_cfg (so
-device vmcoreinfo is filled) and prints the /proc/kallsyms addresses asked for.
"""
import gzip
import io
import os
import re
import shutil
import subprocess


def log(*a):
    print("golden:linux:", *a, flush=True)


def run(argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kw).stdout


def kernel_package():
    """The image package linux-image-amd64 currently depends on."""
    out = run(["apt-cache", "depends", "linux-image-amd64"])
    m = re.search(r"Depends: (linux-image-[0-9][^\s]*)", out)
    if not m:
        raise SystemExit("cannot resolve linux-image-amd64 (apt-get update?)")
    return m.group(1)


def fetch_packages(pkgdir):
    os.makedirs(pkgdir, exist_ok=True)
    want = [kernel_package(), "busybox-static"]
    for name in want:
        if not any(f.startswith(name + "_") for f in os.listdir(pkgdir)):
            log("apt-get download", name)
            subprocess.run(["apt-get", "download", name], cwd=pkgdir, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    debs = {}
    for name in want:
        debs[name] = next(os.path.join(pkgdir, f) for f in sorted(os.listdir(pkgdir)) if f.startswith(name + "_"))
    return want[0], debs


def extract(deb, dest, *patterns):
    os.makedirs(dest, exist_ok=True)
    tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", dest, "--wildcards", *patterns], stdin=tar.stdout, check=True)
    tar.stdout.close()
    if tar.wait() != 0:
        raise SystemExit("dpkg-deb failed on " + deb)


def find_file(root, name):
    for d, _, files in os.walk(root):
        if name in files:
            return os.path.join(d, name)
    raise SystemExit("%s not found under %s" % (name, root))


def cpio_newc(entries):
    """A newc cpio archive (the initramfs format) of (path, mode, data) entries."""
    out = io.BytesIO()
    for ino, (path, mode, data) in enumerate(entries + [("TRAILER!!!", 0, b"")], start=1):
        name = path.encode() + b"\0"
        hdr = "070701" + "".join("%08x" % v for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name), 0))
        out.write(hdr.encode() + name)
        out.write(b"\0" * (-(110 + len(name)) % 4))
        out.write(data)
        out.write(b"\0" * (-len(data) % 4))
    return out.getvalue()


INIT = """#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox insmod /lib/modules/qemu_fw_cfg.ko
echo 0 > /proc/sys/kernel/kptr_restrict
echo "CGMON-UNAME $(/bin/busybox uname -r)"
/bin/busybox awk 'NR==FNR { want[$1] = 1; next } ($3 in want) { print "CGMON-SYM", $3, $1 }' /syms /proc/kallsyms
[ -e /sys/firmware/qemu_fw_cfg/by_name/etc/vmcoreinfo ] && echo CGMON-VMCOREINFO
echo CGMON-READY
while true; do /bin/busybox sleep 3600; done
"""


def build_initrd(busybox, fwcfg, names, path):
    d, f = 0o040755, 0o100755
    entries = [("bin", d, b""), ("proc", d, b""), ("sys", d, b""), ("dev", d, b""),
               ("lib", d, b""), ("lib/modules", d, b""),
               ("bin/busybox", f, open(busybox, "rb").read()),
               ("lib/modules/qemu_fw_cfg.ko", 0o100644, open(fwcfg, "rb").read()),
               ("syms", 0o100644, ("\n".join(sorted(names)) + "\n").encode()),
               ("init", f, INIT.encode())]
    with open(path, "wb") as o:
        o.write(gzip.compress(cpio_newc(entries), 1))


def prepare_guest(cache):
    pkg, debs = fetch_packages(os.path.join(cache, "pkgs"))
    root = os.path.join(cache, "root")
    shutil.rmtree(root, ignore_errors=True)
    extract(debs[pkg], root, "./boot/vmlinuz-*", "*/qemu_fw_cfg.ko")
    extract(debs["busybox-static"], root, "./bin/busybox")
    vmlinuz = next(os.path.join(root, "boot", f) for f in os.listdir(os.path.join(root, "boot")))
    version = os.path.basename(debs[pkg]).split("_")[1]
    return {"package": pkg, "version": version, "vmlinuz": vmlinuz,
            "busybox": os.path.join(root, "bin", "busybox"),
            "fwcfg": find_file(root, "qemu_fw_cfg.ko")}
