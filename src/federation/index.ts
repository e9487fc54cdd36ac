export { FederationConfig, AgreementTemplate, type FederationConfigInput } from './config.ts';
export { demoFederation, DEMO_PASSWORD, DEMO_PASSPHRASE } from './demo.ts';
export { startFederation, resetFederation, type RunningFederation, type FederationOptions, type DemoPerson } from './federation.ts';
export { inProcessServer, childProcessServer, replicatedServer, replicaPort, stopChildProcesses, waitForHealth, type ManagedServer } from './servers.ts';
export { freePortRun, portHolder, portInUseMessage, portIsFree, firstFreePort } from './ports.ts';
