// counter: every message adds one to a durable counter and replies the new value as text.
import { replyString, state } from '../../sdk/assemblyscript/index';

export function handle(): void {
  const next = state.getU64('count') + 1;
  state.setU64('count', next);
  replyString(next.toString());
}
