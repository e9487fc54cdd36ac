export { initNode, CONFIG_FILE_NAME, type InitNodeOptions, type InitNodeResult } from './init.ts';
export { openNode, loadSigningKey, type NodeRuntime } from './runtime.ts';
export { KeyRing, keyFiles } from './key-ring.ts';
export { KeyRotation, KeyStatus, RotationRecord } from './key-rotation.ts';
export { notifyStateChange, type Notified } from './agreement-notify.ts';
export { submitToHub, Registration } from './agreement-submit.ts';
