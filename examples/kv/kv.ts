// kv: a key-value store. Payload (text): "put <key> <value>", "get <key>" or "del <key>".
// Replies: "ok" for put and del; the value (empty if absent) for get.
import { inputString, panic, replyString, state } from '../../sdk/assemblyscript/index';

export function handle(): void {
  const cmd = inputString();
  const sp = cmd.indexOf(' ');
  if (sp < 0) panic('usage: put <key> <value> | get <key> | del <key>');
  const op = cmd.substring(0, sp);
  const rest = cmd.substring(sp + 1);
  if (op == 'get') {
    replyString(state.getString('k:' + rest));
  } else if (op == 'del') {
    state.remove('k:' + rest);
    replyString('ok');
  } else if (op == 'put') {
    const sp2 = rest.indexOf(' ');
    if (sp2 < 0) panic('put needs a key and a value');
    state.setString('k:' + rest.substring(0, sp2), rest.substring(sp2 + 1));
    replyString('ok');
  } else {
    panic('unknown command ' + op);
  }
}
