// Runs SM2 signing and verification (pure JavaScript, ~0.3 ms each) on worker threads,
// so a node under load keeps its event loop free. Plain JS: workers load it without tsx.
import { sm2 } from 'sm-crypto-v2';

export default function run(task) {
  if (task.op === 'sign') {
    return sm2.doSignature(task.data, task.privateHex, { hash: true, der: false, userId: task.userId, publicKey: task.publicHex });
  }
  return sm2.doVerifySignature(task.data, task.signatureHex, task.publicHex, { hash: true, der: false, userId: task.userId });
}
