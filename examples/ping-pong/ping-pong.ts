// ping-pong: two actors bounce a hop count. init payload: the peer's actor id.
// handle payload: the hops left (text). The actor counts what it received and, while hops
// remain, sends hops-1 to its peer with half of its remaining gas. Reply: the number of messages this actor has received.
import { bytesOf, gasLeft, inputString, replyString, send, state } from '../../sdk/assemblyscript/index';

export function init(): void {
  state.setString('peer', inputString());
}

export function handle(): void {
  const hops = I32.parseInt(inputString());
  const received = state.getU64('received') + 1;
  state.setU64('received', received);
  // The next hop gets half of what is left: the sender pays for the gas it attaches.
  if (hops > 0) send(state.getString('peer'), bytesOf((hops - 1).toString()), gasLeft() / 2);
  replyString(received.toString());
}
