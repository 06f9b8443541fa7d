// HMP terminal: each line runs through the `hmp` method (the same executor as
// the telnet monitor) and its exact text is appended. ↑/↓ walk the history.

export function attachTerminal(rpc, form, input, out) {
  const history = [];
  let cursor = 0;
  const print = (text, cls) => {
    const s = document.createElement('span');
    if (cls) s.className = cls;
    s.textContent = text;
    out.append(s);
    out.scrollTop = out.scrollHeight;
  };
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const line = input.value;
    input.value = '';
    if (line.trim() !== '') history.push(line);
    cursor = history.length;
    print(`(qemu) ${line}\n`, 'prompt');
    try {
      const text = await rpc.call('hmp', { 'command-line': line });
      print(String(text).replace(/\r\n/g, '\n'));
    } catch (e) {
      print(`Error: ${e.message}\n`, 'error');
    }
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key !== 'ArrowUp' && ev.key !== 'ArrowDown') return;
    ev.preventDefault();
    cursor = Math.max(0, Math.min(history.length, cursor + (ev.key === 'ArrowUp' ? -1 : 1)));
    input.value = history[cursor] ?? '';
  });
  return { print };
}
