// ping-pong: two actors bounce a hop count. init payload: the peer's actor id.
// handle payload: the hops left (text). The actor counts what it received and, while hops
// remain, sends hops-1 to its peer. Reply: the number of messages this actor has received.
import { inputString, replyString, send, state, bytesOf } from '../../sdk/assemblyscript/index';

export function init(): void {
  state.setString('peer', inputString());
}

export function handle(): void {
  const hops = I32.parseInt(inputString());
  const received = state.getU64('received') + 1;
  state.setU64('received', received);
  if (hops > 0) send(state.getString('peer'), bytesOf((hops - 1).toString()), 1_000_000);
  replyString(received.toString());
}
