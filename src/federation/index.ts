export { FederationConfig, AgreementTemplate, type FederationConfigInput } from './config.ts';
export { demoFederation } from './demo.ts';
export { startFederation, type RunningFederation, type FederationOptions } from './federation.ts';
export { inProcessServer, childProcessServer, waitForHealth, type ManagedServer } from './servers.ts';
