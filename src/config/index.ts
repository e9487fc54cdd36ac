export { CONFIG_FILE_NAME, ConfigFile, NodeRole, loadConfig, resolveDatabaseUrl, NATIONAL_DIVISION, type NodeConfig } from './config.ts';
