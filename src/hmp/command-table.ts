// QEMU 7.2's top-level HMP command table (hmp-commands.hx) as data: name,
// args_type, params and help of all 108 entries, in the strcmp order QEMU's
// sortcmdlist() puts them in. Read from the qemu-system-x86_64 7.2 build.

import type { HmpCommand, HmpCommandSpec, HmpHandler } from './types.js';

/**
 * Every command QEMU 7.2 (x86_64) has. cgmon attaches handlers to some of them
 * (commands.ts); the rest answer `Command "NAME" is not available.` as QEMU does
 * for a table entry its build has no handler for.
 */
export const QEMU_HMP_COMMANDS: readonly HmpCommandSpec[] = [
  { name: 'announce_self', argsType: 'interfaces:s?,id:s?', params: '[interfaces] [id]', help: 'Trigger GARP/RARP announcements' },
  { name: 'balloon', argsType: 'value:M', params: 'target', help: 'request VM to change its memory allocation (in MB)' },
  { name: 'block_job_cancel', argsType: 'force:-f,device:B', params: '[-f] device', help: 'stop an active background block operation (use -f\n\t\t\t if you want to abort the operation immediately\n\t\t\t instead of keep running until data is in sync)' },
  { name: 'block_job_complete', argsType: 'device:B', params: 'device', help: 'stop an active background block operation' },
  { name: 'block_job_pause', argsType: 'device:B', params: 'device', help: 'pause an active background block operation' },
  { name: 'block_job_resume', argsType: 'device:B', params: 'device', help: 'resume a paused background block operation' },
  { name: 'block_job_set_speed', argsType: 'device:B,speed:o', params: 'device speed', help: 'set maximum speed for a background block operation' },
  { name: 'block_resize', argsType: 'device:B,size:o', params: 'device size', help: 'resize a block image' },
  { name: 'block_set_io_throttle', argsType: 'device:B,bps:l,bps_rd:l,bps_wr:l,iops:l,iops_rd:l,iops_wr:l', params: 'device bps bps_rd bps_wr iops iops_rd iops_wr', help: 'change I/O throttle limits for a block drive' },
  { name: 'block_stream', argsType: 'device:B,speed:o?,base:s?', params: 'device [speed [base]]', help: 'copy data from a backing file into a block device' },
  { name: 'boot_set', argsType: 'bootdevice:s', params: 'bootdevice', help: 'define new values for the boot device list' },
  { name: 'calc_dirty_rate', argsType: 'dirty_ring:-r,dirty_bitmap:-b,second:l,sample_pages_per_GB:l?', params: '[-r] [-b] second [sample_pages_per_GB]', help: 'start a round of guest dirty rate measurement (using -r to\n\t\t\t specify dirty ring as the method of calculation and\n\t\t\t -b to specify dirty bitmap as method of calculation)' },
  { name: 'cancel_vcpu_dirty_limit', argsType: 'cpu_index:l?', params: '[cpu_index]', help: 'cancel dirty page rate limit, use cpu_index to cancel\n\t\t\t\t\t limit on a specified virtual cpu' },
  { name: 'change', argsType: 'device:B,force:-f,target:F,arg:s?,read-only-mode:s?', params: 'device [-f] filename [format [read-only-mode]]', help: 'change a removable medium, optional format, use -f to force the operation' },
  { name: 'chardev-add', argsType: 'args:s', params: 'args', help: 'add chardev' },
  { name: 'chardev-change', argsType: 'id:s,args:s', params: 'id args', help: 'change chardev' },
  { name: 'chardev-remove', argsType: 'id:s', params: 'id', help: 'remove chardev' },
  { name: 'chardev-send-break', argsType: 'id:s', params: 'id', help: 'send a break on chardev' },
  { name: 'client_migrate_info', argsType: 'protocol:s,hostname:s,port:i?,tls-port:i?,cert-subject:s?', params: 'protocol hostname port tls-port cert-subject', help: 'set migration information for remote display' },
  { name: 'closefd', argsType: 'fdname:s', params: 'closefd name', help: 'close a file descriptor previously passed via SCM rights' },
  { name: 'commit', argsType: 'device:B', params: 'device|all', help: 'commit changes to the disk images (if -snapshot is used) or backing files' },
  { name: 'cont|c', argsType: '', params: '', help: 'resume emulation' },
  { name: 'cpu', argsType: 'index:i', params: 'index', help: 'set the default CPU' },
  { name: 'delvm', argsType: 'name:s', params: 'tag', help: 'delete a VM snapshot from its tag' },
  { name: 'device_add', argsType: 'device:O', params: 'driver[,prop=value][,...]', help: 'add device, like -device on the command line' },
  { name: 'device_del', argsType: 'id:s', params: 'device', help: 'remove device' },
  { name: 'drive_add', argsType: 'node:-n,pci_addr:s,opts:s', params: '[-n] [[<domain>:]<bus>:]<slot>\n[file=file][,if=type][,bus=n]\n[,unit=m][,media=d][,index=i]\n[,snapshot=on|off][,cache=on|off]\n[,readonly=on|off][,copy-on-read=on|off]', help: 'add drive to PCI storage controller' },
  { name: 'drive_backup', argsType: 'reuse:-n,full:-f,compress:-c,device:B,target:s,format:s?', params: '[-n] [-f] [-c] device target [format]', help: "initiates a point-in-time\n\t\t\tcopy for a device. The device's contents are\n\t\t\tcopied to the new image file, excluding data that\n\t\t\tis written after the command is started.\n\t\t\tThe -n flag requests QEMU to reuse the image found\n\t\t\tin new-image-file, instead of recreating it from scratch.\n\t\t\tThe -f flag requests QEMU to copy the whole disk,\n\t\t\tso that the result does not need a backing file.\n\t\t\tThe -c flag requests QEMU to compress backup data\n\t\t\t(if the target format supports it).\n\t\t\t" },
  { name: 'drive_del', argsType: 'id:B', params: 'device', help: 'remove host block device' },
  { name: 'drive_mirror', argsType: 'reuse:-n,full:-f,device:B,target:s,format:s?', params: '[-n] [-f] device target [format]', help: "initiates live storage\n\t\t\tmigration for a device. The device's contents are\n\t\t\tcopied to the new image file, including data that\n\t\t\tis written after the command is started.\n\t\t\tThe -n flag requests QEMU to reuse the image found\n\t\t\tin new-image-file, instead of recreating it from scratch.\n\t\t\tThe -f flag requests QEMU to copy the whole disk,\n\t\t\tso that the result does not need a backing file.\n\t\t\t" },
  { name: 'dump-guest-memory', argsType: 'paging:-p,detach:-d,windmp:-w,zlib:-z,lzo:-l,snappy:-s,filename:F,begin:l?,length:l?', params: '[-p] [-d] [-z|-l|-s|-w] filename [begin length]', help: "dump guest memory into file 'filename'.\n\t\t\t-p: do paging to get guest's memory mapping.\n\t\t\t-d: return immediately (do not wait for completion).\n\t\t\t-z: dump in kdump-compressed format, with zlib compression.\n\t\t\t-l: dump in kdump-compressed format, with lzo compression.\n\t\t\t-s: dump in kdump-compressed format, with snappy compression.\n\t\t\t-w: dump in Windows crashdump format (can be used instead of ELF-dump converting),\n\t\t\t    for Windows x86 and x64 guests with vmcoreinfo driver only.\n\t\t\tbegin: the starting physical address.\n\t\t\tlength: the memory size, in bytes." },
  { name: 'dumpdtb', argsType: 'filename:F', params: 'filename', help: "dump the FDT in dtb format to 'filename'" },
  { name: 'eject', argsType: 'force:-f,device:B', params: '[-f] device', help: 'eject a removable medium (use -f to force it)' },
  { name: 'exit_preconfig', argsType: '', params: '', help: 'exit the preconfig state' },
  { name: 'expire_password', argsType: 'protocol:s,time:s,display:-ds', params: 'protocol time [-d display]', help: 'set spice/vnc password expire-time' },
  { name: 'gdbserver', argsType: 'device:s?', params: '[device]', help: "start gdbserver on given device (default 'tcp::1234'), stop with 'none'" },
  { name: 'getfd', argsType: 'fdname:s', params: 'getfd name', help: 'receive a file descriptor via SCM rights and assign it a name' },
  { name: 'gpa2hpa', argsType: 'addr:l', params: 'addr', help: 'print the host physical address corresponding to a guest physical address' },
  { name: 'gpa2hva', argsType: 'addr:l', params: 'addr', help: 'print the host virtual address corresponding to a guest physical address' },
  { name: 'gva2gpa', argsType: 'addr:l', params: 'addr', help: 'print the guest physical address corresponding to a guest virtual address' },
  { name: 'help|?', argsType: 'name:S?', params: '[cmd]', help: 'show the help' },
  { name: 'hostfwd_add', argsType: 'arg1:s,arg2:s?', params: '[netdev_id] [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport', help: 'redirect TCP or UDP connections from host to guest (requires -net user)' },
  { name: 'hostfwd_remove', argsType: 'arg1:s,arg2:s?', params: '[netdev_id] [tcp|udp]:[hostaddr]:hostport', help: 'remove host-to-guest TCP or UDP redirection' },
  { name: 'i', argsType: 'fmt:/,addr:i,index:i.', params: '/fmt addr', help: 'I/O port read' },
  { name: 'info', argsType: 'item:s?', params: '[subcommand]', help: 'show various information about the system state' },
  { name: 'loadvm', argsType: 'name:s', params: 'tag', help: 'restore a VM snapshot from its tag' },
  { name: 'log', argsType: 'items:s', params: 'item1[,...]', help: 'activate logging of the specified items' },
  { name: 'logfile', argsType: 'filename:F', params: 'filename', help: "output logs to 'filename'" },
  { name: 'mce', argsType: 'broadcast:-b,cpu_index:i,bank:i,status:l,mcg_status:l,addr:l,misc:l', params: '[-b] cpu bank status mcgstatus addr misc', help: 'inject a MCE on the given CPU [and broadcast to other CPUs with -b option]' },
  { name: 'memsave', argsType: 'val:l,size:i,filename:s', params: 'addr size file', help: "save to disk virtual memory dump starting at 'addr' of size 'size'" },
  { name: 'migrate', argsType: 'detach:-d,blk:-b,inc:-i,resume:-r,uri:s', params: '[-d] [-b] [-i] [-r] uri', help: 'migrate to URI (using -d to not wait for completion)\n\t\t\t -b for migration without shared storage with full copy of disk\n\t\t\t -i for migration without shared storage with incremental copy of disk (base image shared between src and destination)\n\t\t\t -r to resume a paused migration' },
  { name: 'migrate_cancel', argsType: '', params: '', help: 'cancel the current VM migration' },
  { name: 'migrate_continue', argsType: 'state:s', params: 'state', help: 'Continue migration from the given paused state' },
  { name: 'migrate_incoming', argsType: 'uri:s', params: 'uri', help: 'Continue an incoming migration from an -incoming defer' },
  { name: 'migrate_pause', argsType: '', params: '', help: 'Pause an ongoing migration (postcopy-only)' },
  { name: 'migrate_recover', argsType: 'uri:s', params: 'uri', help: 'Continue a paused incoming postcopy migration' },
  { name: 'migrate_set_capability', argsType: 'capability:s,state:b', params: 'capability state', help: 'Enable/Disable the usage of a capability for migration' },
  { name: 'migrate_set_parameter', argsType: 'parameter:s,value:s', params: 'parameter value', help: 'Set the parameter for migration' },
  { name: 'migrate_start_postcopy', argsType: '', params: '', help: 'Followup to a migration command to switch the migration to postcopy mode. The postcopy-ram capability must be set on both source and destination before the original migration command .' },
  { name: 'mouse_button', argsType: 'button_state:i', params: 'state', help: 'change mouse button state (1=L, 2=M, 4=R)' },
  { name: 'mouse_move', argsType: 'dx_str:s,dy_str:s,dz_str:s?', params: 'dx dy [dz]', help: 'send mouse move events' },
  { name: 'mouse_set', argsType: 'index:i', params: 'index', help: 'set which mouse device receives events' },
  { name: 'nbd_server_add', argsType: 'writable:-w,device:B,name:s?', params: 'nbd_server_add [-w] device [name]', help: 'export a block device via NBD' },
  { name: 'nbd_server_remove', argsType: 'force:-f,name:s', params: 'nbd_server_remove [-f] name', help: 'remove an export previously exposed via NBD' },
  { name: 'nbd_server_start', argsType: 'all:-a,writable:-w,uri:s', params: 'nbd_server_start [-a] [-w] host:port', help: 'serve block devices on the given host and port' },
  { name: 'nbd_server_stop', argsType: '', params: 'nbd_server_stop', help: 'stop serving block devices using the NBD protocol' },
  { name: 'netdev_add', argsType: 'netdev:O', params: '[user|tap|socket|stream|dgram|vde|bridge|hubport|netmap|vhost-user],id=str[,prop=value][,...]', help: 'add host network device' },
  { name: 'netdev_del', argsType: 'id:s', params: 'id', help: 'remove host network device' },
  { name: 'nmi', argsType: '', params: '', help: 'inject an NMI' },
  { name: 'o', argsType: 'fmt:/,addr:i,val:i', params: '/fmt addr value', help: 'I/O port write' },
  { name: 'object_add', argsType: 'object:S', params: '[qom-type=]type,id=str[,prop=value][,...]', help: 'create QOM object' },
  { name: 'object_del', argsType: 'id:s', params: 'id', help: 'destroy QOM object' },
  { name: 'pcie_aer_inject_error', argsType: 'advisory_non_fatal:-a,correctable:-c,id:s,error_status:s,header0:i?,header1:i?,header2:i?,header3:i?,prefix0:i?,prefix1:i?,prefix2:i?,prefix3:i?', params: '[-a] [-c] id <error_status> [<tlp header> [<tlp header prefix>]]', help: 'inject pcie aer error\n\t\t\t -a for advisory non fatal error\n\t\t\t -c for correctable error\n\t\t\t<id> = qdev device id\n\t\t\t<error_status> = error string or 32bit\n\t\t\t<tlp header> = 32bit x 4\n\t\t\t<tlp header prefix> = 32bit x 4' },
  { name: 'pmemsave', argsType: 'val:l,size:i,filename:s', params: 'addr size file', help: "save to disk physical memory dump starting at 'addr' of size 'size'" },
  { name: 'print|p', argsType: 'fmt:/,val:l', params: '/fmt expr', help: 'print expression value (use $reg for CPU register access)' },
  { name: 'qemu-io', argsType: 'qdev:-d,device:B,command:s', params: '[-d] [device] "[command]"', help: 'run a qemu-io command on a block device\n\t\t\t-d: [device] is a device ID rather than a drive ID or node name' },
  { name: 'qom-get', argsType: 'path:s,property:s', params: 'path property', help: 'print QOM property' },
  { name: 'qom-list', argsType: 'path:s?', params: 'path', help: 'list QOM properties' },
  { name: 'qom-set', argsType: 'json:-j,path:s,property:s,value:S', params: '[-j] path property value', help: 'set QOM property.\n\t\t\t-j: the value is specified in json format.' },
  { name: 'quit|q', argsType: '', params: '', help: 'quit the emulator' },
  { name: 'replay_break', argsType: 'icount:l', params: 'icount', help: 'set breakpoint at the specified instruction count' },
  { name: 'replay_delete_break', argsType: '', params: '', help: 'remove replay breakpoint' },
  { name: 'replay_seek', argsType: 'icount:l', params: 'icount', help: 'replay execution to the specified instruction count' },
  { name: 'ringbuf_read', argsType: 'device:s,size:i', params: 'device size', help: 'Read from a ring buffer character device' },
  { name: 'ringbuf_write', argsType: 'device:s,data:s', params: 'device data', help: 'Write to a ring buffer character device' },
  { name: 'savevm', argsType: 'name:s?', params: 'tag', help: 'save a VM snapshot. If no tag is provided, a new snapshot is created' },
  { name: 'screendump', argsType: 'filename:F,format:-fs,device:s?,head:i?', params: 'filename [-f format] [device [head]]', help: "save screen from head 'head' of display device 'device'in specified format 'format' as image 'filename'.Currently only 'png' and 'ppm' formats are supported." },
  { name: 'sendkey', argsType: 'keys:s,hold-time:i?', params: 'keys [hold_ms]', help: "send keys to the VM (e.g. 'sendkey ctrl-alt-f1', default hold time=100 ms)" },
  { name: 'set_link', argsType: 'name:s,up:b', params: 'name on|off', help: 'change the link status of a network adapter' },
  { name: 'set_password', argsType: 'protocol:s,password:s,display:-ds,connected:s?', params: 'protocol password [-d display] [action-if-connected]', help: 'set spice/vnc password' },
  { name: 'set_vcpu_dirty_limit', argsType: 'dirty_rate:l,cpu_index:l?', params: 'dirty_rate [cpu_index]', help: 'set dirty page rate limit, use cpu_index to set limit\n\t\t\t\t\t on a specified virtual cpu' },
  { name: 'singlestep', argsType: 'option:s?', params: '[on|off]', help: 'run emulation in singlestep mode or switch to normal mode' },
  { name: 'snapshot_blkdev', argsType: 'reuse:-n,device:B,snapshot-file:s?,format:s?', params: '[-n] device [new-image-file] [format]', help: 'initiates a live snapshot\n\t\t\tof device. If a new image file is specified, the\n\t\t\tnew image file will become the new root image.\n\t\t\tIf format is specified, the snapshot file will\n\t\t\tbe created in that format.\n\t\t\tThe default format is qcow2.  The -n flag requests QEMU\n\t\t\tto reuse the image found in new-image-file, instead of\n\t\t\trecreating it from scratch.' },
  { name: 'snapshot_blkdev_internal', argsType: 'device:B,name:s', params: 'device name', help: 'take an internal snapshot of device.\n\t\t\tThe format of the image used by device must\n\t\t\tsupport it, such as qcow2.\n\t\t\t' },
  { name: 'snapshot_delete_blkdev_internal', argsType: 'device:B,name:s,id:s?', params: 'device name [id]', help: 'delete an internal snapshot of device.\n\t\t\tIf id is specified, qemu will try delete\n\t\t\tthe snapshot matching both id and name.\n\t\t\tThe format of the image used by device must\n\t\t\tsupport it, such as qcow2.\n\t\t\t' },
  { name: 'stopcapture', argsType: 'n:i', params: 'capture index', help: 'stop capture' },
  { name: 'stop|s', argsType: '', params: '', help: 'stop emulation' },
  { name: 'sum', argsType: 'start:i,size:i', params: 'addr size', help: 'compute the checksum of a memory region' },
  { name: 'sync-profile', argsType: 'op:s?', params: '[on|off|reset]', help: 'enable, disable or reset synchronization profiling. With no arguments, prints whether profiling is on or off.' },
  { name: 'system_powerdown', argsType: '', params: '', help: 'send system power down event' },
  { name: 'system_reset', argsType: '', params: '', help: 'reset the system' },
  { name: 'system_wakeup', argsType: '', params: '', help: 'wakeup guest from suspend' },
  { name: 'trace-event', argsType: 'name:s,option:b,vcpu:i?', params: 'name on|off [vcpu]', help: 'changes status of a specific trace event (vcpu: vCPU to set, default is all)' },
  { name: 'watchdog_action', argsType: 'action:s', params: '[reset|shutdown|poweroff|pause|debug|none]', help: 'change watchdog action' },
  { name: 'wavcapture', argsType: 'path:F,audiodev:s,freq:i?,bits:i?,nchannels:i?', params: 'path audiodev [frequency [bits [channels]]]', help: 'capture audio to a wave file (default frequency=44100 bits=16 channels=2)' },
  { name: 'x', argsType: 'fmt:/,addr:l', params: '/fmt addr', help: "virtual memory dump starting at 'addr'" },
  { name: 'x_colo_lost_heartbeat', argsType: '', params: '', help: 'Tell COLO that heartbeat is lost,\n\t\t\ta failover or takeover is needed.' },
  { name: 'xp', argsType: 'fmt:/,addr:l', params: '/fmt addr', help: "physical memory dump starting at 'addr'" },
];

/**
 * The executor's table: QEMU's entries with cgmon's handlers attached by the
 * entry's full name (`print|p`). A handler for a name QEMU does not have is a
 * programming error, caught at start-up rather than hidden as a dead entry.
 */
export function withHandlers(specs: readonly HmpCommandSpec[], handlers: Readonly<Record<string, HmpHandler>>): HmpCommand[] {
  for (const name of Object.keys(handlers)) {
    if (!specs.some((s) => s.name === name)) throw new Error(`HMP handler for '${name}', which QEMU 7.2 does not have`);
  }
  return specs.map((s) => {
    const handler = handlers[s.name];
    return handler ? { ...s, handler } : { ...s };
  });
}
