#!/usr/bin/env python3
"""Print a Linux kernel's release string read with libkdumpfile (Debian's
python3-libkdumpfile) from a dump, through kernel virtual addresses: the
address of init_uts_ns comes from the dump's VMCOREINFO note, the page walk
from libkdumpfile's own Linux translation. Usage: uts_release.py DUMP"""
import sys

import kdumpfile

# struct uts_namespace starts with struct new_utsname: sysname[65],
# nodename[65], release[65] (include/uapi/linux/utsname.h).
RELEASE_OFFSET = 2 * 65

ctx = kdumpfile.kdumpfile(sys.argv[1])
ctx.attr["addrxlat.ostype"] = "linux"
symbol = int(ctx.attr["linux.vmcoreinfo.lines"]["SYMBOL(init_uts_ns)"], 16)
raw = ctx.read(kdumpfile.KDUMP_KVADDR, symbol + RELEASE_OFFSET, 65)
print(bytes(raw).split(b"\0")[0].decode())
