// libsodium (the WebAssembly build, so nothing native to compile), initialised once.
import sodiumModule from 'libsodium-wrappers';

let ready: Promise<typeof sodiumModule> | undefined;

export function sodium(): Promise<typeof sodiumModule> {
  ready ??= sodiumModule.ready.then(() => sodiumModule);
  return ready;
}
