export { initNode, CONFIG_FILE_NAME, type InitNodeOptions, type InitNodeResult } from './init.ts';
export { openNode, loadSigningKey, type NodeRuntime } from './runtime.ts';
