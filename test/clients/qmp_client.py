"""A small QMP client in the manner of qemu.qmp (which is only on PyPI): greeting,
negotiation, cmd() that skips events and raises on errors, and descriptors sent
with a command over SCM_RIGHTS as qemu.qmp's send_fd_scm does. Used by
test/clients/qmp-python-client.test.ts against a real cgmon socket."""
import json
import socket


class QMPError(Exception):
    def __init__(self, error):
        super().__init__(error['desc'])
        self.error_class = error['class']


class QMPClient:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.reader = self.sock.makefile('rb')
        self.greeting = self._recv()
        self.events = []
        self.cmd('qmp_capabilities')

    def _recv(self):
        line = self.reader.readline()
        if not line:
            raise EOFError('connection closed')
        return json.loads(line)

    def cmd(self, name, fds=None, **args):
        msg = {'execute': name}
        if args:
            msg['arguments'] = args
        data = json.dumps(msg).encode()
        if fds:
            socket.send_fds(self.sock, [data], fds)
        else:
            self.sock.sendall(data)
        while True:
            reply = self._recv()
            if 'event' in reply:
                self.events.append(reply)
                continue
            if 'error' in reply:
                raise QMPError(reply['error'])
            return reply['return']

    def close(self):
        self.reader.close()
        self.sock.close()
