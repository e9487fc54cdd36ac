export { serviceDefinitions, serviceDefinitionById, type ServiceDefinition } from './definitions.ts';
export { ServiceConfig, AdapterConfig, SqlAdapterConfig, HttpAdapterConfig } from './adapter-config.ts';
export { createAdapter, type DataAdapter } from './adapters.ts';
export { ServiceRegistry } from './service-registry.ts';
